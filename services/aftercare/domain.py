"""Care-plan scheduling, free of nameko and SQL.

First contact within 24 hours (acute: within 4 hours), follow-ups at about one week and
five weeks. The aftercare issue makes the intervals configurable per region and
working-day aware.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_CONTACT = {"acuut": timedelta(hours=4), "hoog": timedelta(hours=24),
                 "normaal": timedelta(hours=24), "laag": timedelta(hours=24)}
FOLLOW_UPS = (("follow_up_week", timedelta(days=7)), ("follow_up_weeks_4_6", timedelta(days=35)))


@dataclass(frozen=True)
class ContactMoment:
    kind: str
    due_at: datetime


@dataclass(frozen=True)
class CarePlan:
    plan_id: uuid.UUID
    case_id: uuid.UUID
    urgency: str
    moments: tuple[ContactMoment, ...]

    @property
    def first_contact_due(self) -> datetime:
        return self.moments[0].due_at


def plan_care(case_id, urgency: str, decisions, now: datetime) -> CarePlan | None:
    """A plan when triage decided on aftercare; None otherwise (declined or no contact route)."""
    if "aftercare" not in decisions:
        return None
    moments = [ContactMoment("first_contact", now + FIRST_CONTACT[urgency])]
    moments += [ContactMoment(kind, now + delay) for kind, delay in FOLLOW_UPS]
    return CarePlan(uuid.uuid4(), case_id, urgency, tuple(moments))
