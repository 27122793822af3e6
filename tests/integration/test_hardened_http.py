"""Hardened HTTP through the real services: security headers on every page and answer, a rate
limit per API key (429 with Retry-After), and long fields refused with 422 naming the field."""
import dataclasses
import uuid

import pytest
import requests

from tests.support import Hub, incident_body

PAGE_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


def assert_api_headers(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_every_page_has_a_strict_csp_and_every_answer_the_security_headers(hub):
    code = hub.region.codes[0]
    for path in ("/meld", f"/meld/{code}", f"/meld/{code}/volg", "/meld/GM9999"):
        page = requests.get(hub.url("intake", path), timeout=10)
        assert page.headers["Content-Type"].startswith("text/html"), path
        for name in PAGE_HEADERS:
            assert page.headers.get(name), (path, name)
        csp = page.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"

    staff = {"Authorization": f"Bearer {hub.key(code, 'staff')}"}
    case_id = hub.report(hub.key(code, "staff"), incident_body(channel="balie")).json()["case_id"]
    answers = [requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}"), headers=staff, timeout=10),  # 200
               requests.get(hub.url("intake", f"/api/v1/incidents/{uuid.uuid4()}"), headers=staff, timeout=10),
               requests.get(hub.url("triage", "/api/v1/triage/queue"), timeout=10),          # 401
               requests.get(hub.url("aftercare", "/nowhere"), timeout=10),                   # 404 from the router
               requests.delete(hub.url("statistics", "/api/v1/statistics/summary"), timeout=10)]  # 405
    assert [a.status_code for a in answers] == [200, 404, 401, 404, 405]
    for answer in answers:
        assert_api_headers(answer)
    for service in ("intake", "triage", "police_liaison", "aftercare", "statistics"):  # what `hub` starts
        for path in ("/health", "/metrics"):
            assert_api_headers(requests.get(hub.url(service, path), timeout=10))


@pytest.fixture
def tight(settings, start_services):
    """Intake with a bucket of 3 requests per key, refilled at one a minute."""
    limited = dataclasses.replace(settings, api_burst=3, api_rate_per_minute=1.0)
    start_services("intake", settings=limited)
    return Hub(limited)


def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_go_on(tight, caplog):
    code = tight.region.codes[0]
    busy, calm = tight.key(code, "staff"), tight.key(code, "staff")
    url = tight.url("intake", f"/api/v1/incidents/{uuid.uuid4()}")
    statuses = [requests.get(url, headers={"Authorization": f"Bearer {busy}"}, timeout=10).status_code
                for _ in range(3)]
    assert statuses == [404, 404, 404]
    over = requests.get(url, headers={"Authorization": f"Bearer {busy}"}, timeout=10)
    assert over.status_code == 429
    assert over.headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.json()["status"] == 429
    assert requests.get(url, headers={"Authorization": f"Bearer {calm}"}, timeout=10).status_code == 404
    # the rate limit counts per key, also on writes
    assert tight.report(busy).status_code == 429
    # the log names the key id for the operator (MeldpuntApiKeyRateLimited), nothing more
    assert any(busy.split(".")[1] in r.getMessage() and "rate limit" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("field, value, name", [
    ("description", "x" * 20_001, "description"),
    ("reporter", {"name": "N" * 201}, "reporter.name"),
    ("perpetrators", [{"name": "P" * 201}], "perpetrators.0.name"),
    ("witnesses", [{"name": "W" * 201}], "witnesses.0.name"),
    ("injuries", "i" * 2001, "injuries"),
])
def test_a_field_over_its_size_is_refused_with_422_naming_it(hub, field, value, name):
    response = hub.report(hub.key(hub.region.codes[1]), incident_body(**{field: value}))
    assert response.status_code == 422, response.text
    assert name in [param["name"] for param in response.json()["invalid-params"]]
    assert "x" * 100 not in response.text and "N" * 100 not in response.text  # the value is not echoed


def test_overrides_with_a_long_reason_are_refused_naming_the_reason(hub):
    code = hub.region.codes[0]
    staff = {"Authorization": f"Bearer {hub.key(code, 'staff')}"}
    response = requests.post(hub.url("triage", f"/api/v1/triage/{uuid.uuid4()}/override"), headers=staff,
                             json={"urgency": "hoog", "reason": "r" * 1001}, timeout=10)
    assert response.status_code == 422, response.text
    assert "reason" in [param["name"] for param in response.json()["invalid-params"]]
