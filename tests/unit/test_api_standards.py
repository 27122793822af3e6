"""The Dutch API Design Rules on every service's HTTP API (issue 24, item 1), without running one.

Every service has an OpenAPI document built from its entrypoints' marshmallow schemas, the copy in
docs/openapi/ is current, every API route is in it under /api/v1 and nothing else is; Spectral
(tools/node) lints every document with the repository's ruleset (tools/spectral/adr.yaml) with 0
errors, and the ruleset does catch what it encodes (a document that breaks each rule).
"""
import copy
import json
import shutil
import subprocess

import pytest

from hub import openapi as written
from hub.registry import service_class
from shared import openapi
from shared.config import REPO_ROOT
from shared.names import SERVICES

SPECTRAL = REPO_ROOT / "tools" / "node" / "node_modules" / ".bin" / "spectral"
RULESET = REPO_ROOT / "tools" / "spectral" / "adr.yaml"


def routes(name: str, pages: bool = False) -> set[tuple[str, str]]:
    """(method, path as the document writes it) of the service's API entrypoints (and pages, with `pages`)."""
    return {(verb.lower(), openapi.served_path(entrypoint.url))
            for _, entrypoint in openapi.entrypoints(service_class(name))
            for verb in entrypoint.method.split(",") if pages or not openapi.is_page(entrypoint.url)}


@pytest.mark.parametrize("name", SERVICES)
def test_every_api_route_is_documented_and_nothing_else(name):
    documented = openapi.operations(service_class(name).openapi_document())
    served = routes(name)
    assert ("get", "/api/v1/openapi.json") in served
    assert served - documented == set(), f"served but not in {name}'s document"
    # a page for people may be documented too (intake's public form), nothing that is not served
    assert documented - routes(name, pages=True) == set(), f"in {name}'s document but not served"


@pytest.mark.parametrize("name", SERVICES)
def test_every_api_path_carries_the_major_version(name):
    for _, path in routes(name):
        assert path.startswith("/api/v1/") or path in ("/health", "/metrics") or path.startswith("/meld"), path
        assert not path.endswith("/"), path


@pytest.mark.parametrize("name", SERVICES)
def test_the_docs_copy_is_current(name):
    assert written.path_of(name).read_text() == written.text(name), \
        f"docs/openapi/{name}.json is stale: .venv/bin/python -m hub.openapi"


def test_the_document_is_built_from_the_schemas_the_code_loads():
    from services.police_liaison.schemas import StepSchema
    document = service_class("police_liaison").openapi_document()
    step = document["paths"]["/referrals/{referral_id}/steps"]["post"]
    assert step["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Step"}
    schema = document["components"]["schemas"]["Step"]
    assert set(schema["properties"]) == set(StepSchema().fields) and schema["required"] == ["status"]
    assert "referral:update" in step["description"] and "police_liaison" in step["description"]
    assert {"401", "403", "404", "409", "415", "422"} <= set(step["responses"])


def spectral(*paths) -> list[dict]:
    if shutil.which("node") is None or not SPECTRAL.exists():
        pytest.fail("Spectral is not installed: make node-tools (tools/node, @stoplight/spectral-cli)")
    run = subprocess.run([str(SPECTRAL), "lint", "--ruleset", str(RULESET), "--format", "json", "--quiet",
                          "--fail-severity", "error", *map(str, paths)],
                         capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert run.stdout.strip().startswith("["), run.stderr or run.stdout
    return json.loads(run.stdout)


def broken(document: dict) -> dict:
    """One document that breaks each rule of the ruleset once."""
    bad = copy.deepcopy(document)
    bad["info"]["version"] = "1.1"
    del bad["info"]["contact"]["email"]
    bad["servers"] = [{"url": "http://example.org/api"}]
    bad["paths"]["/referrals/"] = bad["paths"].pop("/referrals")
    del bad["paths"]["/openapi.json"]
    step = bad["paths"]["/referrals/{referral_id}/steps"]["post"]
    step["responses"]["409"]["content"] = {"application/json": {"schema": {"type": "object"}}}
    del step["responses"]["200"]["headers"]
    bad["paths"]["/cases/{case_id}/policeStatus"] = bad["paths"].pop("/cases/{case_id}/police-status")
    return bad


def test_spectral_finds_no_error_in_any_document_and_catches_each_rule(tmp_path):
    documents = [written.path_of(name) for name in SERVICES]
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps(broken(service_class("police_liaison").openapi_document())))
    results = spectral(*documents, bad)
    errors = [r for r in results if r["severity"] == 0 and r["source"] != str(bad)]
    assert errors == [], "\n".join(f"{r['source']}: {r['code']} {r['message']} at {r['path']}" for r in errors)
    caught = {r["code"] for r in results if r["source"] == str(bad) and r["severity"] == 0}
    assert {"nlgov:semver", "nlgov:info-contact-fields-exist", "nlgov:include-major-version-in-uri",
            "nlgov:servers-use-https", "nlgov:paths-no-trailing-slash", "nlgov:openapi-root-exists",
            "nlgov:use-problem-schema", "nlgov:missing-version-header", "nlgov:paths-kebab-case"} <= caught, caught
