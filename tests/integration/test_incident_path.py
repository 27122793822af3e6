"""One incident through all five services, for every demo municipality, over the real broker and stores."""
import uuid

import pytest
import requests

from tests.support import incident, incident_body, query, wait_for

CASE_TABLES = ("intake.incidents", "triage.results", "police_liaison.referrals", "aftercare.care_plans")


def test_whole_path_for_every_municipality(hub):
    cases = {}
    for m in hub.region.municipalities:
        response = hub.report(hub.key(m.code))
        assert response.status_code == 201, response.text
        cases[m.code] = uuid.UUID(response.json()["case_id"])

    for m in hub.region.municipalities:
        case_id = cases[m.code]
        facts = wait_for(lambda: (f := hub.facts(m.code, case_id)) and f["aftercare_planned"] and f["referred"]
                         and f["triaged_on"] and f["reported_on"] and f,
                         what=f"statistics for {m.code}")
        assert facts["categories"] == ["bedreiging"]
        assert facts["urgency"] == "hoog"
        dsn = hub.case_store(m.code)
        triage = query(dsn, "SELECT * FROM triage.results WHERE case_id = %s", (case_id,))
        # the reasons are sealed under the case key (issue 21, item 5)
        assert len(triage) == 1 and "police_referral" in triage[0]["decisions"] and triage[0]["personal"]
        referral = query(dsn, "SELECT * FROM police_liaison.referrals WHERE case_id = %s", (case_id,))
        assert len(referral) == 1 and referral[0]["police_unit"] == m.police_unit
        plan = query(dsn, "SELECT p.plan_id, min(c.due_at) - p.planned_at AS first_due FROM aftercare.care_plans p "
                          "JOIN aftercare.contact_moments c USING (plan_id) WHERE p.case_id = %s GROUP BY p.plan_id",
                     (case_id,))
        assert len(plan) == 1 and plan[0]["first_due"].total_seconds() <= 24 * 3600


def test_no_referral_without_consent(hub):
    code = hub.region.codes[0]
    body = incident_body(consent={"contact": True, "police_referral": False})
    case_id = uuid.UUID(hub.report(hub.key(code), body).json()["case_id"])
    facts = wait_for(lambda: (f := hub.facts(code, case_id)) and f["aftercare_planned"] and f,
                     what="aftercare planned")
    assert facts["referred"] is False
    assert query(hub.case_store(code), "SELECT 1 FROM police_liaison.referrals WHERE case_id = %s", (case_id,)) == []


def test_anonymous_report_is_accepted_and_triaged_without_aftercare(hub):
    code = hub.region.codes[1]
    body = {"occurred_at": "2026-11-21T09:00:00", "description": "Scheldpartij via de telefoon.",
            "location_type": "telefoon", "categories": ["verbale_agressie"]}
    response = hub.report(hub.key(code), body)
    assert response.status_code == 201, response.text
    case_id = uuid.UUID(response.json()["case_id"])
    facts = wait_for(lambda: (f := hub.facts(code, case_id)) and f["triaged_on"] and f, what="triage")
    assert facts["aftercare_planned"] is False and facts["referred"] is False
    assert incident(hub.settings, code, case_id)["reporter"] is None


def test_cases_are_isolated_between_municipalities(hub):
    a, b = hub.region.codes[0], hub.region.codes[1]
    key_a, key_b = hub.key(a), hub.key(b)
    case_id = hub.report(key_a).json()["case_id"]
    wait_for(lambda: hub.facts(a, uuid.UUID(case_id)), what="statistics row")

    for table in CASE_TABLES:
        assert query(hub.case_store(b), f"SELECT 1 FROM {table} WHERE case_id = %s", (case_id,)) == []
    assert query(hub.case_store(b), "SELECT 1 FROM hub.outbox WHERE envelope->>'case_id' = %s", (case_id,)) == []

    url = hub.url("intake", f"/api/v1/incidents/{case_id}")
    other = requests.get(url, headers={"Authorization": f"Bearer {key_b}"}, timeout=5)
    assert other.status_code == 404
    assert other.headers["Content-Type"] == "application/problem+json"
    assert "Sanne" not in other.text

    own = requests.get(url, headers={"Authorization": f"Bearer {key_a}"}, timeout=5)
    assert own.status_code == 200
    case = own.json()
    assert case["municipality"] == a and case["reporter"]["name"] == "Sanne Jansen"
    assert case["perpetrators"][0]["name"] == "Kees Bakker"


def test_reading_a_case_is_audited_in_its_own_store(hub):
    a, b = hub.region.codes[2], hub.region.codes[3]
    key_a = hub.key(a)
    case_id = hub.report(key_a).json()["case_id"]
    requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}"),
                 headers={"Authorization": f"Bearer {key_a}"}, timeout=5).raise_for_status()
    audit = query(hub.case_store(a), "SELECT actor, action, subject FROM hub.audit_log WHERE case_id = %s "
                  "AND actor LIKE 'apikey:%%' ORDER BY id", (case_id,))
    assert [row["action"] for row in audit] == ["create", "read"]  # the report, then the read
    assert query(hub.case_store(b), "SELECT 1 FROM hub.audit_log WHERE case_id = %s", (case_id,)) == []


def test_events_carry_no_personal_data(hub):
    code = hub.region.codes[0]
    case_id = hub.report(hub.key(code)).json()["case_id"]
    wait_for(lambda: (f := hub.facts(code, uuid.UUID(case_id))) and f["aftercare_planned"], what="path")
    envelopes = query(hub.case_store(code), "SELECT event_type, envelope::text AS e FROM hub.outbox "
                      "WHERE envelope->>'case_id' = %s", (case_id,))
    # reported, triaged, referral, aftercare planned; the reminder timer may add aftercare_contact_due,
    # and as every test reports the same perpetrator, triage may also see a repeat (here and elsewhere)
    assert {r["event_type"] for r in envelopes} - {"aftercare_contact_due", "repeat_detected", "repeat_linked"} == {
        "incident_reported", "incident_triaged", "referral_created", "aftercare_planned"}
    text = " ".join(r["e"] for r in envelopes)
    for canary in ("Sanne", "Jansen", "example.nl", "0612345678", "Kees", "Bakker", "1975-04-12", "balie dat hij"):
        assert canary not in text


@pytest.mark.parametrize("role", ["intake_channel", "staff"])
def test_statistics_summary_is_per_municipality(hub, role):
    code = hub.region.codes[3]
    case_id = hub.report(hub.key(code)).json()["case_id"]
    wait_for(lambda: (f := hub.facts(code, uuid.UUID(case_id))) and f["aftercare_planned"], what="path")
    response = requests.get(hub.url("statistics", "/api/v1/statistics/summary"),
                            headers={"Authorization": f"Bearer {hub.key(code, role)}"}, timeout=5)
    if role == "intake_channel":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    summary = response.json()
    assert summary["municipality"] == code
    assert summary["reported"] >= 1 and summary["by_category"]["bedreiging"] >= 1
