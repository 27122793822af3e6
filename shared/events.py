"""The event contract: one envelope and one payload schema per event type, defined once.

Events carry identifiers and classifications only — never names, contact data or free
text. tests/unit/test_event_catalogue.py checks every payload field for that and checks
that docs/events.md describes exactly these events.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable
from datetime import datetime, timezone

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from shared import vocabulary as v
from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, STATISTICS, TRIAGE
from shared.schemas import instance

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


class IncidentUpdatedPayload(IncidentReportedPayload):
    """The incident as it stands after a change in intake: the fields of incident_reported, and
    what kind of information was added (never the information itself)."""
    changes = fields.List(fields.String(validate=_codes(v.INCIDENT_CHANGES)), load_default=list)
    evidence_count = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1000))


class TriageOverriddenPayload(Schema):
    """Staff confirmed a triage result with changes; the reason stays in the audit log."""
    class Meta:
        unknown = RAISE
    categories = fields.List(fields.String(validate=_codes(v.CATEGORIES)), required=True,
                             validate=validate.Length(min=1))
    urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    decisions = fields.List(fields.String(validate=_codes(v.DECISIONS)), required=True)
    previous_urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    previous_decisions = fields.List(fields.String(validate=_codes(v.DECISIONS)), required=True)
    rules_version = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,40}$"))


class TriageOverduePayload(Schema):
    class Meta:
        unknown = RAISE
    urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    due_at = fields.AwareDateTime(required=True)


class RepeatDetectedPayload(Schema):
    """Counts only: never which perpetrator, nor any keyed hash of one."""
    class Meta:
        unknown = RAISE
    kind = fields.String(required=True, validate=_codes(v.REPEAT_KINDS))
    cases_in_municipality = fields.Integer(required=True, validate=validate.Range(min=0, max=100000))
    other_municipalities = fields.Integer(required=True, validate=validate.Range(min=0, max=1000))
POLICE_UNIT = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$", error="must be a police unit code")
# A reference to the municipality's contact point for the police (details via the API), not a person.
CONTACT_ROUTE = validate.Regexp(r"^gemeente:GM\d{4}$", error="must read gemeente:<gemeentecode>")


class ElaSchema(Schema):
    """The ELA checklist (national agreements for incidents against people with a public task)."""
    class Meta:
        unknown = RAISE
    vpt_registered = fields.Boolean(required=True)
    domiciliekeuze = fields.Boolean(required=True)
    employer_aangifte = fields.Boolean(required=True)
    priority_handling = fields.Boolean(required=True)
    claim_damages = fields.Boolean(required=True)


class ReferralCreatedPayload(Schema):
    class Meta:
        unknown = RAISE
    referral_id = fields.UUID(required=True)
    police_unit = fields.String(required=True, validate=POLICE_UNIT)
    categories = fields.List(fields.String(validate=_codes(v.CATEGORIES)), required=True)
    urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    occurred_at = fields.AwareDateTime(required=True)
    location_type = fields.String(required=True, validate=_codes(v.LOCATION_TYPES))
    status = fields.String(required=True, validate=_codes(v.REFERRAL_STATUSES))
    ela = fields.Nested(ElaSchema)
    contact_route = fields.String(validate=CONTACT_ROUTE)


class ReferralUpdatedPayload(Schema):
    class Meta:
        unknown = RAISE
    referral_id = fields.UUID(required=True)
    police_unit = fields.String(required=True, validate=POLICE_UNIT)
    status = fields.String(required=True, validate=_codes(v.REFERRAL_STATUSES))
    previous_status = fields.String(required=True, validate=_codes(v.REFERRAL_STATUSES))
    outcome = fields.String(allow_none=True, validate=_codes(v.REFERRAL_OUTCOMES))
    ela = fields.Nested(ElaSchema, required=True)


class ReferralEscalatedPayload(Schema):
    class Meta:
        unknown = RAISE
    referral_id = fields.UUID(required=True)
    police_unit = fields.String(required=True, validate=POLICE_UNIT)
    urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    deadline = fields.AwareDateTime(required=True)


class AftercarePlannedPayload(Schema):
    class Meta:
        unknown = RAISE
    plan_id = fields.UUID(required=True)
    urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    first_contact_due = fields.AwareDateTime(required=True)
    contact_moments = fields.Integer(required=True, validate=validate.Range(min=0, max=20))


PLAN_ID = fields.UUID(required=True)


class AftercareContactDuePayload(Schema):
    class Meta:
        unknown = RAISE
    plan_id = PLAN_ID
    moment = fields.String(required=True, validate=_codes(v.CONTACT_MOMENTS))
    urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    due_at = fields.AwareDateTime(required=True)


class AftercareOverduePayload(AftercareContactDuePayload):
    """The contact moment's fields, and how late it is."""
    hours_overdue = fields.Integer(required=True, validate=validate.Range(min=0))


class AftercareContactRecordedPayload(Schema):
    class Meta:
        unknown = RAISE
    plan_id = PLAN_ID
    moment = fields.String(required=True, validate=_codes(v.CONTACT_MOMENTS))
    method = fields.String(required=True, validate=_codes(v.CONTACT_METHODS))
    outcome = fields.String(required=True, validate=_codes(v.CONTACT_OUTCOMES))
    hours_after_due = fields.Integer(allow_none=True, load_default=None)
    days_since_incident = fields.Integer(required=True)
    wellbeing_checked = fields.Boolean(required=True)


class AftercareReferredPayload(Schema):
    class Meta:
        unknown = RAISE
    plan_id = PLAN_ID
    referral_id = fields.UUID(required=True)
    days_since_incident = fields.Integer(required=True)


