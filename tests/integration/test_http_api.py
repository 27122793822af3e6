"""The intake API's answers to bad requests: clear problem+json, and nothing stored."""
import uuid

import pytest
import requests

from tests.support import incident_body, query


@pytest.fixture
def intake(settings, start_services):
    start_services("intake")
    from tests.support import Hub

    return Hub(settings)


def incident_count(hub, code):
    return query(hub.case_store(code), "SELECT count(*) AS n FROM intake.incidents")[0]["n"]


def post(hub, key=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return requests.post(hub.url("intake", "/api/v1/incidents"), headers=headers, timeout=5, **kwargs)


def assert_problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"]
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize("authorization", [
    None, "Basic Z3Vlc3Q6Z3Vlc3Q=", "Bearer ", "Bearer not-a-key",
    "Bearer GM0687.0123456789ab.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   # well-formed, unknown
    "Bearer GM9999.0123456789ab.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   # no such municipality
])
def test_missing_or_wrong_key_is_401(intake, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = post(intake, json=incident_body(), headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_401(intake):
    """At once: intake remembers a key it found good and reads it again in the incident's own transaction
    (docs/security.md#api-keys-checked-in-the-requests-own-transaction)."""
    from shared import auth
    from tests.support import case_store_uow

    code = intake.region.codes[0]
    key = intake.key(code)
    assert post(intake, key, json=incident_body()).status_code == 201
    assert post(intake, key, json=incident_body()).status_code == 201  # the key remembered
    before = incident_count(intake, code)
    with case_store_uow(intake.settings, code) as uow:
        assert auth.revoke_key(uow, key.split(".")[1])
    assert_problem(post(intake, key, json=incident_body()), 401)
    assert_problem(post(intake, key, json=incident_body()), 401)  # forgotten: refused by the full check
    assert incident_count(intake, code) == before


def test_a_remembered_key_given_a_signing_secret_must_sign_at_once(intake):
    from shared import auth, signatures
    from tests.support import case_store_uow

    code = intake.region.codes[0]
    key = intake.key(code)
    assert post(intake, key, json=incident_body()).status_code == 201
    before = incident_count(intake, code)
    with case_store_uow(intake.settings, code) as uow:
        auth.set_signing_secret(uow, key.split(".")[1], signatures.new_secret())
    assert_problem(post(intake, key, json=incident_body()), 401)
    assert incident_count(intake, code) == before


def test_role_without_the_right_is_403(intake):
    response = post(intake, intake.key(intake.region.codes[0], role="analyst"), json=incident_body())
    assert_problem(response, 403)


def test_invalid_fields_are_named_one_by_one_and_nothing_is_stored(intake):
    code = intake.region.codes[1]
    before = incident_count(intake, code)
    body = incident_body(location_type="kelder", categories=["bedreiging", "roddel"])
    del body["description"]
    body["occurred_at"] = "gisteren"
    body["perpetrators"] = [{"name": "X", "birth_date": "31-02-1980"}]
    body["consent"] = {"contact": "misschien"}
    body["favourite_colour"] = "blauw"
    response = post(intake, intake.key(code), json=body)
    problem = assert_problem(response, 422)
    names = {p["name"] for p in problem["invalid-params"]}
    assert {"occurred_at", "description", "location_type", "categories.1", "perpetrators.0.birth_date",
            "consent.contact", "favourite_colour"} <= names
    assert all(p["reason"] for p in problem["invalid-params"])
    assert incident_count(intake, code) == before


def test_contact_consent_without_contact_route_is_422(intake):
    body = incident_body(reporter=None, consent={"contact": True})
    problem = assert_problem(post(intake, intake.key(intake.region.codes[0]), json=body), 422)
    assert [p["name"] for p in problem["invalid-params"]] == ["consent.contact"]


def test_oversized_body_is_413(intake):
    code = intake.region.codes[2]
    before = incident_count(intake, code)
    body = incident_body(description="x" * (intake.settings.max_body_bytes + 10))
    assert_problem(post(intake, intake.key(code), json=body), 413)
    assert incident_count(intake, code) == before


def test_wrong_content_type_is_415_and_broken_json_400(intake):
    key = intake.key(intake.region.codes[0])
    assert_problem(post(intake, key, data="occurred_at=now", headers={"Content-Type": "text/plain"}), 415)
    assert_problem(post(intake, key, data="{broken", headers={"Content-Type": "application/json"}), 400)


def test_unknown_and_malformed_case_ids_are_404(intake):
    key = intake.key(intake.region.codes[0])
    for case_id in (uuid.uuid4(), "nonsense", "1; DROP TABLE intake.incidents"):
        response = requests.get(intake.url("intake", f"/api/v1/incidents/{case_id}"),
                                headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert_problem(response, 404)


def test_created_answer_points_to_the_case(intake):
    key = intake.key(intake.region.codes[0])
    response = post(intake, key, json=incident_body(),
                    headers={"X-Correlation-ID": "6d2f6a3e-1b7c-4b7a-9c1e-0c8f3e0a9b11"})
    assert response.status_code == 201
    case_id = response.json()["case_id"]
    assert response.headers["Location"] == f"/api/v1/incidents/{case_id}"
    outbox = query(intake.case_store(intake.region.codes[0]),
                   "SELECT envelope FROM hub.outbox WHERE envelope->>'case_id' = %s", (case_id,))
    assert outbox[0]["envelope"]["correlation_id"] == "6d2f6a3e-1b7c-4b7a-9c1e-0c8f3e0a9b11"


def test_unknown_paths_and_methods_answer_problem_json(intake):
    assert_problem(requests.get(intake.url("intake", "/api/v1/nothing-here"), timeout=5), 404)
    response = requests.delete(intake.url("intake", "/api/v1/incidents"), timeout=5)
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_correlation_id_is_echoed(intake):
    response = post(intake, intake.key(intake.region.codes[0]), json=incident_body())
    uuid.UUID(response.headers["X-Correlation-ID"])
