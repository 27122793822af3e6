"""Every HTTP entrypoint of every service is either public on purpose or guarded by one permission.

The entrypoints are found the way nameko finds them, so a new endpoint cannot slip past:
it must be in PUBLIC or call `self._principal(request, "<permission>")`, and through the
running services it answers 401 without a key, 403 to every role without the permission
and neither to a role with it.
"""
import inspect
import re
import uuid

import pytest
import requests

from shared import auth
from shared.http import ApiRequestHandler
from hub.registry import service_class
from services.workbench.web import PageHandler
from shared.names import SERVICES


@pytest.fixture
def hub(hub, start_services):
    """The five services of `hub`, signals and zaaksysteem: every service's endpoints (or consumers) are looked at
    here."""
    start_services("signals", "zaaksysteem")
    return hub


# (method, url) pairs anyone may call: they carry no case content.
PUBLIC = {
    ("GET", "/health"), ("GET", "/metrics"),  # liveness; counters (on the operator port only), labels bounded
    ("GET", "/meld"), ("GET", "/meld/static/meld.css"),            # the public form: CSRF token + rate limit
    ("GET", "/meld/<code>"), ("POST", "/meld/<code>"),
    ("GET", "/meld/<code>/volg"), ("POST", "/meld/<code>/volg"),   # follow-up: the reporter's follow-up code
    ("GET", "/api/v1/openapi.json"),                               # a service's API description
    # the statistics dashboard (GET /dashboard) asks for statistics:read like the API: people see it in the
    # workbench, behind its sign-in (tests/integration/test_statistics.py, test_workbench_pages.py)
    ("GET", "/dashboard/dashboard.css"), ("GET", "/favicon.ico"),  # the dashboard's (and the form's) icon
    ("GET", "/meld/privacy"), ("GET", "/meld/toegankelijkheid"),   # the privacy and accessibility statements
    ("GET", "/robots.txt"),
}
# `_principal_to_confirm`: the same check, the key read again in the handler's transaction (intake's reports)
GUARD = re.compile(r'self\._principal(?:_to_confirm)?\(request, "([a-z_]+:[a-z_]+)"\)')


def http_entrypoints(pages=False):
    """(service, method, url, python method) for every @api entrypoint of every service (or, with
    `pages`, every workbench page, which people open with a session instead of a key)."""
    found = []
    for name in SERVICES:
        cls = service_class(name)
        for attr in dir(cls):
            method = getattr(cls, attr)
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, ApiRequestHandler) and isinstance(entrypoint, PageHandler) == pages:
                    found.append((name, entrypoint.method, entrypoint.url, method) if not pages else
                                 (name, entrypoint.method, entrypoint.url, entrypoint.needs))
    return found


ENTRYPOINTS = http_entrypoints()
PAGES = http_entrypoints(pages=True)
# Workbench pages anyone may open: signing in and out, the stylesheet and the icon. Every other page names the
# permission it needs (the same PERMISSIONS as the API) or asks only for a session (signed_in).
PUBLIC_PAGES = {("GET", "/"), ("GET", "/static/workbench.css"), ("GET", "/favicon.ico"), ("GET", "/aanmelden"),
                ("GET", "/aanmelden/<domain_code>"), ("GET", "/aanmelden/terug"), ("GET", "/afgemeld")}


def test_every_page_is_public_on_purpose_or_needs_a_session_and_one_known_permission():
    assert len(PAGES) >= 8
    for service, verb, url, needs in PAGES:
        if (verb, url) in PUBLIC_PAGES:
            assert needs is None, (verb, url)
        else:
            # one permission, or a few of which any opens the page (a case: the meldpunt's or aftercare's part)
            wanted = needs if isinstance(needs, tuple) else (needs,)
            assert needs == "signed_in" or (wanted and all(n in auth.PERMISSIONS for n in wanted)), (verb, url, needs)
GUARDED = [(service, verb, url) for service, verb, url, _ in ENTRYPOINTS if (verb, url) not in PUBLIC]


def permission_of(method) -> str | None:
    found = GUARD.findall(inspect.getsource(method))
    return found[0] if len(found) == 1 else None


def test_every_entrypoint_is_public_on_purpose_or_asks_for_one_known_permission():
    assert len(ENTRYPOINTS) > 25  # the enumeration itself works
    for service, verb, url, method in ENTRYPOINTS:
        if (verb, url) in PUBLIC:
            assert permission_of(method) is None, f"{service} {verb} {url} is public but asks for a key"
            continue
        permission = permission_of(method)
        assert permission in auth.PERMISSIONS, f"{service} {verb} {url} does not ask for exactly one permission"
    used = {permission_of(m) for _, verb, url, m in ENTRYPOINTS if (verb, url) not in PUBLIC}
    assert used == set(auth.PERMISSIONS), "a permission no endpoint asks for, or one asked but never defined"


