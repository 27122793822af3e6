"""Case stores on two PostgreSQL servers, one of them taken down.

Every test of the run already uses two servers (the session's test region keeps half its
municipalities on a second server of its own, tests/conftest.py). Here a region of this test's
own puts two municipalities on a server of their own, listed first, and that server goes
down: the others' incidents keep flowing end to end, the periodic scans still reach their
stores, /health names the unreachable municipalities and stays up, and when the server is
back its municipalities work again.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
import yaml

from shared.clock import FixedClock
from shared.config import DEFAULT_REGION_FILE
from tests import support
from tests.support import Hub, incident_body, query, wait_for

DOWN = ("GM0664", "GM0715")  # Goes and Terneuzen: on the server that goes down


@pytest.fixture
def split_region(tmp_path):
    """The demo region with DOWN's case stores on a server of this test's own, listed first (so
    that a scan meets them before the others), the rest and statistics on the machine's server."""
    import shutil

    from tests.engines import postgres_server

    server = postgres_server("outage")
    run_id = uuid.uuid4().hex[:8]
    region = yaml.safe_load(DEFAULT_REGION_FILE.read_text())
    region["municipalities"].sort(key=lambda m: m["code"] not in DOWN)
    ours = []
    for m in region["municipalities"]:
        name = f"mh_test_{run_id}_{m['code'].lower()}"
        if m["code"] in DOWN:
            m["case_store_dsn"] = server.dsn(name)
        else:
            m["case_store_dsn"] = f"{support.PG}/{name}"
            ours.append(name)
    region["statistics_dsn"] = f"{support.PG}/mh_test_{run_id}_statistics"
    ours.append(f"mh_test_{run_id}_statistics")
    region["key_store_dsn"] = f"{support.PG}/mh_test_{run_id}_keys"
    ours.append(f"mh_test_{run_id}_keys")
    region["triage"]["index_dsn"] = f"{support.PG}/mh_test_{run_id}_repeat_index"
    ours.append(f"mh_test_{run_id}_repeat_index")
    path = tmp_path / "split-region.yaml"
    path.write_text(yaml.safe_dump(region, sort_keys=False))
    try:
        support.migrate(path)
        yield path, server
    finally:
        support.drop_databases(ours)
        server.remove()
        shutil.rmtree(server.root, ignore_errors=True)


def completed(hub: Hub, code: str, case_id) -> bool:
    facts = hub.facts(code, uuid.UUID(str(case_id)))
    return bool(facts and facts["referred"] and facts["aftercare_planned"])


def test_one_server_down_holds_back_only_its_municipalities(hub_env, split_region, start_services):
    from hub.registry import load_settings

    path, server = split_region
    settings = load_settings({**hub_env, "MELDPUNT_REGION": str(path)})
    clock = FixedClock(datetime.now(timezone.utc))
    start_services("intake", "triage", "police_liaison", "aftercare", "statistics", settings=settings, clock=clock)
    hub = Hub(settings)
    codes = settings.region.codes
    assert codes[:2] == list(DOWN)
    keys = {code: hub.key(code) for code in codes}

    # both servers: every municipality's incident goes the whole way
    first = {code: hub.report(keys[code]).json()["case_id"] for code in codes}
    for code, case_id in first.items():
        wait_for(lambda: completed(hub, code, case_id), what=f"{code}'s incident to complete")

    server.stop()
    try:
        # the others keep flowing: accepted, triaged, referred, planned, counted
        up = [code for code in codes if code not in DOWN]
        during = {code: hub.report(keys[code], incident_body()).json()["case_id"] for code in up}
        for code, case_id in during.items():
            wait_for(lambda: completed(hub, code, case_id), what=f"{code}'s incident during the outage")
        # a report for a municipality on the stopped server is refused, not half stored: the
        # partner tries again later (with its Idempotency-Key)
        refused = hub.report(keys[DOWN[0]], incident_body())
        assert refused.status_code >= 500

        # /health names what is unreachable and the services stay in service for the others
        for service in ("intake", "triage", "police_liaison", "aftercare"):
            health = requests.get(hub.url(service, "/health"), timeout=30)
            assert health.status_code == 200, health.text
            assert health.json()["status"] == "degraded", (service, health.text)
            assert sorted(health.json()["unreachable"]) == sorted(DOWN)

        # the scans go on past the stopped stores: two days later, the referrals of the
        # municipalities still up are escalated (the escalation scan meets DOWN's stores first)
        clock.advance(days=2)
        for code in up:
            wait_for(lambda: query(hub.case_store(code), "SELECT 1 FROM hub.outbox WHERE event_type = "
                                                         "'referral_escalated'"),
                     what=f"the escalation scan to reach {code}")
    finally:
        server.start({"fsync": "off"})

    # the server is back: its municipalities work again, with nothing to replay by hand
    clock.advance(minutes=1)
    again = hub.report(keys[DOWN[0]], incident_body()).json()["case_id"]
    wait_for(lambda: completed(hub, DOWN[0], again), what="the incident after the server came back")
    health = requests.get(hub.url("intake", "/health"), timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"
