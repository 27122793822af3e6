"""The intake API's contract for municipalities' own channels: extend it, never break it."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from shared import vocabulary

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TEXT = validate.Length(min=1, max=200)


class ReporterSchema(Schema):
    name = fields.String(validate=TEXT)
    email = fields.Email(validate=validate.Length(max=254))
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,20}$", error="is not a phone number"))
    address = fields.String(validate=TEXT, metadata={
        "description": "home address; reaches the police only when the victim files the aangifte in their own "
                       "name without domiciliekeuze or onder nummer (docs/police-liaison.md#aangifte-options)"})


class PerpetratorSchema(Schema):
    name = fields.String(validate=TEXT)
    description = fields.String(validate=validate.Length(min=1, max=2000))
    online_handle = fields.String(validate=TEXT)
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,20}$", error="is not a phone number"))
    birth_date = fields.Date()
    relation = fields.String(load_default="unknown", validate=validate.OneOf(vocabulary.PERPETRATOR_RELATIONS),
                             metadata={"description": "resident, client, colleague or unknown"})
    vehicle = fields.String(validate=TEXT, metadata={"description": "vehicle description"})
    licence_plate = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9 -]{1,12}$",
                                                           error="is not a licence plate"))


class TargetSchema(Schema):
    """The person the incident was aimed at; department and function only matter for an ambtenaar."""
    department = fields.String(validate=TEXT)
    function = fields.String(validate=TEXT)


class WitnessSchema(Schema):
    name = fields.String(validate=TEXT)
    contact = fields.String(validate=TEXT, metadata={"description": "e-mail address or phone number"})
    statement = fields.String(validate=validate.Length(min=1, max=2000))


class ConsentSchema(Schema):
    contact = fields.Boolean(load_default=False)
    police_referral = fields.Boolean(load_default=False)
    inform_manager = fields.Boolean(load_default=False)
    employer_reports = fields.Boolean(load_default=False)
    contact_method = fields.String(validate=validate.OneOf(vocabulary.REPORTER_CONTACT_METHODS),
                                   metadata={"description": "how the meldpunt may contact: email or phone"})


class IncidentReportSchema(Schema):
    """POST /api/v1/incidents. Only occurred_at and description are required."""
    occurred_at = fields.DateTime(required=True, metadata={"description": "ISO 8601; without offset: Dutch time"})
    description = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    location_type = fields.String(load_default="overig", validate=validate.OneOf(vocabulary.LOCATION_TYPES))
    target_role = fields.String(load_default="overig", validate=validate.OneOf(vocabulary.TARGET_ROLES))
    reporter = fields.Nested(ReporterSchema, load_default=None, allow_none=True,
                             metadata={"description": "left out or null: anonymous"})
    perpetrators = fields.List(fields.Nested(PerpetratorSchema), load_default=list,
                               validate=validate.Length(max=20))
    consent = fields.Nested(ConsentSchema, load_default=lambda: ConsentSchema().load({}))
    categories = fields.List(fields.String(validate=vocabulary.category_validators(), metadata={
        "enum": list(vocabulary.CATEGORIES),
        "description": "a category code; a region may accept codes of its own beside these (its triage rules)"}),
        load_default=list,
                             validate=validate.Length(max=len(vocabulary.CATEGORIES) + vocabulary.MAX_OWN_CATEGORIES))
    # Optional extensions (migration 0002); a client that never sends them is answered as before.
    own_kind = fields.String(load_default=None, validate=TEXT,
                             metadata={"description": "the reporter's own words for the kind of incident"})
    occurred_at_precision = fields.String(load_default="exact", validate=validate.OneOf(vocabulary.OCCURRED_AT_PRECISIONS),
                                          metadata={"description": "exact, hour or day"})
    occurred_until = fields.DateTime(load_default=None,
                                     metadata={"description": "end of an approximate window starting at occurred_at"})
    location_detail = fields.String(load_default=None, validate=TEXT,
                                    metadata={"description": "address, platform or meeting; stays in the case store"})
    target = fields.Nested(TargetSchema, load_default=None, allow_none=True)
    reporter_relation = fields.String(load_default="target", validate=validate.OneOf(vocabulary.REPORTER_RELATIONS),
                                      metadata={"description": "target, witness or manager (reporting for an employee)"})
    injuries = fields.String(load_default=None, validate=validate.Length(min=1, max=2000))
    damage = fields.String(load_default=None, validate=validate.Length(min=1, max=2000))
    witnesses = fields.List(fields.Nested(WitnessSchema), load_default=list, validate=validate.Length(max=20))
    aangifte_help = fields.Boolean(load_default=False,
                                   metadata={"description": "the reporter wants help with a police report"})
    direct_danger = fields.Boolean(load_default=False, metadata={
        "description": "the reporter says there is danger right now (the form asks 'Is er nu direct gevaar?'): "
                       "the report is acute from intake on; call 112 as well"})

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
    # the reporter's way back (issue 19): staff hand them over, a channel returns them to its reporter
    receipt_code = fields.String(metadata={"description": "the receipt code (meldcode) for the follow-up page"})
    secret = fields.String(metadata={"description": "the follow-up secret; shown in this answer only (and its "
                                                    "Idempotency-Key replays), only its hash is kept"})


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
    # who withdrew or closed the case and when: the reporter on the follow-up page, or staff (their person)
    withdrawn_at = fields.AwareDateTime(allow_none=True)
    ended = fields.Dict(allow_none=True, metadata={
        "description": "kind (ingetrokken, afgesloten), by (melder or the staff member), reason code, at"})


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


# ---------------------------------------------------------------- the meldpunt's casework (workbench)

class CaseListQuerySchema(Schema):
    """GET /api/v1/cases: filters, search and paging of the case list."""
    status = fields.List(fields.String(validate=validate.OneOf(
        ("ontvangen", "in_behandeling", "doorverwezen", "nazorg", "afgesloten", "ingetrokken"))),
        load_default=list, validate=validate.Length(max=6))
    category = fields.List(fields.String(validate=validate.OneOf(vocabulary.CATEGORIES)), load_default=list,
                           validate=validate.Length(max=8))
    urgency = fields.List(fields.String(validate=validate.OneOf(vocabulary.URGENCIES)), load_default=list,
                          validate=validate.Length(max=4))
    channel = fields.List(fields.String(validate=validate.OneOf(vocabulary.CHANNELS)), load_default=list,
                          validate=validate.Length(max=7))
    assigned_to = fields.String(validate=validate.Length(min=1, max=300))
    unassigned = fields.Boolean(load_default=False)
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "the start of a case id, or a receipt code"})
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class AssignSchema(Schema):
    # the person's sub and display name, as the workbench knows them; null takes the case off anyone
    assignee = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=300))
    assignee_name = fields.String(load_default=None, allow_none=True, validate=TEXT)

    @validates_schema
    def _name_with_person(self, data, **kwargs):
        if data.get("assignee") and not data.get("assignee_name"):
            raise ValidationError("give the person's name with their id", "assignee_name")


class NoteSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class MessageSchema(Schema):
    """POST /api/v1/incidents/{case_id}/messages: a message for the reporter, shown on the follow-up page."""
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class StaffCloseSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(vocabulary.STAFF_CLOSE_REASONS))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=1000))


class ConflictSchema(Schema):
    """A conflict of interest: the case goes to the region (or the meldpunt the region file names) and
    the people named may never see it."""
    kind = fields.String(required=True, validate=validate.OneOf(vocabulary.CONFLICT_KINDS))
    exclude_emails = fields.List(fields.Email(validate=validate.Length(max=254)), load_default=list,
                                 validate=validate.Length(max=20))
    exclude_persons = fields.List(fields.String(validate=validate.Length(min=1, max=300)), load_default=list,
                                  validate=validate.Length(max=20),
                                  metadata={"description": "subs of people who signed in to the workbench"})
