"""shared/db/migrate.py: finding migration files, without a database."""
from __future__ import annotations

import hashlib
import re

import pytest

from shared.db.migrate import (CASE_STORE_COMPONENTS, CORE, STATISTICS_COMPONENTS, Component, MigrationError,
                               migrations_of)

ALL_COMPONENTS = sorted(set(CASE_STORE_COMPONENTS + STATISTICS_COMPONENTS), key=lambda c: c.name)


def test_case_stores_and_statistics_start_from_the_core():
    assert CASE_STORE_COMPONENTS[0] == STATISTICS_COMPONENTS[0] == CORE
    assert [c.name for c in CASE_STORE_COMPONENTS] == ["hub_core", "hub_case_store", "hub_key_store", "intake", "triage",
                                                        "police_liaison", "aftercare", "signals",
                                                        "zaaksysteem"]
    assert [c.name for c in STATISTICS_COMPONENTS] == ["hub_core", "statistics"]


@pytest.mark.parametrize("component", ALL_COMPONENTS, ids=lambda c: c.name)
def test_real_migrations_are_ordered_with_unique_versions(component):
    found = migrations_of(component)

    assert found, f"{component.folder} holds no migration"
    versions = [m.version for m in found]
    assert versions == sorted(set(versions))
    assert versions[0] == 1
    assert all(m.component == component.name and re.fullmatch(r"[a-z0-9_]+", m.name) for m in found)
    assert all(m.sql.strip() for m in found)


@pytest.mark.parametrize("component", ALL_COMPONENTS, ids=lambda c: c.name)
def test_checksum_is_stable_sha256_of_the_file(component):
    first, second = migrations_of(component), migrations_of(component)

    for a, b in zip(first, second):
        assert a.checksum == b.checksum == hashlib.sha256(a.sql.encode()).hexdigest()
        assert len(a.checksum) == 64


def folder(tmp_path, **files):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return Component("intake", tmp_path)


def test_files_are_taken_in_version_order_and_other_files_ignored(tmp_path):
    component = folder(tmp_path, **{"0010_indexes.sql": "CREATE INDEX i ON t (a);",
                                    "0002_audit.sql": "CREATE TABLE a ();",
                                    "0001_incidents.sql": "CREATE TABLE t (a int);",
                                    "README.md": "not a migration"})

    assert [(m.version, m.name) for m in migrations_of(component)] == [
        (1, "incidents"), (2, "audit"), (10, "indexes")]


@pytest.mark.parametrize("bad_name", ["1_incidents.sql", "0002-audit.sql", "0002_Audit.sql", "0002_.sql",
                                      "audit.sql", "00002_audit.sql"])
def test_badly_named_file_is_refused(tmp_path, bad_name):
    component = folder(tmp_path, **{"0001_incidents.sql": "SELECT 1;", bad_name: "SELECT 2;"})

    with pytest.raises(MigrationError, match=re.escape(bad_name) + ": migration files are named NNNN_name.sql"):
        migrations_of(component)


def test_two_files_with_one_version_are_refused(tmp_path):
    component = folder(tmp_path, **{"0001_incidents.sql": "SELECT 1;", "0001_audit.sql": "SELECT 2;"})

    with pytest.raises(MigrationError, match="two migrations share a version number"):
        migrations_of(component)


def test_checksum_changes_with_the_content(tmp_path):
    component = folder(tmp_path, **{"0001_incidents.sql": "CREATE TABLE t (a int);"})
    before = migrations_of(component)[0].checksum

    (tmp_path / "0001_incidents.sql").write_text("CREATE TABLE t (a bigint);", encoding="utf-8")

    assert migrations_of(component)[0].checksum != before
