"""The Dutch API Design Rules through the running services (issue 24, item 1): each serves its OpenAPI
document at /api/v1/openapi.json to anyone with CORS, equal to docs/openapi/<service>.json; every answer
(a refusal, an unknown path, a page) carries API-Version with the full semantic version; a trailing or
doubled slash is 404 problem+json, never a redirect."""
import json

import pytest
import requests

from hub.registry import service_class
from shared.config import REPO_ROOT

SERVED = ("intake", "triage", "police_liaison", "aftercare", "statistics", "signals")


@pytest.fixture
def services(hub, start_services):
    start_services("signals")
    return hub


def test_every_service_serves_its_document_to_anyone_with_cors_and_its_version(services):
    for name in SERVED:
        response = requests.get(services.url(name, "/api/v1/openapi.json"), timeout=10,
                                headers={"Origin": "https://gemeente.example"})
        assert response.status_code == 200, name
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["API-Version"] == service_class(name).api_version
        document = response.json()
        assert document["info"]["version"] == response.headers["API-Version"]
        assert document == json.loads((REPO_ROOT / "docs" / "openapi" / f"{name}.json").read_text()), name


def test_every_answer_carries_the_api_version_and_errors_are_problems(services):
    for name in SERVED:
        for path, status in (("/api/v1/dead-letters", 401),   # a refusal
                             ("/api/v1/dead-letters/", 404),  # a trailing slash: not found, not redirected
                             ("/api//v1/dead-letters", 404),  # a doubled slash too
                             ("/api/v1/no-such-thing", 404)):
            response = requests.get(services.url(name, path), timeout=10, allow_redirects=False)
            assert response.status_code == status, (name, path)
            assert response.headers["Content-Type"] == "application/problem+json", (name, path)
            assert response.json()["status"] == status
            assert response.headers["API-Version"] == service_class(name).api_version, (name, path)
    response = requests.delete(services.url("triage", "/api/v1/triage/queue"), timeout=10)  # a wrong method
    assert response.status_code == 405 and response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["API-Version"] == service_class("triage").api_version and "GET" in response.headers["Allow"]
    for name, path in (("intake", "/meld"), ("statistics", "/dashboard"), ("triage", "/health?probe=live"),
                       ("aftercare", "/metrics")):  # pages and operations' paths carry it too
        response = requests.get(services.url(name, path), timeout=10)
        assert response.status_code in (200, 401), (name, path)
        assert response.headers["API-Version"] == service_class(name).api_version, (name, path)
