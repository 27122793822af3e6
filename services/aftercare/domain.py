"""Care-plan scheduling and the wellbeing check, free of nameko and SQL.

First contact within 24 hours (acute: the same working day), follow-ups at about two
weeks and six to eight weeks (the Dutch practice), adjusted by urgency, each on a Dutch working
day; all intervals come from the region's `aftercare:` options (services/aftercare/options.py). The wellbeing check is the
Trauma Screening Questionnaire (Brewin et al., 2002): see docs/aftercare.md.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from shared.workdays import AMSTERDAM, end_of_working_day, is_working_day, next_working_day

from services.aftercare.options import OptionsSchema

DEFAULT_OPTIONS = OptionsSchema().load({})
ACUTE_CLOSING = time(17, 0)

MOMENT_KINDS = ("first_contact", "follow_up_2_weeks", "follow_up_6_8_weeks")
# Plans made before issue 20 hold these kinds; a re-plan gives them the deadline of their successor.
EARLIER_KINDS = {"follow_up_week": "follow_up_2_weeks", "follow_up_weeks_4_6": "follow_up_6_8_weeks"}

# The Trauma Screening Questionnaire as the Dutch validation uses it: 10 yes/no items, six or more 'yes'
# screens positive (Brewin et al., 2002; Dutch validation Mol et al., 2005): advise the huisarts or the
# bedrijfsarts. Offered from four weeks after the incident: before that, stress reactions are normal and the
# screening cannot tell those who recover by themselves from those who need help.
TSQ_ITEMS = 10
TSQ_THRESHOLD = 6
TSQ_REFER_TO = ("huisarts", "bedrijfsarts")


class TsqTooEarly(ValueError):
    """The TSQ was asked before `tsq_from_days` after the incident; the reason says from when it may be."""

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
        first = on_a_working_day(planned_at + timedelta(hours=options["first_contact_hours"][urgency]))
    two_weeks, later = options["follow_up_days"][urgency]
    return (ContactMoment("first_contact", first),
            ContactMoment("follow_up_2_weeks", on_a_working_day(planned_at + timedelta(days=two_weeks))),
            ContactMoment("follow_up_6_8_weeks", on_a_working_day(planned_at + timedelta(days=later))))


def on_a_working_day(moment: datetime) -> datetime:
    """A deadline that falls on a weekend or a Dutch public holiday moves to the next working day, at the
    same Dutch clock time: the meldpunt's aftercare workers work on working days."""
    local = moment.astimezone(AMSTERDAM)
    if is_working_day(local.date()):
        return moment
    day = next_working_day(local.date())
    return datetime.combine(day, local.timetz().replace(tzinfo=None), AMSTERDAM).astimezone(moment.tzinfo)


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
    due = {m.kind: m.due_at for m in schedule(urgency, planned_at, options)}
    return {kind: due[EARLIER_KINDS.get(kind, kind)] for kind in open_kinds if EARLIER_KINDS.get(kind, kind) in due}


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
    too_early: bool = False  # kept for older readers: a screening too early is refused (TsqTooEarly)

    @property
    def refer_to(self) -> tuple[str, ...]:
        """Where to advise the person when the screening is positive: their huisarts or the bedrijfsarts."""
        return TSQ_REFER_TO if self.advise_referral else ()


def tsq_offered_from(incident_at: datetime, options=None) -> datetime:
    options = options or DEFAULT_OPTIONS
    return incident_at + timedelta(days=options["tsq_from_days"])


def score_tsq(answers, incident_at: datetime, checked_at: datetime, options=None) -> TsqResult:
    """Score the 10-item Trauma Screening Questionnaire: one point per 'yes'; six or more advises the
    huisarts or bedrijfsarts. Refused (TsqTooEarly, with the reason) before `tsq_from_days` (default 28:
    four weeks) after the incident."""
    options = options or DEFAULT_OPTIONS
    answers = list(answers)
    if len(answers) != TSQ_ITEMS or not all(isinstance(a, bool) for a in answers):
        raise ValueError(f"the TSQ has {TSQ_ITEMS} yes/no answers")
    offered_from = tsq_offered_from(incident_at, options)
    if checked_at < offered_from:
        raise TsqTooEarly(
            f"the TSQ is offered from {options['tsq_from_days']} days after the incident "
            f"({offered_from.astimezone(AMSTERDAM).date().isoformat()}): in the first weeks stress reactions are "
            "normal and the screening cannot tell them apart; ask how the person is doing instead")
    score = sum(answers)
    return TsqResult(score, score >= TSQ_THRESHOLD)


