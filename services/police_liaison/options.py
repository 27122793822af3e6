"""Region options of police liaison (`police_liaison:` in the region file): deadlines, each
municipality's contact point for the police, and a signed webhook per police unit."""
from __future__ import annotations

import os
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from shared.messaging.topology import (PARTNER_MESSAGE_TTL_HOURS, PARTNER_QUEUE_MAX_BYTES, PARTNER_QUEUE_MAX_LENGTH,
                                       UnitQueueLimits)
from shared.partner_events import ENVELOPE, FORMATS
from shared.schemas import MUNICIPALITY_CODE, POLICE_UNIT

from services.police_liaison import ela



class ContactSchema(Schema):
    """The municipality's contact point for the police: a function, not the victim."""
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    role = fields.String(load_default="contactpersoon meldpunt", validate=validate.Length(max=120))
    phone = fields.String(load_default=None, validate=validate.Length(max=40))
    # The employer's address: with domiciliekeuze it stands in for the victim's home address.
    address = fields.String(load_default=None, validate=validate.Length(max=200))
    email = fields.Email(load_default=None)


class WebhookSchema(Schema):
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    secret_env = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z_][A-Z0-9_]*$"))
    secret_file = fields.String(load_default=None)
    max_attempts = fields.Integer(load_default=8, validate=validate.Range(min=1, max=50))
    first_delay_seconds = fields.Float(load_default=2.0, validate=validate.Range(min=0.01, max=3600))
    max_delay_seconds = fields.Float(load_default=600.0, validate=validate.Range(min=0.01, max=86400))
    timeout_seconds = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=120))

    @validates_schema
    def one_secret(self, data, **kwargs):
        if bool(data.get("secret_env")) == bool(data.get("secret_file")):
            raise ValidationError("give exactly one of secret_env or secret_file", "secret_env")


class OptionsSchema(Schema):
    acute_accept_minutes = fields.Integer(load_default=60, validate=validate.Range(min=1, max=24 * 60))
    accept_working_days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10))
    # The advice to file the aangifte within this many working days; past it, with no aangifte planned, the
    # meldpunt's staff get a reminder (aangifte_reminder_due, a signal).
    aangifte_advice_working_days = fields.Integer(load_default=2, validate=validate.Range(min=1, max=20))
    contacts = fields.Dict(keys=fields.String(validate=MUNICIPALITY_CODE), values=fields.Nested(ContactSchema),
                           load_default=dict)
    webhooks = fields.Dict(keys=fields.String(validate=POLICE_UNIT), values=fields.Nested(WebhookSchema),
                           load_default=dict)
    # In which format a unit receives its referral events, on its AMQP queue and its webhook alike:
    # the hub's envelope (the default during API 1.x) or CloudEvents (docs/events.md#cloudevents).
    formats = fields.Dict(keys=fields.String(validate=POLICE_UNIT), values=fields.String(validate=validate.OneOf(FORMATS)),
                          load_default=dict)
    # How many referral messages a police unit's AMQP queue holds before the oldest move to its
    # parked queue (shared/messaging/topology.py, liaison_queue_arguments).
    unit_queue_max_length = fields.Integer(load_default=PARTNER_QUEUE_MAX_LENGTH,
                                           validate=validate.Range(min=1, max=10_000_000))
    # ... and how many bytes, and how long one message waits (hours) before it is parked all the same.
    unit_queue_max_bytes = fields.Integer(load_default=PARTNER_QUEUE_MAX_BYTES,
                                          validate=validate.Range(min=1024, max=16 * 1024 ** 3))
    unit_queue_message_ttl_hours = fields.Float(load_default=PARTNER_MESSAGE_TTL_HOURS,
                                                validate=validate.Range(min=0.001, max=24 * 365))

    # The region's ELA checklist (services/police_liaison/ela.py): a versioned file of items with their meaning.
    ela_file = fields.String(load_default=str(ela.DEFAULT_FILE))

    @post_load
    def _load_ela(self, data, **kwargs):
        try:
            data["ela"] = ela.load(data["ela_file"])
        except ValueError as exc:
            raise ValidationError(str(exc), "ela_file") from None
        return data


DEFAULTS = OptionsSchema().load({})


def options_of(settings) -> dict:
    return settings.region.options.get("police_liaison") or DEFAULTS


def unit_queue_limits(options: dict) -> UnitQueueLimits:
    """The limits of every police unit's AMQP queue, from the region's options."""
    return UnitQueueLimits(options["unit_queue_max_length"], options["unit_queue_max_bytes"],
                           options["unit_queue_message_ttl_hours"])


def webhook_secret(hook: dict, environ=None) -> bytes:
    """The webhook's signing secret, read when needed so that rotating it needs no restart."""
    environ = os.environ if environ is None else environ
    if hook.get("secret_env"):
        value = environ.get(hook["secret_env"])
        if not value:
            raise LookupError(f"environment variable {hook['secret_env']} (webhook secret) is not set")
        return value.encode()
    return Path(hook["secret_file"]).read_text().strip().encode()
