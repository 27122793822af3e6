"""What every hub service has besides its own work: health, metrics and a correlation id.

Services inherit `HubService`; nameko finds the entrypoints and dependencies declared
here just like their own.
"""
from __future__ import annotations

import inspect
import logging
import math
import sys
import uuid

from kombu import Connection
from psycopg2.extensions import parse_dsn
from nameko.extensions import DependencyProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from shared import auth, logs, metrics, signatures
from shared import openapi as documents
from shared.clock import ClockProvider
from shared.config import ConfigError, region_secret, settings_from_nameko
from shared.crypto import MasterKeyMissing
from shared.dependencies import Storage
from shared.events import Event
from shared.http import SECURITY_HEADERS, Problem, api, json_response
from shared.messaging.dlq import DeadLetters
from shared.messaging.nodes import connect
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


def _server(dsn: str) -> tuple:
    """The PostgreSQL server (host, port) a DSN points to."""
    params = parse_dsn(dsn)
    return params.get("host", "localhost"), params.get("port", "5432")


def _uuid_or_none(value):
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


_REGION_SECRETS: dict = {}


class KeyRateLimit(DependencyProvider):
    """One token bucket per API key for this service process (MELDPUNT_API_RATE_PER_MINUTE, _BURST)."""

    def setup(self):
        settings = settings_from_nameko(self.container.config)
        self.bucket = TokenBucket(settings.api_rate_per_minute, settings.api_burst)

    def get_dependency(self, worker_ctx):
        return self.bucket


class KnownKeys(DependencyProvider):
    """The API keys this service process found good (auth.VerifiedKeys): `_principal_to_confirm`."""

    def setup(self):
        self.keys = auth.VerifiedKeys()

    def get_dependency(self, worker_ctx):
        return self.keys


_DOCUMENTS: dict = {}


def _confirmed(uow) -> None:
    """`_principal_to_confirm`'s confirmation of a key read moments ago in a transaction of its own."""


