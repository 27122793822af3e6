"""The event contract: one envelope and one payload schema per event type, defined once.

Events carry identifiers and classifications only — never names, contact data or free
text. tests/unit/test_event_catalogue.py checks every payload field for that and checks
that docs/events.md describes exactly these events.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from shared import vocabulary as v
from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, STATISTICS, TRIAGE

MUNICIPALITY_CODE = validate.Regexp(r"^GM\d{4}$", error="must be a CBS gemeentecode such as GM0687")


def _codes(values):
    return validate.OneOf(values)


# ---------------------------------------------------------------- payloads

class ConsentSchema(Schema):
    class Meta:
        unknown = RAISE
    contact = fields.Boolean(required=True)
    police_referral = fields.Boolean(required=True)
    inform_manager = fields.Boolean(required=True)
    employer_reports = fields.Boolean(required=True)


class IncidentReportedPayload(Schema):
    class Meta:
        unknown = RAISE
    channel = fields.String(required=True, validate=_codes(v.CHANNELS))
    occurred_at = fields.AwareDateTime(required=True)
    location_type = fields.String(required=True, validate=_codes(v.LOCATION_TYPES))
    target_role = fields.String(required=True, validate=_codes(v.TARGET_ROLES))
    reported_categories = fields.List(fields.String(validate=_codes(v.CATEGORIES)), required=True)
    anonymous = fields.Boolean(required=True)
    perpetrator_count = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    consent = fields.Nested(ConsentSchema, required=True)


class IncidentTriagedPayload(Schema):
    class Meta:
        unknown = RAISE
    categories = fields.List(fields.String(validate=_codes(v.CATEGORIES)), required=True,
                             validate=validate.Length(min=1))
    urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    decisions = fields.List(fields.String(validate=_codes(v.DECISIONS)), required=True)
    rules_version = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,40}$"))
    occurred_at = fields.AwareDateTime(required=True)
    location_type = fields.String(required=True, validate=_codes(v.LOCATION_TYPES))
    target_role = fields.String(required=True, validate=_codes(v.TARGET_ROLES))


class ReferralCreatedPayload(Schema):
    class Meta:
        unknown = RAISE
    referral_id = fields.UUID(required=True)
    police_unit = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$"))
    categories = fields.List(fields.String(validate=_codes(v.CATEGORIES)), required=True)
    urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    occurred_at = fields.AwareDateTime(required=True)
    location_type = fields.String(required=True, validate=_codes(v.LOCATION_TYPES))
    status = fields.String(required=True, validate=_codes(v.REFERRAL_STATUSES))


class AftercarePlannedPayload(Schema):
    class Meta:
        unknown = RAISE
    plan_id = fields.UUID(required=True)
    urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    first_contact_due = fields.AwareDateTime(required=True)
    contact_moments = fields.Integer(required=True, validate=validate.Range(min=0, max=20))


class IncidentUpdatedPayload(Schema):
    """What kind of information was added to a case; the information itself stays in the case store."""
    class Meta:
        unknown = RAISE
    channel = fields.String(required=True, validate=_codes(v.CHANNELS))
    changes = fields.List(fields.String(validate=_codes(v.INCIDENT_CHANGES)), required=True,
                          validate=validate.Length(min=1))
    evidence_count = fields.Integer(required=True, validate=validate.Range(min=0, max=1000))


class IncidentWithdrawnPayload(Schema):
    class Meta:
        unknown = RAISE
    channel = fields.String(required=True, validate=_codes(v.CHANNELS))
    withdrawn_by = fields.String(required=True, validate=_codes(v.WITHDRAWERS))


# ---------------------------------------------------------------- catalogue

@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    producer: str
    consumers: tuple[str, ...]
    payload: type[Schema]
    summary: str


CATALOGUE: dict[str, EventType] = {e.name: e for e in (
    EventType("incident_reported", 1, INTAKE, (TRIAGE, STATISTICS), IncidentReportedPayload,
              "An incident was received and stored in the municipality's case store."),
    EventType("incident_triaged", 1, TRIAGE, (INTAKE, POLICE_LIAISON, AFTERCARE, STATISTICS),
              IncidentTriagedPayload,
              "Triage classified the incident and decided what happens next."),
    EventType("referral_created", 1, POLICE_LIAISON, (INTAKE, STATISTICS), ReferralCreatedPayload,
              "A police referral was created for the case's police unit (basisteam)."),
    EventType("aftercare_planned", 1, AFTERCARE, (INTAKE, STATISTICS), AftercarePlannedPayload,
              "A care plan (opvang en nazorg) was made, with its first contact moment."),
    EventType("incident_updated", 1, INTAKE, (STATISTICS,), IncidentUpdatedPayload,
              "Information or evidence was added to a case (by the reporter or by staff)."),
    EventType("incident_withdrawn", 1, INTAKE, (STATISTICS,),
              IncidentWithdrawnPayload,
              "The reporter withdrew the report; downstream work on the case should stop."),
)}


# ---------------------------------------------------------------- envelope

class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # newer producers may add envelope fields; consumers ignore them
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=_codes(tuple(CATALOGUE)))
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    municipality = fields.String(required=True, validate=MUNICIPALITY_CODE)
    case_id = fields.UUID(required=True)
    correlation_id = fields.UUID(required=True)
    payload = fields.Dict(required=True)


@dataclass(frozen=True)
class Event:
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    municipality: str
    case_id: uuid.UUID
    correlation_id: uuid.UUID
    payload: dict

    @property
    def producer(self) -> str:
        return CATALOGUE[self.event_type].producer


class InvalidEvent(ValueError):
    """A message that does not follow the contract; retrying it cannot help."""

    def __init__(self, messages):
        self.messages = messages
        super().__init__(f"invalid event: {messages}")


def new_event(event_type: str, municipality: str, case_id, payload: dict,
              correlation_id=None, occurred_at: datetime | None = None) -> Event:
    """Build an event and validate it against the catalogue before it goes anywhere."""
    spec = CATALOGUE[event_type]
    body = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": spec.version,
        "occurred_at": (occurred_at or datetime.now(timezone.utc)).isoformat(),
        "municipality": municipality,
        "case_id": str(case_id),
        "correlation_id": str(correlation_id or uuid.uuid4()),
        "payload": spec.payload().dump(payload),
    }
    return load_event(body)


def load_event(body) -> Event:
    """Validate a message body (envelope and payload); raise InvalidEvent if it breaks the contract."""
    if not isinstance(body, dict):
        raise InvalidEvent({"_schema": ["event body must be a JSON object"]})
    try:
        envelope = EnvelopeSchema().load(body)
        spec = CATALOGUE[envelope["event_type"]]
        if envelope["schema_version"] != spec.version:
            raise ValidationError({"schema_version": [f"unsupported version for {spec.name}"]})
        payload = spec.payload().load(envelope["payload"])
    except ValidationError as exc:
        raise InvalidEvent(exc.messages) from None
    return Event(**{**envelope, "payload": payload})


def dump_event(event: Event) -> dict:
    """The JSON-ready body of an event, as it travels on the broker and sits in the outbox."""
    spec = CATALOGUE[event.event_type]
    body = EnvelopeSchema().dump({**event.__dict__, "payload": {}})
    body["payload"] = spec.payload().dump(event.payload)
    return body
