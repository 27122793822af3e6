"""Migrations applied while the hub runs (shared/db/migrate.py with shared/db/online.py): a CONCURRENTLY file
runs outside a transaction and rebuilds an index a failed run left invalid; a migration waiting behind a long
transaction gives up after its lock_timeout and is tried again; `meldpunt migrate --check` lists what is pending
and whether each can be applied online."""
from __future__ import annotations

import threading
import time
import uuid

import psycopg2
import pytest
import yaml

from hub.ops.upgrade import describe, hub_upgrade_waves
from shared.db import migrate
from shared.db.migrate import CORE, Component, MigrationError, apply
from tests.support import PG, cli, drop_databases, query


@pytest.fixture
def database():
    name = f"mh_test_{uuid.uuid4().hex[:8]}_online"
    migrate.ensure_database(f"{PG}/{name}")
    yield f"{PG}/{name}"
    drop_databases([name])


def component(tmp_path, **files) -> Component:
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return Component("online_test", folder)


def test_a_concurrent_index_file_runs_outside_a_transaction_and_rebuilds_an_invalid_index(database, tmp_path):
    first = component(tmp_path, **{"0001_labels.sql": "CREATE TABLE labels (id int, label text);\n"
                                                      "INSERT INTO labels VALUES (1, 'a'), (2, 'a');"})
    apply(database, [CORE, first])
    conn = psycopg2.connect(database)
    conn.autocommit = True
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.UniqueViolation):
        cur.execute("CREATE UNIQUE INDEX CONCURRENTLY labels_once ON online_test.labels (label)")  # fails: left invalid
    with conn.cursor() as cur:
        cur.execute("UPDATE online_test.labels SET label = 'b' WHERE id = 2")
    conn.close()
    second = component(tmp_path, **{"0002_labels_once.sql": "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "
                                                            "labels_once ON online_test.labels (label);"})
    assert apply(database, [CORE, second]) == ["online_test/0002_labels_once"]
    [index] = query(database, "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                              "WHERE c.relname = 'labels_once'")
    assert index["indisvalid"]
    assert apply(database, [CORE, second]) == []


def test_a_migration_behind_a_long_transaction_gives_up_after_its_lock_timeout_and_tries_again(database, tmp_path,
                                                                                             monkeypatch):
    monkeypatch.setattr(migrate.online, "DEFAULT_LOCK_TIMEOUT", "200ms")
    monkeypatch.setattr(migrate.time, "sleep", lambda seconds: None)
    apply(database, [CORE, component(tmp_path, **{"0001_labels.sql": "CREATE TABLE labels (id int);"})])
    adding = component(tmp_path, **{"0002_more.sql": "ALTER TABLE labels ADD COLUMN label text;"})
    reader = psycopg2.connect(database)
    with reader.cursor() as cur:
        cur.execute("SELECT * FROM online_test.labels")  # a long transaction holds a lock on the table
    started = time.monotonic()
    with pytest.raises(MigrationError) as refused:
        apply(database, [CORE, adding])
    assert "could not take its lock within lock_timeout, 3 times" in str(refused.value)
    assert time.monotonic() - started < 5  # not the default 5 s per attempt

    threading.Timer(0.3, reader.commit).start()  # the long transaction ends while the migration waits
    assert apply(database, [CORE, adding]) == ["online_test/0002_more"]
    reader.close()


def test_migrate_check_lists_pending_migrations_and_whether_each_is_online_safe(hub_env, region_file, tmp_path,
                                                                                 database):
    apply(database, [CORE])  # a case store with only the hub's core tables
    region = yaml.safe_load(region_file.read_text())
    region["municipalities"][0]["case_store_dsn"] = database
    path = tmp_path / "region.yaml"
    path.write_text(yaml.safe_dump(region))

    checked = cli({**hub_env, "MELDPUNT_REGION": str(path)}, "migrate", "--check")

    assert checked.returncode == 1, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    code = region["municipalities"][0]["code"]
    pending = len([line for line in lines if line.startswith("  ")])
    assert f"{code}: {pending} pending" in lines
    assert any(line.strip().startswith("hub_case_store/0001_keys_and_audit") and "online-safe (" in line
               for line in lines)
    assert any(line.strip().startswith("intake/0005_encrypted_personal_data") and
               "NOT online-safe: CREATE INDEX on existing table incidents without CONCURRENTLY" in line for line in lines)
    assert "statistics: up to date" in lines
    assert lines[-2].startswith(f"{pending} migration(s) pending, ") and "not online-safe: stop the services" in lines[-2]
    assert lines[-1] == f"then replace the services, consumers before producers: {describe(hub_upgrade_waves())}"
    assert query(database, "SELECT count(*) AS n FROM hub.schema_migrations")[0]["n"] == 2  # nothing applied