# ------------------------------------------------------------------ a person's decisions (issue 19)

@dataclass(frozen=True)
class Reaction:
    """What a decision (triage, a re-triage, an override) means for the case's care plan."""
    create: bool = False
    close: bool = False        # aftercare is no longer decided: the open plan closes (decision_removed)
    reopen: bool = False       # a plan closed for a removed decision, decided again
    replan: bool = False       # the open plan follows another urgency


def react(plan: dict | None, decisions, urgency: str) -> Reaction:
    wanted = "aftercare" in decisions
    if plan is None:
        return Reaction(create=wanted)
    if not wanted:
        return Reaction(close=plan["status"] == "open")
    if plan["status"] != "open":
        return Reaction(reopen=plan["status"] == "closed" and plan["close_reason"] == "decision_removed")
    return Reaction(replan=plan["urgency"] != urgency)


def stop_reason(event_type: str) -> str:
    """The close reason of a stopped case's plan (shared/vocabulary.py CLOSE_REASONS)."""
    return "case_closed" if event_type == "incident_closed" else "withdrawn"


# ------------------------------------------------------------------ witnesses, colleagues, handovers (issue 20)

def witness_moments(consent_at: datetime, options=None) -> tuple[ContactMoment, ...]:
    """A witness's or colleague's own contact moments: the practice's timeline counted from their own consent
    (as a case of the region's `witness_urgency`), whatever happens to the victim's plan."""
    options = options or DEFAULT_OPTIONS
    return schedule(options.get("witness_urgency") or "normaal", consent_at, options)


# A handover's steps: proposed with the person, handed over to the partner, finished; refused by the person or the
# partner before it is finished.
HANDOVER_STEPS = {"voorgesteld": ("overgedragen", "afgewezen"), "overgedragen": ("afgerond", "afgewezen"),
                  "afgerond": (), "afgewezen": ()}
# Until the partner confirms, the meldpunt follows a handover up.
HANDOVER_OPEN = ("voorgesteld", "overgedragen")


class HandoverRefused(ValueError):
    """A handover that cannot be made: `field` names what is wrong (problem+json invalid-params)."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field_name, self.reason = field_name, reason


def check_handover(partner: str, target_role: str | None, consent: bool, political_roles) -> None:
    """Every handover rests on the person's consent; the Ondersteuningsteam Weerbaar Bestuur is for political
    office holders (burgemeester, wethouder, raadslid) only."""
    if not consent:
        raise HandoverRefused("consent", "a handover needs the person's consent")
    if partner == "weerbaar_bestuur" and target_role not in political_roles:
        raise HandoverRefused("partner", "the Ondersteuningsteam Weerbaar Bestuur is for political office holders "
                                         f"({', '.join(political_roles)})")


def handover_deadlines(partner: str, now: datetime, police_referred_at: datetime | None, options=None) -> dict:
    """When the handover must be made and when the meldpunt follows it up: Slachtofferhulp within
    `slachtofferhulp_within_hours` (48) of the police referral where there is one; a follow-up
    `handover_follow_up_days` working-day-adjusted days after the proposal, or at the 48 hours when earlier."""
    options = options or DEFAULT_OPTIONS
    follow_up = on_a_working_day(now + timedelta(days=options["handover_follow_up_days"]))
    hand_over_by = None
    if partner == "slachtofferhulp" and police_referred_at is not None:
        hand_over_by = police_referred_at + timedelta(hours=options["slachtofferhulp_within_hours"])
        follow_up = min(follow_up, max(hand_over_by, now))
    return {"hand_over_by": hand_over_by, "follow_up_due": follow_up}


def check_handover_step(current: str, status: str) -> None:
    if status not in HANDOVER_STEPS.get(current, ()):
        allowed = ", ".join(HANDOVER_STEPS.get(current, ())) or "none"
        raise HandoverRefused("status", f"a handover that is {current} cannot become {status}; allowed: {allowed}")
