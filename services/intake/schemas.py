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


class ConsentSchema(Schema):
    class Meta:
        unknown = RAISE
    contact = fields.Boolean(load_default=False)
    police_referral = fields.Boolean(load_default=False)
    inform_manager = fields.Boolean(load_default=False)
    employer_reports = fields.Boolean(load_default=False)


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

    @post_load
    def _dutch_time(self, data, **kwargs):
        if data["occurred_at"].tzinfo is None:
            data["occurred_at"] = data["occurred_at"].replace(tzinfo=AMSTERDAM)
        if data["occurred_at"] > datetime.now(timezone.utc) + timedelta(minutes=10):
            raise ValidationError("lies in the future", field_name="occurred_at")
        data["categories"] = sorted(set(data["categories"]))
        return data

    @validates_schema
    def _contact_needs_a_route(self, data, **kwargs):
        consent = data.get("consent") or {}
        reporter = data.get("reporter") or {}
        if consent.get("contact") and not (reporter.get("email") or reporter.get("phone")):
            raise ValidationError("contact needs reporter.email or reporter.phone", field_name="consent.contact")


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
    description = fields.String()
    location_type = fields.String()
    target_role = fields.String()
    categories = fields.List(fields.String(), attribute="reported_categories")
    reporter = fields.Dict(allow_none=True)
    anonymous = fields.Boolean()
    perpetrators = fields.List(fields.Dict())
    consent = fields.Dict()
    status = fields.String()
