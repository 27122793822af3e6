"""What every hub service has besides its own work: health, metrics and a correlation id.

Services inherit `HubService`; nameko finds the entrypoints and dependencies declared
here just like their own.
"""
from __future__ import annotations

import logging
import math
import uuid

from kombu import Connection
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request, Response

from shared import auth, logs, metrics
from shared.clock import ClockProvider
from shared.config import settings_from_nameko
from shared.dependencies import Storage
from shared.events import Event
from shared.http import SECURITY_HEADERS, Problem, api, json_response
from shared.messaging.dlq import DeadLetters
from shared.messaging.topology import dead_letter_queue
from shared.ratelimit import TokenBucket
from shared.scan import Rotations

log = logging.getLogger(__name__)


class Correlation(DependencyProvider):
    """Sets the correlation id of each worker: from its event, the X-Correlation-ID header, or new."""

    def get_dependency(self, worker_ctx):
        # nameko injects dependencies before worker_setup, so the id is decided here
        value = None
        first = worker_ctx.args[0] if worker_ctx.args else None
        if isinstance(first, Event):
            value = str(first.correlation_id)
        elif isinstance(first, Request):
            value = _uuid_or_none(first.headers.get("X-Correlation-ID"))
        worker_ctx.data["correlation_id"] = value or str(uuid.uuid4())
        if isinstance(first, Request):
            first.correlation_id = worker_ctx.data["correlation_id"]  # echoed in the response
        return worker_ctx.data["correlation_id"]

    def worker_setup(self, worker_ctx):
        logs.correlation_id.set(worker_ctx.data["correlation_id"])


def _uuid_or_none(value):
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


class KeyRateLimit(DependencyProvider):
    """One token bucket per API key for this service process (MELDPUNT_API_RATE_PER_MINUTE, _BURST)."""

    def setup(self):
        settings = settings_from_nameko(self.container.config)
        self.bucket = TokenBucket(settings.api_rate_per_minute, settings.api_burst)

    def get_dependency(self, worker_ctx):
        return self.bucket


class HubService:
    name = "hub"
    storage = Storage()
    correlation_id = Correlation()
    clock = ClockProvider()
    key_rate = KeyRateLimit()
    rotations = Rotations()  # which stores a periodic scan visits on this tick (shared/scan.py)

    def _principal(self, request, permission: str, authorization: str | None = None) -> auth.Principal:
        """The caller's key, checked in its own municipality's case store, with `permission`:
        401 for an unknown key, 429 for a key over its rate, 403 for a known key without the right.
        `authorization` stands in for the Authorization header where a browser brings the key
        another way (a cookie)."""
        return self._authenticated(request, permission, authorization)[0]

    def _authenticated(self, request, permission: str, authorization: str | None = None, also=None):
        """`_principal`, and `also(uow, principal)` read in the same transaction as the key."""
        header = authorization if authorization is not None else request.headers.get("Authorization")
        principal, extra = auth.authenticate_with(header, self.storage.region, self.storage.case_store, also)
        wait = self.key_rate.take(f"{principal.municipality}.{principal.key_id}")
        if wait:
            seconds = max(1, math.ceil(wait))
            log.warning("api key %s of %s over its rate limit (%s %s)", principal.key_id, principal.municipality,
                        request.method, request.path)
            raise Problem(429, "Too Many Requests", f"this key made too many requests; try again in {seconds} s",
                          headers={"Retry-After": str(seconds)})
        auth.authorize(principal, permission)
        return principal, extra

    @api("GET", "/health")
    def health(self, request):
        """200 when this service reaches its broker and every database it uses; 503 with the reason."""
        settings = self.storage.settings
        checks, healthy = {}, True
        try:
            with Connection(settings.amqp_uri, connect_timeout=2) as conn:
                conn.connect()
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
            healthy = False
        for label, dsn in self.storage.targets:
            try:
                self.storage.reachable(dsn)
                checks[f"db:{label}"] = "ok"
            except Exception as exc:
                checks[f"db:{label}"] = f"unreachable: {type(exc).__name__}"
                healthy = False
        return json_response({"service": self.name, "status": "ok" if healthy else "unavailable",
                              "checks": checks}, status=200 if healthy else 503)

    @api("GET", "/metrics")
    def metrics(self, request):
        settings = self.storage.settings
        try:
            with Connection(settings.amqp_uri, connect_timeout=2) as conn:
                queue = dead_letter_queue(self.name)(conn.default_channel)
                _, depth, _ = queue.queue_declare(passive=True)
                metrics.DEAD_LETTERS.labels(self.name).set(depth)
        except Exception:  # the gauge keeps its last value; /health reports the broker
            pass
        body, content_type = metrics.exposition()
        return Response(body, status=200, content_type=content_type, headers=SECURITY_HEADERS)

    @api("GET", "/api/v1/dead-letters")
    def dead_letters(self, request):
        """This service's parked messages for an operator: ids, codes and the error line, no body."""
        self._principal(request, "operations:read")
        parked = DeadLetters(self.storage.settings.amqp_uri).list(self.name, limit=100)
        return json_response({"service": self.name, "count": len(parked),
                              "messages": [letter.summary() for letter in parked]})
