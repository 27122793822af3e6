"""services/police_liaison/domain.py: the referral lifecycle, the ELA checklist, plain words, deadlines,
and services/police_liaison/webhooks.py: signature and backoff."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.police_liaison import domain, webhooks
from shared import vocabulary

UTC = timezone.utc

HAPPY_PATH = ["created", "accepted", "aangifte_gepland", "aangifte_gedaan", "bij_om", "afgesloten"]


def step(status, **kw):
    defaults = {"aangifte_gedaan": {"registration_number": "PL1900-2026123456"},
                "afgesloten": {"outcome": "veroordeling"}, "afgewezen": {"reason": "geen strafbaar feit"}}
    return domain.Step(status, **{**defaults.get(status, {}), **kw})


def test_the_whole_happy_path_is_allowed():
    for current, following in zip(HAPPY_PATH, HAPPY_PATH[1:]):
        assert domain.check_step(current, step(following))["status"] == following


@pytest.mark.parametrize("current,target", [
    ("created", "aangifte_gedaan"), ("created", "afgesloten"), ("accepted", "bij_om"),
    ("afgesloten", "accepted"), ("afgewezen", "accepted"), ("bij_om", "afgewezen"),
    ("created", "created"), ("aangifte_gedaan", "accepted")])
def test_illegal_jumps_are_refused(current, target):
    with pytest.raises(domain.IllegalTransition):
        domain.check_step(current, step(target))


def test_every_status_of_the_vocabulary_has_transitions_and_plain_words():
    assert set(domain.TRANSITIONS) == set(vocabulary.REFERRAL_STATUSES)
    assert set(vocabulary.REFERRAL_STATUS_WORDS) == set(vocabulary.REFERRAL_STATUSES)


def test_aangifte_gedaan_needs_a_registration_number_and_sets_vpt():
    with pytest.raises(domain.InvalidStep, match="registration_number"):
        domain.check_step("aangifte_gepland", domain.Step("aangifte_gedaan"))

    changes = domain.check_step("aangifte_gepland", step("aangifte_gedaan"))

    assert changes == {"status": "aangifte_gedaan", "registration_number": "PL1900-2026123456",
                       "vpt_registered": True}


def test_closing_needs_an_outcome_and_rejecting_a_reason():
    with pytest.raises(domain.InvalidStep, match="outcome"):
        domain.check_step("bij_om", domain.Step("afgesloten"))
    with pytest.raises(domain.InvalidStep, match="reason"):
        domain.check_step("created", domain.Step("afgewezen"))
    assert domain.check_step("bij_om", step("afgesloten", outcome="sepot"))["outcome"] == "sepot"
    assert domain.check_step("created", step("afgewezen"))["reason"] == "geen strafbaar feit"


def test_fields_out_of_place_are_refused():
    with pytest.raises(domain.InvalidStep, match="outcome"):
        domain.check_step("created", domain.Step("accepted", outcome="sepot"))
    with pytest.raises(domain.InvalidStep, match="registration_number"):
        domain.check_step("created", domain.Step("accepted", registration_number="PL1"))


def test_ela_flags_travel_with_a_step_and_unknown_ones_are_refused():
    changes = domain.check_step("created", domain.Step("accepted", ela={"claim_damages": True}))
    assert changes == {"status": "accepted", "claim_damages": True}
    with pytest.raises(domain.InvalidStep, match="ela.home_address"):
        domain.check_step("created", domain.Step("accepted", ela={"home_address": True}))


def test_plain_words_include_the_outcome():
    assert "geseponeerd" in vocabulary.referral_status_words("afgesloten", "sepot")
    assert vocabulary.referral_status_words("created") == vocabulary.REFERRAL_STATUS_WORDS["created"]


def test_acute_referrals_must_be_accepted_within_the_hour():
    created = datetime(2026, 3, 1, 20, 15, tzinfo=UTC)
    assert domain.acceptance_deadline(created, "acuut") == created + timedelta(hours=1)
    assert domain.acceptance_deadline(created, "acuut", acute_minutes=30) == created + timedelta(minutes=30)


def test_other_referrals_get_one_working_day_skipping_weekends_and_holidays():
    # Thursday before Easter: Goede Vrijdag, the weekend and Easter Monday (6 April) are not working days
    thursday = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
    assert domain.acceptance_deadline(thursday, "normaal") == datetime(2026, 4, 7, 10, 0, tzinfo=UTC)
    tuesday = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    assert domain.acceptance_deadline(tuesday, "hoog", working_days=2) == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)


def test_webhook_signature_covers_timestamp_and_body():
    sig = webhooks.sign(b"s3cret", "1767225600", b'{"a":1}')
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert webhooks.verify(b"s3cret", "1767225600", b'{"a":1}', sig)
    assert not webhooks.verify(b"s3cret", "1767225601", b'{"a":1}', sig)
    assert not webhooks.verify(b"s3cret", "1767225600", b'{"a":2}', sig)
    assert not webhooks.verify(b"other", "1767225600", b'{"a":1}', sig)


def test_webhook_backoff_doubles_up_to_the_maximum():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    delays = [(webhooks.next_attempt(now, n, 2.0, 20.0) - now).total_seconds() for n in range(1, 6)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 20.0]


def test_initial_ela_takes_the_employer_aangifte_from_the_consent():
    assert domain.initial_ela({"employer_reports": True})["employer_aangifte"] is True
    assert domain.initial_ela({"employer_reports": False})["employer_aangifte"] is False
    assert domain.initial_ela(None) == {"vpt_registered": False, "domiciliekeuze": True,
                                        "employer_aangifte": False, "priority_handling": True,
                                        "claim_damages": False}


def test_the_whole_ela_checklist_is_ticked_item_by_item():
    """Beyond the five columns, an item of the region's checklist is kept with when and by whom it was ticked;
    a code outside the checklist, a non-boolean and an item that follows the aangifte option are refused; the
    view lists every item with its meaning, and one ticked under an older version stays visible as retired."""
    from services.police_liaison import ela
    checklist = ela.load(ela.DEFAULT_FILE)
    codes = ela.codes(checklist)
    assert domain.check_ela({"snelrecht": True, "vpt_registered": True}, codes) == {
        "snelrecht": True, "vpt_registered": True}
    for bad, reason in (({"snelrecht": "ja"}, "true or false"), ({"camerabeelden": True}, "not an item"),
                        ({"domiciliekeuze": False}, "follows the aangifte option")):
        with pytest.raises(domain.InvalidStep, match=reason):
            domain.check_ela(bad, codes)
    with pytest.raises(domain.InvalidStep):  # without the region's checklist only the five are known
        domain.check_ela({"snelrecht": True})
    now = datetime(2026, 12, 7, 10, tzinfo=UTC)
    row = {"ela_items": {"oud_item": {"checked": True, "at": "2026-01-01T00:00:00+00:00", "by": "x"}},
           "ela_version": "ela-2026-01", "vpt_registered": False, "priority_handling": True}
    changes = domain.ela_columns({"snelrecht": True, "vpt_registered": True, "status": "accepted"}, row, "liaison", now)
    assert changes["vpt_registered"] is True and changes["status"] == "accepted"
    assert changes["ela_items"]["snelrecht"] == {"checked": True, "at": now.isoformat(), "by": "liaison"}
    row = {**row, **changes}
    view = domain.checklist_view(checklist, row)
    by_code = {item["code"]: item for item in view["items"]}
    assert view["version"] == "ela-2026-01" and view["current_version"] == "ela-2026-12"
    assert by_code["snelrecht"]["checked"] and by_code["snelrecht"]["by"] == "liaison"
    assert by_code["vpt_registered"]["checked"] and by_code["priority_handling"]["checked"]
    assert not by_code["strafeis_200"]["checked"] and by_code["strafeis_200"]["meaning"]
    assert by_code["domiciliekeuze"]["follows"] == "aangifte_option"
    assert by_code["oud_item"]["retired"] is True
    assert domain.ela_checklist_codes(row, checklist) == {
        "ela_checklist": {"version": "ela-2026-01", "checked": ["oud_item", "snelrecht"]}}
