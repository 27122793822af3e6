"""The partner API after issue #3: the fuller incident and Idempotency-Key, over the real broker and stores."""
import concurrent.futures
import uuid

import pytest
import requests

from tests.support import Hub, incident_body, query, wait_for

FULL = {
    "own_kind": "scheldpartij aan de balie",
    "occurred_at": "2026-11-20T09:00:00+01:00",
    "occurred_at_precision": "hour",
    "occurred_until": "2026-11-20T12:00:00+01:00",
    "location_detail": "Stadskantoor, balie 3",
    "target_role": "ambtenaar",
    "target": {"department": "Burgerzaken", "function": "baliemedewerker"},
    "reporter_relation": "manager",
    "perpetrators": [{"name": "Kees Bakker", "relation": "client", "online_handle": "@kees",
                      "phone": "0612345678", "vehicle": "grijze bestelbus", "licence_plate": "VX-123-B",
                      "birth_date": "1975-04-12", "description": "man, ongeveer 50 jaar"}],
    "injuries": "geen lichamelijk letsel, wel erg geschrokken",
    "damage": "balieruit gebarsten",
    "witnesses": [{"name": "Piet de Vries", "contact": "0687654321", "statement": "hoorde het schreeuwen"}],
    "consent": {"contact": True, "contact_method": "phone", "police_referral": True, "inform_manager": True,
                "employer_reports": True},
    "aangifte_help": True,
}


@pytest.fixture
def intake(settings, start_services):
    start_services("intake")
    return Hub(settings)


def post(hub, key, body, idempotency_key=None, **kwargs):
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return requests.post(hub.url("intake", "/api/v1/incidents"), json=body, headers=headers, timeout=10, **kwargs)


def cases(hub, code):
    return query(hub.case_store(code), "SELECT count(*) AS n FROM intake.incidents")[0]["n"]


def reported_events(hub, code, case_id):
    return query(hub.case_store(code), "SELECT envelope FROM hub.outbox WHERE event_type = 'incident_reported' "
                                       "AND envelope->>'case_id' = %s", (str(case_id),))


