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
    ("acuut", timedelta(hours=7, minutes=30), 14, 42),   # same working day, 17:00 Amsterdam = 16:00 UTC
    ("hoog", timedelta(hours=24), 14, 42),
    ("normaal", timedelta(hours=24), 14, 49),
    ("laag", timedelta(hours=24), 14, 57),   # day 56 is Koningsdag (27 April 2026): the next working day
])
def test_contact_moments(urgency, first_contact, week, later):
    plan = plan_care(CASE_ID, urgency, ["police_referral", "aftercare"], NOW)

    assert [(m.kind, m.due_at - NOW) for m in plan.moments] == [
        ("first_contact", first_contact),
        ("follow_up_2_weeks", timedelta(days=week)),
        ("follow_up_6_8_weeks", timedelta(days=later)),
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
    new = replan("acuut", NOW, {"follow_up_2_weeks", "follow_up_6_8_weeks"})
    assert new == {"follow_up_2_weeks": NOW + timedelta(days=14), "follow_up_6_8_weeks": NOW + timedelta(days=42)}
    # a plan made before issue 20 keeps its kinds and gets the deadlines of their successors
    assert replan("hoog", NOW, {"follow_up_weeks_4_6"}) == {"follow_up_weeks_4_6": NOW + timedelta(days=42)}


def test_a_deadline_on_a_weekend_or_holiday_moves_to_the_next_working_day():
    friday = datetime(2026, 12, 18, 14, 0, tzinfo=timezone.utc)   # 15:00 in Amsterdam
    first, two_weeks, later = schedule("hoog", friday)
    assert first.due_at == datetime(2026, 12, 21, 14, 0, tzinfo=timezone.utc)       # Saturday -> Monday
    assert two_weeks.due_at == datetime(2027, 1, 4, 14, 0, tzinfo=timezone.utc)     # Friday 1 January -> Monday
    assert later.due_at == datetime(2027, 1, 29, 14, 0, tzinfo=timezone.utc)        # a Friday: stays
    christmas_eve = datetime(2026, 12, 24, 9, 0, tzinfo=timezone.utc)              # Thursday
    assert schedule("normaal", christmas_eve)[0].due_at == datetime(2026, 12, 28, 9, 0, tzinfo=timezone.utc)


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


@pytest.mark.parametrize("yes, days, advise", [
    (6, 28, True),     # the Dutch cut-off: six or more of ten
    (5, 30, False),
    (0, 40, False),
    (10, 60, True),
])
def test_tsq_scoring(yes, days, advise):
    answers = [True] * yes + [False] * (10 - yes)
    result = score_tsq(answers, INCIDENT, INCIDENT + timedelta(days=days))
    assert (result.score, result.advise_referral) == (yes, advise)
    assert result.refer_to == (("huisarts", "bedrijfsarts") if advise else ())


@pytest.mark.parametrize("days", [0, 14, 21, 27])
def test_tsq_before_four_weeks_is_refused_with_the_reason(days):
    from services.aftercare.domain import TsqTooEarly

    with pytest.raises(TsqTooEarly, match=r"from 28 days after the incident \(2026-03-29\).*stress reactions are normal"):
        score_tsq([True] * 10, INCIDENT, INCIDENT + timedelta(days=days, hours=23))


@pytest.mark.parametrize("answers", [[True] * 9, [True] * 11, [1] * 10, ["ja"] * 10])
def test_tsq_needs_ten_yes_no_answers(answers):
    with pytest.raises(ValueError):
        score_tsq(answers, INCIDENT, INCIDENT + timedelta(days=30))


def test_the_contact_form_asks_nothing_that_makes_one_relive_the_incident():
    """No psychological debriefing (docs/aftercare.md): a contact records how it went, the TSQ and notes
    for practical follow-up — no field for an account of the incident or the feelings about it."""
    from services.aftercare.schemas import ContactSchema

    assert set(ContactSchema().fields) == {"moment", "contacted_at", "contacted_by", "method", "outcome",
                                           "tsq_answers", "notes"}


def test_a_witness_track_counts_from_the_witness_consent_and_handovers_have_their_rules():
    """A witness's own moments follow the practice's timeline from their own consent (weekends moved to Monday);
    a handover needs consent, Weerbaar Bestuur only for political office holders, Slachtofferhulp's 48 hours run
    from the police referral, and the steps go voorgesteld -> overgedragen -> afgerond (or afgewezen)."""
    from datetime import datetime, timedelta, timezone

    from services.aftercare import domain
    from shared import vocabulary
    friday = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)
    moments = domain.witness_moments(friday)
    assert [m.kind for m in moments] == ["first_contact", "follow_up_2_weeks", "follow_up_6_8_weeks"]
    assert moments[0].due_at == datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)  # Saturday's deadline: Monday
    with pytest.raises(domain.HandoverRefused, match="consent"):
        domain.check_handover("slachtofferhulp", "ambtenaar", False, vocabulary.POLITICAL_ROLES)
    with pytest.raises(domain.HandoverRefused, match="political office holders"):
        domain.check_handover("weerbaar_bestuur", "ambtenaar", True, vocabulary.POLITICAL_ROLES)
    domain.check_handover("weerbaar_bestuur", "wethouder", True, vocabulary.POLITICAL_ROLES)
    referred = friday - timedelta(hours=3)
    shn = domain.handover_deadlines("slachtofferhulp", friday, referred)
    assert shn["hand_over_by"] == referred + timedelta(hours=48) and shn["follow_up_due"] == shn["hand_over_by"]
    arts = domain.handover_deadlines("bedrijfsarts", friday, referred)
    assert arts["hand_over_by"] is None and arts["follow_up_due"] == datetime(2026, 12, 9, 9, 0, tzinfo=timezone.utc)
    domain.check_handover_step("voorgesteld", "overgedragen")
    domain.check_handover_step("overgedragen", "afgerond")
    for current, status in (("voorgesteld", "afgerond"), ("afgerond", "afgewezen"), ("afgewezen", "overgedragen")):
        with pytest.raises(domain.HandoverRefused):
            domain.check_handover_step(current, status)
