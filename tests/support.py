"""Helpers for tests that use the real broker and databases."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import psycopg2.extras
import requests
import yaml
from kombu import Connection, Exchange, Producer

from shared.config import DEFAULT_REGION_FILE, REPO_ROOT, load_region
from shared.crypto import new_master_key

PG = "postgresql://postgres@127.0.0.1:5432"


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


def hub_environment(region_file: Path, amqp_uri: str) -> dict:
    env = {
        "MELDPUNT_REGION": str(region_file),
        "MELDPUNT_AMQP_URI": amqp_uri,
        "MELDPUNT_RETRY_DELAYS": "0.2,0.4",
        "MELDPUNT_OUTBOX_SWEEP_SECONDS": "0.2",
        "MELDPUNT_DB_MAX_CONNECTIONS": "4",
        "MELDPUNT_LOG_LEVEL": "WARNING",
        # a fresh random master key per test environment; never a fixed one
        "MELDPUNT_MASTER_KEY": new_master_key(),
        "MELDPUNT_REGION_SECRET": "test-region-secret-" + "0123456789abcdef" * 2,
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

    def report(self, key: str, body=None, **kwargs) -> requests.Response:
        return requests.post(self.url("intake", "/api/v1/incidents"), json=body or incident_body(),
                             headers={"Authorization": f"Bearer {key}"}, timeout=10, **kwargs)

    def case_store(self, code: str) -> str:
        return self.region.municipality(code).case_store_dsn

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
