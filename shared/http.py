"""HTTP conventions of every service: JSON in, problem+json out, nothing leaked.

Errors follow the Dutch government API design rules: `application/problem+json`
(RFC 9457) with an `invalid-params` list naming each bad field. The `api` entrypoint
turns the hub's exceptions into those answers and any unexpected error into a bare 500
without a stack trace; the details go to the log under the request's correlation id.
"""
from __future__ import annotations

import json
import logging
import uuid

from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from shared import metrics
from shared.auth import Forbidden, Unauthorized

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # an API answer is data, never a page: nothing may load from it or frame it
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
# What an HTML page of the hub (the public form, the dashboard) sets instead of the API's CSP: its
# stylesheet from the service itself, forms posting to itself, no inline script or style anywhere.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None,
                 invalid_params: list[dict] | None = None, headers: dict | None = None):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.invalid_params = invalid_params
        self.headers = headers or {}

    def response(self, instance: str | None = None) -> Response:
        body = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.invalid_params:
            body["invalid-params"] = self.invalid_params
        return Response(json.dumps(body), status=self.status, mimetype=PROBLEM_JSON,
                        headers={**SECURITY_HEADERS, **self.headers})


def invalid_params(messages, prefix: str = "") -> list[dict]:
    """marshmallow's nested error messages as [{'name': 'a.b.0', 'reason': '…'}]."""
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            out += invalid_params(value, name)
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out += [{"name": prefix or "body", "reason": m} for m in messages]
        else:
            for item in messages:
                out += invalid_params(item, prefix)
    else:
        out.append({"name": prefix or "body", "reason": str(messages)})
    return out


def path_uuid(value: str, what: str) -> uuid.UUID:
    """An id from the URL path; anything that is not one is simply not found (404)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Problem(404, "Not Found", f"no such {what}") from None


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(data, default=str), status=status, mimetype="application/json",
                    headers={**SECURITY_HEADERS, **(headers or {})})


def read_json(request, max_bytes: int):
    """The request's JSON body, or a Problem: 415 wrong type, 413 too large, 400 not JSON."""
    mimetype = (request.mimetype or "").lower()
    if mimetype != "application/json":
        raise Problem(415, "Unsupported Media Type", "send the body as application/json")
    if request.content_length is not None and request.content_length > max_bytes:
        raise Problem(413, "Content Too Large", f"the body may be at most {max_bytes} bytes")
    request.max_content_length = max_bytes
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise Problem(413, "Content Too Large", f"the body may be at most {max_bytes} bytes") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "Bad Request", "the body is not valid JSON") from None


def load_or_422(schema, data):
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise Problem(422, "Unprocessable Content", "one or more fields are invalid",
                      invalid_params=invalid_params(exc.messages)) from None


class _ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, answering unknown paths (404) and wrong methods (405) as problem+json."""

    def __call__(self, environ, start_response):
        adapter = self.url_map.bind_to_environ(environ)
        request = Request(environ, shallow=True)
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else None
            response = Problem(exc.code, exc.name, headers=headers).response()
        return response(environ, start_response)


class ProblemWebServer(WebServer):
    def get_wsgi_app(self):
        return _ProblemWsgiApp(self)


class ApiRequestHandler(HttpRequestHandler):
    """nameko's @http, answering the hub's exceptions as problem+json and hiding the rest."""

    server = ProblemWebServer()

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("expected_exceptions", (Problem, Unauthorized, Forbidden))
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        response = super().handle_request(request)
        for name, value in SECURITY_HEADERS.items():  # pages bring their own CSP and caching
            response.headers.setdefault(name, value)
        correlation_id = getattr(request, "correlation_id", None)
        if correlation_id:
            response.headers["X-Correlation-ID"] = correlation_id
        metrics.HTTP_REQUESTS.labels(self.container.service_name, self.url, str(response.status_code)).inc()
        return response

    def response_from_exception(self, exc):
        if isinstance(exc, Problem):
            return exc.response()
        if isinstance(exc, Unauthorized):
            return Problem(401, "Unauthorized", str(exc),
                           headers={"WWW-Authenticate": 'Bearer realm="meldpunt"'}).response()
        if isinstance(exc, Forbidden):
            return Problem(403, "Forbidden", str(exc)).response()
        incident = uuid.uuid4()
        log.error("unhandled error answering %s %s (error id %s)", self.method, self.url, incident,
                  exc_info=(type(exc), exc, exc.__traceback__))
        return Problem(500, "Internal Server Error",
                       f"something went wrong on our side; error id {incident}").response()


api = ApiRequestHandler.decorator
