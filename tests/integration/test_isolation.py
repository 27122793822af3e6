"""Municipality A's keys on municipality B's ids, at every endpoint that takes an id: 404, never content.

Municipality B runs a whole case (incident, triage, police referral, care plan, an aftercare
referral) with canaries in every personal field; then a key of A with the right role calls
every guarded endpoint of every service with B's real ids. Both municipalities share a
police unit, so the unit alone cannot be what keeps them apart.
"""
import uuid

import pytest
import requests

from shared import auth
from tests.integration.test_access_control import ENTRYPOINTS, PUBLIC, permission_of
from tests.support import canaries_in, canary_body, query, wait_for


@pytest.fixture
def hub(hub, start_services):
    """The five services of `hub`, signals and zaaksysteem: every service's endpoints (or consumers) are looked at here."""
    start_services("signals", "zaaksysteem")
    return hub


# A valid body for each write, so that an answer of 404 is about the id, not the body.
NOW = "2026-11-21T10:00:00+01:00"
BODIES = {
    ("POST", "/api/v1/triage/<case_id>/confirm"): {"reason": "gezien"},
    ("POST", "/api/v1/triage/<case_id>/override"): {"categories": ["bedreiging"], "urgency": "hoog",
                                                    "decisions": ["aftercare"], "reason": "andere inschatting"},
    ("POST", "/api/v1/referrals/<referral_id>/steps"): {"status": "accepted"},
    ("PATCH", "/api/v1/referrals/<referral_id>/ela"): {"vpt_registered": True},
    ("PUT", "/api/v1/referrals/<referral_id>/aangifte"): {"by": "victim"},
    ("POST", "/api/v1/aftercare/plans/<plan_id>/contacts"): {"contacted_at": NOW, "contacted_by": "worker.a",
                                                             "method": "phone", "outcome": "reached"},
    ("POST", "/api/v1/aftercare/plans/<plan_id>/referrals"): {"kind": "huisarts", "referred_at": NOW,
                                                              "referred_by": "worker.a"},
    ("POST", "/api/v1/aftercare/referrals/<referral_id>/result"): {"result": "accepted", "result_at": NOW},
    ("POST", "/api/v1/aftercare/plans/<plan_id>/assign"): {"worker": "worker.a"},
    ("POST", "/api/v1/aftercare/plans/<plan_id>/close"): {"reason": "completed"},
    ("POST", "/api/v1/aftercare/plans/<plan_id>/decline"): {},
    ("POST", "/api/v1/incidents/<case_id>/notes"): {"text": "gebeld"},
    ("POST", "/api/v1/incidents/<case_id>/assign"): {"assignee": "GM0687/cora", "assignee_name": "Cora"},
    ("POST", "/api/v1/incidents/<case_id>/close"): {"reason": "handled"},
    ("POST", "/api/v1/incidents/<case_id>/withdraw"): {"reason": "other"},
    ("POST", "/api/v1/incidents/<case_id>/conflict"): {"kind": "manager"},
    ("POST", "/api/v1/signals/<signal_id>/take"): {},
    ("POST", "/api/v1/signals/<signal_id>/handle"): {"outcome": "done"},
    ("POST", "/api/v1/repeats/<link_id>/contact"): {"contacted_on": "2026-11-21", "outcome": "coordinated"},
    ("POST", "/api/v1/aftercare/cases/<case_id>/witnesses"): {"role": "witness", "consent": True, "consent_at": NOW},
    ("POST", "/api/v1/aftercare/witnesses/<track_id>/contacts"): {"contacted_at": NOW, "contacted_by": "worker.a",
                                                                  "method": "phone", "outcome": "reached"},
    ("POST", "/api/v1/aftercare/witnesses/<track_id>/close"): {"reason": "completed"},
    ("POST", "/api/v1/aftercare/cases/<case_id>/handovers"): {"partner": "slachtofferhulp", "consent": True},
    ("POST", "/api/v1/aftercare/handovers/<handover_id>/steps"): {"status": "overgedragen"},
}
# Creating reaches no existing case: the key's municipality is where the new case goes (test_incident_path).
NO_EXISTING_DATA = {("POST", "/api/v1/incidents")}
PREFERRED = (auth.STAFF, auth.AFTERCARE_WORKER, auth.POLICE_LIAISON, auth.COORDINATOR, auth.OPERATOR, auth.ANALYST)


def role_for(permission: str) -> str:
    return next(role for role in PREFERRED if role in auth.PERMISSIONS[permission])


