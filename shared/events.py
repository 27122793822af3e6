"""The event contract: one envelope and one payload schema per event type, defined once.

Events carry identifiers and classifications only — never names, contact data or free
text. tests/unit/test_event_catalogue.py checks every payload field for that and checks
that docs/events.md describes exactly these events.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Callable
from datetime import datetime, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared import vocabulary
from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, SIGNALS, STATISTICS, TRIAGE, ZAAKSYSTEEM
from shared.plain_schema import plan_of
from shared.schemas import MUNICIPALITY_CODE, POLICE_UNIT, instance



def _codes(values):
    return validate.OneOf(values)


# One of CATEGORIES or of the region's own categories (its rules file), and always a code's shape.
CATEGORY = vocabulary.category_validators()


# ---------------------------------------------------------------- payloads

class ConsentSchema(Schema):
    contact = fields.Boolean(required=True)
    police_referral = fields.Boolean(required=True)
    inform_manager = fields.Boolean(required=True)
    employer_reports = fields.Boolean(required=True)


class IncidentReportedPayload(Schema):
    channel = fields.String(required=True, validate=_codes(vocabulary.CHANNELS))
    occurred_at = fields.AwareDateTime(required=True)
    location_type = fields.String(required=True, validate=_codes(vocabulary.LOCATION_TYPES))
    target_role = fields.String(required=True, validate=_codes(vocabulary.TARGET_ROLES))
    reported_categories = fields.List(fields.String(validate=CATEGORY), required=True)
    anonymous = fields.Boolean(required=True)
    perpetrator_count = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    consent = fields.Nested(ConsentSchema, required=True)
    # The reporter answered "Is er nu direct gevaar?" with yes (optional: older producers leave it out).
    direct_danger = fields.Boolean()


class IncidentTriagedPayload(Schema):
    categories = fields.List(fields.String(validate=CATEGORY), required=True,
                             validate=validate.Length(min=1))
    urgency = fields.String(required=True, validate=_codes(vocabulary.URGENCIES))
    decisions = fields.List(fields.String(validate=_codes(vocabulary.DECISIONS)), required=True)
    rules_version = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,40}$"))
    occurred_at = fields.AwareDateTime(required=True)
    location_type = fields.String(required=True, validate=_codes(vocabulary.LOCATION_TYPES))
    target_role = fields.String(required=True, validate=_codes(vocabulary.TARGET_ROLES))
    # The reporter's consent as triage decided on it (police_liaison's ELA checklist needs it);
    # absent in events triaged before it travelled here.
    consent = fields.Nested(ConsentSchema)


class IncidentUpdatedPayload(IncidentReportedPayload):
    """The incident as it stands after a change in intake: the fields of incident_reported, and
    what kind of information was added (never the information itself)."""
    changes = fields.List(fields.String(validate=_codes(vocabulary.INCIDENT_CHANGES)), load_default=list)
    evidence_count = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1000))


class TriageOverriddenPayload(Schema):
    """Staff confirmed a triage result with changes; the reason stays in the audit log."""
    categories = fields.List(fields.String(validate=CATEGORY), required=True,
                             validate=validate.Length(min=1))
    urgency = fields.String(required=True, validate=_codes(vocabulary.URGENCIES))
    decisions = fields.List(fields.String(validate=_codes(vocabulary.DECISIONS)), required=True)
    previous_urgency = fields.String(required=True, validate=_codes(vocabulary.URGENCIES))
    previous_decisions = fields.List(fields.String(validate=_codes(vocabulary.DECISIONS)), required=True)
    rules_version = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,40}$"))
    # The incident's codes as incident_triaged carries them, so that police liaison and aftercare can
    # make a referral or a care plan a person added (absent in events of triage before issue 19).
    occurred_at = fields.AwareDateTime()
    location_type = fields.String(validate=_codes(vocabulary.LOCATION_TYPES))
    target_role = fields.String(validate=_codes(vocabulary.TARGET_ROLES))
    consent = fields.Nested(ConsentSchema)


class TriageOverduePayload(Schema):
    urgency = fields.String(required=True, validate=_codes(vocabulary.URGENCIES))
    due_at = fields.AwareDateTime(required=True)


class RepeatDetectedPayload(Schema):
    """Counts only: never which perpetrator, nor any keyed hash of one."""
    kind = fields.String(required=True, validate=_codes(vocabulary.REPEAT_KINDS))
    cases_in_municipality = fields.Integer(required=True, validate=validate.Range(min=0, max=100000))
    other_municipalities = fields.Integer(required=True, validate=validate.Range(min=0, max=1000))
# A reference to the municipality's contact point for the police (details via the API), not a person.
CONTACT_ROUTE = validate.Regexp(r"^gemeente:GM\d{4}$", error="must read gemeente:<gemeentecode>")


class ElaSchema(Schema):
    """The ELA checklist (national agreements for incidents against people with a public task)."""
    vpt_registered = fields.Boolean(required=True)
    domiciliekeuze = fields.Boolean(required=True)
    employer_aangifte = fields.Boolean(required=True)
    priority_handling = fields.Boolean(required=True)
    claim_damages = fields.Boolean(required=True)


class ElaChecklistSchema(Schema):
    """The region's ELA checklist on a referral as codes: its version and the items beyond the five that are
    ticked (deploy/ela/ela.yaml)."""
    version = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"))
    checked = fields.List(fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$")), required=True)


class AangifteSchema(Schema):
    """The aangifte option chosen with the victim, as codes: who files, onder nummer, domiciliekeuze, and
    whether the employer's mandate is recorded (never who signed it)."""
    by = fields.String(required=True, validate=_codes(vocabulary.AANGIFTE_BY))
    onder_nummer = fields.Boolean(required=True)
    domiciliekeuze = fields.Boolean(required=True)
    mandate = fields.Boolean(required=True)


