"""HTTP conventions of every service: JSON in, problem+json out, nothing leaked.

Errors follow the Dutch government API design rules: `application/problem+json`
(RFC 9457) with an `invalid-params` list naming each bad field. The `api` entrypoint
turns the hub's exceptions into those answers and any unexpected error into a bare 500
without a stack trace; the details go to the log under the request's correlation id.
Every answer, an unknown path's 404 too, carries `API-Version` (the service's full API
version, /core/version-header); `/v1` is in every API path, and a trailing slash or a
doubled one is 404, never a redirect (/core/no-trailing-slash). An entrypoint names the
marshmallow schemas of its body, query and answer, from which its service's OpenAPI
document is built (shared/openapi.py).
"""
from __future__ import annotations

import io
import json
import logging
import socket
import time
import uuid
from functools import partial

import eventlet
import psycopg2.errors
from eventlet import wsgi
from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp, parse_address
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from shared import metrics
from shared.auth import Forbidden, Unauthorized
from shared.config import settings_from_nameko
from shared.errors import Refused

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
API_VERSION = "API-Version"
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


NUL_REASON = "must not contain the NUL character (\\u0000), which no stored text can hold"


def nul_fields(data, prefix: str = "") -> list[str]:
    """The names (a.b.0) of the strings in a request's fields or keys that hold a NUL character: PostgreSQL
    cannot store one in text, so such input is refused at the door (422), before any handler or query."""
    if isinstance(data, str):
        return [prefix or "body"] if "\x00" in data else []
    if isinstance(data, dict):
        return [name for key, value in data.items()
                for name in ([f"{prefix}.{key}" if prefix else str(key)] if "\x00" in str(key) else [])
                + nul_fields(value, f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(data, (list, tuple)):
        return [name for i, value in enumerate(data) for name in nul_fields(value, f"{prefix}.{i}" if prefix else str(i))]
    return []


def load_or_422(schema, data):
    """The schema's load of a request's query or body; every invalid field named (422 problem+json)."""
    refused = nul_fields(data)
    if refused:
        raise Problem(422, "Unprocessable Content", "one or more fields are invalid",
                      invalid_params=[{"name": name, "reason": NUL_REASON} for name in refused])
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise Problem(422, "Unprocessable Content", "one or more fields are invalid",
                      invalid_params=invalid_params(exc.messages)) from None


class RequestTimeout(socket.timeout):
    """A client that sent its request line, headers or body too slowly (slowloris): the connection closes."""


class _Deadline:
    """The request body's file, each read bounded by what is left of the body's deadline. A per-read socket
    timeout alone does not stop a client trickling one byte every few seconds."""

    def __init__(self, rfile, due: float):
        self._rfile, self._due = rfile, due

    def _bounded(self, read, *args):
        remaining = self._due - time.monotonic()
        if remaining <= 0:
            raise RequestTimeout("request body not complete in time")
        with eventlet.Timeout(remaining, RequestTimeout("request body not complete in time")):
            return read(*args)

    def read(self, *args):
        return self._bounded(self._rfile.read, *args)

    def readline(self, *args):
        return self._bounded(self._rfile.readline, *args)

    def __getattr__(self, name):
        return getattr(self._rfile, name)


class _HardenedProtocol(HttpOnlyProtocol):
    """eventlet's HTTP protocol with deadlines. A connection idle for `socket_timeout` before a request (a
    keep-alive wait) is closed quietly; once a request's first byte is in, its request line and headers must
    be complete within `header_seconds` and its body within `body_seconds` (else 408)."""

    def _read_request_line(self):
        if not self.rfile.closed:
            try:
                if not self.rfile.peek(1):  # the client closed the connection
                    return ""
            except OSError:  # idle past the socket timeout, or reset
                return ""
        self._headers_due = time.monotonic() + self.server.header_seconds
        with eventlet.Timeout(self.server.header_seconds, RequestTimeout("request line not complete in time")):
            return super()._read_request_line()

    def parse_request(self):
        remaining = self._headers_due - time.monotonic()
        if remaining <= 0:
            raise RequestTimeout("headers not complete in time")
        with eventlet.Timeout(remaining, RequestTimeout("headers not complete in time")):
            return super().parse_request()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except socket.timeout:  # only the request line and headers get here: the app answers a slow body
            self.close_connection = 1
            self.wfile.write(_problem_bytes(408, "Request Timeout", "the request did not arrive in time",
                                            f"{API_VERSION}: {self.server.api_version}\r\n"))

    def get_environ(self):
        environ = super().get_environ()
        body = environ["eventlet.input"]  # the same object as wsgi.input
        body.rfile = _Deadline(body.rfile, time.monotonic() + self.server.body_seconds)
        return environ


def _problem_bytes(status: int, title: str, detail: str, headers: str = "") -> bytes:
    """A whole problem+json answer as bytes, for the socket itself (no WSGI app involved)."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    return (f"HTTP/1.1 {status} {title}\r\nContent-Type: {PROBLEM_JSON}\r\nConnection: close\r\n"
            f"{headers}Content-Length: {len(body)}\r\n\r\n").encode("ascii") + body


def _answer_and_close(sock, status: int, title: str, detail: str, headers: str = "") -> None:
    """A problem+json answer straight on the socket, then close (a connection past the cap)."""
    try:
        sock.settimeout(1.0)
        sock.sendall(_problem_bytes(status, title, detail, headers))
    except OSError:
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def api_version_of(container) -> str:
    """The full semantic version of a service's API (its class's `api_version`; docs/api.md#changelog)."""
    return getattr(container.service_cls, "api_version", None) or "1.0.0"


class _ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, answering unknown paths (404) and wrong methods (405) as problem+json.

    A JSON-sized body (up to MELDPUNT_MAX_BODY_BYTES, by its Content-Length) is read here, in the
    connection's own greenthread, before a worker, a database connection or a row lock is taken for it:
    a slow client then holds nothing but its connection."""

    def __init__(self, server, preread_bytes: int = 0, operator: bool = False):
        self.server = server
        self.url_map = server.make_url_map(operator)
        self.preread_bytes = preread_bytes
        # "/api//v1/x" is not found either: werkzeug would answer it with a 308 to "/api/v1/x", and
        # the API design rules want one URI per resource and no redirects to guess one
        self.url_map.merge_slashes = False
        for rule in self.url_map.iter_rules():
            rule.merge_slashes = False
        self.url_map.update()
        self.api_version = api_version_of(server.container)

    def __call__(self, environ, start_response):
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            self._read_body_first(environ)
            request = Request(environ, shallow=True)
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else None
            response = Problem(exc.code, exc.name, headers=headers).response()
        except socket.timeout:
            response = Problem(408, "Request Timeout", "the request body did not arrive in time",
                               headers={"Connection": "close"}).response()
        response.headers.setdefault(API_VERSION, self.api_version)
        return response(environ, start_response)

    def _read_body_first(self, environ) -> None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return
        if 0 < length <= self.preread_bytes:
            stream, parts, got = environ["wsgi.input"], [], 0
            while got < length:
                part = stream.read(length - got)  # bounded by the body's deadline (_Deadline)
                if not part:
                    break
                parts.append(part)
                got += len(part)
            environ["wsgi.input"] = io.BytesIO(b"".join(parts))


def _listen(address):
    """A listening socket the port is ours alone on (no SO_REUSEPORT): a port in use fails loudly."""
    sock = eventlet.listen(address, reuse_port=False)
    sock.settimeout(None)  # kombu/celery#838, as nameko does
    return sock


class ProblemWebServer(WebServer):
    """nameko's web server with the limits an attacker would test (docs/security.md, HTTP limits): a socket
    timeout on every read, deadlines for headers and body, and a cap on open connections per process.

    It listens on two ports: the public one (WEB_SERVER_ADDRESS: the API, the public form) and the operator
    port (MELDPUNT_OPERATOR_ADDRESS) that alone serves the entrypoints marked `operator=True` (GET /metrics).
    Without an operator address those are served nowhere."""

    def setup(self):
        super().setup()
        settings = settings_from_nameko(self.container.config) if "MELDPUNT_SETTINGS" in self.container.config \
            else None
        self.max_connections = settings.http_max_connections if settings else 200
        self.idle_seconds = settings.http_idle_seconds if settings else 10.0
        self.header_seconds = settings.http_header_seconds if settings else 15.0
        self.body_seconds = settings.http_body_seconds if settings else 60.0
        self.preread_bytes = settings.max_body_bytes if settings else 256 * 1024
        self.open_connections = 0
        self._operator = None  # (socket, wsgi server, greenthread) of the operator port

    def make_url_map(self, operator: bool = False):
        url_map = Map()
        for provider in self._providers:
            if getattr(provider, "operator", False) == operator:
                rule = provider.get_url_rule()
                rule.endpoint = provider
                url_map.add(rule)
        return url_map

    def start(self):
        if self._starting:
            return
        self._starting = True
        # nameko's own start listens with eventlet's default SO_REUSEPORT: a second process (a stale hub, a
        # test's leftover container) could then bind the same port and silently take half the connections
        self._sock = _listen(self.bind_addr)
        self._serv = self.get_wsgi_server(self._sock, self.get_wsgi_app())
        self._gt = self.container.spawn_managed_thread(self.run)
        address = self.container.config.get("MELDPUNT_OPERATOR_ADDRESS")
        if address:
            sock = _listen(parse_address(address))
            server = self.get_wsgi_server(sock, _ProblemWsgiApp(self, self.preread_bytes, operator=True))
            self._operator = (sock, server, self.container.spawn_managed_thread(partial(self.run, sock, server)))

    def stop(self):
        self._close_operator()
        super().stop()

    def kill(self):
        """A killed container (nameko's default is to do nothing here) gives its ports back at once, not
        when the garbage collector finds the sockets."""
        self._close_operator()
        if self._starting and self._sock is not None:
            self._is_accepting = False
            self._sock.close()

    def _close_operator(self):
        if self._operator is not None:
            sock, _, thread = self._operator
            self._operator = None
            thread.kill()
            sock.close()

    def get_wsgi_app(self):
        return _ProblemWsgiApp(self, self.preread_bytes)

    def get_wsgi_server(self, sock, wsgi_app, protocol=_HardenedProtocol, debug=False):
        server = wsgi.Server(sock, sock.getsockname(), wsgi_app, protocol=protocol, debug=debug,
                                 log=logging.getLogger("nameko.web.server"), socket_timeout=self.idle_seconds)
        server.header_seconds, server.body_seconds = self.header_seconds, self.body_seconds
        server.api_version = api_version_of(self.container)
        return server

    def run(self, listener=None, server=None):
        listener, server = listener or self._sock, server or self._serv
        while self._is_accepting:
            sock, addr = listener.accept()
            if self.open_connections >= self.max_connections:
                _answer_and_close(sock, 503, "Service Unavailable", "too many open connections; try again",
                                  f"Retry-After: 5\r\n{API_VERSION}: {api_version_of(self.container)}\r\n")
                continue
            sock.settimeout(server.socket_timeout)
            self.open_connections += 1
            self.container.spawn_managed_thread(partial(self._serve, server, sock, addr))

    def _serve(self, server, sock, addr):
        try:
            server.process_request([addr, sock, wsgi.STATE_IDLE])
        except OSError as exc:  # a client gone very early (nameko's process_request says the same)
            if "raw readinto() returned invalid length" not in str(exc):
                raise
        finally:
            self.open_connections -= 1


class ApiRequestHandler(HttpRequestHandler):
    """nameko's @http, answering the hub's exceptions as problem+json and hiding the rest.

    What the OpenAPI document says of the operation (shared/openapi.py) is declared here, beside the
    route: `body` and `query` the marshmallow schemas the entrypoint loads, `answer` the schema (or a
    JSON schema) of what it answers with `status`, `errors` the refusals beyond those the document
    derives ({409: "why"}), `content` the answer's media type when it is not JSON."""

    server = ProblemWebServer()

    def __init__(self, method, url, *, body=None, query=None, answer=None, status=None, errors=None,
                 content=None, operator: bool = False, **kwargs):
        self.operator = operator  # served on the operator port only (ProblemWebServer)
        kwargs.setdefault("expected_exceptions", (Problem, Refused, Unauthorized, Forbidden))
        self.body, self.query, self.answer, self.errors, self.content = body, query, answer, errors or {}, content
        self.status = status or 200
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        response = super().handle_request(request)
        for name, value in SECURITY_HEADERS.items():  # pages bring their own CSP and caching
            response.headers.setdefault(name, value)
        response.headers[API_VERSION] = api_version_of(self.container)
        correlation_id = getattr(request, "correlation_id", None)
        if correlation_id:
            response.headers["X-Correlation-ID"] = correlation_id
        metrics.HTTP_REQUESTS.labels(self.container.service_name, self.url, str(response.status_code)).inc()
        return response

    def response_from_exception(self, exc):
        if isinstance(exc, Problem):
            return exc.response()
        if isinstance(exc, Refused):  # a use case's refusal (shared/errors.py)
            return Problem(exc.status, exc.title, exc.detail, exc.invalid_params).response()
        if isinstance(exc, Unauthorized):
            return Problem(401, "Unauthorized", str(exc),
                           headers={"WWW-Authenticate": 'Bearer realm="meldpunt"'}).response()
        if isinstance(exc, Forbidden):
            return Problem(403, "Forbidden", str(exc)).response()
        if isinstance(exc, (psycopg2.errors.LockNotAvailable, psycopg2.errors.QueryCanceled)):
            # lock_timeout or statement_timeout (MELDPUNT_DB_*): busy, not broken; the client may try again
            log.warning("%s %s gave up waiting in the database: %s", self.method, self.url, type(exc).__name__)
            return Problem(503, "Service Unavailable", "the case is busy; try again shortly",
                           headers={"Retry-After": "2"}).response()
        if _timed_out(exc):  # a body read by the worker (an upload) that came too slowly
            return Problem(408, "Request Timeout", "the request body did not arrive in time",
                           headers={"Connection": "close"}).response()
        incident = uuid.uuid4()
        log.error("unhandled error answering %s %s (error id %s)", self.method, self.url, incident,
                  exc_info=(type(exc), exc, exc.__traceback__))
        return Problem(500, "Internal Server Error",
                       f"something went wrong on our side; error id {incident}").response()


def _timed_out(exc) -> bool:
    """A read past its deadline, also where werkzeug turned it into ClientDisconnected (400)."""
    while exc is not None:
        if isinstance(exc, socket.timeout):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


api = ApiRequestHandler.decorator
