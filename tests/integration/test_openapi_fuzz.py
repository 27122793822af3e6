"""schemathesis against every OpenAPI document the services serve, through the running hub.

The documents are found among the services' @api entrypoints (any GET path with "openapi"
in it), so a service that starts serving one is covered without touching this file. For
each operation schemathesis generates requests with a municipality channel's key (the
caller the intake document is written for), and then with a key of every role that may call
it (the permission its entrypoint asks, shared/auth.py PERMISSIONS: so staff, aftercare,
police and operator routes are exercised past their 403; issue 24, item 2), and checks: no
5xx, and every answer matches the document (status code, content type, headers, body schema).
While no service serves a document, the test is skipped and says so.

(`schemathesis.pytest.from_fixture` does not work with pytest 9, so each operation's
strategy is driven by hypothesis directly.)
"""
import pytest
import requests
import schemathesis
from schemathesis import checks
from hypothesis import HealthCheck, given, settings

from shared import auth
from shared.openapi import permission_of, served_path
from tests.integration.test_access_control import ENTRYPOINTS

def roles_of(service: str) -> dict:
    """(verb, path as served) -> the roles holding the permission the entrypoint asks (none: public)."""
    out = {}
    for svc, verb, url, method in ENTRYPOINTS:
        if svc == service:
            permission = permission_of(method)
            out[(verb.lower(), served_path(url))] = sorted(auth.PERMISSIONS.get(permission, ())) if permission else []
    return out


REFUSED_EXAMPLES = 3  # per operation, for the municipality channel's key where its role may not call it
DOCUMENTS = sorted({(service, url) for service, verb, url, _ in ENTRYPOINTS if verb == "GET" and "openapi" in url})


@pytest.mark.parametrize("document", DOCUMENTS or [None], ids=lambda d: f"{d[0]}{d[1]}" if d else "none")
def test_every_operation_answers_without_5xx_and_as_documented(request, document):
    if document is None:
        pytest.skip("no service serves an OpenAPI document yet (intake's comes with the issue-3 branch)")
    service, url = document
    if service == "workbench":  # `hub` does not start it; its document is linted (tests/unit/test_api_standards.py)
        pytest.skip("the workbench is not part of the `hub` fixture")
    hub = request.getfixturevalue("hub")  # after the skip: five services started for nothing cost 3 CPU-s
    if service in ("signals", "zaaksysteem"):  # beside the five the `hub` fixture starts
        request.getfixturevalue("start_services")(service)
    raw = requests.get(hub.url(service, url), timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    code = hub.region.codes[0]
    keys = {"intake_channel": hub.key(code, "intake_channel")}
    roles = roles_of(service)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{service}{url} documents no operation"
    failures = []
    for operation in operations:
        # the API's paths are relative to the document's server (/api/v1); health, metrics and the public
        # form carry a server of their own (/)
        item = raw["paths"][operation.path]
        server = (item.get("servers") or raw["servers"])[0]["url"].rstrip("/")
        base_url = hub.url(service, server)
        allowed = roles.get((operation.method.lower(), server + operation.path), [])
        # A caller without the permission is refused (403) by the entrypoint's first line, before it reads
        # the path, query or body: beyond a few examples of that refusal, more buy nothing (15 each made 720
        # of the test's 2070 requests, on the 60 operations a municipality channel may not call).
        channel = 15 if not allowed or "intake_channel" in allowed else REFUSED_EXAMPLES
        callers = [("intake_channel", channel)] + [(role, 5) for role in allowed if role != "intake_channel"]
        for role, examples in callers:
            key = keys.setdefault(role, hub.key(code, role))

            @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case):
                response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {key}"})
                assert response.status_code < 500, (role, case.method, case.formatted_path, response.text[:300])
                # Rules a JSON schema cannot state (a municipality channel reports as `api`, staff
                # name theirs; one key's Idempotency-Key reused for another body) reject some
                # schema-valid requests with 4xx: that is no defect, a 5xx or an undocumented answer is.
                case.validate_response(response, excluded_checks=[checks.positive_data_acceptance])

            try:
                check()
            except Exception as exc:  # every operation's and role's failure, reported together
                failures.append(f"{role} {operation.method.upper()} {server}{operation.path}: {str(exc)[:400]}")
    assert not failures, "\n".join(failures)
