"""Referral decisions, free of nameko and SQL: creation, the lifecycle, the ELA checklist, deadlines."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared import vocabulary as v, workdays

OUTCOMES = v.REFERRAL_OUTCOMES

# The lifecycle: which status may follow which. Afgewezen (rejected) is possible until the
# aangifte has been made; after that the case belongs to the police and the OM.
TRANSITIONS = {
    "created": ("accepted", "afgewezen"),
    "accepted": ("aangifte_gepland", "afgewezen"),
    "aangifte_gepland": ("aangifte_gedaan", "afgewezen"),
    "aangifte_gedaan": ("bij_om", "afgesloten"),
    "bij_om": ("afgesloten",),
    "afgesloten": (),
    "afgewezen": (),
}

# The police status in plain words, for the case and the reporter's follow-up page.
PLAIN_WORDS = {
    "created": "Doorverwezen naar de politie; wacht op een reactie van het basisteam.",
    "accepted": "De politie heeft de doorverwijzing in behandeling genomen.",
    "aangifte_gepland": "Er is een afspraak gepland om aangifte te doen.",
    "aangifte_gedaan": "De aangifte is opgenomen door de politie.",
    "bij_om": "De zaak ligt bij het Openbaar Ministerie.",
    "afgesloten": "De politie heeft de zaak afgesloten.",
    "afgewezen": "De politie heeft de doorverwijzing niet in behandeling genomen.",
}

OUTCOME_WORDS = {
    "veroordeling": "De dader is veroordeeld.",
    "sepot": "Het Openbaar Ministerie heeft de zaak geseponeerd (niet vervolgd).",
    "schikking": "De zaak is afgedaan met een schikking.",
    "other": "De zaak is op een andere manier afgedaan.",
}

ELA_FLAGS = ("vpt_registered", "domiciliekeuze", "employer_aangifte", "priority_handling", "claim_damages")


class IllegalTransition(Exception):
    """A lifecycle step that is not allowed from the referral's current status."""


class InvalidStep(ValueError):
    """A step that is allowed but misses what it needs (registration number, outcome, reason)."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field_name, self.reason = field_name, reason


@dataclass(frozen=True)
class Referral:
    referral_id: uuid.UUID
    case_id: uuid.UUID
    police_unit: str
    categories: list
    urgency: str
    status: str = "created"


@dataclass(frozen=True)
class Step:
    """What a liaison asks: move to `status`, with what that status needs."""
    status: str
    registration_number: str | None = None
    outcome: str | None = None
    reason: str | None = None
    ela: dict = field(default_factory=dict)


def referral_for(case_id, triaged: dict, police_unit: str) -> Referral | None:
    """A referral when triage recommended one (triage only does so with the reporter's consent)."""
    if "police_referral" not in triaged["decisions"]:
        return None
    return Referral(uuid.uuid4(), case_id, police_unit, list(triaged["categories"]), triaged["urgency"])


def initial_ela(consent: dict | None) -> dict:
    """The ELA checklist as far as it is known at referral: priority handling and domiciliekeuze
    apply to every incident against someone with a public task; the employer makes the aangifte
    when the reporter consented to that; VPT and damages are filled in as the case proceeds."""
    return {"vpt_registered": False, "domiciliekeuze": True,
            "employer_aangifte": bool((consent or {}).get("employer_reports")),
            "priority_handling": True, "claim_damages": False}


def check_step(current: str, step: Step) -> dict:
    """Validate a step from `current`; return the column changes it makes.

    Raises IllegalTransition for a jump the lifecycle does not allow, InvalidStep for a
    missing or out-of-place field.
    """
    if step.status not in TRANSITIONS.get(current, ()):
        raise IllegalTransition(f"a referral that is {current} cannot become {step.status}")
    changes: dict = {"status": step.status}
    if step.status == "aangifte_gedaan":
        if not step.registration_number:
            raise InvalidStep("registration_number", "required when the aangifte is made")
        changes["registration_number"] = step.registration_number
        # the ELA agreements: an aangifte by someone with a public task is registered VPT
        changes["vpt_registered"] = True
    elif step.registration_number:
        raise InvalidStep("registration_number", "only with aangifte_gedaan")
    if step.status == "afgesloten":
        if step.outcome not in OUTCOMES:
            raise InvalidStep("outcome", f"required when closing: one of {', '.join(OUTCOMES)}")
        changes["outcome"] = step.outcome
    elif step.outcome:
        raise InvalidStep("outcome", "only with afgesloten")
    if step.status == "afgewezen":
        if not step.reason:
            raise InvalidStep("reason", "required when rejecting")
        changes["reason"] = step.reason
    for flag, value in step.ela.items():
        if flag not in ELA_FLAGS:
            raise InvalidStep(f"ela.{flag}", "unknown ELA flag")
        changes[flag] = bool(value)
    return changes


def plain_status(status: str, outcome: str | None = None) -> str:
    text = PLAIN_WORDS[status]
    if status == "afgesloten" and outcome:
        text = f"{text} {OUTCOME_WORDS[outcome]}"
    return text


def acceptance_deadline(created_at: datetime, urgency: str, acute_minutes: int = 60,
                        working_days: int = 1) -> datetime:
    """When a referral must have been accepted: acute within the hour, otherwise within
    `working_days` Dutch working days."""
    if urgency == "acuut":
        return created_at + timedelta(minutes=acute_minutes)
    return workdays.add_working_days(created_at, working_days)


def referral_created_payload(referral: Referral, triaged: dict, ela: dict | None = None,
                             contact_route: str | None = None, municipality: str | None = None) -> dict:
    """Only what the police need to act: no description, no names, no aftercare or health data."""
    payload = {
        "referral_id": referral.referral_id,
        "police_unit": referral.police_unit,
        "categories": referral.categories,
        "urgency": referral.urgency,
        "occurred_at": triaged["occurred_at"],
        "location_type": triaged["location_type"],
        "status": referral.status,
    }
    if ela is not None:
        payload["ela"] = {k: bool(ela[k]) for k in ELA_FLAGS}
    if contact_route is not None:
        payload["contact_route"] = contact_route
    return payload
