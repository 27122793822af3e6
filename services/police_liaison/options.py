"""Region options of police liaison (`police_liaison:` in the region file): deadlines, each
municipality's contact point for the police, and a signed webhook per police unit."""
from __future__ import annotations

import os
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

UNIT = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$", error="must be a police unit code such as zwb-walcheren")
MUNICIPALITY = validate.Regexp(r"^GM\d{4}$", error="must be a CBS gemeentecode such as GM0687")


class ContactSchema(Schema):
    """The municipality's contact point for the police: a function, not the victim."""
    class Meta:
        unknown = RAISE
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    role = fields.String(load_default="contactpersoon meldpunt", validate=validate.Length(max=120))
    phone = fields.String(load_default=None, validate=validate.Length(max=40))
    email = fields.Email(load_default=None)


class WebhookSchema(Schema):
    class Meta:
        unknown = RAISE
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
    class Meta:
        unknown = RAISE
    acute_accept_minutes = fields.Integer(load_default=60, validate=validate.Range(min=1, max=24 * 60))
    accept_working_days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10))
    contacts = fields.Dict(keys=fields.String(validate=MUNICIPALITY), values=fields.Nested(ContactSchema),
                           load_default=dict)
    webhooks = fields.Dict(keys=fields.String(validate=UNIT), values=fields.Nested(WebhookSchema),
                           load_default=dict)


DEFAULTS = OptionsSchema().load({})


def options_of(settings) -> dict:
    return settings.region.options.get("police_liaison") or DEFAULTS


def webhook_secret(hook: dict, environ=None) -> bytes:
    """The webhook's signing secret, read when needed so that rotating it needs no restart."""
    environ = os.environ if environ is None else environ
    if hook.get("secret_env"):
        value = environ.get(hook["secret_env"])
        if not value:
            raise LookupError(f"environment variable {hook['secret_env']} (webhook secret) is not set")
        return value.encode()
    return Path(hook["secret_file"]).read_text().strip().encode()
