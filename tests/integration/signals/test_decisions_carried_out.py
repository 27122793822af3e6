"""Issue 19 through the real broker and case stores: a person's decision reaches every service it
concerns, exactly once. The matrix is a table: decision added / removed / urgency up / urgency down /
withdrawn / closed by staff, before and after the police accepted the referral. All rows run at once
on the package's hub (phase by phase: report, accept, decide), then each row is its own test.

The same matrix through the services' handlers in memory is tests/unit/test_decisions_carried_out.py."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
import requests
from kombu import Connection, Queue

from shared.messaging.topology import police_referrals_exchange

from tests.integration.signals.conftest import UNIT
from tests.support import incident_body, query, wait_for

MIDDELBURG = "GM0687"
EVERYTHING = ["police_referral", "aftercare", "inform_mayor", "inform_manager"]
# hoog: police referral, aftercare, inform the burgemeester and the manager
THREAT = dict(location_type="raadsvergadering", target_role="raadslid", categories=["intimidatie"],
              description="Een bezoeker intimideerde mij na de vergadering.",
              consent={"contact": True, "police_referral": True, "inform_manager": True, "employer_reports": False})
# laag, no police referral (only 'overig'), though the reporter consents to one
MINOR = dict(THREAT, categories=["overig"], target_role="ambtenaar", location_type="kantoor",
             description="Er werd een vervelende opmerking gemaakt over de afhandeling.", perpetrators=[])


class Row:
    def __init__(self, name, start, accepted, change, **expect):
        self.name, self.start, self.accepted, self.change, self.expect = name, start, accepted, change, expect


MATRIX = [
    Row("decision added", MINOR, False, ("override", "normaal", ["police_referral", "aftercare"]),
        referral="created", created_events=1),
    Row("decision removed, before acceptance", THREAT, False, ("override", "hoog", ["aftercare", "inform_mayor"]),
        referral="ingetrokken", reason="decision_removed", previous="created", plan="open"),
    Row("decision removed, after acceptance", THREAT, True, ("override", "hoog", ["aftercare", "inform_mayor"]),
        referral="ingetrokken", reason="decision_removed", previous="accepted", plan="open"),
    Row("urgency up, before acceptance", THREAT, False, ("override", "acuut", EVERYTHING),
        referral="created", urgency="acuut", deadline_minutes=60, plan="open"),
    Row("urgency up, after acceptance", THREAT, True, ("override", "acuut", EVERYTHING),
        referral="accepted", urgency="acuut", deadline_minutes=None, plan="open"),
    Row("urgency down, before acceptance", THREAT, False, ("override", "laag", EVERYTHING),
        referral="created", urgency="laag", plan="open"),
    Row("aftercare removed", THREAT, False, ("override", "hoog", ["police_referral"]),
        referral="created", plan="closed", plan_reason="decision_removed"),
    Row("withdrawn by the reporter, before acceptance", THREAT, False, ("withdraw",),
        referral="ingetrokken", reason="reporter_withdrew", previous="created", plan="closed",
        plan_reason="withdrawn", stopped=True),
    Row("withdrawn by the reporter, after acceptance", THREAT, True, ("withdraw",),
        referral="ingetrokken", reason="reporter_withdrew", previous="accepted", plan="closed",
        plan_reason="withdrawn", stopped=True),
    Row("withdrawn by staff", THREAT, True, ("staff", "withdraw"),
        referral="ingetrokken", reason="staff_withdrew", previous="accepted", plan="closed", plan_reason="withdrawn",
        stopped=True),
    Row("closed by staff", THREAT, False, ("staff", "close"),
        referral="ingetrokken", reason="case_closed", previous="created", plan="closed", plan_reason="case_closed",
        stopped=True),
]


@pytest.fixture(scope="module")
def decided(signals_hub, receiver):
    """Every row of the matrix carried out on the package's hub: {row name: what the stores and the police hold}."""
    unit_queue = Queue(f"test-{uuid.uuid4().hex[:8]}", exchange=police_referrals_exchange(),
                       routing_key=f"{UNIT}.#", durable=False, auto_delete=False)
    with Connection(signals_hub.settings.amqp_uri) as conn:
        unit_queue(conn.default_channel).declare()
    return carry_out(signals_hub, unit_queue, receiver)


