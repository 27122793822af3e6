"""Versioned SQL migrations for every case store and the regional statistics database.

Each component (the hub's own tables, then each service) keeps numbered SQL files in
its `migrations/` folder and its tables in its own PostgreSQL schema. Applying is
idempotent and safe to run from several places at once (an advisory lock serialises it);
a file changed after it was applied is refused, since the databases would then differ.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT, parse_dsn

from shared.config import REPO_ROOT, Region
from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, STATISTICS, TRIAGE

log = logging.getLogger(__name__)

_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x6D656C64  # "meld": one advisory lock for migrations in any hub database


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Component:
    name: str       # also the PostgreSQL schema its tables live in
    folder: Path


CORE = Component("hub_core", REPO_ROOT / "shared" / "migrations" / "core")
CASE_STORE_CORE = Component("hub_case_store", REPO_ROOT / "shared" / "migrations" / "case_store")

# What each kind of database holds, in the order it is built.
CASE_STORE_COMPONENTS = (CORE, CASE_STORE_CORE) + tuple(
    Component(s, REPO_ROOT / "services" / s / "migrations")
    for s in (INTAKE, TRIAGE, POLICE_LIAISON, AFTERCARE))
STATISTICS_COMPONENTS = (CORE, Component(STATISTICS, REPO_ROOT / "services" / STATISTICS / "migrations"))


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations_of(component: Component) -> list[Migration]:
    found = []
    for path in sorted(component.folder.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNNN_name.sql")
        found.append(Migration(component.name, int(match["version"]), match["name"],
                               path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{component.folder}: two migrations share a version number")
    return found


def _schema_of(component: Component) -> str | None:
    return None if component.name.startswith("hub_") else component.name


def ensure_database(dsn: str) -> bool:
    """Create the database named in `dsn` on its server when it is missing; True if created."""
    params = parse_dsn(dsn)
    dbname = params.get("dbname")
    if not dbname:
        raise MigrationError(f"{_safe(dsn)}: the connection string names no database")
    admin = dict(params, dbname="postgres")
    conn = psycopg2.connect(**admin, connect_timeout=5)
    try:
        conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone():
                return False
            try:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            except psycopg2.errors.DuplicateDatabase:
                return False  # created by a concurrent migrate
            return True
    finally:
        conn.close()


def apply(dsn: str, components) -> list[str]:
    """Apply what is missing of `components` to one database; return what was applied."""
    applied_now = []
    conn = psycopg2.connect(dsn, connect_timeout=5, application_name="meldpunt-migrate")
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
            cur.execute("CREATE SCHEMA IF NOT EXISTS hub")
            cur.execute("""CREATE TABLE IF NOT EXISTS hub.schema_migrations (
                               component text NOT NULL, version integer NOT NULL, name text NOT NULL,
                               checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
                               PRIMARY KEY (component, version))""")
        try:
            for component in components:
                applied_now += _apply_component(conn, component)
        finally:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    finally:
        conn.close()
    return applied_now


def _apply_component(conn, component: Component) -> list[str]:
    done = []
    with conn, conn.cursor() as cur:
        cur.execute("SELECT version, checksum FROM hub.schema_migrations WHERE component = %s",
                    (component.name,))
        known = dict(cur.fetchall())
    for migration in migrations_of(component):
        label = f"{component.name}/{migration.version:04d}_{migration.name}"
        if migration.version in known:
            if known[migration.version] != migration.checksum:
                raise MigrationError(f"{label} changed after it was applied; add a new migration instead")
            continue
        with conn, conn.cursor() as cur:
            schema = _schema_of(component)
            if schema:
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                cur.execute(sql.SQL("SET LOCAL search_path TO {}, hub, public").format(sql.Identifier(schema)))
            cur.execute(migration.sql)
            cur.execute("INSERT INTO hub.schema_migrations (component, version, name, checksum) "
                        "VALUES (%s, %s, %s, %s)",
                        (component.name, migration.version, migration.name, migration.checksum))
        done.append(label)
    return done


def migrate_region(region: Region, report=lambda line: None, master_key: bytes | None = None) -> None:
    """Create and bring up to date every case store of the region and its statistics database;
    then encrypt any personal data a case store still holds in plaintext (rows stored before
    the encryption migrations), so that none is left after a migrate."""
    targets = [(m.code, m.case_store_dsn, CASE_STORE_COMPONENTS) for m in region.municipalities]
    targets.append(("statistics", region.statistics_dsn, STATISTICS_COMPONENTS))
    for label, dsn, components in targets:
        try:
            created = ensure_database(dsn)
            applied = apply(dsn, components)
            encrypted = encrypt_plaintext(dsn, label, master_key) if components is CASE_STORE_COMPONENTS else 0
        except psycopg2.OperationalError as exc:
            raise MigrationError(f"{label}: cannot reach {_safe(dsn)}: {_first_line(exc)}") from None
        except psycopg2.Error as exc:
            raise MigrationError(f"{label}: {_first_line(exc)}") from None
        state = "created, " if created else ""
        done = f"; encrypted {encrypted} personal data value(s) stored in plaintext" if encrypted else ""
        report((f"{label}: {state}{len(applied)} migration(s) applied" if applied
                else f"{label}: {state}up to date") + done)


def encrypt_plaintext(dsn: str, municipality: str, master_key: bytes | None) -> int:
    """Encrypt, in batches of short transactions, what a case store still holds in plaintext."""
    from shared.crypto import Keyring
    from shared.db.unit_of_work import UnitOfWork
    from shared.personal_data import encrypt_plaintext as encrypt_batch, plaintext_left

    conn = psycopg2.connect(dsn, connect_timeout=5, application_name="meldpunt-migrate")
    try:
        keyring = Keyring(master_key) if master_key is not None else None
        uow = UnitOfWork(conn, "migrate", municipality, keyring=keyring)
        with conn:
            left = plaintext_left(uow)
        if left and keyring is None:
            raise MigrationError(f"{municipality}: {left} row(s) hold personal data in plaintext and need the "
                                 "master key to be encrypted: set MELDPUNT_MASTER_KEY or MELDPUNT_MASTER_KEY_FILE")
        total = 0
        while left:
            with conn:
                done = encrypt_batch(uow)
            total += done
            if not done:
                break
        return total
    finally:
        conn.close()


def _first_line(exc) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _safe(dsn: str) -> str:
    """A DSN fit for messages: host, port and database, no password."""
    params = parse_dsn(dsn)
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '?')}"