class HubService:
    name = "hub"
    # The full semantic version of the service's HTTP API: the API-Version header of every answer and
    # its OpenAPI document's info.version; the major one is the /v1 in the path (docs/api.md#changelog).
    api_version = "1.1.0"
    storage = Storage()
    correlation_id = Correlation()
    clock = ClockProvider()
    key_rate = KeyRateLimit()
    known_keys = KnownKeys()
    rotations = Rotations()  # which stores a periodic scan visits on this tick (shared/scan.py)

    def _principal(self, request, permission: str, authorization: str | None = None) -> auth.Principal:
        """The caller's key, checked in its own municipality's case store, with `permission`:
        401 for an unknown key, 429 for a key over its rate, 403 for a known key without the right.
        `authorization` stands in for the Authorization header where a browser brings the key
        another way (a cookie)."""
        return self._authenticated(request, permission, authorization)[0]

    # How long a signed request's timestamp holds, and how long its signature is remembered against replays.
    signature_window_seconds = 300

    def _principal_to_confirm(self, request, permission: str):
        """`_principal` for an endpoint whose work is one transaction on the key's own case store: (principal,
        `confirm(uow)`), which that transaction calls first and which raises auth.Unauthorized for a key no
        longer good. A key this process found good before (auth.VerifiedKeys) is taken from memory and read
        again by `confirm` in the request's own transaction (issue 25: one transaction fewer per request;
        a revocation still refuses every request whose transaction starts after it committed); any other key
        is checked now in a transaction of its own, as `_principal` does, and then remembered if it is good."""
        presented = auth.presented_hash(request.headers.get("Authorization"))
        principal = self.known_keys.get(presented)
        if principal is None or request.headers.get(signatures.SIGNATURE_HEADER) is not None:
            # a signed request takes the full check: its key may have been given a signing secret since
            principal, _ = self._authenticated(request, permission, remember=presented)
            return principal, _confirmed
        self._admit(request, principal, permission)

        def confirm(uow):
            if not auth.key_still_good(uow, principal):
                self.known_keys.forget(presented)
                raise auth.Unauthorized("unknown API key")
        return principal, confirm

    def _authenticated(self, request, permission: str, authorization: str | None = None, also=None,
                       remember: bytes | None = None):
        """`_principal`, and `also(uow, principal)` read in the same transaction as the key. A key with a
        signing secret must sign the request (method, path, query, timestamp and body): 401 otherwise."""
        header = authorization if authorization is not None else request.headers.get("Authorization")

        def with_secret(uow, principal):
            return auth.signing_secret(uow, principal.key_id), (also(uow, principal) if also else None)

        # the key and its signing secret are one statement: read in autocommit when nothing else is read with
        # them (Stores.reading; two round trips fewer per request, issue 25)
        principal, found = auth.authenticate_with(header, self.storage.region,
                                                  self.storage.case_store if also else self.storage.reading,
                                                  with_secret, person_check=self._person_check())
        sealed, extra = found if found is not None else (None, None)
        if sealed is not None:
            self._check_signature(request, principal, sealed)
        elif remember is not None and principal.kind == auth.APIKEY:
            self.known_keys.remember(remember, principal)  # `_principal_to_confirm`
        self._admit(request, principal, permission)
        return principal, extra

    def _admit(self, request, principal: auth.Principal, permission: str) -> None:
        """A known caller within its rate (429) and with the permission (auth.Forbidden)."""
        wait = self.key_rate.take(principal.rate_key)
        if wait:
            seconds = max(1, math.ceil(wait))
            log.warning("%s of %s over its rate limit (%s %s)", principal.rate_key, principal.municipality,
                        request.method, request.path)
            raise Problem(429, "Too Many Requests", f"this key made too many requests; try again in {seconds} s",
                          headers={"Retry-After": str(seconds)})
        auth.authorize(principal, permission)

    def _max_signed_body_bytes(self) -> int:
        """The largest body a signed request may have on this service (intake: an evidence upload)."""
        return self.storage.settings.max_body_bytes

    def _check_signature(self, request, principal: auth.Principal, sealed: bytes) -> None:
        """A signing key's request carries a fresh signature over its method, path, query, timestamp and
        body, good for one request (shared/signatures.py); else 401 problem+json naming the header."""
        lang = request.accept_languages.best_match(("en", "nl")) or "en"
        window = self.signature_window_seconds
        try:
            with self.storage.case_store(principal.municipality) as uow:
                try:
                    secret = uow.keyring.decrypt(uow, auth.SIGNING_TABLE, "secret", principal.key_id,
                                                 sealed).decode("utf-8")
                except MasterKeyMissing:  # a service without the master key cannot check: refuse the key
                    raise signatures.SignatureRefused("unverifiable", "Authorization") from None
            signed = signatures.verify(secret, request.headers.get(signatures.TIMESTAMP_HEADER),
                                       request.headers.get(signatures.SIGNATURE_HEADER), request.method,
                                       request.path, request.query_string, self._signed_body(request),
                                       self.clock.now().timestamp(), window)
            with self.storage.case_store(principal.municipality) as uow:
                # committed at once, whatever the request then does: a signature is good for one request
                if not auth.first_sighting(uow, principal.key_id, signed, window):
                    raise signatures.SignatureRefused("replayed", signatures.SIGNATURE_HEADER)
        except signatures.SignatureRefused as refused:
            log.warning("refused the signature of key %s of %s (%s) on %s %s", principal.key_id,
                        principal.municipality, refused.code, request.method, request.path)
            raise Problem(401, "Unauthorized", signatures.DETAIL[lang],
                          invalid_params=[{"name": refused.header,
                                           "reason": signatures.REASONS[refused.code][lang].format(window=window)}],
                          headers={"WWW-Authenticate": 'Bearer realm="meldpunt"'}) from None

    def _signed_body(self, request) -> bytes:
        limit = self._max_signed_body_bytes()
        if request.content_length is not None and request.content_length > limit:
            raise Problem(413, "Content Too Large", f"the body may be at most {limit} bytes")
        request.max_content_length = limit
        try:
            return request.get_data(cache=True)
        except RequestEntityTooLarge:
            raise Problem(413, "Content Too Large", f"the body may be at most {limit} bytes") from None

    def _person_check(self) -> auth.PersonCheck | None:
        """People reach this service through the workbench with a person assertion signed with a key
        derived from the region secret; a hub without one accepts API keys only."""
        secret = self._region_secret()
        if secret is None:
            return None
        return auth.PersonCheck(secret, self.name, now=lambda: self.clock.now().timestamp())

    def _region_secret(self) -> bytes | None:
        """The region secret, read once per process (it may come from a file); None without one."""
        settings = self.storage.settings
        if id(settings) not in _REGION_SECRETS:
            try:
                _REGION_SECRETS[id(settings)] = region_secret(settings)
            except ConfigError:
                _REGION_SECRETS[id(settings)] = None
        return _REGION_SECRETS[id(settings)]

    @classmethod
    def openapi_document(cls) -> dict:
        """The service's OpenAPI 3 document, built once per class from its entrypoints (shared/openapi.py)."""
        if cls not in _DOCUMENTS:
            about = (inspect.getdoc(sys.modules[cls.__module__]) or "").split("\n\n")[0]
            _DOCUMENTS[cls] = documents.generated(cls, f"Meldpunt Hub {cls.name} API", " ".join(about.split()))
        return _DOCUMENTS[cls]

    @api("GET", "/api/v1/openapi.json")
    def openapi(self, request):
        """This service's OpenAPI document, for anyone, from any origin (API design rules: /core/publish-openapi)."""
        return json_response(self.openapi_document(), headers={
            "Cache-Control": "max-age=300", "Access-Control-Allow-Origin": "*",
            "Access-Control-Expose-Headers": "API-Version"})

    @api("GET", "/health")
    def health(self, request):
        """200 when this service reaches its broker and its databases; still 200, `degraded`, when
        only some municipalities' case stores do not answer (the others' work goes on: the
        `unreachable` list names them); 503 when the broker, the statistics database, or every
        case store is unreachable. `?probe=live` only says the process serves (200): a liveness
        probe must not restart a service for a broker or database outage it rides out."""
        if request.args.get("probe") == "live":
            return json_response({"service": self.name, "status": "live"})
        settings = self.storage.settings
        checks, essential_down, stores, unreachable = {}, False, 0, []
        try:
            with connect(settings.amqp_uri, connect_timeout=2):  # any node of a cluster
                pass
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
            essential_down = True
        targets, probed, down_servers = self.storage.targets, set(), set()
        for second_look in (False, True):
            # a store used well in the last 15 s counts as reachable without a round trip, but the
            # first store of each PostgreSQL server is always asked (a few servers, not hundreds of
            # stores); when a store does not answer, every other store on its server is asked too
            for label, dsn in targets:
                server = _server(dsn)
                if second_look and (server not in down_servers or checks[f"db:{label}"] != "ok"):
                    continue
                fresh_seconds = 0.0 if second_look or server not in probed else 15.0
                probed.add(server)
                try:
                    self.storage.reachable(dsn, fresh_seconds)
                    checks[f"db:{label}"] = "ok"
                except Exception as exc:
                    checks[f"db:{label}"] = f"unreachable: {type(exc).__name__}"
                    down_servers.add(server)
            if not down_servers:
                break
        for label, _ in targets:
            if label == "statistics":
                essential_down = essential_down or checks[f"db:{label}"] != "ok"
            else:
                stores += 1
                if checks[f"db:{label}"] != "ok":
                    unreachable.append(label)
        if essential_down or (stores and len(unreachable) == stores):
            status, code = "unavailable", 503
        else:
            status, code = ("degraded" if unreachable else "ok"), 200
        return json_response({"service": self.name, "status": status, "checks": checks,
                              "unreachable": unreachable}, status=code)

    @api("GET", "/metrics", operator=True)
    def metrics(self, request):
        """Prometheus metrics, on the operator port only (MELDPUNT_<SERVICE>_OPERATOR_PORT): timing and counts
        per municipality are for the operators, not for whoever can reach the public form."""
        settings = self.storage.settings
        try:
            with Connection(settings.amqp_uri, connect_timeout=2) as conn:
                queue = dead_letter_queue(self.name)(conn.default_channel)
                _, depth, _ = queue.queue_declare(passive=True)
                metrics.DEAD_LETTERS.labels(self.name).set(depth)
                self._measure_queues(conn)
        except Exception:  # the gauge keeps its last value; /health reports the broker
            pass
        body, content_type = metrics.exposition()
        return Response(body, status=200, content_type=content_type, headers=SECURITY_HEADERS)

    def _measure_queues(self, connection) -> None:
        """More queue depths a service reports at each scrape (police liaison: the units' queues)."""

    @api("GET", "/api/v1/dead-letters", answer=documents.DEAD_LETTERS_ANSWER)
    def dead_letters(self, request):
        """This service's parked messages of the operator's own municipality, in queue order: ids, codes and the
        error line, no body. Another municipality's letters (and those naming none) only `meldpunt dlq` shows."""
        principal = self._principal(request, "operations:read")
        parked = DeadLetters(self.storage.settings.amqp_uri).list(self.name, limit=100,
                                                                   municipality=principal.municipality)
        return json_response({"service": self.name, "count": len(parked),
                              "messages": [letter.summary() for letter in parked]})