def carry_out(hub, unit_queue, receiver) -> dict:
    store = hub.case_store(MIDDELBURG)
    staff, liaison = hub.key(MIDDELBURG, "staff"), hub.key(MIDDELBURG, "police_liaison")
    channel = hub.key(MIDDELBURG)
    cases = {}
    for row in MATRIX:  # phase 1: every row's report
        answer = hub.report(channel, incident_body(**row.start))
        assert answer.status_code == 201, answer.text
        cases[row.name] = answer.json()
    for row in MATRIX:  # phase 2: triage (and the referral) done; some accepted by the police
        case_id = cases[row.name]["case_id"]
        wait_for(lambda: query(store, "SELECT 1 FROM aftercare.care_plans WHERE case_id = %s", (case_id,)),
                 what=f"{row.name}: the care plan")
        if row.start is THREAT:
            (referral,) = wait_for(lambda: query(store, "SELECT * FROM police_liaison.referrals WHERE case_id = %s",
                                                 (case_id,)), what=f"{row.name}: the referral")
            cases[row.name]["referral"] = referral
        if row.accepted:
            step = call(hub, "police_liaison", "POST", f"/api/v1/referrals/{referral['referral_id']}/steps", liaison,
                        {"status": "accepted"})
            assert step.status_code == 200, step.text
    for row in MATRIX:  # phase 3: the person's decision
        case = cases[row.name]
        if row.change[0] == "override":
            _, urgency, decisions = row.change
            answer = call(hub, "triage", "POST", f"/api/v1/triage/{case['case_id']}/override", staff,
                          {"categories": ["intimidatie"], "urgency": urgency, "decisions": decisions,
                           "reason": "besproken in het overleg"})
        elif row.change[0] == "withdraw":
            answer = withdraw_on_follow_up_page(hub, case)
        else:
            answer = call(hub, "intake", "POST", f"/api/v1/incidents/{case['case_id']}/{row.change[1]}", staff,
                          {"reason": "handled" if row.change[1] == "close" else "other"})
        assert answer.status_code == 200, (row.name, answer.status_code, answer.text[:300])
    outcomes = {}
    for row in MATRIX:  # phase 4: wait for what proves each row, then read everything
        case_id = cases[row.name]["case_id"]
        wait_for(lambda: settled(store, row, case_id), what=f"{row.name}: carried out")
        outcomes[row.name] = read_outcome(hub, store, case_id, cases[row.name], liaison)
    unit_messages = drain(hub, unit_queue)

    def webhook_events():
        return [request.json() for request in receiver.requests]
    wait_for(lambda: all(not o["withdrawn_events"] or any(
        e["event_type"] == "referral_withdrawn" and e["case_id"] == o["case_id"] for e in webhook_events())
        for o in outcomes.values()), what="the webhook deliveries")
    for outcome in outcomes.values():
        outcome["unit_queue"] = [m["event_type"] for m in unit_messages if m["case_id"] == outcome["case_id"]]
        outcome["webhook"] = [e["event_type"] for e in webhook_events() if e["case_id"] == outcome["case_id"]]
    return outcomes


def settled(store, row, case_id) -> bool:
    referral = query(store, "SELECT status, urgency FROM police_liaison.referrals WHERE case_id = %s", (case_id,))
    plan = query(store, "SELECT status FROM aftercare.care_plans WHERE case_id = %s", (case_id,))
    if not referral or referral[0]["status"] != row.expect["referral"]:
        return False
    if "urgency" in row.expect and referral[0]["urgency"] != row.expect["urgency"]:
        return False
    if plan[0]["status"] != row.expect.get("plan", "open"):
        return False
    if row.expect.get("stopped"):
        signals = query(store, "SELECT state FROM signals.signals WHERE case_id = %s", (case_id,))
        return bool(signals) and {s["state"] for s in signals} == {"handled"}
    return True


