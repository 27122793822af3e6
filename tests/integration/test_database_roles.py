"""Least privilege in PostgreSQL (issue 21, item 1): `meldpunt migrate` makes a role per service with grants on
exactly what it uses. A service's role cannot switch the audit log's append-only trigger off, nor read, change or
empty the log (INSERT only); it reaches its own schema and the few tables shared/case_views.py reads, no other;
statistics and the workbench reach a case store only to check an API key. The incident path runs under the roles."""
from __future__ import annotations

import contextlib
import os
import uuid
from datetime import datetime, timedelta, timezone

import psycopg2
import pytest

from services.intake import store as intake
from services.triage import store as triage_store
from services.triage.domain import TriageResult
from shared.audit_chain import verify
from shared.crypto import Keyring
from shared.db import migrate, roles
from shared.db.unit_of_work import UnitOfWork
from tests import support

NOW = datetime.now(timezone.utc)
DENIED = psycopg2.errors.InsufficientPrivilege


@pytest.fixture(scope="module")
def databases():
    run = uuid.uuid4().hex[:8]
    names = {"case_store": f"mh_test_{run}_roles_gm0687", "statistics": f"mh_test_{run}_roles_statistics"}
    try:
        for kind, components in (("case_store", migrate.CASE_STORE_COMPONENTS),
                                 ("statistics", migrate.STATISTICS_COMPONENTS)):
            dsn = f"{support.PG}/{names[kind]}"
            migrate.ensure_database(dsn)
            migrate.apply(dsn, components)
            roles.grant(dsn, kind)
        yield {kind: f"{support.PG}/{name}" for kind, name in names.items()}
    finally:
        support.drop_databases(names.values())


