"""Aftercare over the real broker and case stores: a whole plan on a FixedClock, reminders sent
once by two instances, re-planning, declining, encryption at rest and who may read health data."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import psycopg2
import pytest
import requests

from shared.clock import FixedClock
from shared.crypto import CryptoError, Keyring
from shared.db.case_keys import CaseKeyStore
from shared.db.unit_of_work import UnitOfWork
from shared.events import dump_event, new_event
from hub.registry import service_class
from shared.config import REPO_ROOT
from tests.support import WatchedClock, create_key, free_port, publish_raw, query, wait_for

MONDAY = datetime(2026, 3, 2, 8, 30, tzinfo=timezone.utc)  # 09:30 in Middelburg
REMINDERS = ("aftercare_contact_due", "aftercare_overdue")
CANARY = "KANARIE-slaapt-slecht-sinds-de-dreiging-7731"
TSQ_SEVEN_YES = [True] * 7 + [False] * 3


def fast(settings, **options):
    """These settings with the reminder timer ticking quickly (and other aftercare options)."""
    region = settings.region
    aftercare = {**region.options["aftercare"], "reminder_interval_seconds": 0.1, **options}
    return dataclasses.replace(settings, region=dataclasses.replace(
        region, options={**region.options, "aftercare": aftercare}))


def triaged(settings, code, case_id, urgency="hoog", decisions=("aftercare",), occurred_at=None):
    event = new_event("incident_triaged", code, case_id, {
        "categories": ["bedreiging"], "urgency": urgency, "decisions": list(decisions),
        "rules_version": "test-1", "occurred_at": occurred_at or MONDAY - timedelta(days=1),
        "location_type": "balie", "target_role": "ambtenaar"})
    publish_raw(settings.amqp_uri, "triage.events", "incident_triaged", dump_event(event))
    return event


def outbox(dsn, case_id, *event_types):
    return query(dsn, "SELECT event_type, envelope->'payload' AS payload FROM hub.outbox "
                      "WHERE envelope->>'case_id' = %s AND event_type = ANY(%s) ORDER BY id",
                 (str(case_id), list(event_types)))


def reminders(dsn, case_id):
    """(event type, moment) of every reminder recorded for the case, in order."""
    return [(r["event_type"], r["payload"]["moment"]) for r in outbox(dsn, case_id, *REMINDERS)]


def plan_of(dsn, case_id):
    rows = query(dsn, "SELECT * FROM aftercare.care_plans WHERE case_id = %s", (case_id,))
    return rows[0] if rows else None


class Api:
    def __init__(self, settings, key):
        self.base = f"http://127.0.0.1:{settings.ports['aftercare']}/api/v1/aftercare"
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path, **params):
        return requests.get(self.base + path, params=params, headers=self.headers, timeout=10)

    def post(self, path, body):
        return requests.post(self.base + path, json=body, headers=self.headers, timeout=10)


# ----------------------------------------------------------------- whole plan

def test_a_whole_plan_walked_through_on_a_fixed_clock(settings, start_services):
    settings = fast(settings)
    clock = WatchedClock(MONDAY)
    start_services("aftercare", settings=settings, clock=clock)
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    api = Api(settings, create_key(settings, code, "aftercare_worker", "nazorg-team"))
    case_id = uuid.uuid4()

    triaged(settings, code, case_id, urgency="hoog")
    plan = wait_for(lambda: plan_of(dsn, case_id), what="care plan")
    plan_id = str(plan["plan_id"])
    planned = outbox(dsn, case_id, "aftercare_planned")
    assert len(planned) == 1 and planned[0]["payload"]["urgency"] == "hoog"
    assert planned[0]["payload"]["first_contact_due"] == (MONDAY + timedelta(hours=24)).isoformat()

    # first contact is due within 24 hours, so it shows as due at once (remind_before_hours: 24)
    wait_for(lambda: reminders(dsn, case_id) == [("aftercare_contact_due", "first_contact")], what="due")
    assert [i["moment"] for i in api.get("/worklist", view="open").json()["items"]
            if i["case_id"] == str(case_id)] == ["first_contact", "follow_up_2_weeks", "follow_up_6_8_weeks"]

    # nobody called in time: overdue, once
    clock.advance(hours=24, minutes=1)
    wait_for(lambda: ("aftercare_overdue", "first_contact") in reminders(dsn, case_id), what="overdue")
    clock.rounds("send_reminders")  # a whole reminder round on the new time
    assert reminders(dsn, case_id) == [("aftercare_contact_due", "first_contact"),
                                       ("aftercare_overdue", "first_contact")]
    assert api.post(f"/plans/{plan_id}/assign", {"worker": "m.devries"}).status_code == 200
    overdue = api.get("/worklist", view="overdue", worker="m.devries").json()["items"]
    assert [(i["case_id"], i["moment"]) for i in overdue] == [(str(case_id), "first_contact")]
    assert api.get("/worklist", view="overdue", worker="iemand.anders").json()["items"] == []

    response = api.post(f"/plans/{plan_id}/contacts", {
        "contacted_at": clock.now().isoformat(), "contacted_by": "m.devries", "method": "phone",
        "outcome": "reached", "notes": "Eerste gesprek, wil graag een vervolg."})
    assert response.status_code == 201, response.text
    assert response.json()["moment"] == "first_contact"
    assert api.get("/worklist", view="overdue", worker="m.devries").json()["items"] == []

    # the two-week follow-up: due a day ahead, shown as due today on its day
    clock.set(MONDAY + timedelta(days=13, hours=1))
    wait_for(lambda: ("aftercare_contact_due", "follow_up_2_weeks") in reminders(dsn, case_id), what="2 weeks due")
    clock.set(MONDAY + timedelta(days=14, hours=-1))
    today = api.get("/worklist", view="due_today").json()["items"]
    assert (str(case_id), "follow_up_2_weeks") in [(i["case_id"], i["moment"]) for i in today]
    assert api.post(f"/plans/{plan_id}/contacts", {
        "contacted_at": clock.now().isoformat(), "contacted_by": "m.devries", "method": "visit",
        "outcome": "reached"}).status_code == 201

    # six weeks (hoog: day 42): the TSQ says 7 of 10, past four weeks after the incident: huisarts or bedrijfsarts
    clock.set(MONDAY + timedelta(days=41, hours=12))
    wait_for(lambda: ("aftercare_contact_due", "follow_up_6_8_weeks") in reminders(dsn, case_id), what="due")
    response = api.post(f"/plans/{plan_id}/contacts", {
        "contacted_at": clock.now().isoformat(), "contacted_by": "m.devries", "method": "video",
        "outcome": "reached", "tsq_answers": TSQ_SEVEN_YES, "notes": CANARY})
    assert response.status_code == 201, response.text
    assert response.json()["wellbeing"] == {"score": 7, "advise_referral": True, "too_early": False, "threshold": 6,
                                            "refer_to": ["huisarts", "bedrijfsarts"]}

    response = api.post(f"/plans/{plan_id}/referrals", {
        "kind": "slachtofferhulp", "referred_at": clock.now().isoformat(), "referred_by": "m.devries"})
    assert response.status_code == 201, response.text
    referral_id = response.json()["referral_id"]
    clock.advance(days=2)
    assert api.post(f"/referrals/{referral_id}/result", {
        "result": "accepted", "result_at": clock.now().isoformat()}).status_code == 200

    whole = api.get(f"/plans/{plan_id}").json()
    assert [c["method"] for c in whole["contacts"]] == ["phone", "visit", "video"]
    assert whole["contacts"][2]["wellbeing"]["tsq"]["score"] == 7
    assert whole["contacts"][2]["wellbeing"]["notes"] == CANARY
    assert whole["referrals"][0]["kind"] == "slachtofferhulp"
    assert whole["referrals"][0]["result"]["result"] == "accepted"
    assert all(m["done_at"] for m in whole["moments"])
    audit = query(dsn, "SELECT actor, action, subject FROM hub.audit_log WHERE case_id = %s AND action = 'read'",
                  (case_id,))
    assert len(audit) == 1 and "nazorg-team" in audit[0]["actor"] and "health" in audit[0]["subject"]

    response = api.post(f"/plans/{plan_id}/close", {"reason": "completed"})
    assert response.status_code == 200, response.text
    closed = outbox(dsn, case_id, "aftercare_closed")
    assert [c["payload"] for c in closed] == [{"plan_id": plan_id, "reason": "completed", "contacts": 3,
                                               "referrals": 1, "days_open": 43}]
    assert api.post(f"/plans/{plan_id}/close", {"reason": "completed"}).status_code == 409

    # every contact moment was reminded exactly once, and nothing follows a closed plan
    clock.advance(days=100)
    clock.rounds("send_reminders")  # a whole reminder round on the new time
    assert sorted(reminders(dsn, case_id)) == sorted([
        ("aftercare_contact_due", "first_contact"), ("aftercare_overdue", "first_contact"),
        ("aftercare_contact_due", "follow_up_2_weeks"), ("aftercare_contact_due", "follow_up_6_8_weeks")])

    recorded = [r["payload"] for r in outbox(dsn, case_id, "aftercare_contact_recorded", "aftercare_referred")]
    assert len(recorded) == 4 and CANARY not in str(recorded) and "slachtofferhulp" not in str(recorded)


def test_contact_fields_are_checked(settings, start_services):
    settings = fast(settings)
    start_services("aftercare", settings=settings, clock=FixedClock(MONDAY))
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    api = Api(settings, create_key(settings, code, "coordinator"))
    case_id = uuid.uuid4()
    triaged(settings, code, case_id)
    plan_id = str(wait_for(lambda: plan_of(dsn, case_id), what="plan")["plan_id"])

    response = api.post(f"/plans/{plan_id}/contacts", {
        "contacted_at": "2026-03-02T10:00:00", "contacted_by": "Marieke de Vries", "method": "fax",
        "outcome": "reached", "tsq_answers": ["ja"] * 10})
    assert response.status_code == 422
    names = {p["name"] for p in response.json()["invalid-params"]}
    assert {"contacted_at", "contacted_by", "method"} <= names and any(n.startswith("tsq_answers") for n in names)
    valid = {"contacted_at": MONDAY.isoformat(), "contacted_by": "m.devries", "method": "phone",
             "outcome": "reached"}
    assert api.post(f"/plans/{uuid.uuid4()}/contacts", valid).status_code == 404
    assert api.post("/plans/not-a-plan/contacts", valid).status_code == 404
    assert api.post(f"/plans/{plan_id}/close", {"reason": "declined"}).status_code == 422
    tomorrow = {**valid, "contacted_at": (MONDAY + timedelta(days=1)).isoformat()}
    response = api.post(f"/plans/{plan_id}/contacts", tomorrow)
    assert response.status_code == 422 and response.json()["invalid-params"][0]["name"] == "contacted_at"


# ------------------------------------------------------ two instances at once

def test_two_aftercare_instances_send_each_reminder_once(settings, start_services, container_factory):
    settings = fast(settings, reminder_interval_seconds=0.05)
    clocks = (WatchedClock(MONDAY), WatchedClock(MONDAY))  # one each: each instance's rounds are watched
    start_services("aftercare", settings=settings, clock=clocks[0])
    second = settings.nameko_config("aftercare")
    second.update(WEB_SERVER_ADDRESS=f"127.0.0.1:{free_port()}", MELDPUNT_OPERATOR_ADDRESS=f"127.0.0.1:{free_port()}",
                  MELDPUNT_CLOCK=clocks[1])
    container_factory(service_class("aftercare"), second).start()

    codes = settings.region.codes[:2]
    cases = {(code, uuid.uuid4()) for code in codes for _ in range(15)}
    # planned while the timers may not see anything due yet (first contact tomorrow, shown a day ahead)
    for clock in clocks:
        clock.set(MONDAY - timedelta(days=400))
    for code, case_id in cases:
        triaged(settings, code, case_id, urgency="normaal")
    for code, case_id in cases:
        wait_for(lambda: plan_of(settings.region.municipality(code).case_store_dsn, case_id), what="plans")
    # "downtime": the clock jumps far past every deadline, both instances catch up at once
    for clock in clocks:
        clock.set(MONDAY)
    expected = {(t, m) for t in REMINDERS for m in ("first_contact", "follow_up_2_weeks", "follow_up_6_8_weeks")}

    def all_sent():
        return all(len(reminders(settings.region.municipality(c).case_store_dsn, case_id)) >= 6
                   for c, case_id in cases)

    wait_for(all_sent, what="every reminder")
    for clock in clocks:  # a whole round of each instance after that sends nothing twice
        clock.rounds("send_reminders")
    for code, case_id in cases:
        sent = reminders(settings.region.municipality(code).case_store_dsn, case_id)
        assert len(sent) == 6 and set(sent) == expected, (code, case_id, sent)


# ---------------------------------------------------------------- re-planning

def test_a_plan_is_replanned_when_triage_changes_the_urgency(settings, start_services):
    settings = fast(settings)
    clock = FixedClock(MONDAY)
    start_services("aftercare", settings=settings, clock=clock)
    code = settings.region.codes[1]
    dsn = settings.region.municipality(code).case_store_dsn
    case_id = uuid.uuid4()

    triaged(settings, code, case_id, urgency="laag")
    plan = wait_for(lambda: plan_of(dsn, case_id), what="plan")
    clock.advance(hours=2)
    triaged(settings, code, case_id, urgency="acuut")  # re-triage: now acute
    wait_for(lambda: plan_of(dsn, case_id)["urgency"] == "acuut", what="re-planned")

    due = {r["kind"]: r["due_at"] for r in query(
        dsn, "SELECT kind, due_at FROM aftercare.contact_moments WHERE plan_id = %s", (plan["plan_id"],))}
    assert due == {"first_contact": MONDAY.replace(hour=16, minute=0),  # 17:00 Amsterdam, same working day
                   "follow_up_2_weeks": MONDAY + timedelta(days=14), "follow_up_6_8_weeks": MONDAY + timedelta(days=42)}
    planned = [r["payload"] for r in outbox(dsn, case_id, "aftercare_planned")]
    assert [(p["urgency"], p["plan_id"]) for p in planned] == [("laag", str(plan["plan_id"])),
                                                               ("acuut", str(plan["plan_id"]))]
    assert len(query(dsn, "SELECT 1 FROM aftercare.care_plans WHERE case_id = %s", (case_id,))) == 1


# ------------------------------------------------------------------ declining

def test_declined_aftercare_sends_nothing(settings, start_services):
    settings = fast(settings, remind_before_hours=0)
    clock = WatchedClock(MONDAY)
    start_services("aftercare", settings=settings, clock=clock)
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    api = Api(settings, create_key(settings, code, "aftercare_worker"))
    declined, control = uuid.uuid4(), uuid.uuid4()
    triaged(settings, code, declined)
    triaged(settings, code, control)
    plan = wait_for(lambda: plan_of(dsn, declined), what="plan")
    wait_for(lambda: plan_of(dsn, control), what="control plan")

    response = api.post(f"/plans/{plan['plan_id']}/decline", {})
    assert response.status_code == 200, response.text
    assert plan_of(dsn, declined)["status"] == "declined" and plan_of(dsn, declined)["declined_at"]

    clock.advance(days=60)
    # the control plan proves the timer ran past every deadline
    wait_for(lambda: len(reminders(dsn, control)) == 6, what="control reminders")
    clock.rounds("send_reminders")  # a whole reminder round on the new time
    assert reminders(dsn, declined) == []
    closed = outbox(dsn, declined, "aftercare_closed")
    assert [c["payload"]["reason"] for c in closed] == ["declined"]
    assert all(i["case_id"] != str(declined) for i in api.get("/worklist", view="overdue").json()["items"])
    assert api.post(f"/plans/{plan['plan_id']}/contacts", {
        "contacted_at": clock.now().isoformat(), "contacted_by": "m.devries", "method": "phone",
        "outcome": "reached"}).status_code == 409


def test_no_plan_without_an_aftercare_decision(settings, start_services):
    settings = fast(settings)
    start_services("aftercare", settings=settings, clock=FixedClock(MONDAY))
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    without = uuid.uuid4()
    event = triaged(settings, code, without, decisions=("police_referral",))
    wait_for(lambda: query(dsn, "SELECT 1 FROM hub.inbox WHERE consumer = 'aftercare.on_incident_triaged' "
                                "AND event_id = %s", (event.event_id,)), what="event handled")
    assert plan_of(dsn, without) is None and outbox(dsn, without, "aftercare_planned", *REMINDERS) == []


# -------------------------------------------------------- encryption at rest

def test_health_data_is_unreadable_in_the_database_without_the_key(settings, start_services):
    settings = fast(settings)
    clock = FixedClock(MONDAY + timedelta(days=30))
    start_services("aftercare", settings=settings, clock=clock)
    code = settings.region.codes[2]
    dsn = settings.region.municipality(code).case_store_dsn
    api = Api(settings, create_key(settings, code, "aftercare_worker"))
    case_id = uuid.uuid4()
    triaged(settings, code, case_id, occurred_at=MONDAY)
    plan_id = str(wait_for(lambda: plan_of(dsn, case_id), what="plan")["plan_id"])

    assert api.post(f"/plans/{plan_id}/contacts", {
        "contacted_at": clock.now().isoformat(), "contacted_by": "m.devries", "method": "phone",
        "outcome": "reached", "tsq_answers": TSQ_SEVEN_YES, "notes": CANARY}).status_code == 201
    referral_id = api.post(f"/plans/{plan_id}/referrals", {
        "kind": "bedrijfsarts", "referred_at": clock.now().isoformat(), "referred_by": "m.devries",
        "notes": CANARY}).json()["referral_id"]

    contact = query(dsn, "SELECT contact_id, health FROM aftercare.contacts WHERE plan_id = %s", (plan_id,))[0]
    referral = query(dsn, "SELECT details FROM aftercare.referrals WHERE referral_id = %s", (referral_id,))[0]
    raw = bytes(contact["health"])
    assert raw[:3] == b"MH\x02"  # sealed under the case's own key (crypto-shredding)
    assert CANARY.encode() not in raw and b"tsq" not in raw
    assert CANARY.encode() not in bytes(referral["details"]) and b"bedrijfsarts" not in bytes(referral["details"])
    # nowhere in the case store as text either: not in any table the aftercare schema has, nor the outbox
    for table in ("aftercare.contacts", "aftercare.referrals", "aftercare.care_plans", "hub.outbox",
                  "hub.audit_log"):
        dump = query(dsn, f"SELECT coalesce(string_agg(t::text, ' '), '') AS d FROM {table} t")[0]["d"]
        assert CANARY not in dump and "bedrijfsarts" not in dump, table
    wrapped = query(dsn, "SELECT version, wrapped_key FROM hub.data_keys")
    assert [w["version"] for w in wrapped] == [1] and len(bytes(wrapped[0]["wrapped_key"])) == 12 + 32 + 16

    table, column = "aftercare.contacts", "health"
    key_store = CaseKeyStore(settings.region.key_store_dsn)  # the case keys, wrapped under the data key
    conn = psycopg2.connect(dsn)
    try:
        with conn:
            uow = UnitOfWork(conn, "test", code)
            assert CANARY.encode() in Keyring(settings.master_key, case_keys=key_store).decrypt(
                uow, table, column, contact["contact_id"], raw)
            with pytest.raises(CryptoError):
                Keyring(os.urandom(32), case_keys=key_store).decrypt(uow, table, column, contact["contact_id"], raw)
    finally:
        conn.close()


def test_aftercare_will_not_start_without_a_master_key(hub_env):
    env = {k: v for k, v in {**os.environ, **hub_env}.items()
           if k not in ("MELDPUNT_MASTER_KEY", "MELDPUNT_MASTER_KEY_FILE")}
    result = subprocess.run([sys.executable, "-m", "hub.runner", "aftercare"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "MELDPUNT_MASTER_KEY" in lines[0], result.stderr


# ------------------------------------------------------------ who may read it

@pytest.mark.parametrize("role", ["intake_channel", "staff", "police_liaison", "analyst", "operator",
                                  "reporter"])
def test_roles_without_aftercare_rights_get_403_on_health_data(settings, start_services, role):
    settings = fast(settings)
    start_services("aftercare", settings=settings, clock=FixedClock(MONDAY))
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    case_id = uuid.uuid4()
    triaged(settings, code, case_id)
    plan_id = str(wait_for(lambda: plan_of(dsn, case_id), what="plan")["plan_id"])
    api = Api(settings, create_key(settings, code, role))
    contact = {"contacted_at": MONDAY.isoformat(), "contacted_by": "x.y", "method": "phone", "outcome": "reached"}

    assert api.get(f"/plans/{plan_id}").status_code == 403
    assert api.get("/worklist").status_code == 403
    assert api.post(f"/plans/{plan_id}/contacts", contact).status_code == 403
    assert api.post(f"/plans/{plan_id}/decline", {}).status_code == 403
    assert query(dsn, "SELECT 1 FROM aftercare.contacts WHERE plan_id = %s", (plan_id,)) == []
    assert query(dsn, "SELECT 1 FROM hub.audit_log WHERE case_id = %s AND action = 'read'", (case_id,)) == []

    for allowed in ("aftercare_worker", "coordinator"):
        assert Api(settings, create_key(settings, code, allowed)).get(f"/plans/{plan_id}").status_code == 200
    other = settings.region.codes[1]
    assert Api(settings, create_key(settings, other, "aftercare_worker")).get(
        f"/plans/{plan_id}").status_code == 404  # another municipality's worker does not see it


def test_a_poisoned_triage_result_in_a_batch_is_parked_alone_and_the_rest_planned_once(settings, start_services):
    """Aftercare plans triage results waiting together (PLAN_WINDOW, 223b0f9) in one transaction per municipality.
    One result that cannot be stored, in the municipality planned last (code order), fails the batch after the
    first municipality's transaction committed: each event is then handled on its own, so the committed ones
    change nothing again (the inbox), the rest are planned, and the poisoned one alone is retried and parked;
    after the repair a replay plans it, each plan and each aftercare_planned once, two events delivered twice
    included (review of issue 25)."""
    from prometheus_client import REGISTRY

    from shared.messaging.dlq import DeadLetters

    batches = lambda: REGISTRY.get_sample_value("meldpunt_event_batch_size_count",  # noqa: E731
                                                {"service": "aftercare", "event_type": "incident_triaged"}) or 0.0
    batches_before = batches()
    first, last = sorted(settings.region.codes)[:2]
    dsns = {code: settings.region.municipality(code).case_store_dsn for code in (first, last)}
    cases = {code: [uuid.uuid4() for _ in range(6)] for code in (first, last)}
    poisoned = cases[last][3]
    query(dsns[last], "ALTER TABLE aftercare.care_plans ADD CONSTRAINT test_poison CHECK (case_id <> %s)",
          (poisoned,))
    try:
        events = [triaged(settings, code, case_id) for code in (last, first) for case_id in cases[code]]
        for again in (events[0], events[8]):  # a redelivery of an event in the same batch: one effect
            publish_raw(settings.amqp_uri, "triage.events", "incident_triaged", dump_event(again))
        start_services("aftercare", settings=fast(settings), clock=FixedClock(MONDAY))
        dead = DeadLetters(settings.amqp_uri)
        letters = wait_for(lambda: dead.list("aftercare"), what="the poisoned result parked", timeout=60)
        assert [letter.case_id for letter in letters] == [str(poisoned)]
        assert letters[0].attempts == 3  # the first try and MELDPUNT_RETRY_DELAYS' two retries
        for code in (first, last):
            wait_for(lambda: all(plan_of(dsns[code], c) for c in cases[code] if c != poisoned),
                     what=f"the rest of {code} planned")
        assert plan_of(dsns[last], poisoned) is None
        assert batches() - batches_before < 12  # taken together, not one worker per event
    finally:
        query(dsns[last], "ALTER TABLE aftercare.care_plans DROP CONSTRAINT test_poison")
    dead.replay("aftercare", letters[0].message_id)
    wait_for(lambda: plan_of(dsns[last], poisoned), what="the replayed result planned")
    for code in (first, last):
        for case_id in cases[code]:
            assert len(outbox(dsns[code], case_id, "aftercare_planned")) == 1, (code, case_id)
        inbox = query(dsns[code], "SELECT count(*) AS n FROM hub.inbox WHERE consumer = 'aftercare.on_incident_triaged' "
                                  "AND event_id = ANY(%s::uuid[])",
                      ([str(e.event_id) for e in events if e.municipality == code],))
        assert inbox[0]["n"] == 6


def test_a_withdrawal_or_override_that_overtakes_a_waiting_triage_result_still_wins(settings, start_services):
    """A triage result waits up to PLAN_WINDOW for others (223b0f9); a withdrawal and an override, made after it,
    are handled at once and overtake it when all wait in the queues together. The withdrawn case gets no plan, the
    overridden one the override's urgency, not the older result's (review of issue 25)."""
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    withdrawn, overridden = uuid.uuid4(), uuid.uuid4()
    results = [triaged(settings, code, case_id, urgency="normaal") for case_id in (withdrawn, overridden)]
    later = datetime.now(timezone.utc) + timedelta(seconds=1)  # made after the results (their envelopes' time)
    publish_raw(settings.amqp_uri, "intake.events", "incident_withdrawn", dump_event(new_event(
        "incident_withdrawn", code, withdrawn, {"channel": "formulier", "withdrawn_by": "reporter"},
        occurred_at=later)))
    override = new_event("triage_overridden", code, overridden, {
        "categories": ["bedreiging"], "urgency": "hoog", "decisions": ["aftercare"], "previous_urgency": "normaal",
        "previous_decisions": ["aftercare"], "rules_version": "test-1"}, occurred_at=later)
    publish_raw(settings.amqp_uri, "triage.events", "triage_overridden", dump_event(override))
    start_services("aftercare", settings=fast(settings), clock=FixedClock(MONDAY))
    wait_for(lambda: query(dsn, "SELECT count(*) AS n FROM hub.inbox WHERE consumer = 'aftercare.on_incident_triaged' "
                                "AND event_id = ANY(%s::uuid[])", ([str(e.event_id) for e in results],))[0]["n"] == 2,
             what="the waiting results handled")
    assert plan_of(dsn, overridden)["urgency"] == "hoog"
    plan = plan_of(dsn, withdrawn)
    assert plan is None or plan["status"] != "open", plan
