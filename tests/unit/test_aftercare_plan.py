"""services/aftercare/domain.py: when the care plan's contact moments fall, and TSQ scoring."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from services.aftercare.domain import hours_between, is_due, is_overdue, plan_care, replan, schedule, score_tsq
from services.aftercare.options import OptionsSchema
from shared.events import new_event

CASE_ID = uuid.UUID("2e6f4b1a-9c3d-4e8f-a7b6-5d4c3b2a1f09")
NOW = datetime(2026, 3, 2, 8, 30, tzinfo=timezone.utc)  # Monday 09:30 in Amsterdam


@pytest.mark.parametrize("urgency, first_contact, week, later", [
    ("acuut", timedelta(hours=7, minutes=30), 5, 28),   # same working day, 17:00 Amsterdam = 16:00 UTC
    ("hoog", timedelta(hours=24), 7, 28),
    ("normaal", timedelta(hours=24), 7, 35),
    ("laag", timedelta(hours=24), 7, 42),
])
def test_contact_moments(urgency, first_contact, week, later):
    plan = plan_care(CASE_ID, urgency, ["police_referral", "aftercare"], NOW)

    assert [(m.kind, m.due_at - NOW) for m in plan.moments] == [
        ("first_contact", first_contact),
        ("follow_up_week", timedelta(days=week)),
        ("follow_up_weeks_4_6", timedelta(days=later)),
    ]
    assert plan.first_contact_due == NOW + first_contact
    assert (plan.case_id, plan.urgency, plan.planned_at) == (CASE_ID, urgency, NOW)


def test_acute_on_a_friday_evening_is_due_on_monday():
    friday_evening = datetime(2026, 3, 6, 19, 0, tzinfo=timezone.utc)
    first = schedule("acuut", friday_evening)[0]
    assert first.due_at == datetime(2026, 3, 9, 16, 0, tzinfo=timezone.utc)


def test_acute_on_kingsday_moves_to_the_next_working_day():
    kingsday = datetime(2026, 4, 27, 8, 0, tzinfo=timezone.utc)
    assert schedule("acuut", kingsday)[0].due_at == datetime(2026, 4, 28, 15, 0, tzinfo=timezone.utc)


def test_region_options_change_the_intervals():
    options = OptionsSchema().load({"first_contact_hours": {"hoog": 4, "normaal": 12, "laag": 48},
                                    "follow_up_days": {"acuut": [3, 21], "hoog": [6, 30],
                                                       "normaal": [8, 40], "laag": [10, 42]}})
    moments = schedule("laag", NOW, options)
    assert [m.due_at - NOW for m in moments] == [timedelta(hours=48), timedelta(days=10), timedelta(days=42)]


@pytest.mark.parametrize("bad", [
    {"follow_up_days": {"acuut": [7, 5], "hoog": [7, 28], "normaal": [7, 35], "laag": [7, 42]}},
    {"first_contact_hours": {"hoog": 24}},
    {"first_contact_hours": {"hoog": 24, "normaal": 24, "laag": 24, "extreem": 1}},
    {"remind_before_hours": -1},
])
def test_bad_options_are_refused(bad):
    with pytest.raises(ValidationError):
        OptionsSchema().load(bad)


def test_replan_counts_from_the_original_plan_and_only_open_moments():
    new = replan("acuut", NOW, {"follow_up_week", "follow_up_weeks_4_6"})
    assert new == {"follow_up_week": NOW + timedelta(days=5), "follow_up_weeks_4_6": NOW + timedelta(days=28)}


def test_due_and_overdue():
    due = NOW + timedelta(days=7)
    assert not is_due(due, NOW)
    assert is_due(due, due - timedelta(hours=24))
    assert not is_overdue(due, due - timedelta(seconds=1))
    assert is_overdue(due, due)
    assert hours_between(due + timedelta(hours=5, minutes=59), due) == 5


@pytest.mark.parametrize("no_plan", [[], ["police_referral", "inform_mayor"], ["safety_advice"]])
def test_no_plan_without_an_aftercare_decision(no_plan):
    assert plan_care(CASE_ID, "acuut", no_plan, NOW) is None


def test_each_plan_has_its_own_id():
    first = plan_care(CASE_ID, "normaal", ["aftercare"], NOW)
    second = plan_care(CASE_ID, "normaal", ["aftercare"], NOW)
    assert isinstance(first.plan_id, uuid.UUID) and first.plan_id != second.plan_id


def test_plan_fits_the_aftercare_planned_event():
    plan = plan_care(CASE_ID, "hoog", ["aftercare"], NOW)
    event = new_event("aftercare_planned", "GM0664", CASE_ID, {
        "plan_id": plan.plan_id, "urgency": plan.urgency,
        "first_contact_due": plan.first_contact_due, "contact_moments": len(plan.moments)})
    assert event.payload["first_contact_due"] == datetime(2026, 3, 3, 8, 30, tzinfo=timezone.utc)
    assert event.payload["contact_moments"] == 3


# ------------------------------------------------------------------ TSQ

INCIDENT = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("yes, days, advise, too_early", [
    (6, 21, True, False),
    (5, 30, False, False),
    (10, 20, False, True),     # within three weeks: reactions are normal, no advice yet
    (0, 40, False, False),
    (6, 22, True, False),
])
def test_tsq_scoring(yes, days, advise, too_early):
    answers = [True] * yes + [False] * (10 - yes)
    result = score_tsq(answers, INCIDENT, INCIDENT + timedelta(days=days))
    assert (result.score, result.advise_referral, result.too_early) == (yes, advise, too_early)


@pytest.mark.parametrize("answers", [[True] * 9, [True] * 11, [1] * 10, ["ja"] * 10])
def test_tsq_needs_ten_yes_no_answers(answers):
    with pytest.raises(ValueError):
        score_tsq(answers, INCIDENT, INCIDENT + timedelta(days=30))
