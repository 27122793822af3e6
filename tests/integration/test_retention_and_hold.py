"""What erasure used to miss (issue 21, item 5) and legal hold (item 6), on a case store and key store of the
test's own: staff reasons for a triage confirm or override are encrypted under the case key and the audit keeps
codes; cases that never close reach the retention period; hub.inbox and intake.idempotency_keys are pruned; a
case under legal hold is erased neither by retention nor by hand until the hold is lifted, both audited."""
from __future__ import annotations

import contextlib
import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import psycopg2
import pytest

from services.intake import store as intake
from services.triage import handlers as triage
from services.triage import store as triage_store
from services.triage.domain import TriageResult
from shared.crypto import Keyring
from shared.db import migrate
from shared.db.case_keys import CaseKeyStore
from shared.db.unit_of_work import UnitOfWork
from shared.personal_data import erase_case, lift_hold, run_retention, set_hold
from tests import support

CODE = "GM0687"
NOW = datetime.now(timezone.utc)


@pytest.fixture
def store():
    run = uuid.uuid4().hex[:8]
    names = [f"mh_test_{run}_hold_gm0687", f"mh_test_{run}_hold_keys"]
    dsns = [f"{support.PG}/{name}" for name in names]
    try:
        for dsn, components in zip(dsns, (migrate.CASE_STORE_COMPONENTS, migrate.KEY_STORE_COMPONENTS)):
            migrate.ensure_database(dsn)
            migrate.apply(dsn, components)
        keyring = Keyring(os.urandom(32), case_keys=CaseKeyStore(dsns[1]))

        @contextlib.contextmanager
        def opened():
            conn = psycopg2.connect(dsns[0])
            try:
                with conn:
                    yield UnitOfWork(conn, "test", CODE, keyring=keyring)
            finally:
                conn.close()

        opened.dsn = dsns[0]
        yield opened
    finally:
        support.drop_databases(names)


def _case(opened, *, draft=False, triaged=True):
    case_id = uuid.uuid4()
    with opened() as uow:
        intake.insert_incident(uow, case_id, support.incident_body(), "api", "test", draft=draft)
        if triaged:
            triage_store.save_result(uow, case_id, TriageResult(["bedreiging"], "normaal", ["aftercare"],
                                                                ["Woord 'dreigde' gevonden."], "test"),
                                     NOW, NOW + timedelta(days=1))
    return case_id


def _text(dsn, sql) -> str:
    return json.dumps(support.query(dsn, sql), default=str)


def test_staff_reasons_are_sealed_under_the_case_key_and_the_audit_keeps_codes(store):
    confirmed, overridden = _case(store), _case(store)
    confirm_reason, override_reason = "KANARIE-bevestig-Jansen-kent-hem", "KANARIE-aanpassing-buurman-Piet"
    with store() as uow:
        triage.confirm(confirmed, uow, "person:anna (Anna, staff)", confirm_reason, NOW)
        triage.override(overridden, uow, "person:anna (Anna, staff)",
                        {"categories": ["bedreiging"], "urgency": "hoog", "decisions": [], "reason": override_reason},
                        NOW)
    for table in ("triage.results", "hub.audit_log"):
        seen = _text(store.dsn, f"SELECT * FROM {table}")
        assert "KANARIE" not in seen and "dreigde" not in seen, table
    audit = _text(store.dsn, "SELECT action, reason FROM hub.audit_log WHERE action IN ('confirm', 'override')")
    assert "normaal bedreiging [aftercare]" in audit and "nu hoog bedreiging []" in audit
    with store() as uow:  # staff still read their words back
        assert triage_store.get_result(uow, confirmed)["reasons"][-1] == f"Bevestigd door medewerker: {confirm_reason}"
        assert triage_store.get_result(uow, overridden)["reasons"][-1].endswith(override_reason)
        assert erase_case(uow, overridden, "cli:test", "verzoek") == "erased"
    [row] = support.query(store.dsn, "SELECT personal, reasons FROM triage.results WHERE case_id = %s", (overridden,))
    assert row == {"personal": None, "reasons": None}


def test_cases_that_never_close_reach_the_retention_period_unless_on_legal_hold(store):
    unconfirmed, draft, held = _case(store), _case(store, draft=True, triaged=False), _case(store)
    with store() as uow:
        assert set_hold(uow, held, "rechtbank Zeeland-West-Brabant 2026/123", "cli:beheer") == "set"
        assert set_hold(uow, held, "again", "cli:beheer") == "already on hold"
        assert erase_case(uow, held, "cli:beheer", "verzoek") == "on legal hold"

    assert run_retention(store, 5, NOW + timedelta(days=365 * 4), "cli:cron") == []
    assert sorted(run_retention(store, 5, NOW + timedelta(days=365 * 6), "cli:cron")) == sorted([unconfirmed, draft])
    with store() as uow:
        assert intake.get_incident(uow, held)["description"]
        assert lift_hold(uow, held, "zaak afgerond", "cli:beheer") == "lifted"
        assert lift_hold(uow, held, "zaak afgerond", "cli:beheer") == "not on hold"
    assert run_retention(store, 5, NOW + timedelta(days=365 * 6), "cli:cron") == [held]
    audit = support.query(store.dsn, "SELECT actor, action, subject, reason FROM hub.audit_log WHERE case_id = %s "
                                     "ORDER BY id", (held,))
    assert [(a["action"], a["subject"], a["reason"]) for a in audit if a["action"] in ("hold", "lift", "erase")] == [
        ("hold", "legal hold set", "legal_hold"), ("lift", "legal hold lifted", "legal_hold"),
        ("erase", "personal data of the case", "retention: 5 years after closure")]
    [hold] = support.query(store.dsn, "SELECT reason, set_by, lifted_by, lift_reason FROM hub.legal_holds")
    assert hold == {"reason": "rechtbank Zeeland-West-Brabant 2026/123", "set_by": "cli:beheer",
                    "lifted_by": "cli:beheer", "lift_reason": "zaak afgerond"}


def test_the_inbox_and_idempotency_keys_are_pruned_after_their_use(store):
    case_id = _case(store, triaged=False)
    old, recent = NOW - timedelta(days=120), NOW - timedelta(days=1)
    for at, key in ((old, "oud"), (recent, "nieuw")):
        support.query(store.dsn, "INSERT INTO hub.inbox (consumer, event_id, event_type, handled_at) "
                                 "VALUES ('triage.handle', %s, 'incident_reported', %s)", (uuid.uuid4(), at))
        support.query(store.dsn, "INSERT INTO intake.idempotency_keys (key_id, idempotency_key, request_hash, "
                                 "status_code, response, case_id, created_at) VALUES ('k1', %s, 'h', 201, '{}', %s, %s)",
                      (key, case_id, at))
    run_retention(store, 5, NOW, "cli:cron")
    assert [r["handled_at"] for r in support.query(store.dsn, "SELECT handled_at FROM hub.inbox")] == [recent]
    assert [r["idempotency_key"] for r in support.query(store.dsn, "SELECT idempotency_key FROM "
                                                                   "intake.idempotency_keys")] == ["nieuw"]