def test_full_incident_is_stored_and_shown_and_its_event_holds_no_free_text(intake):
    code = intake.region.codes[0]
    key = intake.key(code)
    response = post(intake, key, incident_body(**FULL))
    assert response.status_code == 201, response.text
    case_id = response.json()["case_id"]

    shown = requests.get(intake.url("intake", f"/api/v1/incidents/{case_id}"),
                         headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    for field in ("own_kind", "occurred_at_precision", "location_detail", "target", "reporter_relation",
                  "injuries", "damage", "witnesses", "aangifte_help"):
        assert shown[field] == FULL[field], field
    assert shown["occurred_until"].startswith("2026-11-20T11:00:00")  # 12:00+01:00 in UTC
    assert shown["perpetrators"][0]["relation"] == "client"
    assert shown["perpetrators"][0]["licence_plate"] == "VX-123-B"
    assert shown["consent"]["contact_method"] == "phone"

    events = wait_for(lambda: reported_events(intake, code, case_id), what="incident_reported in the outbox")
    wire = str(events[0]["envelope"])
    for secret in ("Kees", "Burgerzaken", "balieruit", "Piet", "VX-123-B", "@kees", "Stadskantoor"):
        assert secret not in wire


def test_old_clients_get_the_same_answers(intake):
    """A body with only the foundation's fields still works, and the new columns read as 'not told'."""
    code = intake.region.codes[0]
    key = intake.key(code)
    response = post(intake, key, {"occurred_at": "2026-11-20T14:05:00+01:00", "description": "Uitgescholden."})
    # the foundation's answer, extended only: the receipt (issue 19) is added, nothing renamed or taken away
    assert response.status_code == 201 and set(response.json()) == {"case_id", "status", "receipt_code", "secret"}
    assert response.json()["status"] == "ontvangen"
    shown = requests.get(intake.url("intake", f"/api/v1/incidents/{response.json()['case_id']}"),
                         headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    assert shown["occurred_at_precision"] == "exact" and shown["reporter_relation"] == "target"
    assert shown["witnesses"] == [] and shown["target"] is None and shown["aangifte_help"] is False


@pytest.mark.parametrize("override, field", [
    ({"occurred_at_precision": "week"}, "occurred_at_precision"),
    ({"occurred_until": "2026-11-19T09:00:00+01:00"}, "occurred_until"),
    ({"reporter_relation": "neighbour"}, "reporter_relation"),
    ({"perpetrators": [{"relation": "stranger"}]}, "perpetrators.0.relation"),
    ({"perpetrators": [{"licence_plate": "<script>"}]}, "perpetrators.0.licence_plate"),
    ({"target": {"department": ""}}, "target.department"),
    ({"witnesses": [{"shoe_size": 44}]}, "witnesses.0.shoe_size"),
    ({"consent": {"contact": True, "contact_method": "phone"}, "reporter": {"email": "a@example.nl"}},
     "consent.contact_method"),
])
def test_bad_new_fields_are_named_and_nothing_is_stored(intake, override, field):
    code = intake.region.codes[0]
    before = cases(intake, code)
    response = post(intake, intake.key(code), incident_body(**override))
    assert response.status_code == 422, response.text
    assert field in [p["name"] for p in response.json()["invalid-params"]]
    assert cases(intake, code) == before


def test_retry_with_the_same_idempotency_key_returns_the_first_answer(intake):
    code = intake.region.codes[0]
    key = intake.key(code)
    before = cases(intake, code)
    idem = f"retry-{uuid.uuid4()}"
    first = post(intake, key, incident_body(), idem)
    again = post(intake, key, incident_body(), idem)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert cases(intake, code) == before + 1
    assert len(reported_events(intake, code, first.json()["case_id"])) == 1


def test_concurrent_retries_create_one_case(intake):
    code = intake.region.codes[0]
    key = intake.key(code)
    before = cases(intake, code)
    idem = f"race-{uuid.uuid4()}"
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: post(intake, key, incident_body(), idem), range(4)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["case_id"] for a in answers}) == 1
    assert cases(intake, code) == before + 1


def test_same_key_with_another_body_is_409_and_creates_nothing(intake):
    code = intake.region.codes[0]
    key = intake.key(code)
    idem = f"conflict-{uuid.uuid4()}"
    assert post(intake, key, incident_body(), idem).status_code == 201
    before = cases(intake, code)
    response = post(intake, key, incident_body(description="Iets anders."), idem)
    assert response.status_code == 409
    assert response.json()["invalid-params"][0]["name"] == "Idempotency-Key"
    assert cases(intake, code) == before


def test_a_rejected_body_leaves_the_key_free_for_the_corrected_retry(intake):
    code = intake.region.codes[0]
    key = intake.key(code)
    idem = f"fix-{uuid.uuid4()}"
    assert post(intake, key, incident_body(description=""), idem).status_code == 422
    assert post(intake, key, incident_body(), idem).status_code == 201


def test_idempotency_keys_are_per_api_key(intake):
    first_code, second_code = intake.region.codes[:2]
    idem = f"shared-{uuid.uuid4()}"
    a = post(intake, intake.key(first_code), incident_body(), idem)
    b = post(intake, intake.key(second_code), incident_body(), idem)
    assert a.status_code == b.status_code == 201
    assert a.json()["case_id"] != b.json()["case_id"]


def test_malformed_idempotency_key_is_400(intake):
    code = intake.region.codes[0]
    before = cases(intake, code)
    response = post(intake, intake.key(code), incident_body(), "x" * 201)
    assert response.status_code == 400
    assert response.json()["invalid-params"][0]["name"] == "Idempotency-Key"
    assert cases(intake, code) == before
