"""Helpers for tests that use the real broker and databases."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import psycopg2.extras
import requests
import yaml
from kombu import Connection, Exchange, Producer

from shared.config import DEFAULT_REGION_FILE, REPO_ROOT
from hub.registry import load_region
from shared.clock import FixedClock
from shared.crypto import new_master_key
from tests.engines import free_port  # noqa: F401  (tests import it from here too)

# MELDPUNT_TEST_PG: the PostgreSQL server of the tests' databases (every test that makes one asks here), e.g. a
# server of one's own for a full run on a shared machine or for the bench; the machine's by default
PG = os.environ.get("MELDPUNT_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
# One fresh random master key per test run, like the run's databases: data keys wrapped in one test
# (hub.data_keys of the run's case stores) must unwrap in the next.
def listened_on(address: str) -> bool:
    """Whether something listens on `host:port` already (its port cannot be bound)."""
    import socket

    host, port = address.rsplit(":", 1)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections closing there are no listener
        try:
            probe.bind((host, int(port)))
        except OSError:
            return True
    return False


RUN_MASTER_KEY = new_master_key()


def write_test_region(path: Path, run_id: str, second_server: str | None = None) -> list[str]:
    """A copy of the demo region with databases named for this run (and Terneuzen's conflicts of interest
    routed to Goes' meldpunt, `conflicts_to`); returns the names of those on
    this machine's server. `second_server` (`postgresql://postgres@host:port`): the second half of
    the municipalities keep their case stores there (a server of the run's own, dropped whole)."""
    demo = yaml.safe_load(DEFAULT_REGION_FILE.read_text())
    databases = []
    municipalities = demo["municipalities"]
    for m in municipalities:  # one conflict route to a second meldpunt (the others go to the region)
        if m["code"] == "GM0715":
            m["conflicts_to"] = "GM0664"
    for index, m in enumerate(municipalities):
        name = f"mh_test_{run_id}_{m['code'].lower()}"
        if second_server and index >= len(municipalities) // 2:
            m["case_store_dsn"] = f"{second_server}/{name}"
            continue
        m["case_store_dsn"] = f"{PG}/{name}"
        databases.append(name)
    demo["statistics_dsn"] = f"{PG}/mh_test_{run_id}_statistics"
    databases.append(f"mh_test_{run_id}_statistics")
    demo["key_store_dsn"] = f"{PG}/mh_test_{run_id}_keys"
    databases.append(f"mh_test_{run_id}_keys")
    demo["workbench"]["database_dsn"] = f"{PG}/mh_test_{run_id}_workbench"
    databases.append(f"mh_test_{run_id}_workbench")
    demo["triage"]["index_dsn"] = f"{PG}/mh_test_{run_id}_repeat_index"
    databases.append(f"mh_test_{run_id}_repeat_index")
    path.write_text(yaml.safe_dump(demo, sort_keys=False))
    return databases


def migrate(region_path: Path) -> None:
    from shared.db.migrate import migrate_region

    migrate_region(load_region(region_path))


def drop_databases(names) -> None:
    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in names:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()




RUN_MASTER_KEY = new_master_key()

# The workbench listens on one port for the whole run: the test identity provider registers its
# redirect URIs once (OpenID Connect compares them exactly).
WORKBENCH_PORT = None
OIDC_CLIENT_SECRET = "test-oidc-client-secret-" + uuid.uuid4().hex
_OIDC_SECRET_FILE = None


def workbench_port() -> int:
    global WORKBENCH_PORT
    if WORKBENCH_PORT is None:
        WORKBENCH_PORT = free_port()
    return WORKBENCH_PORT


def oidc_secret_file() -> str:
    """The test provider's client secret, in a file as the region file wants it."""
    global _OIDC_SECRET_FILE
    if _OIDC_SECRET_FILE is None:
        import tempfile

        handle = tempfile.NamedTemporaryFile("w", prefix="mh_test_oidc_", suffix=".secret", delete=False)
        handle.write(OIDC_CLIENT_SECRET)
        handle.close()
        _OIDC_SECRET_FILE = handle.name
    return _OIDC_SECRET_FILE


OIDC_ISSUER = None  # set by the oidc_provider fixture when a test provider runs


# The management API of the broker the tests use: nameko's --rabbit-api-uri (tests/conftest.py sets it), so that a
# run against a RabbitMQ node of one's own (--amqp-uri, --rabbit-api-uri) reads that node's queues too.
RABBIT_API_URI = "http://guest:guest@127.0.0.1:15672/api/"
RETRY_DELAYS = "0.2,0.4"  # quick retries; the topology tests/broker.py recycles has a retry queue per step


def hub_environment(region_file: Path, amqp_uri: str) -> dict:
    env = {
        "MELDPUNT_REGION": str(region_file),
        "MELDPUNT_AMQP_URI": amqp_uri,
        "MELDPUNT_RABBIT_API_URI": RABBIT_API_URI,
        "MELDPUNT_RETRY_DELAYS": RETRY_DELAYS,
        "MELDPUNT_OUTBOX_SWEEP_SECONDS": "0.2",
        # one more than the stores a service visits in turn (the test region's four case stores, triage's repeat index)
        # beside the relay's marking connection: at 4 the pool closed one store's connection to open another's on
        # nearly every visit (test_faults: 1,900 new connections, 24 of the server's CPU-s; at 6: 560, 11)
        "MELDPUNT_DB_MAX_CONNECTIONS": "6",
        # idle connections closed after 2 s, not 30: the jobs' hubs mostly wait, and held idle at their cap they
        # took the machine's PostgreSQL past its 100 connections (docs/operations.md, tests and connections)
        "MELDPUNT_DB_IDLE_SECONDS": "2",
        "MELDPUNT_LOG_LEVEL": "WARNING",
        # a fresh random master key per test run, like the run's databases; never a fixed one
        # (one per test would leave a data key wrapped by an earlier test's key in the shared case store)
        "MELDPUNT_MASTER_KEY": RUN_MASTER_KEY,
        "MELDPUNT_REGION_SECRET": "test-region-secret-" + "0123456789abcdef" * 2,
        # load tests drive one key per municipality hard; test_hardened_http tests the limit itself
        "MELDPUNT_API_RATE_PER_MINUTE": "60000",
        "MELDPUNT_API_BURST": "1000",
    }
    from shared.names import SERVICES

    for service in SERVICES:
        env[f"MELDPUNT_{service.upper()}_PORT"] = str(free_port())
        env[f"MELDPUNT_{service.upper()}_OPERATOR_PORT"] = str(free_port())
    env["MELDPUNT_WORKBENCH_PORT"] = str(workbench_port())
    # the demo region's workbench signs in at the test provider (tests/oidc.py); without one running,
    # an address nobody answers (the workbench still starts: it reads the provider when someone signs in)
    env["MELDPUNT_OIDC_ISSUER"] = OIDC_ISSUER or "http://127.0.0.1:9"
    env["MELDPUNT_OIDC_SECRET_FILE"] = oidc_secret_file()
    return env


# How long a test waits for the hub to do something before it fails. It is no measure of speed:
# a test goes on the moment the proof is there (wait_for), so only a broken test ever waits this
# long; short deadlines (15 s for a path through three services) failed tests on a busy machine.
PATIENCE = float(os.environ.get("MELDPUNT_TEST_PATIENCE", "120"))


# The PostgreSQL connections `query` keeps open within kept_connections (each wait_for's polls, a check of many
# cases), one per database: a new connection costs a process fork on the server and a few milliseconds on each side.
_WAITING: dict | None = None


@contextlib.contextmanager
def kept_connections():
    """`query` keeps one connection per database until the outermost of these ends, then closes them."""
    global _WAITING
    if _WAITING is not None:
        yield
        return
    _WAITING = {}
    try:
        yield
    finally:
        connections, _WAITING = _WAITING, None
        for conn in connections.values():
            conn.close()


def wait_for(predicate, timeout: float | None = None, interval: float = 0.05, what: str = "condition"):
    """Wait until `predicate()` gives the proof that the hub did something (a row, an event, a
    message) and return it. Never sleep a fixed time in a test: wait for what proves the step
    (for "nothing more happens", WatchedClock.rounds: the scan that would have done it ran)."""
    # a deadline is no measure of speed: one shorter than PATIENCE given by a test is raised to it, so that a
    # busy machine (CI beside other work, four jobs on two cores) fails no test that would pass on a quiet one
    timeout = PATIENCE if timeout is None else max(timeout, PATIENCE)
    deadline = time.monotonic() + timeout
    with kept_connections():
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)


def query(dsn: str, sql: str, params=()) -> list[dict]:
    """The rows of one statement, committed. Inside a wait_for on the wait's connection to `dsn`; each poll
    still sees what was committed since the last (one transaction per call)."""
    kept = _WAITING.pop(dsn, None) if _WAITING is not None else None
    if kept is not None:
        try:
            return _run(kept, dsn, sql, params)
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            if not kept.closed:
                raise
            # the kept connection was lost (a server restarted, its backend ended): once more on a new one
    return _run(psycopg2.connect(dsn), dsn, sql, params)


def _run(conn, dsn: str, sql: str, params) -> list[dict]:
    """One statement on `conn`, committed; `conn` is then kept for the wait's next poll, if in one, or closed."""
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
        conn.commit()
    except BaseException:
        if not conn.closed:  # a lost connection says so (closed), and query tries a kept one's poll again
            conn.close()
        raise
    if _WAITING is not None:
        _WAITING[dsn] = conn
    else:
        conn.close()
    return rows


def create_key(settings, code: str, role: str = "intake_channel", label: str = "test") -> str:
    from shared import auth
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    pool = ConnectionPool(1)
    try:
        with Stores(settings, pool, "test").case_store(code) as uow:
            return auth.create_key(uow, label, role)[1]
    finally:
        pool.close()


def case_store_uow(settings, code: str):
    """A unit of work on a case store with the test hub's keyring, for reading or changing encrypted data."""
    import contextlib

    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    @contextlib.contextmanager
    def opened():
        pool = ConnectionPool(1)
        try:
            with Stores(settings, pool, "test").case_store(code) as uow:
                yield uow
        finally:
            pool.close()
    return opened()


def incident(settings, code: str, case_id) -> dict | None:
    """The incident as intake's store reads it: personal data decrypted."""
    from services.intake import store

    with case_store_uow(settings, code) as uow:
        return store.get_incident(uow, case_id)


def publish_raw(amqp_uri: str, exchange: str, routing_key: str, body, headers=None, **properties) -> None:
    """Publish like an outside producer would: persistent, confirmed."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.default_channel)
        kwargs = dict(exchange=Exchange(exchange, type="topic", durable=True) if exchange else "",
                      routing_key=routing_key, headers=headers or {}, delivery_mode=2, **properties)
        if isinstance(body, (bytes, str)):
            kwargs.setdefault("content_type", "application/json")
            kwargs.setdefault("content_encoding", "utf-8")
        producer.publish(body, **kwargs)


def incident_body(**overrides) -> dict:
    body = {
        "occurred_at": "2026-11-20T14:05:00+01:00",
        "description": "Een bezoeker dreigde aan de balie dat hij mij iets zou aandoen.",
        "location_type": "balie",
        "target_role": "ambtenaar",
        "reporter": {"name": "Sanne Jansen", "email": "s.jansen@example.nl", "phone": "0612345678"},
        "perpetrators": [{"name": "Kees Bakker", "birth_date": "1975-04-12",
                          "description": "man, ongeveer 50 jaar"}],
        "consent": {"contact": True, "police_referral": True, "inform_manager": False,
                    "employer_reports": False},
        "categories": ["bedreiging"],
    }
    body.update(overrides)
    return body


class Hub:
    """The running hub under test, as an outside client sees it."""

    def __init__(self, settings):
        self.settings = settings
        self.region = settings.region

    def url(self, service: str, path: str) -> str:
        """The service's public port; /metrics lives on its operator port only."""
        if path.startswith("/metrics"):
            return self.operator_url(service, path)
        return f"http://127.0.0.1:{self.settings.ports[service]}{path}"

    def operator_url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.settings.operator_ports[service]}{path}"

    def public_url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.settings.ports[service]}{path}"

    def key(self, code: str, role: str = "intake_channel") -> str:
        return create_key(self.settings, code, role)

    def report(self, key: str, body=None, idempotency_key: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return requests.post(self.url("intake", "/api/v1/incidents"), json=body or incident_body(),
                             headers=headers, timeout=10, **kwargs)

    def report_until_answered(self, key: str, body=None, give_up_after: float = 120.0) -> requests.Response:
        """Report as a careful partner does during an outage: the same Idempotency-Key again
        after a lost connection or a 5xx, until the hub gives a definite answer."""
        idempotency_key, deadline = str(uuid.uuid4()), time.monotonic() + give_up_after
        while True:
            try:
                response = self.report(key, body, idempotency_key=idempotency_key)
                if response.status_code < 500 or time.monotonic() > deadline:
                    return response
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def case_store(self, code: str) -> str:
        return self.region.municipality(code).case_store_dsn

    def finish_case(self, code: str, case_id) -> None:
        """Finish a case's work through the services' own APIs, as their staff do: a coordinator
        confirms triage, the police liaison refuses the referral, an aftercare worker closes
        the plan. Waits for the referral and the plan the report's consent brings first."""
        store = self.case_store(code)
        wait_for(lambda: query(store, "SELECT 1 FROM triage.results WHERE case_id = %s", (case_id,)),
                 what="the triage result")
        [referral] = wait_for(lambda: query(store, "SELECT referral_id FROM police_liaison.referrals "
                                            "WHERE case_id = %s", (case_id,)), what="the referral")
        [plan] = wait_for(lambda: query(store, "SELECT plan_id FROM aftercare.care_plans WHERE case_id = %s",
                                        (case_id,)), what="the care plan")
        for service, path, role, body in (
                ("triage", f"/api/v1/triage/{case_id}/confirm", "coordinator", {}),
                ("police_liaison", f"/api/v1/referrals/{referral['referral_id']}/steps", "police_liaison",
                 {"status": "afgewezen", "reason": "Geen strafbaar feit."}),
                ("aftercare", f"/api/v1/aftercare/plans/{plan['plan_id']}/close", "aftercare_worker",
                 {"reason": "completed"})):
            done = requests.post(self.url(service, path), json=body, timeout=10,
                                 headers={"Authorization": f"Bearer {self.key(code, role)}"})
            assert done.status_code == 200, (path, done.status_code, done.text)

    def facts(self, code: str, case_id) -> dict | None:
        from services.statistics.domain import case_ref
        from shared.keyed import statistics_key_of

        rows = query(self.region.statistics_dsn,
                     "SELECT * FROM statistics.incident_facts WHERE municipality = %s AND case_ref = %s",
                     (code, case_ref(statistics_key_of(self.settings), case_id)))
        return rows[0] if rows else None


def meldpunt(env: dict, *args, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the operators' CLI in a subprocess, as an operator would: for what only a process shows (its exit
    code from `python -m hub.cli`, `run`, `stop`, signals) and the end-to-end tests. `cli` for the rest."""
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], cwd=REPO_ROOT, env=_full_env(env),
                          capture_output=True, text=True, timeout=timeout)


def cli(env: dict, *args, timeout: float | None = None) -> subprocess.CompletedProcess:
    """The operators' CLI called in this process (hub.cli.main), for tests of what a command does: the same
    arguments, environment (os.environ and `env`, for the call), stdout, stderr and exit code as `meldpunt`
    gives, without a Python start-up, the CLI's imports and the region's loading, about 1 CPU-s a call (21 of
    the 31 CPU-s of test_partner_subscribers, 2026-12-06). What the command logs at WARNING or above goes to
    its stderr, as in a process where nothing configured logging; other green threads' records do not.
    `timeout` is `meldpunt`'s; here the test's own timeout bounds the call."""
    import contextlib
    import io
    import logging
    import threading
    import traceback

    from hub.cli import main

    out, err = io.StringIO(), io.StringIO()
    me = threading.get_ident()
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    handler.addFilter(lambda record: record.thread == me)
    saved = dict(os.environ)
    os.environ.update(env)
    logging.getLogger().addHandler(handler)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
                if not isinstance(exc.code, (int, type(None))):
                    print(exc.code, file=sys.stderr)
            except Exception:
                traceback.print_exc()
                code = 1
    finally:
        logging.getLogger().removeHandler(handler)
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["meldpunt", *args], code or 0, out.getvalue(), err.getvalue())


def _full_env(env: dict) -> dict:
    import os

    return {**os.environ, **env}


def dumps(obj) -> str:
    return json.dumps(obj, default=str)


def drain(amqp_uri: str, queue: str) -> list[dict]:
    """Every message body waiting in a queue (acknowledged: they are gone afterwards)."""
    bodies = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        while True:
            message = channel.basic_get(queue, no_ack=True)
            if message is None:
                break
            bodies.append(json.loads(message.body))
        channel.close()
    return bodies


# Canary strings in every personal field of a report: none of them may ever leave the case store.
CANARIES = ("kanarie", "0611223344", "0655443322", "1961-07-19", "KN-42-RY")


def canary_body(**overrides) -> dict:
    """A report with a canary (see CANARIES) in every personal and free-text field."""
    return incident_body(
        description="KanarieOmschrijving: hij dreigde aan de balie.",
        own_kind="KanarieEigenSoort", location_detail="KanarieLocatie 12, Middelburg",
        injuries="KanarieLetsel aan de arm", damage="KanarieSchade aan de deur",
        reporter={"name": "KanarieMelder", "email": "kanarie.melder@voorbeeld.test", "phone": "0611223344"},
        target={"department": "KanarieAfdeling", "function": "KanarieFunctie"},
        perpetrators=[{"name": "KanarieDader", "description": "KanarieBeschrijvingDader", "online_handle": "kanarie_handle",
                       "phone": "0655443322", "birth_date": "1961-07-19", "vehicle": "KanarieAuto",
                       "licence_plate": "KN-42-RY"}],
        witnesses=[{"name": "KanarieGetuige", "contact": "kanarie.getuige@voorbeeld.test",
                    "statement": "KanarieVerklaring"}],
        **overrides)


def canaries_in(text: str) -> list[str]:
    lowered = text.lower()
    return [canary for canary in CANARIES if canary.lower() in lowered]


CASE_TABLES = ("intake.incidents", "triage.results", "police_liaison.referrals", "aftercare.care_plans")
PATH_EVENTS = ("incident_reported", "incident_triaged", "referral_created", "aftercare_planned")


def case_progress(hub, code: str, case_id) -> dict:
    """Where a case's path stopped: its rows in the case store, its events in the outbox (published or not),
    and what statistics knows of it. For a test that timed out waiting for the path to finish."""
    dsn = hub.case_store(code)
    rows = {table: len(query(dsn, f"SELECT 1 FROM {table} WHERE case_id = %s", (str(case_id),)))
            for table in CASE_TABLES}
    events = query(dsn, "SELECT event_type, published_at IS NOT NULL AS published FROM hub.outbox "
                        "WHERE envelope->>'case_id' = %s ORDER BY id", (str(case_id),))
    facts = hub.facts(code, case_id)
    from shared.messaging.dlq import DeadLetters
    from shared.names import SERVICES

    dead = DeadLetters(hub.settings.amqp_uri)
    parked = {service: [(letter.event_type, letter.error[:300]) for letter in dead.list(service, municipality=code)
                        if letter.case_id == str(case_id)] for service in SERVICES}
    return {"rows": rows, "outbox": [(e["event_type"], e["published"]) for e in events],
            "statistics": {k: facts[k] for k in ("referred", "aftercare_planned") if k in facts} if facts else None,
            "parked": {service: letters for service, letters in parked.items() if letters}}


def verify_exactly_once(settings, accepted, timeout: float = 120.0) -> str:
    """Every accepted (municipality, case id) completes its path exactly once: one case, one
    triage result, one referral, one care plan, each path event once in the outbox, and
    statistics counting exactly the accepted incidents. Returns what it verified."""
    with kept_connections():  # one connection per database for all of it, not one per case and query
        return _verify_exactly_once(settings, accepted, timeout)


def _verify_exactly_once(settings, accepted, timeout: float) -> str:
    hub = Hub(settings)
    for code, case_id in accepted:
        try:
            wait_for(lambda: (f := hub.facts(code, case_id)) and f["referred"] and f["aftercare_planned"],
                     timeout=timeout, what=f"case {case_id} of {code} to complete")
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}; how far it got: {case_progress(hub, code, case_id)}") from None
    for code in settings.region.codes:
        cases = [str(c) for m, c in accepted if m == code]
        dsn = hub.case_store(code)
        for table in CASE_TABLES:
            rows = query(dsn, f"SELECT case_id::text, count(*) AS n FROM {table} GROUP BY case_id")
            counts = {r["case_id"]: r["n"] for r in rows}
            assert sorted(counts) == sorted(cases), f"{table} of {code}: {len(counts)} cases for {len(cases)} accepted"
            assert all(n == 1 for n in counts.values()), f"{table} of {code} holds a case twice"
        events = query(dsn, "SELECT event_type, count(*) AS n, count(DISTINCT envelope->>'case_id') AS cases "
                            "FROM hub.outbox GROUP BY event_type")
        counts = {r["event_type"]: r for r in events}
        for event_type in PATH_EVENTS:
            assert counts[event_type]["n"] == counts[event_type]["cases"] == len(cases), f"{event_type} of {code}"
        reminders = counts.get("aftercare_contact_due")
        assert reminders is None or reminders["n"] == reminders["cases"], "a first-contact reminder twice"
    facts = query(settings.region.statistics_dsn, "SELECT count(*) AS n, count(*) FILTER "
                                                  "(WHERE referred AND aftercare_planned) AS done "
                                                  "FROM statistics.incident_facts")[0]
    assert facts["n"] == facts["done"] == len(accepted), f"statistics counts {facts} for {len(accepted)} accepted"
    return (f"verified: {len(accepted)} accepted incidents, each with one case, one triage result, one referral, "
            f"one care plan and each path event once; statistics counts exactly {facts['n']}")


class WorkbenchHub(Hub):
    """The running hub with its workbench, and the test identity provider people sign in with."""

    def __init__(self, settings, provider, clock=None):
        super().__init__(settings)
        self.provider = provider
        self.clock = clock
        self.workbench = self.url("workbench", "")

    def browser(self):
        from tests.oidc import Browser

        return Browser()

    def signed_in(self, domain: str, username: str):
        """A browser with a session of this person (their first page)."""
        browser = self.browser()
        page = browser.sign_in(self.workbench, domain, username)
        assert page.status_code == 200, (page.status_code, page.url, page.text[:300])
        return browser, page


class WatchedClock(FixedClock):
    """A FixedClock that counts its reads by the function that read it: `rounds(entrypoint)` waits
    until a service's timer has run whole rounds on the time the test set. nameko's timer starts a
    round only when the last one finished, and a round reads the clock first, so the second read
    after the test moved the clock proves one whole round ran on the new time."""

    def __init__(self, at):
        super().__init__(at)
        self.reads: dict[str, int] = {}

    def now(self):
        reader = sys._getframe(1).f_code.co_name
        self.reads[reader] = self.reads.get(reader, 0) + 1
        return super().now()

    def rounds(self, entrypoint: str, rounds: int = 1) -> None:
        """Return once `entrypoint` (a @timer method that reads `self.clock.now()` first) has run
        `rounds` whole rounds that began after this call."""
        start = self.reads.get(entrypoint, 0)
        wait_for(lambda: self.reads.get(entrypoint, 0) >= start + rounds + 1,
                 what=f"{rounds} whole round(s) of {entrypoint}")


class ShiftableClock:
    """The system clock, moved forward by a test on purpose (a service's idle timeout)."""

    def __init__(self):
        from datetime import timedelta

        self.offset = timedelta(0)

    def now(self):
        from datetime import datetime, timezone

        return datetime.now(timezone.utc) + self.offset
