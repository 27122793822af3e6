"""services/intake: the POST /api/v1/incidents contract and the event it turns into."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from services.intake.domain import is_anonymous, reported_payload
from services.intake.schemas import IncidentReportSchema
from shared.events import new_event
from shared.http import Problem, load_or_422
from tests.unit.samples import AMSTERDAM


def load(**body):
    return IncidentReportSchema().load({"occurred_at": "2026-03-01T21:15:00+01:00",
                                        "description": "Man stond schreeuwend aan de balie.", **body})


def errors(**body) -> dict:
    with pytest.raises(ValidationError) as caught:
        load(**body)
    return caught.value.messages


def test_minimal_body_gets_defaults():
    report = load()

    assert report["occurred_at"] == datetime(2026, 3, 1, 20, 15, tzinfo=timezone.utc)
    assert report["description"] == "Man stond schreeuwend aan de balie."
    assert report["location_type"] == "overig" and report["target_role"] == "overig"
    assert report["consent"] == {"contact": False, "police_referral": False, "inform_manager": False,
                                 "employer_reports": False}
    assert report["perpetrators"] == [] and report["categories"] == []
    assert report["reporter"] is None


def test_defaults_are_not_shared_between_reports():
    first, second = load(), load()
    first["perpetrators"].append({"name": "X"})
    first["consent"]["contact"] = True

    assert second["perpetrators"] == [] and second["consent"]["contact"] is False


@pytest.mark.parametrize("local, utc", [
    ("2026-03-01T21:15:00", datetime(2026, 3, 1, 20, 15, tzinfo=timezone.utc)),  # winter time
    ("2025-07-01T21:15:00", datetime(2025, 7, 1, 19, 15, tzinfo=timezone.utc)),  # summer time
])
def test_time_without_offset_is_dutch_time(local, utc):
    occurred_at = load(occurred_at=local)["occurred_at"]

    assert occurred_at == utc
    assert occurred_at.tzinfo is not None and occurred_at.utcoffset() == utc.astimezone(AMSTERDAM).utcoffset()


def test_future_time_is_refused():
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()

    assert errors(occurred_at=tomorrow) == {"occurred_at": ["lies in the future"]}


def test_a_few_minutes_of_clock_skew_is_tolerated():
    soon = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()

    assert load(occurred_at=soon)["occurred_at"] > datetime.now(timezone.utc)


def test_unknown_field_is_refused():
    assert errors(urgent=True) == {"urgent": ["Unknown field."]}


def test_contact_consent_needs_email_or_phone():
    assert errors(consent={"contact": True}) == {"consent.contact": ["contact needs reporter.email or reporter.phone"]}
    assert "consent.contact" in errors(consent={"contact": True}, reporter={"name": "Jan de Vries"})


@pytest.mark.parametrize("reporter", [{"email": "j.devries@example.nl"}, {"phone": "+31 118 675 000"}])
def test_contact_consent_with_a_route_is_accepted(reporter):
    report = load(consent={"contact": True}, reporter=reporter)

    assert report["consent"]["contact"] is True


@pytest.mark.parametrize("field, value", [
    ("location_type", "thuis"),
    ("target_role", "minister"),
    ("categories", ["bedreiging", "stalking"]),
])
def test_unknown_codes_are_refused(field, value):
    assert field in errors(**{field: value})


@pytest.mark.parametrize("description", ["", "x" * 10_001])
def test_description_length(description):
    assert "description" in errors(description=description)


def test_description_of_exactly_10000_characters_is_accepted():
    assert len(load(description="x" * 10_000)["description"]) == 10_000


def test_required_fields():
    with pytest.raises(ValidationError) as caught:
        IncidentReportSchema().load({})

    assert set(caught.value.messages) == {"occurred_at", "description"}


def test_categories_are_deduplicated_and_sorted():
    assert load(categories=["vernieling", "bedreiging", "vernieling"])["categories"] == ["bedreiging", "vernieling"]


def test_perpetrator_errors_point_at_the_perpetrator():
    with pytest.raises(Problem) as caught:
        load_or_422(IncidentReportSchema(), {"occurred_at": "2026-03-01T21:15:00", "description": "Bedreigd.",
                                             "perpetrators": [{"name": "Piet"}, {"name": "", "shoe_size": 44}]})

    assert caught.value.status == 422
    assert sorted(p["name"] for p in caught.value.invalid_params) == ["perpetrators.1.name",
                                                                      "perpetrators.1.shoe_size"]


# ---------------------------------------------------------------- the incident_reported payload

def full_report():
    return load(
        description="Na de raadsvergadering volgde hij mij naar huis en dreigde mijn ramen in te gooien.",
        location_type="woning", target_role="raadslid", categories=["bedreiging", "intimidatie"],
        reporter={"name": "Fatima el Amrani", "email": "f.elamrani@example.nl", "phone": "0612345678"},
        perpetrators=[{"name": "onbekend", "description": "man, ongeveer 40", "online_handle": "@zeeuw"}],
        consent={"contact": True, "police_referral": True})


def test_reported_payload_passes_the_event_contract():
    report = full_report()

    event = new_event("incident_reported", "GM0715", uuid.uuid4(), reported_payload(report, "api"))

    assert event.payload == {
        "channel": "api", "occurred_at": report["occurred_at"], "location_type": "woning",
        "target_role": "raadslid", "reported_categories": ["bedreiging", "intimidatie"], "anonymous": False,
        "perpetrator_count": 1, "direct_danger": False,
        "consent": {"contact": True, "police_referral": True, "inform_manager": False, "employer_reports": False}}


def test_reported_payload_leaves_out_what_and_who():
    text = repr(reported_payload(full_report(), "api"))

    for personal in ("raadsvergadering volgde", "Fatima", "f.elamrani", "0612345678", "onbekend", "@zeeuw"):
        assert personal not in text


def test_minimal_report_is_anonymous_in_its_event():
    payload = reported_payload(load(), "formulier")

    assert payload["anonymous"] is True and payload["perpetrator_count"] == 0
    assert new_event("incident_reported", "GM0687", uuid.uuid4(), payload).payload["channel"] == "formulier"


@pytest.mark.parametrize("reporter, anonymous", [
    (None, True),
    ({}, True),
    ({"name": "", "email": "", "phone": ""}, True),
    ({"name": "Jan de Vries"}, False),
    ({"email": "melder@example.nl"}, False),
    ({"phone": "0118-675000"}, False),
])
def test_is_anonymous(reporter, anonymous):
    assert is_anonymous({"reporter": reporter}) is anonymous
    assert is_anonymous({} if reporter is None else {"reporter": reporter}) is anonymous


def test_the_status_shown_is_the_furthest_step_taken_until_closed_and_a_final_status_stays():
    from itertools import product

    from services.intake.domain import STATUSES, reporter_status

    assert reporter_status("ontvangen", triaged=False, referred=False, planned=False) == "ontvangen"
    assert reporter_status("ontvangen", triaged=True, referred=False, planned=False) == "in_behandeling"
    assert reporter_status("ontvangen", triaged=True, referred=True, planned=False) == "doorverwezen"
    # aftercare is planned from the triage decision, so it may come before or without a referral
    assert reporter_status("ontvangen", triaged=True, referred=False, planned=True) == "nazorg"
    assert reporter_status("ontvangen", triaged=True, referred=True, planned=True) == "nazorg"
    for triaged, referred, planned in product((False, True), repeat=3):
        steps = dict(triaged=triaged, referred=referred, planned=planned)
        assert reporter_status("ingetrokken", **steps) == "ingetrokken"
        assert reporter_status("afgesloten", **steps) == "afgesloten"
        # a status column moved on by an earlier release never goes back
        assert reporter_status("nazorg", **steps) == "nazorg"
        furthest = max(["ontvangen"] + [status for status, done in (("in_behandeling", triaged),
                       ("doorverwezen", referred), ("nazorg", planned)) if done], key=STATUSES.index)
        assert reporter_status("ontvangen", **steps) == furthest
        # a case whose work is done is closed, unless it was withdrawn first
        assert reporter_status("ontvangen", **steps, closed=True) == "afgesloten"
        assert reporter_status("ingetrokken", **steps, closed=True) == "ingetrokken"


def test_offsets_postgresql_cannot_store_and_impossible_years_are_field_errors():
    import pytest
    from marshmallow import ValidationError

    from services.intake.schemas import IncidentReportSchema

    base = {"description": "Dreigement aan de balie.", "location_type": "balie", "target_role": "ambtenaar",
            "categories": ["bedreiging"]}
    for when, reason in (("2026-11-20T10:00:00+18:47", "offset"), ("0072-07-04T10:00:00+01:00", "1900")):
        with pytest.raises(ValidationError) as refused:
            IncidentReportSchema().load({**base, "occurred_at": when})
        assert reason in refused.value.messages["occurred_at"][0]
    assert IncidentReportSchema().load({**base, "occurred_at": "2026-11-20T10:00:00+14:00"})