class AftercareClosedPayload(Schema):
    class Meta:
        unknown = RAISE
    plan_id = PLAN_ID
    reason = fields.String(required=True, validate=_codes(v.CLOSE_REASONS))
    contacts = fields.Integer(required=True, validate=validate.Range(min=0))
    referrals = fields.Integer(required=True, validate=validate.Range(min=0))
    days_open = fields.Integer(required=True, validate=validate.Range(min=0))


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
    # Extra (exchange, routing key) pairs the outbox relay also publishes to, from the body;
    # the producer's exchange with routing key = event type is always the first route.
    extra_routes: Callable[[dict], list[tuple[str, str]]] | None = None

    @property
    def schema(self) -> Schema:
        """One reusable instance: building a marshmallow schema costs more than using it."""
        return instance(self.payload)


POLICE_REFERRALS_EXCHANGE = "police.referrals"


def police_unit_route(body: dict) -> list[tuple[str, str]]:
    """Referral events also go to `police.referrals` as `<police_unit>.<event_type>`, so a
    liaison binds to exactly their unit (`zwb-walcheren.#`)."""
    return [(POLICE_REFERRALS_EXCHANGE, f"{body['payload']['police_unit']}.{body['event_type']}")]


CATALOGUE: dict[str, EventType] = {e.name: e for e in (
    EventType("incident_reported", 1, INTAKE, (TRIAGE, STATISTICS), IncidentReportedPayload,
              "An incident was received and stored in the municipality's case store."),
    EventType("incident_triaged", 1, TRIAGE, (POLICE_LIAISON, AFTERCARE, STATISTICS),
              IncidentTriagedPayload,
              "Triage classified the incident and decided what happens next."),
    EventType("incident_updated", 1, INTAKE, (TRIAGE, STATISTICS), IncidentUpdatedPayload,
              "An incident's details changed in intake; triage decides again."),
    EventType("incident_withdrawn", 1, INTAKE, (STATISTICS,), IncidentWithdrawnPayload,
              "The reporter withdrew the report; downstream work on the case should stop."),
    EventType("triage_overridden", 1, TRIAGE, (AFTERCARE, STATISTICS),
              TriageOverriddenPayload,
              "Staff overrode a triage result (categories, urgency or decisions) with a reason."),
    EventType("triage_overdue", 1, TRIAGE, (STATISTICS,), TriageOverduePayload,
              "A case was not confirmed by staff before its triage deadline."),
    EventType("repeat_detected", 1, TRIAGE, (STATISTICS,), RepeatDetectedPayload,
              "A case's perpetrator or victim is known from earlier cases (counts only)."),
    EventType("referral_created", 1, POLICE_LIAISON, (STATISTICS,), ReferralCreatedPayload,
              "A police referral was created for the case's police unit (basisteam).",
              extra_routes=police_unit_route),
    EventType("referral_updated", 1, POLICE_LIAISON, (STATISTICS,), ReferralUpdatedPayload,
              "A police liaison moved the referral a step in its lifecycle.",
              extra_routes=police_unit_route),
    EventType("referral_escalated", 1, POLICE_LIAISON, (STATISTICS,), ReferralEscalatedPayload,
              "A referral was not accepted by its police unit before its deadline.",
              extra_routes=police_unit_route),
    EventType("aftercare_planned", 1, AFTERCARE, (STATISTICS,), AftercarePlannedPayload,
              "A care plan (opvang en nazorg) was made, with its first contact moment."),
    EventType("aftercare_contact_due", 1, AFTERCARE, (STATISTICS,), AftercareContactDuePayload,
              "A planned contact moment is due (sent once per moment)."),
    EventType("aftercare_overdue", 1, AFTERCARE, (STATISTICS,), AftercareOverduePayload,
              "A planned contact moment passed its deadline without contact (sent once per moment)."),
    EventType("aftercare_contact_recorded", 1, AFTERCARE, (STATISTICS,), AftercareContactRecordedPayload,
              "An aftercare worker recorded a contact moment (timings and codes, never its content)."),
    EventType("aftercare_referred", 1, AFTERCARE, (STATISTICS,), AftercareReferredPayload,
              "The reporter was referred to help (which help is health data and stays in the case store)."),
    EventType("aftercare_closed", 1, AFTERCARE, (STATISTICS,), AftercareClosedPayload,
              "A care plan was closed, or declined by the reporter."),
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
        "payload": spec.schema.dump(payload),
    }
    return load_event(body)


def load_event(body) -> Event:
    """Validate a message body (envelope and payload); raise InvalidEvent if it breaks the contract."""
    if not isinstance(body, dict):
        raise InvalidEvent({"_schema": ["event body must be a JSON object"]})
    try:
        envelope = instance(EnvelopeSchema).load(body)
        spec = CATALOGUE[envelope["event_type"]]
        if envelope["schema_version"] != spec.version:
            raise ValidationError({"schema_version": [f"unsupported version for {spec.name}"]})
        payload = spec.schema.load(envelope["payload"])
    except ValidationError as exc:
        raise InvalidEvent(exc.messages) from None
    return Event(**{**envelope, "payload": payload})


def dump_event(event: Event) -> dict:
    """The JSON-ready body of an event, as it travels on the broker and sits in the outbox."""
    spec = CATALOGUE[event.event_type]
    body = instance(EnvelopeSchema).dump({**event.__dict__, "payload": {}})
    body["payload"] = spec.schema.dump(event.payload)
    return body


def by_municipality(events: list[Event]) -> list[tuple[str, list[Event]]]:
    """A batch of events grouped by municipality (one unit of work each), in code order, and
    within each in case order — one lock order for every batch, so that two cannot deadlock;
    events of one case keep the order they came in."""
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(event.municipality, []).append(event)
    return [(code, sorted(groups[code], key=lambda e: str(e.case_id))) for code in sorted(groups)]
