"""Intake's region options (`intake:` in the region file): form limits, the form's signing secret, mailboxes."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.schemas import MUNICIPALITY_CODE


class MailboxSchema(Schema):
    """Where `meldpunt intake-mail` reads one municipality's meldpunt mailbox: a maildir or an IMAP folder."""
    maildir = fields.String(validate=validate.Length(min=1))
    imap_host = fields.String(validate=validate.Length(min=1))
    imap_port = fields.Integer(load_default=993, validate=validate.Range(min=1, max=65535))
    imap_user = fields.String(validate=validate.Length(min=1))
    imap_password = fields.String(validate=validate.Length(min=1))
    imap_folder = fields.String(load_default="INBOX")
    imap_ssl = fields.Boolean(load_default=True)

    @validates_schema
    def _one_kind(self, data, **kwargs):
        if bool(data.get("maildir")) == bool(data.get("imap_host")):
            raise ValidationError("give either maildir or imap_host")
        if data.get("imap_host") and not (data.get("imap_user") and data.get("imap_password")):
            raise ValidationError("imap_host needs imap_user and imap_password")


class OptionsSchema(Schema):
    # Signs the public form's CSRF tokens; without it each intake process makes its own at start-up
    # (fine for one process; set it when several intake processes sit behind one address).
    form_secret = fields.String(load_default=None, validate=validate.Length(min=32))
    max_file_bytes = fields.Integer(load_default=5 * 1024 * 1024, validate=validate.Range(min=1024))
    max_case_bytes = fields.Integer(load_default=20 * 1024 * 1024, validate=validate.Range(min=1024))
    # Token bucket per client address for the public form's POSTs: `form_burst` at once, refilled at
    # `form_rate_per_minute`.
    # Who answers questions about personal data (the FG: an address or a web page), named in the privacy
    # statement (/meld/privacy, AVG art. 13); and where accessibility problems go (/meld/toegankelijkheid).
    privacy_officer = fields.String(load_default=None, validate=validate.Length(min=3, max=200))
    accessibility_contact = fields.String(load_default=None, validate=validate.Length(min=3, max=200))
    form_rate_per_minute = fields.Float(load_default=6.0, validate=validate.Range(min=0.1))
    form_burst = fields.Integer(load_default=10, validate=validate.Range(min=1))
    # Signed municipality channels: how far a request's X-Meldpunt-Timestamp may lie from the hub's clock,
    # and how long a signature is remembered against replays.
    signature_window_seconds = fields.Integer(load_default=300, validate=validate.Range(min=10, max=3600))
    # `meldpunt intake-mail` without --once: seconds between two looks in each mailbox.
    mail_poll_seconds = fields.Float(load_default=60.0, validate=validate.Range(min=1))
    mailboxes = fields.Dict(keys=fields.String(validate=MUNICIPALITY_CODE), values=fields.Nested(MailboxSchema),
                            load_default=dict)


def intake_options(region) -> dict:
    return region.options.get("intake") or OptionsSchema().load({})