@contextlib.contextmanager
def as_role(dsn, service):
    """A connection acting as the service's role (SET ROLE: the test's superuser takes on exactly its rights)."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(f'SET ROLE "{roles.role_of(service)}"')
        conn.commit()
        yield conn
    finally:
        conn.close()


def _refused(conn, statement, params=()):
    with pytest.raises(DENIED):
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)


@pytest.mark.parametrize("service", roles.CASE_STORE_SERVICES)
def test_a_service_role_cannot_switch_the_audit_trigger_off_nor_read_change_or_empty_the_log(databases, service):
    with as_role(databases["case_store"], service) as conn:
        with conn:
            UnitOfWork(conn, service, "GM0687").audit(f"service:{service}", "read", "incident", case_id=uuid.uuid4())
        for statement in ("ALTER TABLE hub.audit_log DISABLE TRIGGER audit_log_append_only",
                          "ALTER TABLE hub.audit_log DISABLE TRIGGER ALL",
                          "DROP TRIGGER audit_log_append_only ON hub.audit_log",
                          "UPDATE hub.audit_log SET subject = 'x'", "DELETE FROM hub.audit_log",
                          "TRUNCATE hub.audit_log", "SELECT * FROM hub.audit_log",
                          "UPDATE hub.audit_chain_head SET seq = 0",
                          "CREATE OR REPLACE FUNCTION hub.audit_log_is_append_only() RETURNS trigger "
                          "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"):
            _refused(conn, statement)
    owner = psycopg2.connect(databases["case_store"])
    try:
        verdict = verify(owner)
        assert verdict.ok and verdict.rows >= 1, verdict.broken  # the row the role wrote is linked
    finally:
        owner.close()


def test_each_service_reaches_its_own_schema_and_the_case_views_only(databases):
    dsn = databases["case_store"]
    with as_role(dsn, "triage") as conn:
        for statement in ("SELECT * FROM aftercare.contacts", "SELECT * FROM intake.notes",
                          "SELECT * FROM police_liaison.referral_steps", "UPDATE intake.incidents SET draft = false",
                          "INSERT INTO aftercare.care_plans (plan_id, case_id) VALUES (gen_random_uuid(), "
                          "gen_random_uuid())", "SELECT * FROM hub.data_keys JOIN signals.signals ON true"):
            _refused(conn, statement)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM intake.incidents")  # shared/case_views.py reads it
            cur.execute("SELECT count(*) FROM triage.repeat_checks")
    with as_role(dsn, "aftercare") as conn:
        _refused(conn, "SELECT * FROM triage.repeat_checks")
        _refused(conn, "INSERT INTO hub.case_access (case_id, handled_by, reason, marked_by) "
                       "VALUES (gen_random_uuid(), 'region', 'colleague', 'x')")
    for reader in roles.KEY_READERS:  # statistics and the workbench: an API key's check, nothing of a case
        grants = support.query(dsn, "SELECT table_schema || '.' || table_name AS t, privilege_type AS p "
                                    "FROM information_schema.role_table_grants WHERE grantee = %s",
                               (roles.role_of(reader),))
        assert {g["t"] for g in grants} == {"hub.api_keys", "hub.signing_secrets", "hub.seen_signatures",
                                            "hub.schema_migrations"}, reader
        assert {g["p"] for g in grants if g["t"] != "hub.seen_signatures"} == {"SELECT"}, reader
        with as_role(dsn, reader) as conn:
            for statement in ("SELECT * FROM intake.incidents", "SELECT * FROM hub.data_keys",
                              "SELECT * FROM hub.case_keys", "SELECT * FROM triage.results",
                              "UPDATE hub.api_keys SET revoked_at = now()", "INSERT INTO hub.audit_log DEFAULT VALUES"):
                _refused(conn, statement)
    assert support.query(databases["statistics"], "SELECT has_database_privilege('meldpunt_statistics', "
                                                  "current_database(), 'CONNECT') AS may")[0]["may"]
    assert not support.query(databases["statistics"], "SELECT has_database_privilege('meldpunt_intake', "
                                                      "current_database(), 'CONNECT') AS may")[0]["may"]


def test_the_incident_path_runs_under_the_service_roles(databases):
    dsn, keyring, case_id = databases["case_store"], Keyring(os.urandom(32)), uuid.uuid4()
    with as_role(dsn, "intake") as conn:
        with conn:
            uow = UnitOfWork(conn, "intake", "GM0687", keyring=keyring)
            intake.insert_incident(uow, case_id, support.incident_body(), "api", "test")
            intake.add_text(uow, case_id, "api", "test", "aanvulling")
            uow.audit("apikey:test", "create", "incident", case_id=case_id)
    with as_role(dsn, "triage") as conn:
        with conn:
            uow = UnitOfWork(conn, "triage", "GM0687", keyring=keyring)
            assert intake.get_incident(uow, case_id)["description"]  # through the case views' grant
            triage_store.save_result(uow, case_id, TriageResult(["bedreiging"], "normaal", [], ["reden"], "t"),
                                     NOW, NOW + timedelta(days=1))
            assert triage_store.get_result(uow, case_id)["reasons"] == ["reden"]
            uow.audit("service:triage", "read", "incident", case_id=case_id)


@pytest.mark.parametrize("service", roles.KEY_READERS)
def test_statistics_and_the_workbench_check_an_api_key_as_their_roles(databases, service):
    from shared import auth

    dsn = databases["case_store"]
    key_id = uuid.uuid4().hex[:12]
    key = f"GM0687.{key_id}.{uuid.uuid4().hex}"
    support.query(dsn, "INSERT INTO hub.api_keys (key_id, label, role, key_hash) VALUES (%s, 't', 'staff', %s) "
                       "RETURNING key_id", (key_id, auth.hash_key(key)))

    @contextlib.contextmanager
    def case_store(code):
        with as_role(dsn, service) as conn:
            with conn:
                yield UnitOfWork(conn, service, code)

    class Region:
        def knows(self, code):
            return code == "GM0687"

    principal = auth.authenticate(f"Bearer {key}", Region(), case_store)
    assert (principal.municipality, principal.role) == ("GM0687", "staff")
    with case_store("GM0687") as uow:
        assert auth.first_sighting(uow, key_id, "sig-" + service, 300)


def test_two_migrates_making_the_same_role_at_once_both_go_on():
    """The second CREATE ROLE waits for the first's transaction and then meets the catalogue's unique index, not
    DuplicateObject: five test jobs migrating on a fresh server at once failed on it (all of one job's tests)."""
    import eventlet

    from shared.db.roles import _ensure_role

    threading = eventlet.patcher.original("threading")  # a thread of the OS: psycopg2 blocks a green one's process

    role = f"mh_test_race_{uuid.uuid4().hex[:8]}"
    first, second = psycopg2.connect(f"{support.PG}/postgres"), psycopg2.connect(f"{support.PG}/postgres")
    try:
        with first.cursor() as cur:
            _ensure_role(cur, role, None)  # made, not committed yet
        failed = []

        def make():
            try:
                with second, second.cursor() as cur:
                    _ensure_role(cur, role, None)  # waits for the first
            except Exception as exc:  # noqa: BLE001 — the test's answer
                failed.append(exc)

        waiting = threading.Thread(target=make)
        waiting.start()
        support.wait_for(lambda: support.query(f"{support.PG}/postgres", "SELECT 1 FROM pg_stat_activity WHERE "
                                                "wait_event_type = 'Lock' AND query LIKE 'CREATE ROLE%%'"),
                         what="the second CREATE ROLE waiting for the first")
        first.commit()
        waiting.join(30)
        assert not waiting.is_alive() and failed == []
    finally:
        first.rollback()
        with first.cursor() as cur:
            cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        first.commit()
        first.close()
        second.close()