class ReferralCreatedPayload(Schema):
    referral_id = fields.UUID(required=True)
    police_unit = fields.String(required=True, validate=POLICE_UNIT)
    categories = fields.List(fields.String(validate=CATEGORY), required=True)
    urgency = fields.String(required=True, validate=_codes(vocabulary.URGENCIES))
    occurred_at = fields.AwareDateTime(required=True)
    location_type = fields.String(required=True, validate=_codes(vocabulary.LOCATION_TYPES))
    status = fields.String(required=True, validate=_codes(vocabulary.REFERRAL_STATUSES))
    ela = fields.Nested(ElaSchema)
    contact_route = fields.String(validate=CONTACT_ROUTE)
    aangifte = fields.Nested(AangifteSchema)


class ReferralUpdatedPayload(Schema):
    referral_id = fields.UUID(required=True)
    police_unit = fields.String(required=True, validate=POLICE_UNIT)
    status = fields.String(required=True, validate=_codes(vocabulary.REFERRAL_STATUSES))
    previous_status = fields.String(required=True, validate=_codes(vocabulary.REFERRAL_STATUSES))
    outcome = fields.String(allow_none=True, validate=_codes(vocabulary.REFERRAL_OUTCOMES))
    ela = fields.Nested(ElaSchema, required=True)
    ela_checklist = fields.Nested(ElaChecklistSchema)
    aangifte = fields.Nested(AangifteSchema)
    # Set when a person's decision changed the referral's urgency (then status equals previous_status);
    # `accept_deadline` is the acceptance deadline that follows from it while the referral waits.
    urgency = fields.String(validate=_codes(vocabulary.URGENCIES))
    previous_urgency = fields.String(validate=_codes(vocabulary.URGENCIES))
    accept_deadline = fields.AwareDateTime(allow_none=True)


class ReferralWithdrawnPayload(Schema):
    """The hub withdrew the referral: the police stop working on the meldpunt's behalf."""
    referral_id = fields.UUID(required=True)
    police_unit = fields.String(required=True, validate=POLICE_UNIT)
    previous_status = fields.String(required=True, validate=_codes(vocabulary.REFERRAL_STATUSES))
    reason = fields.String(required=True, validate=_codes(vocabulary.REFERRAL_WITHDRAWAL_REASONS))


class ReferralEscalatedPayload(Schema):
    referral_id = fields.UUID(required=True)
    police_unit = fields.String(required=True, validate=POLICE_UNIT)
    urgency = fields.String(required=True, validate=_codes(vocabulary.URGENCIES))
    deadline = fields.AwareDateTime(required=True)


