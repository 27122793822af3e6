"""The services' OpenAPI 3 documents, in the shape the Dutch API Design Rules (ADR 2.x) ask.

A service's document is built from its own @api entrypoints (shared/http.py), each naming the
marshmallow schemas it loads and answers with, through apispec's MarshmallowPlugin: the code and
the document share one definition of every field. `finish` gives every document what the rules
want of all of them: the API under a server URL with its major version (`/api/v1`), the rest
(health, metrics, the public form) on path-level servers, `API-Version` on every answer, and
every 4xx and 5xx as application/problem+json. tools/spectral/adr.yaml lints the result.
"""
from __future__ import annotations

import copy
import inspect
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from shared.auth import PERMISSIONS
from shared.http import API_VERSION, PROBLEM_JSON, ApiRequestHandler

API_BASE = "/api/v1"
OPENAPI_PATH = f"{API_BASE}/openapi.json"
OPENAPI_VERSION = "3.0.3"
CONTACT = {"name": "Meldpunt Hub (regional meldpunt)", "url": "https://meldpunthub.nl",
           "email": "api@meldpunthub.nl"}
LICENSE = {"name": "EUPL-1.2", "url": "https://eupl.eu/1.2/nl/"}
METHODS = ("get", "put", "post", "delete", "patch")
# How an entrypoint names the permission it asks (the same pattern tests/integration/test_access_control.py reads).
_GUARD = re.compile(r'self\._(?:principal|authenticated)\(request, "([a-z_]+:[a-z_]+)"')
_PATH_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


class InvalidParamSchema(Schema):
    name = fields.String(required=True, metadata={"description": "the field or header at fault, e.g. reporter.email"})
    reason = fields.String(required=True, metadata={"description": "why, in the caller's language (Accept-Language)"})


class ProblemSchema(Schema):
    """application/problem+json (RFC 9457) in the style of the Dutch government API design rules."""
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    invalid_params = fields.List(fields.Nested(InvalidParamSchema), data_key="invalid-params")


def problem(description: str) -> dict:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": "Problem"}}}


def new_spec(title: str, version: str, description: str) -> APISpec:
    """An APISpec with the parts every hub document shares: contact, licence, the key scheme, Problem."""
    spec = APISpec(title=title, version=version, openapi_version=OPENAPI_VERSION,
                   info={"description": description, "contact": CONTACT, "license": LICENSE},
                   plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("apiKey", {
        "type": "http", "scheme": "bearer",
        "description": "An API key `GM<code>.<key id>.<secret>` (meldpunt keys), or the workbench's person "
                       "assertion; the key decides the municipality and the role (docs/security.md)."})
    spec.components.schema("Problem", schema=ProblemSchema)
    return spec


# ----------------------------------------------------------------------------- a service's own document

def entrypoints(service_cls) -> list[tuple]:
    """(python method, ApiRequestHandler) of every HTTP entrypoint of the service class, in name order."""
    found = []
    for attr in sorted(dir(service_cls)):
        method = getattr(service_cls, attr)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ApiRequestHandler):
                found.append((method, entrypoint))
    return found


def permission_of(method) -> str | None:
    """The permission the entrypoint asks of its caller (shared/auth.py PERMISSIONS), None for a public one."""
    try:
        found = _GUARD.findall(inspect.getsource(method))
    except (OSError, TypeError):
        return None
    return found[0] if found else None


def is_page(url: str) -> bool:
    """A page for people (the statistics dashboard, the workbench): no part of the service's API document."""
    return not url.startswith("/api/") and url not in ("/health", "/metrics")


def listing(key: str, schema, paged: bool = False) -> dict:
    """The JSON schema of an answer {key: [schema, …], …} (a list page); `paged`: with the `total`
    there is in all and the page's `limit` and `offset` (as GET /api/v1/cases)."""
    properties: dict = {key: {"type": "array", "items": schema}}
    if paged:
        properties.update({name: {"type": "integer", "minimum": 0} for name in ("total", "limit", "offset")})
    return {"type": "object", "properties": properties}


def _operation(method, entrypoint) -> dict:
    doc = inspect.getdoc(method) or ""
    summary, _, more = doc.partition("\n\n")
    summary = " ".join(summary.split()) or method.__name__.replace("_", " ").capitalize()
    permission = permission_of(method)
    op: dict = {"operationId": method.__name__, "summary": summary[:300], "responses": {}}
    description = " ".join(more.split())
    if permission:
        roles = ", ".join(sorted(PERMISSIONS.get(permission, ())))
        description = f"Permission `{permission}` (roles: {roles}). {description}".strip()
        op["security"] = [{"apiKey": []}]
    if description:
        op["description"] = description
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "string", "format": "uuid"} if name.endswith("_id") else {"type": "string"}}
                  for name in _PATH_PARAM.findall(entrypoint.url)]
    query = entrypoint.query
    if isinstance(query, (list, tuple)):  # parameters the entrypoint reads itself
        parameters += list(query)
    elif query is not None:  # a marshmallow schema: apispec makes one parameter of each field
        parameters.append({"in": "query", "schema": query})
    if parameters:
        op["parameters"] = parameters
    responses = op["responses"]
    answer = entrypoint.answer if entrypoint.answer is not None else {"type": "object"}
    media = entrypoint.content or "application/json"
    media = (media,) if isinstance(media, str) else media
    responses[str(entrypoint.status)] = {
        "description": "done" if entrypoint.method != "GET" else "found",
        "content": {m: {"schema": answer if m == "application/json" else {"type": "string"}} for m in media}}
    if entrypoint.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": entrypoint.body}}}
        responses.update({"400": problem("the body is not JSON"), "413": problem("the body is too large"),
                          "415": problem("not application/json"),
                          "422": problem("invalid fields, each named in invalid-params")})
    if query is not None and not isinstance(query, (list, tuple)):
        responses["422"] = problem("an invalid query parameter, named in invalid-params")
    if permission:
        responses.update({"401": problem("no key, or an unknown one"),
                          "403": problem("the key's role lacks the permission"),
                          "429": problem("over the key's rate limit; Retry-After says when to try again")})
    if "<" in entrypoint.url:
        responses["404"] = problem("no such thing, or one the caller may not see")
    for status, why in entrypoint.errors.items():
        responses[str(status)] = problem(why)
    op["responses"] = dict(sorted(responses.items()))
    return op


