"""The signals service's region options (`signals:` in the region file): deadlines of signals, who gets
mail at which address, when digests go out, and the mail server (docs/configuration.md#signals).

Secrets (the mail server's user name and password) come from a file or an environment variable,
never from the region file itself.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.messaging.topology import SUBSCRIBER_QUEUE_MAX_BYTES, SUBSCRIBER_QUEUE_TTL_SECONDS
from shared.schemas import SecretSchema
from shared.vocabulary import SIGNAL_OWNER_ROLES

REGION = "region"
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _clock_time(value: str) -> None:
    if not CLOCK_TIME.match(value or ""):
        raise ValidationError("must be a Dutch clock time such as 08:30")


class MailSchema(Schema):
    """The mail server (SMTP). `starttls: true` (the default) refuses to send unless the server offers
    STARTTLS; `ca_file` names the certificate authority to trust when it is not a public one."""
    host = fields.String(required=True, validate=validate.Length(min=1, max=255))
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535))
    starttls = fields.Boolean(load_default=True)
    ca_file = fields.String(load_default=None)
    username = fields.Nested(SecretSchema, load_default=None)
    password = fields.Nested(SecretSchema, load_default=None)
    sender = fields.Email(required=True)
    sender_name = fields.String(load_default="Meldpunt Hub", validate=validate.Length(min=1, max=80))
    timeout_seconds = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=120))
    # how often the mailer looks for mail to compose and send (and for a mail server back up)
    poll_seconds = fields.Float(load_default=2.0, validate=validate.Range(min=0.05, max=300))
    # a mail the server did not take is tried again after first_delay, doubling up to max_delay, until it
    # goes (a server that is down delays mail, never loses it); a mail the server refuses for good
    # (5xx for the recipient) is marked failed in the delivery log
    first_delay_seconds = fields.Float(load_default=5.0, validate=validate.Range(min=0.01, max=3600))
    max_delay_seconds = fields.Float(load_default=600.0, validate=validate.Range(min=0.01, max=86400))

    @validates_schema
    def _credentials(self, data, **kwargs):
        if bool(data.get("username")) != bool(data.get("password")):
            raise ValidationError("give both username and password, or neither", "password")


class PartnersSchema(Schema):
    """Deliveries to partner subscribers (docs/partners.md): how often the deliverer looks for due ones, and
    the bounds of each AMQP subscriber's queue (`meldpunt subscriber add --amqp` declares it with them)."""
    poll_seconds = fields.Float(load_default=2.0, validate=validate.Range(min=0.05, max=300))
    queue_max_bytes = fields.Integer(load_default=SUBSCRIBER_QUEUE_MAX_BYTES,
                                     validate=validate.Range(min=1024, max=10 * 1024 ** 3))
    queue_ttl_seconds = fields.Integer(load_default=SUBSCRIBER_QUEUE_TTL_SECONDS,
                                       validate=validate.Range(min=60, max=90 * 24 * 3600))


class OptionsSchema(Schema):
    # an acute signal is due this many minutes after it is raised; others after working days
    acute_due_minutes = fields.Integer(load_default=60, validate=validate.Range(min=1, max=24 * 60))
    due_working_days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10))
    # non-acute signals are mailed in one digest per address at these Dutch clock times, every day
    digest_times = fields.List(fields.String(validate=_clock_time), load_default=lambda: ["08:30", "13:00"],
                               validate=validate.Length(min=1, max=24))
    # the role's mailbox per municipality (and `region` for the regional coordinator): {code: {role: address}}
    addresses = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^(GM\d{4}|region)$",
                                                                      error="must be a gemeentecode or region")),
                            values=fields.Dict(keys=fields.String(validate=validate.OneOf(SIGNAL_OWNER_ROLES)),
                                               values=fields.Email()),
                            load_default=dict)
    # where links in mails lead: the workbench (staff) and intake's follow-up page (reporters)
    workbench_url = fields.Url(load_default="http://127.0.0.1:8006", require_tld=False, schemes={"http", "https"})
    follow_up_url = fields.Url(load_default="http://127.0.0.1:8001", require_tld=False, schemes={"http", "https"})
    # without `mail` the signals are kept and shown, and their mails wait in the outbox until a server is set
    mail = fields.Nested(MailSchema, load_default=None)
    partners = fields.Nested(PartnersSchema, load_default=lambda: PartnersSchema().load({}))

    @staticmethod
    def check_region(options: dict, codes) -> None:
        """Addresses name municipalities of this region (called by shared/config.py when it can)."""
        unknown = sorted(set(options["addresses"]) - set(codes) - {REGION})
        if unknown:
            raise ValidationError({"addresses": [f"{unknown[0]} is not a municipality of this region"]})


DEFAULTS = OptionsSchema().load({})


def options_of(region) -> dict:
    return region.options.get("signals") or DEFAULTS


def secret(spec: dict | None, environ=None) -> str | None:
    """The value of a `{env: NAME}` or `{file: path}` secret; None when none is configured."""
    if not spec:
        return None
    environ = os.environ if environ is None else environ
    if spec.get("env"):
        value = environ.get(spec["env"])
        if not value:
            raise LookupError(f"environment variable {spec['env']} (mail server credential) is not set")
        return value
    return Path(spec["file"]).read_text(encoding="utf-8").strip()