class AangifteReminderDuePayload(Schema):
    referral_id = fields.UUID(required=True)
    police_unit = fields.String(required=True, validate=POLICE_UNIT)
    status = fields.String(required=True, validate=_codes(vocabulary.REFERRAL_STATUSES))
    urgency = fields.String(required=True, validate=_codes(vocabulary.URGENCIES))
    advice_due = fields.AwareDateTime(required=True)


class AftercarePlannedPayload(Schema):
    plan_id = fields.UUID(required=True)
    urgency = fields.String(required=True, validate=_codes(vocabulary.URGENCIES))
    first_contact_due = fields.AwareDateTime(required=True)
    contact_moments = fields.Integer(required=True, validate=validate.Range(min=0, max=20))


PLAN_ID = fields.UUID(required=True)


class AftercareContactDuePayload(Schema):
    plan_id = PLAN_ID
    moment = fields.String(required=True, validate=_codes(vocabulary.CONTACT_MOMENTS))
    urgency = fields.String(required=True, validate=_codes(vocabulary.URGENCIES))
    due_at = fields.AwareDateTime(required=True)


class AftercareOverduePayload(AftercareContactDuePayload):
    """The contact moment's fields, and how late it is."""
    hours_overdue = fields.Integer(required=True, validate=validate.Range(min=0))


class AftercareContactRecordedPayload(Schema):
    plan_id = PLAN_ID
    moment = fields.String(required=True, validate=_codes(vocabulary.CONTACT_MOMENTS))
    method = fields.String(required=True, validate=_codes(vocabulary.CONTACT_METHODS))
    outcome = fields.String(required=True, validate=_codes(vocabulary.CONTACT_OUTCOMES))
    hours_after_due = fields.Integer(allow_none=True, load_default=None)
    days_since_incident = fields.Integer(required=True)
    wellbeing_checked = fields.Boolean(required=True)


class AftercareReferredPayload(Schema):
    plan_id = PLAN_ID
    referral_id = fields.UUID(required=True)
    days_since_incident = fields.Integer(required=True)


class WitnessCareStartedPayload(Schema):
    """A witness or colleague got a care track of their own (issue 20): its role and timing, never who."""
    track_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=_codes(vocabulary.WITNESS_ROLES))
    first_contact_due = fields.AwareDateTime(required=True)
    contact_moments = fields.Integer(required=True, validate=validate.Range(min=0, max=20))


class WitnessContactRecordedPayload(Schema):
    track_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=_codes(vocabulary.WITNESS_ROLES))
    moment = fields.String(required=True, validate=_codes(vocabulary.CONTACT_MOMENTS))
    method = fields.String(required=True, validate=_codes(vocabulary.CONTACT_METHODS))
    outcome = fields.String(required=True, validate=_codes(vocabulary.CONTACT_OUTCOMES))


class WitnessContactDuePayload(Schema):
    track_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=_codes(vocabulary.WITNESS_ROLES))
    moment = fields.String(required=True, validate=_codes(vocabulary.CONTACT_MOMENTS))
    due_at = fields.AwareDateTime(required=True)


class WitnessCareClosedPayload(Schema):
    track_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=_codes(vocabulary.WITNESS_ROLES))
    reason = fields.String(required=True, validate=_codes(vocabulary.CLOSE_REASONS))
    contacts = fields.Integer(required=True, validate=validate.Range(min=0, max=10000))


class AftercareHandoverPayload(Schema):
    """A step of a handover to a partner (issue 20): the partner's code (the recipient, so that it can subscribe
    to its own), the status, whose handover (victim, witness, colleague) as a code, never who or why."""
    handover_id = fields.UUID(required=True)
    partner = fields.String(required=True, validate=_codes(vocabulary.HANDOVER_PARTNERS))
    status = fields.String(required=True, validate=_codes(vocabulary.HANDOVER_STATUSES))
    previous_status = fields.String(allow_none=True, validate=_codes(vocabulary.HANDOVER_STATUSES))
    person = fields.String(required=True, validate=_codes(("victim", *vocabulary.WITNESS_ROLES)))
    follow_up_due = fields.AwareDateTime(required=True)
    hand_over_by = fields.AwareDateTime(allow_none=True)


