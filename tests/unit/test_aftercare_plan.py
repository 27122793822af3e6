"""services/aftercare/domain.py: when the care plan's contact moments fall."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.aftercare.domain import plan_care
from shared.events import new_event

CASE_ID = uuid.UUID("2e6f4b1a-9c3d-4e8f-a7b6-5d4c3b2a1f09")
NOW = datetime(2026, 3, 2, 8, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("urgency, first_contact", [
    ("acuut", timedelta(hours=4)),
    ("hoog", timedelta(hours=24)),
    ("normaal", timedelta(hours=24)),
    ("laag", timedelta(hours=24)),
])
def test_contact_moments(urgency, first_contact):
    plan = plan_care(CASE_ID, urgency, ["police_referral", "aftercare"], NOW)

    assert [(m.kind, m.due_at - NOW) for m in plan.moments] == [
        ("first_contact", first_contact),
        ("follow_up_week", timedelta(days=7)),
        ("follow_up_weeks_4_6", timedelta(days=35)),
    ]
    assert plan.first_contact_due == NOW + first_contact
    assert (plan.case_id, plan.urgency) == (CASE_ID, urgency)


@pytest.mark.parametrize("decisions", [[], ["police_referral", "inform_mayor"], ["safety_advice"]])
def test_no_plan_without_an_aftercare_decision(decisions):
    assert plan_care(CASE_ID, "acuut", decisions, NOW) is None


def test_each_plan_has_its_own_id():
    first = plan_care(CASE_ID, "normaal", ["aftercare"], NOW)
    second = plan_care(CASE_ID, "normaal", ["aftercare"], NOW)

    assert isinstance(first.plan_id, uuid.UUID) and first.plan_id != second.plan_id


def test_plan_fits_the_aftercare_planned_event():
    plan = plan_care(CASE_ID, "acuut", ["aftercare"], NOW)

    event = new_event("aftercare_planned", "GM0664", CASE_ID, {
        "plan_id": plan.plan_id, "urgency": plan.urgency,
        "first_contact_due": plan.first_contact_due, "contact_moments": len(plan.moments)})

    assert event.payload["first_contact_due"] == datetime(2026, 3, 2, 12, 30, tzinfo=timezone.utc)
    assert event.payload["contact_moments"] == 3