def test_every_case_endpoint_open_to_an_own_cases_only_role_checks_whose_case_it_is():
    checked = 0
    for service, verb, url, method in ENTRYPOINTS:
        permission = permission_of(method)
        if "<case_id>" in url and permission and auth.PERMISSIONS[permission] & auth.OWN_CASES_ONLY:
            source = inspect.getsource(method)
            # directly, or through intake's _locked_case, which asks auth.may_see_case
            assert "auth.may_see_case(principal" in source or "self._locked_case(uow, principal" in source, \
                f"{service} {verb} {url}"
            checked += 1
    assert checked >= 2


def test_reporters_and_operators_reach_no_case_content():
    for permission, roles in auth.PERMISSIONS.items():
        assert auth.REPORTER not in roles  # the reporter follows up with a follow-up code, never a key
        if permission != "operations:read":
            assert auth.OPERATOR not in roles


def _concrete(url: str) -> str:
    return re.sub(r"<[^>]+>", lambda m: str(uuid.uuid4()), url)


@pytest.fixture
def role_keys(hub):
    code = hub.region.codes[0]
    return {role: hub.key(code, role) for role in auth.ROLES}


def test_every_guarded_endpoint_answers_401_without_a_key_and_403_to_roles_without_its_permission(hub, role_keys):
    hub_services = {"intake", "triage", "police_liaison", "aftercare", "statistics"}
    by_route = {(service, verb, url): method for service, verb, url, method in ENTRYPOINTS}
    for service, verb, url in GUARDED:
        if service not in hub_services:  # the workbench serves pages (above), no key-guarded API
            continue
        permission = permission_of(by_route[(service, verb, url)])
        address = hub.url(service, _concrete(url))
        body = {} if verb in ("POST", "PATCH", "PUT") else None

        anonymous = requests.request(verb, address, json=body, timeout=10)
        assert anonymous.status_code == 401, (service, verb, url, anonymous.text)
        # the dashboard is a page: a browser without a header is told where to go (the workbench)
        assert anonymous.headers["Content-Type"] == ("text/html; charset=utf-8" if url == "/dashboard"
                                                     else "application/problem+json")

        for role, key in role_keys.items():
            answer = requests.request(verb, address, json=body, timeout=10,
                                      headers={"Authorization": f"Bearer {key}"})
            if role in auth.PERMISSIONS[permission]:
                assert answer.status_code not in (401, 403), (service, verb, url, role, answer.text)
            else:
                assert answer.status_code == 403, (service, verb, url, role, answer.text)
                assert permission in answer.json()["detail"]


def test_public_endpoints_answer_without_a_key(hub):
    code = hub.region.codes[0]
    for service, verb, url, _ in ENTRYPOINTS:
        if (verb, url) not in PUBLIC or verb != "GET" or service == "workbench":  # not started by `hub`
            continue
        answer = requests.get(hub.url(service, url.replace("<code>", code)), timeout=10)
        assert answer.status_code == 200, (service, url, answer.status_code)


def test_an_intake_channel_reads_only_the_cases_its_own_key_brought_in(hub):
    code = hub.region.codes[0]
    first, second, staff = hub.key(code), hub.key(code), hub.key(code, "staff")
    case_id = hub.report(first).json()["case_id"]
    url = hub.url("intake", f"/api/v1/incidents/{case_id}")

    assert requests.get(url, headers={"Authorization": f"Bearer {first}"}, timeout=10).status_code == 200
    other = requests.get(url, headers={"Authorization": f"Bearer {second}"}, timeout=10)
    assert other.status_code == 404 and "Sanne" not in other.text
    assert requests.get(url, headers={"Authorization": f"Bearer {staff}"}, timeout=10).status_code == 200


def test_an_operator_sees_dead_letter_summaries_without_bodies(hub):
    from tests.support import publish_raw

    code = hub.region.codes[0]
    operator = {"Authorization": f"Bearer {hub.key(code, 'operator')}"}
    # malformed (no envelope, a name in it), but naming the operator's municipality: an operator sees only
    # their own municipality's letters (tests/integration/test_dead_letters_scope.py)
    publish_raw(hub.settings.amqp_uri, "intake.events", "incident_reported",
                f'{{"municipality": "{code}", "name": "Sanne Jansen"}}'.encode())
    from tests.support import wait_for

    listed = wait_for(lambda: (r := requests.get(hub.url("triage", "/api/v1/dead-letters"), headers=operator,
                                                 timeout=10).json())["count"] >= 1 and r,
                      what="a parked message")
    assert listed["service"] == "triage"
    assert "Sanne" not in str(listed)
    staff = {"Authorization": f"Bearer {hub.key(code, 'staff')}"}
    assert requests.get(hub.url("triage", "/api/v1/dead-letters"), headers=staff, timeout=10).status_code == 403