class AftercareHandoverFollowUpDuePayload(Schema):
    handover_id = fields.UUID(required=True)
    partner = fields.String(required=True, validate=_codes(vocabulary.HANDOVER_PARTNERS))
    status = fields.String(required=True, validate=_codes(vocabulary.HANDOVER_STATUSES))
    follow_up_due = fields.AwareDateTime(required=True)


class AftercareClosedPayload(Schema):
    plan_id = PLAN_ID
    reason = fields.String(required=True, validate=_codes(vocabulary.CLOSE_REASONS))
    contacts = fields.Integer(required=True, validate=validate.Range(min=0))
    referrals = fields.Integer(required=True, validate=validate.Range(min=0))
    days_open = fields.Integer(required=True, validate=validate.Range(min=0))


class IncidentWithdrawnPayload(Schema):
    channel = fields.String(required=True, validate=_codes(vocabulary.CHANNELS))
    withdrawn_by = fields.String(required=True, validate=_codes(vocabulary.WITHDRAWERS))


class IncidentClosedPayload(Schema):
    """Staff closed the case: its work stops everywhere (the reason's note stays in intake)."""
    channel = fields.String(required=True, validate=_codes(vocabulary.CHANNELS))
    reason = fields.String(required=True, validate=_codes(vocabulary.STAFF_CLOSE_REASONS))


class CaseMessagePostedPayload(Schema):
    """Staff wrote to the reporter, or the reporter answered, on the follow-up page (the text stays
    encrypted in intake)."""
    message_id = fields.UUID(required=True)
    direction = fields.String(required=True, validate=_codes(vocabulary.MESSAGE_DIRECTIONS))


class RepeatLinkedPayload(Schema):
    """One of two cases in two municipalities with the same perpetrator (by keyed hash): each
    municipality gets one, about its own case, naming the other municipality only."""
    link_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=_codes(vocabulary.REPEAT_KINDS))
    other_municipality = fields.String(required=True, validate=MUNICIPALITY_CODE)
    side = fields.String(required=True, validate=_codes(vocabulary.REPEAT_SIDES))


class SignalRaisedPayload(Schema):
    """Something a named role must act on (docs/signals.md)."""
    signal_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=_codes(vocabulary.SIGNAL_KINDS))
    owner_role = fields.String(required=True, validate=_codes(vocabulary.SIGNAL_OWNER_ROLES))
    scope = fields.String(required=True, validate=_codes(vocabulary.SIGNAL_SCOPES))
    acute = fields.Boolean(required=True)
    due_at = fields.AwareDateTime(required=True)


class SignalHandledPayload(Schema):
    """A person handled a signal, or the hub closed it (what it asked for happened, or the case stopped)."""
    signal_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=_codes(vocabulary.SIGNAL_KINDS))
    outcome = fields.String(required=True, validate=_codes(vocabulary.SIGNAL_OUTCOMES))
    by_person = fields.Boolean(required=True)
    minutes_open = fields.Integer(required=True, validate=validate.Range(min=0))
    overdue = fields.Boolean(required=True)


class PartnerDeliveryReplayedPayload(Schema):
    """An operator's replay made a partner delivery due now (docs/partners.md): which one, to whom."""
    delivery_id = fields.UUID(required=True)
    subscriber = fields.String(required=True, validate=validate.Regexp(vocabulary.SUBSCRIBER_NAME_PATTERN))


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
    # Recorded by a command (another process) for the producer's own running instances, to wake them: its one
    # consumer is its producer, and it is not offered to partner subscribers nor counted by statistics.
    wakes_producer: bool = False

    @property
    def schema(self) -> Schema:
        """One reusable instance: building a marshmallow schema costs more than using it."""
        return instance(self.payload)

    def load_payload(self, data) -> dict:
        """The payload loaded as its schema loads it; ValidationError naming the field when it breaks the
        contract. A payload as the producers write it is loaded by the schema's plan (shared/plain_schema.py),
        anything else by marshmallow."""
        plan = plan_of(self.payload)
        loaded = plan.load(data) if plan is not None else None
        return loaded if loaded is not None else self.schema.load(data)

    def dump_payload(self, payload: dict) -> dict:
        """The payload as its schema dumps it (by the schema's plan where the values are plain)."""
        plan = plan_of(self.payload)
        dumped = plan.dump(payload) if plan is not None else None
        return dumped if dumped is not None else self.schema.dump(payload)


