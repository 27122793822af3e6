"""A zaak in the municipality's zaaksysteem (issue 24, item 5), against Prism serving VNG's published Zaken API
1.5.1 document (tools/zgw), which validates every request the hub makes: a case's life gives a zaak, its
statuses and a resultaat; an event seen twice adds nothing; a zaaksysteem that is down delays the zaak and
the retry finds what an earlier attempt made; allowed fields are written in the disclosure ledger."""
from __future__ import annotations

import contextlib
import re
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import psycopg2
import pytest

from shared.db import migrate
from shared.db.unit_of_work import UnitOfWork
from tests import support

from services.zaaksysteem import handlers, store
from services.zaaksysteem.options import OptionsSchema

CODE = "GM0687"
CATALOGI = "https://catalogi.gemeente.example/catalogi/api/v1"
T0 = datetime(2026, 12, 6, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def zaken_api():
    from tests import prism

    missing = prism.available()
    if missing:
        pytest.skip(missing)
    server = prism.Prism(prism.ZAKEN_API, support.free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def case_store():
    name = f"mh_test_{uuid.uuid4().hex[:8]}_zaaksysteem"
    migrate.ensure_database(f"{support.PG}/{name}")
    try:
        migrate.apply(f"{support.PG}/{name}", migrate.CASE_STORE_COMPONENTS)
        yield name
    finally:
        support.drop_databases([name])


@pytest.fixture
def opener(case_store):
    conn = psycopg2.connect(f"{support.PG}/{case_store}")

    @contextlib.contextmanager
    def open_uow():
        with conn:
            yield UnitOfWork(conn, "zaaksysteem", CODE)
    yield open_uow
    conn.close()


def _options(url: str, **extra) -> dict:
    return OptionsSchema().load({"municipalities": {CODE: {
        "enabled": True, "zaken_api": url, "rsin": "002220647", "zaaktype": f"{CATALOGI}/zaaktypen/4f1c",
        "statustypen": {s: f"{CATALOGI}/statustypen/{s}" for s in ("ontvangen", "beoordeeld", "afgesloten")},
        "resultaattypen": {o: f"{CATALOGI}/resultaattypen/{o}" for o in ("afgehandeld", "ingetrokken")},
        "client_id": "meldpunt-hub", "secret": {"env": "MELDPUNT_TEST_ZGW_SECRET"}, "timeout_seconds": 20, **extra}},
        "first_delay_seconds": 30})


def _event(event_type, case_id, at, **payload):
    return SimpleNamespace(event_type=event_type, municipality=CODE, case_id=case_id, occurred_at=at, payload=payload)


def _requests(server, since: int) -> list[str]:
    """What Prism received after line `since`, as 'POST /zaken', and every violation it reported."""
    lines = server.lines[since:]
    received = [" ".join(m.groups()) for m in (re.search(r"\[HTTP SERVER\] (\w+) ([^?\s]+)\S* .*Request received", l)
                                               for l in lines) if m]
    violations = [l for l in lines if "✖" in l]
    return [r.split(" ")[0].upper() + " " + r.split(" ")[1] for r in received], violations


def _region_env(store_name, tmp_path):
    import yaml

    demo = yaml.safe_load(support.DEFAULT_REGION_FILE.read_text())
    for m in demo["municipalities"]:  # only GM0687's store exists; the command reaches no other
        m["case_store_dsn"] = f"{support.PG}/{store_name}" if m["code"] == CODE else f"{support.PG}/{store_name}_{m['code']}"
    demo["statistics_dsn"] = f"{support.PG}/{store_name}_statistics_unused"
    region = tmp_path / "region.yaml"
    region.write_text(yaml.safe_dump(demo, sort_keys=False))
    return {"MELDPUNT_REGION": str(region)}


def test_a_cases_life_is_a_zaak_with_its_statuses_and_resultaat(zaken_api, opener, case_store, tmp_path, monkeypatch):
    monkeypatch.setenv("MELDPUNT_TEST_ZGW_SECRET", "zgw-test-secret")
    options = _options(zaken_api.url)
    case_id = uuid.uuid4()
    life = [_event("incident_reported", case_id, T0, reported_categories=["bedreiging"]),
            _event("incident_triaged", case_id, T0 + timedelta(hours=1)),
            _event("incident_triaged", case_id, T0 + timedelta(hours=1)),  # seen twice: nothing more
            _event("triage_overridden", case_id, T0 + timedelta(hours=2)),  # the zaak has that status already
            _event("incident_closed", case_id, T0 + timedelta(days=9))]
    with opener() as uow:
        added = [handlers.on_event(e, uow, options) for e in life]
    assert added == [True, True, False, False, True]
    since = len(zaken_api.lines)
    counts = handlers.deliver_due(opener, CODE, options, T0 + timedelta(days=10))
    assert counts == {"delivered": 3, "failed": 0}
    received, violations = _requests(zaken_api, since)
    assert received == ["POST /zaken", "POST /statussen", "POST /statussen", "POST /resultaten", "POST /statussen"]
    assert violations == []
    with opener() as uow:
        log = store.deliveries(uow, case_id)
        assert {r["step"]: r["state"] for r in log} == {"aanmaken": "delivered", "beoordeeld": "delivered",
                                                         "afsluiten": "delivered"}
        assert uow.disclosed(case_id) == []  # no field beyond the reference allowed: nothing disclosed
    assert handlers.deliver_due(opener, CODE, options, T0 + timedelta(days=11)) == {"delivered": 0, "failed": 0}
    shown = support.cli(_region_env(case_store, tmp_path), "zaaksysteem", "deliveries", CODE, "--case", str(case_id))
    assert shown.returncode == 0, shown.stderr
    assert [line.split()[3:5] for line in shown.stdout.splitlines()] == [
        ["aanmaken", "delivered"], ["afsluiten", "delivered"], ["beoordeeld", "delivered"]]


def test_a_zaaksysteem_that_is_down_delays_the_zaak_and_the_retry_finds_it_first(zaken_api, opener, monkeypatch):
    monkeypatch.setenv("MELDPUNT_TEST_ZGW_SECRET", "zgw-test-secret")
    down = _options(f"http://127.0.0.1:{support.free_port()}", shared_fields=["occurred_at", "categories"])
    case_id = uuid.uuid4()
    with opener() as uow:
        handlers.on_event(_event("incident_reported", case_id, T0, occurred_at="2026-12-05T22:10:00+00:00",
                                 reported_categories=["bedreiging", "intimidatie"]), uow, down)
        handlers.on_event(_event("incident_withdrawn", case_id, T0 + timedelta(seconds=20)), uow, down)
    assert handlers.deliver_due(opener, CODE, down, T0)["failed"] == 1
    with opener() as uow:
        [row] = [r for r in store.deliveries(uow, case_id) if r["step"] == "aanmaken"]
        assert row["state"] == "pending" and row["attempts"] == 1 and "ConnectionError" in row["last_error"]
        assert row["next_attempt_at"] == T0 + timedelta(seconds=30)
    up = _options(zaken_api.url, shared_fields=["occurred_at", "categories"])
    assert handlers.deliver_due(opener, CODE, up, T0 + timedelta(seconds=10)) == {"delivered": 0, "failed": 0}
    since = len(zaken_api.lines)
    assert handlers.deliver_due(opener, CODE, up, T0 + timedelta(seconds=31)) == {"delivered": 2, "failed": 0}
    received, violations = _requests(zaken_api, since)
    # the retry looks the zaak up by its identificatie first (Prism's example answer holds one: no second POST)
    assert received == ["GET /zaken", "POST /statussen", "POST /resultaten", "POST /statussen"]
    assert violations == []
    with opener() as uow:
        [ledger] = uow.disclosed(case_id)
    assert ledger["channel"] == "zgw_export" and ledger["fields"] == ["categories", "occurred_at"]


def test_the_service_follows_a_case_from_its_events_into_a_zaak(zaken_api, settings, start_services, monkeypatch):
    """The nameko shell (port 8008): intake and triage run, a case is reported, triaged and closed through the
    hub's APIs; the zaaksysteem service takes the events from its queues (inbox) and its timer hands a zaak, its
    statuses and its resultaat to the zaaksysteem, which finds no violation. Another municipality, without a
    zaaksysteem, gets nothing recorded."""
    import dataclasses

    import requests

    monkeypatch.setenv("MELDPUNT_TEST_ZGW_SECRET", "zgw-test-secret")
    options = {**_options(zaken_api.url), "poll_seconds": 0.2}
    region = dataclasses.replace(settings.region, options={**settings.region.options, "zaaksysteem": options})
    mine = dataclasses.replace(settings, region=region)
    start_services("intake", "triage", "zaaksysteem", settings=mine)
    since = len(zaken_api.lines)

    def report(code):
        answer = requests.post(f"http://{mine.http_address('intake')}/api/v1/incidents", json=support.incident_body(),
                               headers={"Authorization": f"Bearer {support.create_key(mine, code)}"}, timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()["case_id"]

    case_id, elsewhere = report(CODE), report("GM0718")
    dsn = region.municipality(CODE).case_store_dsn

    def states():
        rows = support.query(dsn, "SELECT step, state FROM zaaksysteem.deliveries WHERE case_id = %s", (case_id,))
        return {r["step"]: r["state"] for r in rows}

    support.wait_for(lambda: states() == {"aanmaken": "delivered", "beoordeeld": "delivered"},
                     what="the zaak made and assessed")
    closed = requests.post(f"http://{mine.http_address('intake')}/api/v1/incidents/{case_id}/close",
                           json={"reason": "handled"}, timeout=30,
                           headers={"Authorization": f"Bearer {support.create_key(mine, CODE, 'coordinator')}"})
    assert closed.status_code == 200, closed.text
    support.wait_for(lambda: states().get("afsluiten") == "delivered", what="the zaak closed")
    received, violations = _requests(zaken_api, since)
    # this case's zaak, statuses and resultaat; other tests' cases of the same (shared) store whose events reach this
    # zaaksysteem meanwhile get theirs too, so what this case's deliveries sent is counted by their steps
    expected = ["POST /zaken", "POST /statussen", "POST /statussen", "POST /resultaten", "POST /statussen"]
    others = support.query(dsn, "SELECT count(*) AS n FROM zaaksysteem.deliveries WHERE case_id <> %s", (case_id,))
    if others[0]["n"] == 0:
        assert received == expected
    else:
        assert not Counter(expected) - Counter(received), received
    assert violations == []
    assert support.query(region.municipality("GM0718").case_store_dsn,
                         "SELECT count(*) AS n FROM zaaksysteem.deliveries WHERE case_id = %s", (elsewhere,))[0]["n"] == 0
    inbox = support.query(dsn, "SELECT event_type FROM hub.inbox WHERE consumer LIKE 'zaaksysteem%%' "
                               "AND event_id IN (SELECT (envelope->>'event_id')::uuid FROM hub.outbox "
                               "WHERE envelope->>'case_id' = %s)", (case_id,))
    assert {r["event_type"] for r in inbox} >= {"incident_reported", "incident_triaged", "incident_closed"}
