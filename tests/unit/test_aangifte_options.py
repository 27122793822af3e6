"""The aangifte options as plain rules (issue 20, item 1): what of the victim's identity the police may
read under each option, the employer's mandate, the ELA flags that follow the option, and the advice to
file within two working days with its one reminder."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.police_liaison import domain
from services.police_liaison.domain import AangifteOption

HOME, PRIVATE_PHONE = "Kanariestraat 7, 4331 AB Middelburg", "0611223344"
REPORTER = {"name": "Kanarie Slachtoffer", "address": HOME, "phone": PRIVATE_PHONE, "email": "k@example.nl"}
EMPLOYER = {"name": "Meldpunt Middelburg", "address": "Kanaalweg 3, 4337 PA Middelburg", "phone": "0118 675 000"}
MANDATE = {"signed_by": "J. de Vries, gemeentesecretaris", "signed_at": "2026-11-23", "scope": "aangifte en schade"}


def leaves(option):
    return repr(domain.aangever_for_police(option, REPORTER, EMPLOYER))


@pytest.mark.parametrize("option", [
    AangifteOption("victim", onder_nummer=True, domiciliekeuze=False),
    AangifteOption("victim", onder_nummer=False, domiciliekeuze=True),
    AangifteOption("employer", onder_nummer=False, domiciliekeuze=False, mandate=MANDATE),
    AangifteOption("employer", onder_nummer=True, domiciliekeuze=True, mandate=MANDATE)])
def test_home_address_and_private_phone_never_leave_under_these_options(option):
    text = leaves(option)
    assert HOME not in text and PRIVATE_PHONE not in text and "k@example.nl" not in text


def test_onder_nummer_leaves_no_name_and_domiciliekeuze_gives_the_employers_address():
    assert "Kanarie Slachtoffer" not in leaves(AangifteOption("victim", onder_nummer=True))
    shown = domain.aangever_for_police(AangifteOption("victim", domiciliekeuze=True), REPORTER, EMPLOYER)
    assert shown["victim"]["name"] == "Kanarie Slachtoffer"
    assert shown["victim"]["address"] == EMPLOYER["address"] and shown["victim"]["phone"] == EMPLOYER["phone"]


def test_only_a_victim_filing_in_their_own_name_without_domiciliekeuze_gives_the_home_address():
    shown = domain.aangever_for_police(AangifteOption("victim", domiciliekeuze=False), REPORTER, EMPLOYER)
    assert shown["victim"]["address"] == HOME and shown["victim"]["phone"] == PRIVATE_PHONE


def test_an_employers_aangifte_needs_the_whole_mandate_and_a_victims_has_none():
    domain.check_option(AangifteOption("employer", mandate=MANDATE))
    for missing in ("signed_by", "signed_at", "scope"):
        with pytest.raises(domain.InvalidStep, match="required when the employer") as refused:
            domain.check_option(AangifteOption("employer", mandate={k: v for k, v in MANDATE.items() if k != missing}))
        assert refused.value.field_name == f"mandate.{missing}"
    with pytest.raises(domain.InvalidStep, match="only when the employer"):
        domain.check_option(AangifteOption("victim", mandate=MANDATE))
    shown = domain.aangever_for_police(AangifteOption("employer", mandate=MANDATE), REPORTER, EMPLOYER)
    assert shown["mandate"]["signed_by"] == MANDATE["signed_by"] and shown["employer"]["name"] == EMPLOYER["name"]


def test_the_option_starts_safe_and_sets_the_ela_flags_that_follow_it():
    assert domain.initial_option(None) == AangifteOption("victim", False, True, None)
    assert domain.initial_option({"employer_reports": True}).by == "employer"
    changes = domain.option_changes(AangifteOption("employer", mandate=MANDATE), datetime(2026, 11, 23, tzinfo=timezone.utc))
    assert changes["employer_aangifte"] is True and changes["domiciliekeuze"] is True
    with pytest.raises(domain.InvalidStep, match="follows the aangifte option"):
        domain.check_ela({"domiciliekeuze": False})
    with pytest.raises(domain.InvalidStep, match="follows the aangifte option"):
        domain.check_step("created", domain.Step("accepted", ela={"employer_aangifte": True}))
    assert domain.check_ela({"claim_damages": True}) == {"claim_damages": True}
    assert domain.AangifteOption("employer", mandate=MANDATE).codes() == {
        "by": "employer", "onder_nummer": False, "domiciliekeuze": True, "mandate": True}


def test_advice_within_two_working_days_over_a_weekend_and_one_reminder():
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
    due = domain.aangifte_advice_due(friday)
    assert due == datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)  # Monday, Tuesday
    row = {"status": "accepted", "aangifte_advice_due": due, "aangifte_reminded_at": None}
    assert not domain.needs_aangifte_reminder(row, datetime(2026, 12, 1, 14, 59, tzinfo=timezone.utc))
    assert domain.needs_aangifte_reminder(row, due)
    assert not domain.needs_aangifte_reminder({**row, "status": "aangifte_gepland"}, due)
    assert not domain.needs_aangifte_reminder({**row, "aangifte_reminded_at": due}, due)
    christmas_eve = datetime(2026, 12, 24, 10, 0, tzinfo=timezone.utc)  # Thursday; 25 and 26 December are holidays
    assert domain.aangifte_advice_due(christmas_eve).date().isoformat() == "2026-12-29"


def test_the_reminder_goes_out_once_and_raises_a_signal_for_staff():
    from datetime import timedelta

    from tests import fakes
    from tests.fakes import InMemoryHub, police_liaison
    from tests.unit.test_incident_story import CODE, reported

    hub = InMemoryHub()
    reported(hub)
    (row,) = hub.databases[CODE].rows("police_liaison.referrals")
    assert row["aangifte_advice_due"] == domain.aangifte_advice_due(hub.now)
    for _ in range(2):  # a second round (another instance, the next tick) reminds nothing again
        with hub.case_store(CODE, "police_liaison") as uow:
            police_liaison.remind_aangifte(uow, hub.options["police_liaison"], hub.now + timedelta(days=5),
                                           store=fakes.STORES["police_liaison"])
        hub.deliver()
    assert len(hub.databases[CODE].events("aangifte_reminder_due")) == 1
    assert [s["kind"] for s in hub.databases[CODE].rows("signals.signals") if s["kind"] == "aangifte_reminder"] \
        == ["aangifte_reminder"]


def test_the_information_form_holds_the_seven_ws_and_nothing_the_option_excludes():
    details = {"description": "Hij dreigde met een mes.", "perpetrators": [{"name": "Dader", "relation": "client"}],
               "occurred_at": datetime(2026, 11, 20, 13, 5, tzinfo=timezone.utc), "location_type": "balie",
               "target_role": "ambtenaar", "reported_categories": ["bedreiging"]}
    referral = {"referral_id": "r1", "police_unit": "zwb-walcheren", "categories": ["bedreiging"], "urgency": "hoog"}
    option = AangifteOption("victim", onder_nummer=True)
    form = domain.information_form(referral, details, domain.aangever_for_police(option, REPORTER, EMPLOYER))
    assert {"wie", "wat", "waar", "waarmee", "op_welke_wijze", "wanneer", "waarom"} <= set(form)
    assert "Veilige Publieke Taak" in form["vpt"] and form["wanneer"]["occurred_at"].startswith("2026-11-20")
    assert HOME not in repr(form) and PRIVATE_PHONE not in repr(form) and "Kanarie" not in repr(form)


def test_the_information_form_pdf_takes_any_character_a_reporter_types():
    """The PDF's standard fonts show Latin-1 only: typography becomes its plain form, other letters lose
    their accent or become '?', and rendering never fails on what a description holds."""
    from services.police_liaison import form_pdf
    assert form_pdf.plain("ëé – “ja” … € Łódź 😀") == 'ëé - "ja" ... EUR ?ódz ?'
    form = domain.information_form(
        {"referral_id": "r1", "police_unit": "zwb-walcheren", "categories": ["bedreiging"], "urgency": "hoog"},
        {"description": "😀 " * 400, "perpetrators": [], "occurred_at": datetime(2026, 11, 20, 13, 5, tzinfo=timezone.utc),
         "location_type": "balie", "target_role": "ambtenaar"}, None)
    assert form_pdf.render(form).startswith(b"%PDF")