POLICE_REFERRALS_EXCHANGE = "police.referrals"
POLICE_CLOUDEVENTS_EXCHANGE = "police.cloudevents"


def police_unit_route(body: dict) -> list[tuple[str, str]]:
    """Referral events also go to `police.referrals` as `<police_unit>.<event_type>`, so a
    liaison binds to exactly their unit (`zwb-walcheren.#`); and, as CloudEvents, to
    `police.cloudevents` with the same key (shared/partner_events.py): both formats during API 1.x."""
    key = f"{body['payload']['police_unit']}.{body['event_type']}"
    return [(POLICE_REFERRALS_EXCHANGE, key), (POLICE_CLOUDEVENTS_EXCHANGE, key)]


# The decisions a person can change (issue 19) reach every service they concern: a referral,
# a care plan, a signal, a triage deadline.
DECIDED = (POLICE_LIAISON, AFTERCARE, SIGNALS, STATISTICS, ZAAKSYSTEEM)
STOPPED = (TRIAGE, POLICE_LIAISON, AFTERCARE, SIGNALS, STATISTICS, ZAAKSYSTEEM)

CATALOGUE: dict[str, EventType] = {e.name: e for e in (
    EventType("incident_reported", 1, INTAKE, (TRIAGE, SIGNALS, STATISTICS, ZAAKSYSTEEM), IncidentReportedPayload,
              "An incident was received and stored in the municipality's case store."),
    EventType("incident_triaged", 1, TRIAGE, DECIDED, IncidentTriagedPayload,
              "Triage classified the incident and decided what happens next."),
    EventType("incident_updated", 1, INTAKE, (TRIAGE, STATISTICS), IncidentUpdatedPayload,
              "An incident's details changed in intake; triage decides again."),
    EventType("incident_withdrawn", 1, INTAKE, STOPPED, IncidentWithdrawnPayload,
              "The reporter (or staff on the reporter's request) withdrew the report; its work stops everywhere."),
    EventType("incident_closed", 1, INTAKE, STOPPED, IncidentClosedPayload,
              "Staff closed the case; its work stops everywhere."),
    EventType("triage_overridden", 1, TRIAGE, DECIDED, TriageOverriddenPayload,
              "Staff overrode a triage result (categories, urgency or decisions) with a reason."),
    EventType("triage_overdue", 1, TRIAGE, (SIGNALS, STATISTICS), TriageOverduePayload,
              "A case was not confirmed by staff before its triage deadline."),
    EventType("repeat_detected", 1, TRIAGE, (STATISTICS,), RepeatDetectedPayload,
              "A case's perpetrator or victim is known from earlier cases (counts only)."),
    EventType("repeat_linked", 1, TRIAGE, (SIGNALS, STATISTICS), RepeatLinkedPayload,
              "A case's perpetrator is known in another municipality: each of the two is told about its own case."),
    EventType("referral_created", 1, POLICE_LIAISON, (SIGNALS, STATISTICS), ReferralCreatedPayload,
              "A police referral was created for the case's police unit (basisteam).",
              extra_routes=police_unit_route),
    EventType("referral_updated", 1, POLICE_LIAISON, (SIGNALS, STATISTICS), ReferralUpdatedPayload,
              "A police liaison moved the referral a step in its lifecycle.",
              extra_routes=police_unit_route),
    EventType("referral_escalated", 1, POLICE_LIAISON, (SIGNALS, STATISTICS), ReferralEscalatedPayload,
              "A referral was not accepted by its police unit before its deadline.",
              extra_routes=police_unit_route),
    EventType("referral_withdrawn", 1, POLICE_LIAISON, (SIGNALS, STATISTICS), ReferralWithdrawnPayload,
              "The hub withdrew a referral from the police (the report was withdrawn or closed, or a person "
              "removed the decision).",
              extra_routes=police_unit_route),
    EventType("aangifte_reminder_due", 1, POLICE_LIAISON, (SIGNALS, STATISTICS), AangifteReminderDuePayload,
              "The advice to file the aangifte within two working days passed with no aangifte planned: the "
              "meldpunt's staff are reminded (not sent to the police)."),
    EventType("aftercare_planned", 1, AFTERCARE, (STATISTICS,), AftercarePlannedPayload,
              "A care plan (opvang en nazorg) was made, with its first contact moment."),
    EventType("aftercare_contact_due", 1, AFTERCARE, (SIGNALS, STATISTICS), AftercareContactDuePayload,
              "A planned contact moment is due (sent once per moment)."),
    EventType("aftercare_overdue", 1, AFTERCARE, (SIGNALS, STATISTICS), AftercareOverduePayload,
              "A planned contact moment passed its deadline without contact (sent once per moment)."),
    EventType("aftercare_contact_recorded", 1, AFTERCARE, (SIGNALS, STATISTICS), AftercareContactRecordedPayload,
              "An aftercare worker recorded a contact moment (timings and codes, never its content)."),
    EventType("aftercare_referred", 1, AFTERCARE, (SIGNALS, STATISTICS), AftercareReferredPayload,
              "The reporter was referred to help (which help is health data and stays in the case store); "
              "signals offers it to partner subscribers (Slachtofferhulp, docs/partners.md)."),
    EventType("aftercare_closed", 1, AFTERCARE, (SIGNALS, STATISTICS), AftercareClosedPayload,
              "A care plan was closed, or declined by the reporter."),
    EventType("witness_care_started", 1, AFTERCARE, (SIGNALS, STATISTICS), WitnessCareStartedPayload,
              "A witness or colleague got a care track of their own, with their own consent and contact moments."),
    EventType("witness_contact_recorded", 1, AFTERCARE, (SIGNALS, STATISTICS), WitnessContactRecordedPayload,
              "An aftercare worker recorded a contact with a witness or colleague (codes, never its content)."),
    EventType("witness_contact_due", 1, AFTERCARE, (SIGNALS, STATISTICS), WitnessContactDuePayload,
              "A contact moment of a witness's or colleague's own care track comes due (once, a day ahead)."),
    EventType("witness_care_closed", 1, AFTERCARE, (SIGNALS, STATISTICS), WitnessCareClosedPayload,
              "A witness's or colleague's care track ended (completed, declined, ...)."),
    EventType("aftercare_handover", 1, AFTERCARE, (SIGNALS, STATISTICS), AftercareHandoverPayload,
              "A handover to help moved a step: proposed, handed over, finished or refused; signals offers it to "
              "partner subscribers (docs/partners.md)."),
    EventType("aftercare_handover_follow_up_due", 1, AFTERCARE, (SIGNALS, STATISTICS),
              AftercareHandoverFollowUpDuePayload,
              "A handover to help is past its follow-up (or Slachtofferhulp's 48 hours) and not yet finished."),
    EventType("case_message_posted", 1, INTAKE, (SIGNALS, STATISTICS), CaseMessagePostedPayload,
              "Staff wrote to the reporter, or the reporter answered, on the follow-up page."),
    EventType("signal_raised", 1, SIGNALS, (STATISTICS,), SignalRaisedPayload,
              "A signal was raised: a named role must act on something about the case."),
    EventType("signal_handled", 1, SIGNALS, (STATISTICS,), SignalHandledPayload,
              "A signal was handled by a person, or closed by the hub, with an outcome code."),
    EventType("partner_delivery_replayed", 1, SIGNALS, (SIGNALS,), PartnerDeliveryReplayedPayload,
              "An operator replayed a partner delivery (`meldpunt subscriber replay`, a process of its own): the "
              "running signals instances send it now, not at their hourly look at the store.",
              wakes_producer=True),
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
    # The JSON-ready body this event was validated from, when it was built or received here:
    # an event is serialised once on its way out (new_event) and never dumped again.
    wire: dict | None = field(default=None, compare=False, repr=False)

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
    """Build an event and validate it against the catalogue before it goes anywhere.

    The payload is loaded by its schema as a consumer loads it. The envelope is made here: of what the caller
    gives only the municipality, the case and correlation ids and the time are checked, each as the envelope's
    schema checks it (loading the whole envelope again cost as much as the payload, issue 25)."""
    spec = CATALOGUE[event_type]
    event_id = uuid.uuid4()
    occurred = occurred_at or datetime.now(timezone.utc)
    body = {
        "event_id": str(event_id),
        "event_type": event_type,
        "schema_version": spec.version,
        "occurred_at": occurred.isoformat(),
        "municipality": municipality,
        "case_id": str(case_id),
        "correlation_id": str(correlation_id or uuid.uuid4()),
        "payload": spec.dump_payload(payload),
    }
    errors, ids = {}, {}
    for name in ("case_id", "correlation_id"):
        try:
            ids[name] = uuid.UUID(body[name])
        except ValueError:
            errors[name] = ["Not a valid UUID."]
    if not isinstance(municipality, str):
        errors["municipality"] = ["Not a valid string."]
    else:
        try:
            MUNICIPALITY_CODE(municipality)
        except ValidationError as exc:
            errors["municipality"] = exc.messages
    if occurred.utcoffset() is None:
        errors["occurred_at"] = ["Not a valid aware datetime."]
    if errors:
        raise InvalidEvent(errors)
    try:
        loaded = spec.load_payload(body["payload"])
    except ValidationError as exc:
        raise InvalidEvent(exc.messages) from None
    return Event(event_id=event_id, event_type=event_type, schema_version=spec.version,
                 occurred_at=datetime.fromisoformat(body["occurred_at"]), municipality=municipality,
                 case_id=ids["case_id"], correlation_id=ids["correlation_id"], payload=loaded, wire=body)


_IDS = ("event_id", "case_id", "correlation_id")


def _envelope_as_sent(body: dict) -> dict | None:
    """The envelope of a body whose every field has the JSON type the hub's producers send, checked as
    EnvelopeSchema checks it (the same values, unknown fields left out); None for anything else, which the
    schema then loads and names what is wrong. The schema's load cost as much as the payload's on every
    event received, eight per incident (issue 25)."""
    try:
        event_type, version, municipality = body["event_type"], body["schema_version"], body["municipality"]
        occurred, payload = body["occurred_at"], body["payload"]
        ids = [body[name] for name in _IDS]
        if not (type(event_type) is str and event_type in CATALOGUE and type(version) is int and version >= 1
                and type(municipality) is str and type(occurred) is str and type(payload) is dict
                and all(type(value) is str for value in ids)):
            return None
        MUNICIPALITY_CODE(municipality)
        occurred_at = datetime.fromisoformat(occurred)  # marshmallow's AwareDateTime parses it so
        if occurred_at.utcoffset() is None:
            return None
        event_id, case_id, correlation_id = (uuid.UUID(value) for value in ids)
    except (KeyError, ValueError, ValidationError):
        return None
    return {"event_id": event_id, "event_type": event_type, "schema_version": version, "occurred_at": occurred_at,
            "municipality": municipality, "case_id": case_id, "correlation_id": correlation_id,
            "payload": dict(payload)}


def load_event(body) -> Event:
    """Validate a message body (envelope and payload); raise InvalidEvent if it breaks the contract."""
    if not isinstance(body, dict):
        raise InvalidEvent({"_schema": ["event body must be a JSON object"]})
    try:
        envelope = _envelope_as_sent(body) or instance(EnvelopeSchema).load(body)
        spec = CATALOGUE[envelope["event_type"]]
        if envelope["schema_version"] != spec.version:
            raise ValidationError({"schema_version": [f"unsupported version for {spec.name}"]})
        payload = spec.load_payload(envelope["payload"])
    except ValidationError as exc:
        raise InvalidEvent(exc.messages) from None
    return Event(**{**envelope, "payload": payload})


def dump_event(event: Event) -> dict:
    """The JSON-ready body of an event, as it travels on the broker and sits in the outbox."""
    if event.wire is not None:
        return event.wire
    spec = CATALOGUE[event.event_type]
    body = instance(EnvelopeSchema).dump({**event.__dict__, "payload": {}})
    body["payload"] = spec.dump_payload(event.payload)
    return body


def by_municipality(events: list[Event]) -> list[tuple[str, list[Event]]]:
    """A batch of events grouped by municipality (one unit of work each), in code order, and
    within each in case order — one lock order for every batch, so that two cannot deadlock;
    events of one case keep the order they came in."""
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(event.municipality, []).append(event)
    return [(code, sorted(groups[code], key=lambda e: str(e.case_id))) for code in sorted(groups)]
