"""Issue 20, items 6-7, over the real broker and case stores: a witness's or colleague's own care track (own
consent, linked to the case, independent of the victim's plan), and referrals to help as handovers to a partner
(status, follow-up, Slachtofferhulp within 48 hours of the police referral, the Ondersteuningsteam Weerbaar Bestuur
only for political office holders, a ledger row when personal data goes out); each step an event of codes, counted
by statistics."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
import requests

from services.aftercare import domain
from tests.support import Hub, WatchedClock, incident_body, query, wait_for

MIDDELBURG = "GM0687"
WITNESS = "Kanarie Getuige W5"
WITNESS_PHONE = "0655443322"


@pytest.fixture
def care(settings, start_services):
    region = settings.region
    aftercare = {**region.options["aftercare"], "reminder_interval_seconds": 0.2}
    settings = dataclasses.replace(settings, region=dataclasses.replace(
        region, options={**region.options, "aftercare": aftercare}))
    clock = WatchedClock(datetime.now(timezone.utc))
    start_services("intake", "triage", "police_liaison", "aftercare", "statistics", settings=settings, clock=clock)
    hub = Hub(settings)
    return hub, clock, {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'aftercare_worker')}"}


def _url(hub, path):
    return hub.url("aftercare", f"/api/v1/aftercare{path}")


def _case(hub, **overrides):
    case_id = hub.report(hub.key(MIDDELBURG), incident_body(**overrides)).json()["case_id"]
    wait_for(lambda: query(hub.case_store(MIDDELBURG), "SELECT 1 FROM aftercare.care_plans WHERE case_id = %s",
                           (case_id,)), what="the victim's care plan")
    return case_id


def _events(hub, case_id, event_type):
    return [r["payload"] for r in query(hub.case_store(MIDDELBURG), "SELECT envelope->'payload' AS payload FROM "
                                        "hub.outbox WHERE envelope->>'case_id' = %s AND event_type = %s ORDER BY id",
                                        (case_id, event_type))]


def test_a_witness_gets_a_care_track_of_their_own(care):
    hub, clock, worker = care
    case_id = _case(hub)
    store = hub.case_store(MIDDELBURG)
    [plan] = query(store, "SELECT plan_id FROM aftercare.care_plans WHERE case_id = %s", (case_id,))
    victim_moments = query(store, "SELECT kind, due_at, done_at FROM aftercare.contact_moments WHERE plan_id = %s "
                           "ORDER BY due_at", (plan["plan_id"],))

    no_consent = requests.post(_url(hub, f"/cases/{case_id}/witnesses"), headers=worker, timeout=10, json={
        "role": "witness", "name": WITNESS, "consent": False, "consent_at": clock.now().isoformat()})
    assert no_consent.status_code == 422 and no_consent.json()["invalid-params"][0]["name"] == "consent"
    staff = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'staff')}"}
    assert requests.post(_url(hub, f"/cases/{case_id}/witnesses"), headers=staff, timeout=10, json={
        "role": "witness", "consent": True, "consent_at": clock.now().isoformat()}).status_code == 403

    # three days later a colleague who saw it agrees to care of their own: their timeline counts from their consent
    clock.set(clock.now() + timedelta(days=3))
    consent_at = clock.now() - timedelta(minutes=1)
    added = requests.post(_url(hub, f"/cases/{case_id}/witnesses"), headers=worker, timeout=10, json={
        "role": "colleague", "name": WITNESS, "phone": WITNESS_PHONE, "consent": True,
        "consent_at": consent_at.isoformat()})
    assert added.status_code == 201, added.text
    track = added.json()
    assert track["role"] == "colleague" and track["person"] == {"name": WITNESS, "phone": WITNESS_PHONE}
    assert track["consent_version"] == "nazorg-getuige-2026-12" and track["status"] == "open"
    assert [(m["kind"], datetime.fromisoformat(m["due_at"])) for m in track["moments"]] == [
        (m.kind, m.due_at) for m in domain.witness_moments(consent_at)]
    assert track["moments"][0]["due_at"] != victim_moments[0]["due_at"].isoformat()
    # its first moment (within a day, or on the next working day when that day is not one) is told once, by the
    # reminder timer, whatever the victim's plan does: from remind_before_hours before it (three days from a
    # Tuesday after midnight is a Friday, whose next day moves to Monday: the clock goes to the reminder's time)
    first_due = datetime.fromisoformat(track["moments"][0]["due_at"])
    clock.set(max(clock.now(), first_due - timedelta(hours=domain.DEFAULT_OPTIONS["remind_before_hours"])))
    wait_for(lambda: _events(hub, case_id, "witness_contact_due"), what="the colleague's first contact reminder")
    clock.rounds("send_reminders", 3)  # three more whole reminder rounds on this time: still once
    assert [(e["role"], e["moment"]) for e in _events(hub, case_id, "witness_contact_due")] == [
        ("colleague", "first_contact")]

    # the victim's first contact leaves the colleague's track as it was, and the colleague's contact the victim's
    assert requests.post(_url(hub, f"/plans/{plan['plan_id']}/contacts"), headers=worker, timeout=10, json={
        "contacted_at": clock.now().isoformat(), "contacted_by": "nazorg.a", "method": "phone",
        "outcome": "reached"}).status_code == 201
    contact = requests.post(_url(hub, f"/witnesses/{track['track_id']}/contacts"), headers=worker, timeout=10,
                            json={"contacted_at": clock.now().isoformat(), "contacted_by": "nazorg.b", "method": "visit",
                                  "outcome": "reached", "notes": "Kanarie slaapt slecht"})
    assert contact.status_code == 201 and contact.json()["moment"] == "first_contact"
    tracks = requests.get(_url(hub, f"/cases/{case_id}/witnesses"), headers=worker, timeout=10).json()["tracks"]
    assert [(m["kind"], m["done_at"] is not None) for m in tracks[0]["moments"]] == [
        ("first_contact", True), ("follow_up_2_weeks", False), ("follow_up_6_8_weeks", False)]
    after = query(store, "SELECT kind, due_at, done_at FROM aftercare.contact_moments WHERE plan_id = %s "
                  "ORDER BY due_at", (plan["plan_id"],))
    assert [(m["kind"], m["due_at"]) for m in after] == [(m["kind"], m["due_at"]) for m in victim_moments]
    assert [m["kind"] for m in after if m["done_at"]] == ["first_contact"]  # the victim's own contact only

    # the victim declines further care: the colleague's track goes on; closing the track leaves the plan as it is
    assert requests.post(_url(hub, f"/plans/{plan['plan_id']}/decline"), headers=worker, json={},
                         timeout=10).status_code == 200
    assert query(store, "SELECT status FROM aftercare.witness_tracks WHERE track_id = %s",
                 (track["track_id"],))[0]["status"] == "open"
    assert requests.post(_url(hub, f"/witnesses/{track['track_id']}/contacts"), headers=worker, timeout=10, json={
        "contacted_at": clock.now().isoformat(), "contacted_by": "nazorg.b", "method": "phone",
        "outcome": "reached"}).json()["moment"] == "follow_up_2_weeks"
    closed = requests.post(_url(hub, f"/witnesses/{track['track_id']}/close"), headers=worker, timeout=10,
                           json={"reason": "completed"})
    assert closed.status_code == 200 and query(store, "SELECT status FROM aftercare.care_plans WHERE plan_id = %s",
                                               (plan["plan_id"],))[0]["status"] == "declined"

    # who the colleague is stays encrypted; the events carry codes only
    [row] = query(store, "SELECT personal FROM aftercare.witness_tracks WHERE track_id = %s", (track["track_id"],))
    assert WITNESS.encode() not in bytes(row["personal"])
    events = [e for t in ("witness_care_started", "witness_contact_recorded", "witness_care_closed")
              for e in _events(hub, case_id, t)]
    assert len(events) == 4 and not any("Kanarie" in str(e) or WITNESS_PHONE in str(e) for e in events)
    assert _events(hub, case_id, "witness_care_closed")[0]["contacts"] == 2
    stats = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'staff')}"}
    wait_for(lambda: requests.get(hub.url("statistics", "/api/v1/statistics/summary"), headers=stats,
                                  timeout=10).json()["witness_contacts"] >= 2, what="witness counts in statistics")


def test_referrals_to_help_are_handovers_with_a_status_a_follow_up_and_a_ledger_row(care):
    hub, clock, worker = care
    store = hub.case_store(MIDDELBURG)
    mayor = _case(hub, target_role="burgemeester")
    official = _case(hub)
    [referral] = wait_for(lambda: query(store, "SELECT created_at FROM police_liaison.referrals WHERE case_id = %s",
                                        (mayor,)), what="the police referral")

    def propose(case_id, **body):
        return requests.post(_url(hub, f"/cases/{case_id}/handovers"), headers=worker, timeout=10,
                             json={"consent": True, **body})

    refused = propose(mayor, partner="slachtofferhulp", consent=False)
    assert refused.status_code == 422 and refused.json()["invalid-params"][0]["name"] == "consent"
    not_political = propose(official, partner="weerbaar_bestuur")
    assert not_political.status_code == 422 and not_political.json()["invalid-params"][0]["name"] == "partner"

    shn = propose(mayor, partner="slachtofferhulp")
    assert shn.status_code == 201, shn.text
    shn = shn.json()
    assert shn["status"] == "voorgesteld" and shn["next_steps"] == ["overgedragen", "afgewezen"]
    assert shn["contact_point"]["name"] == "Slachtofferhulp Nederland"
    assert datetime.fromisoformat(shn["hand_over_by"]) == referral["created_at"] + timedelta(hours=48)
    weerbaar = propose(mayor, partner="weerbaar_bestuur").json()
    assert weerbaar["contact_point"]["name"] == "Ondersteuningsteam Weerbaar Bestuur"
    assert propose(official, partner="bedrijfsarts").status_code == 201

    # handed over: the fields the partner got are one ledger row, on the victim's consent; then finished
    step = f"/handovers/{shn['handover_id']}/steps"
    given = requests.post(_url(hub, step), headers=worker, timeout=10,
                          json={"status": "overgedragen", "shared_fields": ["name", "phone"]})
    assert given.status_code == 200 and given.json()["status"] == "overgedragen", given.text
    [row] = query(store, "SELECT * FROM hub.disclosures WHERE case_id = %s AND channel = 'partner_referral'", (mayor,))
    assert (row["recipient_kind"], row["recipient"], row["fields"], row["legal_basis"], row["status"]) == (
        "partner", "slachtofferhulp", ["person.name", "person.phone"], "consent", "delivered")
    assert row["consent_version"] == "nazorg-overdracht-2026-12"
    assert requests.post(_url(hub, step), headers=worker, timeout=10, json={"status": "afgerond"}).status_code == 200
    again = requests.post(_url(hub, step), headers=worker, timeout=10, json={"status": "overgedragen"})
    assert again.status_code == 409 and again.json()["invalid-params"][0]["name"] == "status"

    # the Weerbaar Bestuur proposal is not followed through: once its follow-up passes, one reminder
    listed = requests.get(_url(hub, f"/cases/{mayor}/handovers"), headers=worker, timeout=10).json()["handovers"]
    assert sorted((h["partner"], h["status"]) for h in listed) == [("slachtofferhulp", "afgerond"),
                                                                   ("weerbaar_bestuur", "voorgesteld")]
    clock.set(datetime.fromisoformat(weerbaar["follow_up_due"]) + timedelta(minutes=1))
    wait_for(lambda: _events(hub, mayor, "aftercare_handover_follow_up_due"), what="the follow-up")
    clock.rounds("send_reminders", 3)  # three more whole reminder rounds on this time: still one
    assert [e["partner"] for e in _events(hub, mayor, "aftercare_handover_follow_up_due")] == ["weerbaar_bestuur"]

    steps = [(e["partner"], e["previous_status"], e["status"], e["person"])
             for e in _events(hub, mayor, "aftercare_handover")]
    assert steps == [("slachtofferhulp", None, "voorgesteld", "victim"),
                     ("weerbaar_bestuur", None, "voorgesteld", "victim"),
                     ("slachtofferhulp", "voorgesteld", "overgedragen", "victim"),
                     ("slachtofferhulp", "overgedragen", "afgerond", "victim")]
    stats = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'staff')}"}
    wait_for(lambda: (s := requests.get(hub.url("statistics", "/api/v1/statistics/summary"), headers=stats,
                                        timeout=10).json())["handovers_proposed"] >= 3 and s["handovers_made"] >= 1
             and s["handover_follow_ups"] >= 1, what="handover counts in statistics")