@pytest.fixture
def case_of_b(hub):
    """A whole case in B, and B's ids by path parameter."""
    b = hub.region.codes[1]
    case_id = hub.report(hub.key(b), canary_body()).json()["case_id"]
    wait_for(lambda: (f := hub.facts(b, uuid.UUID(case_id))) and f["aftercare_planned"], what="B's path")
    store = hub.case_store(b)
    referral = wait_for(lambda: query(store, "SELECT referral_id FROM police_liaison.referrals WHERE case_id = %s",
                                      (case_id,)), what="B's police referral")[0]["referral_id"]
    plan = query(store, "SELECT plan_id FROM aftercare.care_plans WHERE case_id = %s", (case_id,))[0]["plan_id"]
    worker = {"Authorization": f"Bearer {hub.key(b, 'aftercare_worker')}"}
    made = requests.post(hub.url("aftercare", f"/api/v1/aftercare/plans/{plan}/referrals"), headers=worker,
                         json=BODIES[("POST", "/api/v1/aftercare/plans/<plan_id>/referrals")], timeout=10)
    assert made.status_code == 201, made.text
    # a signal of B's case, as triage's deadline would raise it
    from shared.events import dump_event, new_event
    from tests.support import publish_raw

    from datetime import datetime, timezone

    overdue = new_event("triage_overdue", b, case_id, {"urgency": "hoog", "due_at": datetime.now(timezone.utc)})
    publish_raw(hub.settings.amqp_uri, "triage.events", "triage_overdue", dump_event(overdue))
    signal = wait_for(lambda: query(store, "SELECT signal_id FROM signals.signals WHERE case_id = %s", (case_id,)),
                      what="B's signal")[0]["signal_id"]
    return {"case_id": case_id, "plan_id": str(plan), "police_referral_id": str(referral),
            "aftercare_referral_id": made.json()["referral_id"], "signal_id": str(signal)}


def _path(service, url, ids):
    referral = ids["aftercare_referral_id"] if service == "aftercare" else ids["police_referral_id"]
    return (url.replace("<case_id>", ids["case_id"]).replace("<plan_id>", ids["plan_id"])
            .replace("<referral_id>", referral).replace("<signal_id>", ids["signal_id"])
            .replace("<link_id>", str(uuid.uuid4()))
            # B's case has no witness track or handover: an id that exists nowhere stands in for them
            .replace("<track_id>", str(uuid.uuid4())).replace("<handover_id>", str(uuid.uuid4())))


def test_a_key_of_one_municipality_never_reaches_another_municipalitys_case(hub, case_of_b):
    a = hub.region.codes[0]
    b_store = hub.case_store(hub.region.codes[1])
    audit_before = query(b_store, "SELECT coalesce(max(id), 0) AS n FROM hub.audit_log")[0]["n"]
    keys = {}
    checked = 0
    # the workbench (not started by `hub`) has no case API of its own: it calls these on a person's behalf
    entrypoints = [e for e in ENTRYPOINTS if e[0] != "workbench"]
    for service, verb, url, method in entrypoints:
        if (verb, url) in PUBLIC or (verb, url) in NO_EXISTING_DATA:
            continue
        permission = permission_of(method)
        role = role_for(permission)
        keys.setdefault(role, hub.key(a, role))
        answer = requests.request(verb, hub.url(service, _path(service, url, case_of_b)), timeout=10,
                                  json=BODIES.get((verb, url)) if verb != "GET" else None,
                                  headers={"Authorization": f"Bearer {keys[role]}"})
        where = (service, verb, url, role)
        if "<" in url:  # an id of B: as if it did not exist
            assert answer.status_code == 404, (where, answer.status_code, answer.text)
            assert answer.headers["Content-Type"] == "application/problem+json"
            assert canaries_in(answer.text) == [], where
        else:           # a list or summary of A (whose own cases may hold canaries of other tests): none of B's ids
            assert answer.status_code == 200, (where, answer.text)
        for value in case_of_b.values():
            assert value not in answer.text, (where, "an id of B")
        checked += 1
    assert checked == len([e for e in entrypoints if (e[1], e[2]) not in PUBLIC | NO_EXISTING_DATA]) > 20
    # nothing of B was read or changed by anyone who called: B's audit log has no new entry of a caller.
    # B's own background work may add rows meanwhile (a status mail retried reads and audits the
    # reporter's address: signals' claim_mails), so only entries of a service are allowed.
    new = query(b_store, "SELECT actor, action, subject FROM hub.audit_log WHERE id > %s", (audit_before,))
    assert [row for row in new if not row["actor"].startswith("service:")] == [], new
