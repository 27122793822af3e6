"""Issue 19 in memory: a person's decision (override, withdrawal, a staff close) reaches every service
it concerns exactly once, through the services' real handlers and the catalogue (tests/fakes.py).

The matrix: decision added / removed / urgency up / urgency down / withdrawn / closed, before and after
the police accepted the referral. The same matrix through RabbitMQ and PostgreSQL is
tests/integration/test_decisions_carried_out.py.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.police_liaison import domain as police_domain
from services.signals import domain as signals_domain

from tests import fakes
from tests.fakes import InMemoryHub, case_ref, intake, police_liaison, triage
from tests.unit.test_incident_story import CODE, reported

STAFF = "person:s1 (Sanne, staff)"
# hoog: police referral, aftercare, inform the burgemeester, inform the manager
THREAT = dict(location_type="raadsvergadering", target_role="raadslid", categories=["intimidatie"],
              description="Een bezoeker intimideerde mij na de vergadering.")
MINOR = dict(description="Er werd een vervelende opmerking gemaakt over de afhandeling.", categories=["overig"],
             perpetrators=[])  # laag, no police referral


def override(hub, case_id, urgency: str, decisions, categories=("bedreiging",)):
    with hub.case_store(CODE, "triage") as uow:
        triage.override(case_id, uow, STAFF, {"categories": list(categories), "urgency": urgency,
                                              "decisions": list(decisions), "reason": "besproken"},
                        hub.now, store=fakes.STORES["triage"], views=fakes.VIEWS)
    hub.deliver()


def accept(hub):
    (row,) = hub.databases[CODE].rows("police_liaison.referrals")
    with hub.case_store(CODE, "police_liaison") as uow:
        police_liaison.take_step(row, police_domain.Step("accepted"), uow, "apikey:p1 (politie)", "police_liaison",
                                 hub.options["police_liaison"], hub.now, store=fakes.STORES["police_liaison"])
    hub.deliver()


def withdraw(hub, case_id, by="reporter"):
    with hub.case_store(CODE, "intake") as uow:
        intake.withdraw(case_id, uow, "formulier", by, store=fakes.STORES["intake"])
    hub.deliver()


def close_by_staff(hub, case_id):
    with hub.case_store(CODE, "intake") as uow:
        uow.record("incident_closed", case_id, {"channel": "api", "reason": "handled"})
    hub.deliver()


def referral(hub) -> dict:
    (row,) = hub.databases[CODE].rows("police_liaison.referrals")
    return row


def plan(hub) -> dict:
    (row,) = hub.databases[CODE].rows("aftercare.care_plans")
    return row


def kinds(hub, *states) -> dict:
    return {s["kind"]: s["state"] for s in hub.databases[CODE].rows("signals.signals")
            if not states or s["state"] in states}


def events(hub, *types) -> list:
    return [e.event_type for e in hub.databases[CODE].events(*types)]


def test_intimidation_of_a_councillor_raises_a_signal_per_decision_a_person_carries_out():
    hub = InMemoryHub()
    reported(hub, **THREAT)
    assert kinds(hub) == {"inform_burgemeester": "open", "inform_manager": "open"}
    raised = hub.databases[CODE].events("signal_raised")
    assert {e.payload["owner_role"] for e in raised} == {"coordinator", "staff"}
    assert all(e.payload["acute"] is False for e in raised)


@pytest.mark.parametrize("accepted", [False, True], ids=["before acceptance", "after acceptance"])
def test_decision_removed_withdraws_the_referral_and_tells_the_police(accepted):
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    if accepted:
        accept(hub)
    override(hub, case_id, "hoog", ["aftercare", "inform_mayor", "safety_advice"])

    (withdrawn,) = hub.databases[CODE].events("referral_withdrawn")
    assert withdrawn.payload["reason"] == "decision_removed"
    assert withdrawn.payload["previous_status"] == ("accepted" if accepted else "created")
    assert (referral(hub)["status"], referral(hub)["withdrawal_reason"]) == ("ingetrokken", "decision_removed")
    assert plan(hub)["status"] == "open"  # aftercare is still decided
    facts = hub.statistics.tables["statistics.incident_facts"][(CODE, case_ref(case_id))]
    assert (facts["referral_withdrawn"], facts["referral_withdrawn_reason"]) == (True, "decision_removed")


def test_decision_added_back_restores_the_referral_as_new():
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    override(hub, case_id, "hoog", ["aftercare"])
    hub.tick(minutes=5)
    override(hub, case_id, "hoog", ["police_referral", "aftercare"])

    assert events(hub, "referral_created", "referral_withdrawn") == [
        "referral_created", "referral_withdrawn", "referral_created"]
    row = referral(hub)
    assert (row["status"], row["withdrawn_at"]) == ("created", None)
    assert row["accept_deadline"] > hub.now  # a new deadline from now


def test_decision_added_where_triage_made_none_makes_the_referral_and_the_signals():
    hub = InMemoryHub()
    case_id = reported(hub, **MINOR)
    assert not hub.databases[CODE].rows("police_liaison.referrals")

    override(hub, case_id, "normaal", ["police_referral", "aftercare", "inform_mayor"])

    (created,) = hub.databases[CODE].events("referral_created")
    assert created.payload["urgency"] == "normaal" and created.payload["location_type"] == "balie"
    assert kinds(hub)["inform_burgemeester"] == "open"
    assert kinds(hub)["inform_manager"] == "handled"  # no longer decided


@pytest.mark.parametrize("accepted", [False, True], ids=["before acceptance", "after acceptance"])
def test_urgency_up_to_acuut_shortens_the_police_deadline_and_replans_care(accepted):
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    created_at = referral(hub)["created_at"]
    if accepted:
        accept(hub)
    hub.tick(minutes=10)
    override(hub, case_id, "acuut", ["police_referral", "aftercare", "inform_mayor", "inform_manager"])

    (updated,) = [e for e in hub.databases[CODE].events("referral_updated") if "urgency" in e.payload]
    assert (updated.payload["previous_urgency"], updated.payload["urgency"]) == ("hoog", "acuut")
    assert updated.payload["status"] == updated.payload["previous_status"]
    if accepted:
        assert updated.payload["accept_deadline"] is None  # accepted: no acceptance deadline any more
    else:
        assert updated.payload["accept_deadline"] == created_at + timedelta(minutes=60)
        assert referral(hub)["accept_deadline"] == created_at + timedelta(minutes=60)
    assert plan(hub)["urgency"] == "acuut"
    # the open decision signals became acute: their mail goes at once, not in a digest
    assert {s["acute"] for s in hub.databases[CODE].rows("signals.signals") if s["follows_decision"]
            and s["state"] == "open"} == {True}
    assert {n["acute"] for n in hub.databases[CODE].rows("signals.notices") if n["audience"] != "reporter"} == {True}


def test_urgency_down_gives_the_police_more_time():
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    before = referral(hub)["accept_deadline"]
    override(hub, case_id, "laag", ["police_referral", "aftercare"])
    assert referral(hub)["urgency"] == "laag" and referral(hub)["accept_deadline"] >= before
    assert plan(hub)["urgency"] == "laag"


@pytest.mark.parametrize("accepted", [False, True], ids=["before acceptance", "after acceptance"])
@pytest.mark.parametrize("by", ["reporter", "staff"])
def test_a_withdrawal_stops_every_service_once(accepted, by):
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    if accepted:
        accept(hub)
    withdraw(hub, case_id, by)

    (withdrawn,) = hub.databases[CODE].events("referral_withdrawn")
    assert withdrawn.payload["reason"] == f"{by}_withdrew"
    assert (plan(hub)["status"], plan(hub)["close_reason"]) == ("closed", "withdrawn")
    assert set(kinds(hub).values()) == {"handled"}
    assert {s["outcome"] for s in hub.databases[CODE].rows("signals.signals")} == {"case_withdrawn"}
    assert case_id in hub.databases[CODE].tables["triage.stopped_cases"]
    # a decision arriving after the withdrawal makes nothing
    override(hub, case_id, "acuut", ["police_referral", "aftercare", "inform_mayor"])
    assert referral(hub)["status"] == "ingetrokken" and plan(hub)["status"] == "closed"
    assert set(kinds(hub).values()) == {"handled"}
    assert len(hub.databases[CODE].events("referral_withdrawn")) == 1


def test_a_staff_close_closes_the_referral_the_plan_and_the_signals():
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    close_by_staff(hub, case_id)
    assert hub.databases[CODE].events("referral_withdrawn")[0].payload["reason"] == "case_closed"
    assert plan(hub)["close_reason"] == "case_closed"
    assert {s["outcome"] for s in hub.databases[CODE].rows("signals.signals")} == {"case_closed"}


def test_aftercare_removed_closes_the_plan_and_added_back_reopens_it():
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    override(hub, case_id, "hoog", ["police_referral"])
    assert (plan(hub)["status"], plan(hub)["close_reason"]) == ("closed", "decision_removed")
    hub.tick(hours=1)
    override(hub, case_id, "hoog", ["police_referral", "aftercare"])
    assert plan(hub)["status"] == "open"
    assert events(hub, "aftercare_planned", "aftercare_closed") == [
        "aftercare_planned", "aftercare_closed", "aftercare_planned"]


def test_every_event_delivered_twice_changes_nothing():
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    accept(hub)
    override(hub, case_id, "acuut", ["police_referral", "aftercare"])
    withdraw(hub, case_id)
    db = hub.databases[CODE]
    before = (len(db.outbox), [dict(r) for r in db.rows("signals.signals")], len(db.rows("signals.notices")))
    for consumer, event in list(hub.delivered):
        hub.redeliver(consumer, event)
    assert (len(db.outbox), [dict(r) for r in db.rows("signals.signals")], len(db.rows("signals.notices"))) == before


def test_an_older_decision_arriving_late_changes_nothing():
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    stale = hub.databases[CODE].events("incident_triaged")[0]  # hoog, with police_referral
    override(hub, case_id, "hoog", ["aftercare"])  # newer: no referral
    for consumer in ("police_liaison", "aftercare", "signals"):
        late = fakes.Event(**{**stale.__dict__, "event_id": fakes.uuid.uuid4(),
                              "occurred_at": stale.occurred_at - timedelta(seconds=1)})
        hub.redeliver(consumer, late)
    assert referral(hub)["status"] == "ingetrokken"
    assert kinds(hub)["inform_burgemeester"] == "handled"


def test_a_contact_recorded_resolves_the_care_signals_of_its_moment():
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    with hub.case_store(CODE, "aftercare") as uow:
        fakes.aftercare.send_reminders(uow, hub.options["aftercare"], hub.now + timedelta(days=2),
                                       store=fakes.STORES["aftercare"])
    hub.deliver()
    assert kinds(hub, "open")["care_contact_due"] == "open"
    with hub.case_store(CODE, "aftercare") as uow:
        uow.record("aftercare_contact_recorded", case_id, {
            "plan_id": plan(hub)["plan_id"], "moment": "first_contact", "method": "phone", "outcome": "reached",
            "hours_after_due": -2, "days_since_incident": 1, "wellbeing_checked": False})
    hub.deliver()
    resolved = [s for s in hub.databases[CODE].rows("signals.signals") if s["kind"] == "care_contact_due"
                and s["details"]["moment"] == "first_contact"]
    assert [(s["state"], s["outcome"]) for s in resolved] == [("handled", "resolved")]


def test_the_reporter_hears_of_each_step_once_without_content():
    hub = InMemoryHub()
    case_id = reported(hub, **THREAT)
    accept(hub)
    reporter_notices = [n for n in hub.databases[CODE].rows("signals.notices") if n["audience"] == "reporter"]
    stages = hub.databases[CODE].tables["signals.cases"][case_id]["reporter_stages"]
    assert stages == ["ontvangen", "in_behandeling", "doorverwezen", "politie:accepted"]
    assert len(reporter_notices) == len(stages)
    with hub.case_store(CODE) as uow:
        fakes.signals.compose(uow, CODE, hub.options["signals"], hub.now, store=fakes.STORES["signals"])
    mails = hub.databases[CODE].rows("signals.mails")
    assert [m["kind"] for m in mails] == ["reporter"] and mails[0]["recipient"] is None  # address read when sent
    body = signals_domain.reporter_mail("https://meldpunt.example/meld/GM0687/volg").body
    assert "Sanne" not in body and "balie" not in body and "bedreiging" not in body


def test_a_phone_only_reporter_gets_no_mail():
    hub = InMemoryHub()
    case_id = reported(hub, consent={**fakes_consent(), "contact_method": "phone"},
                       reporter={"name": "Sanne", "phone": "0612345678"})
    assert not [n for n in hub.databases[CODE].rows("signals.notices") if n["case_id"] == case_id
                and n["audience"] == "reporter"]


def fakes_consent():
    from tests.unit.test_incident_story import CONSENT

    return dict(CONSENT)