def read_outcome(hub, store, case_id, case, liaison) -> dict:
    def events(event_type):
        return [r["p"] for r in query(store, "SELECT envelope->'payload' AS p FROM hub.outbox WHERE event_type = %s "
                                             "AND envelope->>'case_id' = %s ORDER BY id", (event_type, case_id))]
    (referral,) = query(store, "SELECT * FROM police_liaison.referrals WHERE case_id = %s", (case_id,))
    (plan,) = query(store, "SELECT * FROM aftercare.care_plans WHERE case_id = %s", (case_id,))
    details = call(hub, "police_liaison", "GET", f"/api/v1/referrals/{referral['referral_id']}/details", liaison)
    return {
        "case_id": case_id, "referral": referral, "plan": plan, "details": details,
        "created_events": events("referral_created"), "withdrawn_events": events("referral_withdrawn"),
        "urgency_events": [p for p in events("referral_updated") if "urgency" in p],
        "closed_events": events("aftercare_closed"), "planned_events": events("aftercare_planned"),
        "signals": query(store, "SELECT kind, state, outcome FROM signals.signals WHERE case_id = %s", (case_id,)),
        "triage_stopped": bool(query(store, "SELECT 1 FROM triage.stopped_cases WHERE case_id = %s", (case_id,))),
    }


@pytest.mark.parametrize("row", MATRIX, ids=[row.name for row in MATRIX])
def test_the_decision_reaches_every_service_once(decided, row):
    outcome = decided[row.name]
    referral, expect = outcome["referral"], row.expect
    assert referral["status"] == expect["referral"]
    assert len(outcome["created_events"]) == 1  # made once, never twice
    if expect.get("reason"):
        (withdrawn,) = outcome["withdrawn_events"]  # once, and the police told on queue and webhook
        assert (withdrawn["reason"], withdrawn["previous_status"]) == (expect["reason"], expect["previous"])
        assert referral["withdrawal_reason"] == expect["reason"]
        assert outcome["unit_queue"].count("referral_withdrawn") == 1
        assert "referral_withdrawn" in outcome["webhook"]
        assert outcome["details"].status_code == 410  # the liaison's details are gone, in plain words
        assert re.search(r"ingetrokken|afgesloten", outcome["details"].json()["detail"])
    else:
        assert outcome["withdrawn_events"] == [] and outcome["details"].status_code == 200
    if "urgency" in expect:
        (changed,) = outcome["urgency_events"]
        assert (changed["previous_urgency"], changed["urgency"]) == ("hoog", expect["urgency"])
        if expect.get("deadline_minutes"):
            assert referral["accept_deadline"] == referral["created_at"] + timedelta(minutes=expect["deadline_minutes"])
            assert changed["accept_deadline"] is not None
        elif row.accepted:
            assert changed["accept_deadline"] is None
        assert outcome["plan"]["urgency"] == expect["urgency"]
        assert [p["urgency"] for p in outcome["planned_events"]][-1] == expect["urgency"]
    else:
        assert outcome["urgency_events"] == []
    assert outcome["plan"]["status"] == expect.get("plan", "open")
    if expect.get("plan_reason"):
        (closed,) = outcome["closed_events"]
        assert closed["reason"] == expect["plan_reason"] == outcome["plan"]["close_reason"]
    if expect.get("stopped"):
        assert outcome["triage_stopped"]
        outcome_code = "case_closed" if expect["reason"] == "case_closed" else "case_withdrawn"
        assert outcome["signals"] and {(s["state"], s["outcome"]) for s in outcome["signals"]} == {
            ("handled", outcome_code)}


# ------------------------------------------------------------------ helpers

def call(hub, service, method, path, key, body=None):
    return requests.request(method, hub.url(service, path), json=body, timeout=15,
                            headers={"Authorization": f"Bearer {key}"})


def withdraw_on_follow_up_page(hub, case):
    """The reporter withdraws with the receipt the API answer returned to their channel."""
    session = requests.Session()
    page = session.get(hub.url("intake", f"/meld/{MIDDELBURG}/volg"), timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return session.post(hub.url("intake", f"/meld/{MIDDELBURG}/volg"), timeout=15, data={
        "csrf_token": token, "receipt_code": case["receipt_code"], "secret": case["secret"], "action": "withdraw",
        "confirm": "on"})


def drain(hub, queue) -> list[dict]:
    found = []
    with Connection(hub.settings.amqp_uri) as conn:
        bound = queue(conn.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            found.append(json.loads(message.body))
    return found
