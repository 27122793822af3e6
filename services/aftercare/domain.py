"""Care-plan scheduling and the wellbeing check, free of nameko and SQL.

First contact within 24 hours (acute: the same working day), follow-ups at about one
week and four to six weeks, adjusted by urgency; all intervals come from the region's
`aftercare:` options (services/aftercare/options.py). The wellbeing check is the
Trauma Screening Questionnaire (Brewin et al., 2002): see docs/aftercare.md.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from shared.workdays import end_of_working_day

from services.aftercare.options import OptionsSchema

DEFAULT_OPTIONS = OptionsSchema().load({})
ACUTE_CLOSING = time(17, 0)

MOMENT_KINDS = ("first_contact", "follow_up_week", "follow_up_weeks_4_6")

TSQ_ITEMS = 10
TSQ_THRESHOLD = 6


@dataclass(frozen=True)
class ContactMoment:
    kind: str
    due_at: datetime


@dataclass(frozen=True)
class CarePlan:
    plan_id: uuid.UUID
    case_id: uuid.UUID
    urgency: str
    planned_at: datetime
    moments: tuple[ContactMoment, ...]

    @property
    def first_contact_due(self) -> datetime:
        return self.moments[0].due_at


def schedule(urgency: str, planned_at: datetime, options=None) -> tuple[ContactMoment, ...]:
    """When each contact moment falls for a plan made at `planned_at`."""
    options = options or DEFAULT_OPTIONS
    if urgency == "acuut":
        first = end_of_working_day(planned_at, options.get("acute_first_contact_by") or ACUTE_CLOSING)
    else:
        first = planned_at + timedelta(hours=options["first_contact_hours"][urgency])
    week, later = options["follow_up_days"][urgency]
    return (ContactMoment("first_contact", first),
            ContactMoment("follow_up_week", planned_at + timedelta(days=week)),
            ContactMoment("follow_up_weeks_4_6", planned_at + timedelta(days=later)))


def plan_care(case_id, urgency: str, decisions, now: datetime, options=None) -> CarePlan | None:
    """A plan when triage decided on aftercare; None otherwise."""
    if "aftercare" not in decisions:
        return None
    return CarePlan(uuid.uuid4(), case_id, urgency, now, schedule(urgency, now, options))


def replan(urgency: str, planned_at: datetime, open_kinds, options=None) -> dict[str, datetime]:
    """New deadlines for the moments still open when triage changes the urgency.

    Deadlines count from when the plan was first made, not from the re-triage: the
    reporter has already waited that long.
    """
    return {m.kind: m.due_at for m in schedule(urgency, planned_at, options) if m.kind in open_kinds}


# --------------------------------------------------------------- reminders

def is_due(due_at: datetime, now: datetime, options=None) -> bool:
    options = options or DEFAULT_OPTIONS
    return now >= due_at - timedelta(hours=options["remind_before_hours"])


def is_overdue(due_at: datetime, now: datetime, options=None) -> bool:
    options = options or DEFAULT_OPTIONS
    return now >= due_at + timedelta(hours=options["overdue_after_hours"])


def hours_between(later: datetime, earlier: datetime) -> int:
    return int((later - earlier).total_seconds() // 3600)


# ------------------------------------------------------ wellbeing check (TSQ)

@dataclass(frozen=True)
class TsqResult:
    score: int
    advise_referral: bool
    too_early: bool  # within the first weeks, reactions are normal and the score does not advise


def score_tsq(answers, incident_at: datetime, checked_at: datetime, options=None) -> TsqResult:
    """Score the 10-item Trauma Screening Questionnaire: one point per 'yes'.

    Six or more 'yes' advises referral to professional help, but only from three weeks
    after the incident (Brewin et al., 2002).
    """
    options = options or DEFAULT_OPTIONS
    answers = list(answers)
    if len(answers) != TSQ_ITEMS or not all(isinstance(a, bool) for a in answers):
        raise ValueError(f"the TSQ has {TSQ_ITEMS} yes/no answers")
    score = sum(answers)
    too_early = checked_at - incident_at < timedelta(days=options["tsq_from_days"])
    return TsqResult(score, score >= TSQ_THRESHOLD and not too_early, too_early)
