"""Helpers for tests that use the real broker and databases."""
from __future__ import annotations

import json
import socket
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

from shared.config import DEFAULT_REGION_FILE, REPO_ROOT, load_region
from shared.crypto import new_master_key

PG = "postgresql://postgres@127.0.0.1:5432"
# One fresh random master key per test run, like the run's databases: data keys wrapped in one test
# (hub.data_keys of the run's case stores) must unwrap in the next.
RUN_MASTER_KEY = new_master_key()


def write_test_region(path: Path, run_id: str) -> list[str]:
    demo = yaml.safe_load(DEFAULT_REGION_FILE.read_text())
    databases = []
    for m in demo["municipalities"]:
        name = f"mh_test_{run_id}_{m['code'].lower()}"
        m["case_store_dsn"] = f"{PG}/{name}"
        databases.append(name)
    demo["statistics_dsn"] = f"{PG}/mh_test_{run_id}_statistics"
    databases.append(f"mh_test_{run_id}_statistics")
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RUN_MASTER_KEY = new_master_key()


def hub_environment(region_file: Path, amqp_uri: str) -> dict:
    env = {
        "MELDPUNT_REGION": str(region_file),
        "MELDPUNT_AMQP_URI": amqp_uri,
        "MELDPUNT_RETRY_DELAYS": "0.2,0.4",
        "MELDPUNT_OUTBOX_SWEEP_SECONDS": "0.2",
        "MELDPUNT_DB_MAX_CONNECTIONS": "4",
        "MELDPUNT_LOG_LEVEL": "WARNING",
        # a fresh random master key per test run, like the run's databases; never a fixed one
        # (one per test would leave a data key wrapped by an earlier test's key in the shared case store)
        "MELDPUNT_MASTER_KEY": RUN_MASTER_KEY,
        "MELDPUNT_REGION_SECRET": "test-region-secret-" + "0123456789abcdef" * 2,
        # load tests drive one key per municipality hard; test_hardened_http tests the limit itself
        "MELDPUNT_API_RATE_PER_MINUTE": "60000",
        "MELDPUNT_API_BURST": "1000",
    }
    for service in ("intake", "triage", "police_liaison", "aftercare", "statistics"):
        env[f"MELDPUNT_{service.upper()}_PORT"] = str(free_port())
    return env


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def query(dsn: str, sql: str, params=()) -> list[dict]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.commit()
        conn.close()


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
        "description": "Een bezoeker schreeuwde aan de balie dat hij mij thuis zou opzoeken.",
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
        from shared.config import region_secret

        rows = query(self.region.statistics_dsn,
                     "SELECT * FROM statistics.incident_facts WHERE municipality = %s AND case_ref = %s",
                     (code, case_ref(region_secret(self.settings), case_id)))
        return rows[0] if rows else None


def meldpunt(env: dict, *args, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the operators' CLI in a subprocess, as an operator would."""
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], cwd=REPO_ROOT, env=_full_env(env),
                          capture_output=True, text=True, timeout=timeout)


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


def verify_exactly_once(settings, accepted, timeout: float = 120.0) -> str:
    """Every accepted (municipality, case id) completes its path exactly once: one case, one
    triage result, one referral, one care plan, each path event once in the outbox, and
    statistics counting exactly the accepted incidents. Returns what it verified."""
    hub = Hub(settings)
    for code, case_id in accepted:
        wait_for(lambda: (f := hub.facts(code, case_id)) and f["referred"] and f["aftercare_planned"],
                 timeout=timeout, what=f"case {case_id} of {code} to complete")
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