def generated(service_cls, title: str, description: str) -> dict:
    """The OpenAPI document of a service, from its entrypoints and their marshmallow schemas (apispec
    names each component after its class, less "Schema"), finished."""
    spec = new_spec(title, service_cls.api_version, description)
    by_path: dict = {}
    for method, entrypoint in entrypoints(service_cls):
        if is_page(entrypoint.url):
            continue
        for verb in entrypoint.method.split(","):
            by_path.setdefault(served_path(entrypoint.url), {})[verb.lower()] = _operation(method, entrypoint)
    for path in sorted(by_path):
        spec.path(path=path, operations=by_path[path])
    return finish(spec.to_dict())


# ----------------------------------------------------------------------------- what every document gets

OPENAPI_OPERATION = {
    "operationId": "openapi", "summary": "This document (OpenAPI 3, JSON), for anyone; CORS allows every origin",
    "responses": {"200": {"description": "the OpenAPI document", "headers": {
        "Access-Control-Allow-Origin": {"schema": {"type": "string", "enum": ["*"]}}},
        "content": {"application/json": {"schema": {"type": "object"}}}}}}
HEALTH = {"operationId": "health", "summary": "Broker and databases reachable (`?probe=live`: the process serves)",
          "parameters": [{"name": "probe", "in": "query", "required": False,
                          "schema": {"type": "string", "enum": ["live"]}}],
          "responses": {"200": {"description": "healthy or degraded", "content": {"application/json": {
              "schema": {"type": "object"}}}},
              "503": {"description": "unavailable, with the reason (the health report, not a problem)",
                      "content": {"application/json": {"schema": {"type": "object"}}}}}}
METRICS = {"operationId": "metrics",
           "summary": "Prometheus metrics, on the service's operator port only (its port + 1000, "
                      "MELDPUNT_<SERVICE>_OPERATOR_PORT); the public port answers 404",
           "responses": {"200": {"description": "text exposition format (the operator port)",
                                 "content": {"text/plain": {"schema": {"type": "string"}}}},
                         "404": {"description": "asked on the public port",
                                 "content": {"application/problem+json": {"schema": {"type": "object"}}}}}}
DEAD_LETTERS_ANSWER = {"type": "object", "properties": {
    "service": {"type": "string"}, "count": {"type": "integer"},
    "messages": {"type": "array", "items": {"type": "object"}}}}


def finish(document: dict) -> dict:
    """What the API design rules ask of every document, applied to one built with apispec:
    `servers` = /api/v1 and the API's paths relative to it; health, metrics and pages keep their own
    path-level server; the document's own path; `API-Version` (required) on every answer; 4xx and
    5xx as problem+json (health's 503 excepted: it is the health report)."""
    document = copy.deepcopy(document)
    document["servers"] = [{"url": API_BASE, "description": "this service (its host and port: docs/api.md)"}]
    components = document.setdefault("components", {})
    components.setdefault("headers", {})[API_VERSION] = {
        "description": "The full semantic version of this API (/core/version-header); the major version is "
                       "the one in the path",
        "required": True, "schema": {"type": "string", "example": document["info"]["version"]}}
    paths = {}
    for path, item in document.get("paths", {}).items():
        if path.startswith(API_BASE + "/"):
            paths[path[len(API_BASE):]] = item
        else:
            paths[path] = {**item, "servers": [{"url": "/", "description": "outside the versioned API"}]}
    paths["/openapi.json"] = {"get": OPENAPI_OPERATION}
    for path, operation in (("/health", HEALTH), ("/metrics", METRICS)):
        if path in paths:
            paths[path]["get"] = operation
    tags = set()
    for path, item in paths.items():
        for verb in METHODS:
            if verb not in item:
                continue
            # operations are grouped by their first path segment ("incidents", "referrals", "health")
            item[verb].setdefault("tags", [path.strip("/").split("/")[0].split(".")[0]])
            item[verb].setdefault("operationId", verb + "".join(
                word.capitalize() for word in re.split(r"[^a-z0-9]+", path.lower()) if word))
            tags.update(item[verb]["tags"])
            for response in item[verb].get("responses", {}).values():
                response.setdefault("headers", {})[API_VERSION] = {"$ref": f"#/components/headers/{API_VERSION}"}
    document["paths"] = dict(sorted(paths.items()))
    document["tags"] = [{"name": tag} for tag in sorted(tags)]
    return document


def operations(document: dict) -> set[tuple[str, str]]:
    """(method, URL path as served) of every operation the document describes, e.g. ("get", "/api/v1/cases")."""
    base = document["servers"][0]["url"].rstrip("/")
    found = set()
    for path, item in document["paths"].items():
        server = (item.get("servers") or [{"url": base}])[0]["url"].rstrip("/")
        found |= {(verb, server + path) for verb in item if verb in METHODS}
    return found


def served_path(url: str) -> str:
    """A nameko route ("/api/v1/triage/<case_id>") as a document writes it ("/api/v1/triage/{case_id}")."""
    return _PATH_PARAM.sub(r"{\1}", url)
