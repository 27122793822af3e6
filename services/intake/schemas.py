"""The intake API's contract for municipalities' own channels: extend it, never break it."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from shared import vocabulary as v

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TEXT = validate.Length(min=1, max=200)


class ReporterSchema(Schema):
    class Meta:
        unknown = RAISE
    name = fields.String(validate=TEXT)
    email = fields.Email(validate=validate.Length(max=254))
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,20}$", error="is not a phone number"))


class PerpetratorSchema(Schema):
    class Meta:
        unknown = RAISE
    name = fields.String(validate=TEXT)
    description = fields.String(validate=validate.Length(min=1, max=2000))
    online_handle = fields.String(validate=TEXT)
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,20}$", error="is not a phone number"))
    birth_date = fields.Date()
    relation = fields.String(load_default="unknown", validate=validate.OneOf(v.PERPETRATOR_RELATIONS),
                             metadata={"description": "resident, client, colleague or unknown"})
    vehicle = fields.String(validate=TEXT, metadata={"description": "vehicle description"})
    licence_plate = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9 -]{1,12}$",
                                                           error="is not a licence plate"))


class TargetSchema(Schema):
    """The person the incident was aimed at; department and function only matter for an ambtenaar."""
    class Meta:
        unknown = RAISE
    department = fields.String(validate=TEXT)
    function = fields.String(validate=TEXT)


class WitnessSchema(Schema):
    class Meta:
        unknown = RAISE
    name = fields.String(validate=TEXT)
    contact = fields.String(validate=TEXT, metadata={"description": "e-mail address or phone number"})
    statement = fields.String(validate=validate.Length(min=1, max=2000))


class ConsentSchema(Schema):
    class Meta:
        unknown = RAISE
    contact = fields.Boolean(load_default=False)
    police_referral = fields.Boolean(load_default=False)
    inform_manager = fields.Boolean(load_default=False)
    employer_reports = fields.Boolean(load_default=False)
    contact_method = fields.String(validate=validate.OneOf(v.REPORTER_CONTACT_METHODS),
                                   metadata={"description": "how the meldpunt may contact: email or phone"})


class IncidentReportSchema(Schema):
    """POST /api/v1/incidents. Only occurred_at and description are required."""
    class Meta:
        unknown = RAISE

    occurred_at = fields.DateTime(required=True, metadata={"description": "ISO 8601; without offset: Dutch time"})
    description = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    location_type = fields.String(load_default="overig", validate=validate.OneOf(v.LOCATION_TYPES))
    target_role = fields.String(load_default="overig", validate=validate.OneOf(v.TARGET_ROLES))
    reporter = fields.Nested(ReporterSchema, load_default=None, allow_none=True,
                             metadata={"description": "left out or null: anonymous"})
    perpetrators = fields.List(fields.Nested(PerpetratorSchema), load_default=list,
                               validate=validate.Length(max=20))
    consent = fields.Nested(ConsentSchema, load_default=lambda: ConsentSchema().load({}))
    categories = fields.List(fields.String(validate=validate.OneOf(v.CATEGORIES)), load_default=list,
                             validate=validate.Length(max=len(v.CATEGORIES)))
    # Optional extensions (migration 0002); a client that never sends them is answered as before.
    own_kind = fields.String(load_default=None, validate=TEXT,
                             metadata={"description": "the reporter's own words for the kind of incident"})
    occurred_at_precision = fields.String(load_default="exact", validate=validate.OneOf(v.OCCURRED_AT_PRECISIONS),
                                          metadata={"description": "exact, hour or day"})
    occurred_until = fields.DateTime(load_default=None,
                                     metadata={"description": "end of an approximate window starting at occurred_at"})
    location_detail = fields.String(load_default=None, validate=TEXT,
                                    metadata={"description": "address, platform or meeting; stays in the case store"})
    target = fields.Nested(TargetSchema, load_default=None, allow_none=True)
    reporter_relation = fields.String(load_default="target", validate=validate.OneOf(v.REPORTER_RELATIONS),
                                      metadata={"description": "target, witness or manager (reporting for an employee)"})
    injuries = fields.String(load_default=None, validate=validate.Length(min=1, max=2000))
    damage = fields.String(load_default=None, validate=validate.Length(min=1, max=2000))
    witnesses = fields.List(fields.Nested(WitnessSchema), load_default=list, validate=validate.Length(max=20))
    aangifte_help = fields.Boolean(load_default=False,
                                   metadata={"description": "the reporter wants help with a police report"})

    @post_load
    def _dutch_time(self, data, **kwargs):
        for name in ("occurred_at", "occurred_until"):
            if data.get(name) is not None and data[name].tzinfo is None:
                data[name] = data[name].replace(tzinfo=AMSTERDAM)
            if data.get(name) is not None:
                # real offsets lie within -12:00..+14:00; PostgreSQL refuses some that Python takes
                if abs(data[name].utcoffset()) > timedelta(hours=14):
                    raise ValidationError("has a time zone offset beyond ±14:00", field_name=name)
                if data[name].year < 1900:
                    raise ValidationError("lies before 1900", field_name=name)
        if data["occurred_at"] > datetime.now(timezone.utc) + timedelta(minutes=10):
            raise ValidationError("lies in the future", field_name="occurred_at")
        if data.get("occurred_until") is not None and data["occurred_until"] < data["occurred_at"]:
            raise ValidationError("lies before occurred_at", field_name="occurred_until")
        data["categories"] = sorted(set(data["categories"]))
        return data

    @validates_schema
    def _contact_needs_a_route(self, data, **kwargs):
        consent = data.get("consent") or {}
        reporter = data.get("reporter") or {}
        if consent.get("contact") and not (reporter.get("email") or reporter.get("phone")):
            raise ValidationError("contact needs reporter.email or reporter.phone", field_name="consent.contact")
        method = consent.get("contact_method")
        if method and not reporter.get(method):
            raise ValidationError(f"contact_method {method} needs reporter.{method}",
                                  field_name="consent.contact_method")


class IncidentCreatedSchema(Schema):
    case_id = fields.UUID(required=True)
    status = fields.String(required=True)


class IncidentViewSchema(Schema):
    """GET /api/v1/incidents/{case_id}: the case as the municipality holds it."""
    case_id = fields.UUID()
    municipality = fields.String()
    channel = fields.String()
    received_at = fields.AwareDateTime()
    occurred_at = fields.AwareDateTime()
    description = fields.String(allow_none=True)
    location_type = fields.String()
    target_role = fields.String()
    categories = fields.List(fields.String(), attribute="reported_categories")
    reporter = fields.Dict(allow_none=True)
    anonymous = fields.Boolean()
    perpetrators = fields.List(fields.Dict(), allow_none=True)
    consent = fields.Dict()
    status = fields.String()
    own_kind = fields.String(allow_none=True)
    occurred_at_precision = fields.String()
    occurred_until = fields.AwareDateTime(allow_none=True)
    location_detail = fields.String(allow_none=True)
    target = fields.Dict(allow_none=True)
    reporter_relation = fields.String()
    injuries = fields.String(allow_none=True)
    damage = fields.String(allow_none=True)
    witnesses = fields.List(fields.Dict(), allow_none=True)
    aangifte_help = fields.Boolean()
    draft = fields.Boolean(metadata={"description": "true: read from a mailbox, not yet completed by staff"})
    evidence = fields.List(fields.Nested(lambda: EvidenceViewSchema()))
    # after `meldpunt erase` or the retention run: codes and dates stay, personal data is gone (null)
    erased = fields.Boolean()
    erased_at = fields.AwareDateTime(allow_none=True)


class EvidenceViewSchema(Schema):
    """One evidence file's description (never its content)."""
    evidence_id = fields.UUID()
    filename = fields.String(allow_none=True)
    media_type = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    added_at = fields.AwareDateTime()
    added_by = fields.String()


class DraftSchema(Schema):
    """GET /api/v1/drafts: one case read from a mailbox, waiting for staff."""
    case_id = fields.UUID()
    channel = fields.String()
    received_at = fields.AwareDateTime()
    received_by = fields.String(metadata={"description": "the mailbox it was read from"})


class EvidenceAddedSchema(Schema):
    """POST /api/v1/incidents/{case_id}/evidence: what was stored."""
    evidence_id = fields.UUID(required=True)
    case_id = fields.UUID(required=True)
    media_type = fields.String(required=True, metadata={"description": "decided by content: " +
                                                        "image/png, image/jpeg, image/gif, image/webp, "
                                                        "application/pdf, text/plain or message/rfc822"})
    size_bytes = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    evidence_count = fields.Integer(required=True, metadata={"description": "files in the case now"})
