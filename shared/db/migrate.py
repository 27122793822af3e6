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
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT, parse_dsn

from shared.config import REPO_ROOT, Region
from shared.db import online
from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, SIGNALS, STATISTICS, TRIAGE, WORKBENCH

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
# Case keys (crypto-shredding): in the region's key store, or in each case store when the region has none.
KEY_STORE = Component("hub_key_store", REPO_ROOT / "shared" / "migrations" / "key_store")
KEY_STORE_COMPONENTS = (KEY_STORE,)

# What each kind of database holds, in the order it is built.
CASE_STORE_COMPONENTS = (CORE, CASE_STORE_CORE, KEY_STORE) + tuple(
    Component(s, REPO_ROOT / "services" / s / "migrations")
    for s in (INTAKE, TRIAGE, POLICE_LIAISON, AFTERCARE, SIGNALS, "zaaksysteem"))
STATISTICS_COMPONENTS = (CORE, Component(STATISTICS, REPO_ROOT / "services" / STATISTICS / "migrations"))
# The workbench's own regional database: sessions and who signed in, no case data (docs/workbench.md).
WORKBENCH_COMPONENTS = (CORE, Component(WORKBENCH, REPO_ROOT / "services" / WORKBENCH / "migrations"))
# Triage's regional index of perpetrator keyed hashes (issue 25): hashes and municipality codes, no case data.
REPEAT_INDEX_COMPONENTS = (CORE, Component("triage_index", REPO_ROOT / "services" / TRIAGE / "index_migrations"))
REPEAT_INDEX = "repeat_index"  # its label in migrate's report, the backups and /health


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.component}/{self.version:04d}_{self.name}"


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


LOCK_ATTEMPTS = 3  # a migration whose lock_timeout ran out is tried again this often, after 1 s, then 2 s


def _apply_component(conn, component: Component) -> list[str]:
    done = []
    with conn, conn.cursor() as cur:
        cur.execute("SELECT version, checksum FROM hub.schema_migrations WHERE component = %s",
                    (component.name,))
        known = dict(cur.fetchall())
    for migration in migrations_of(component):
        label = migration.label
        if migration.version in known:
            if known[migration.version] != migration.checksum:
                raise MigrationError(f"{label} changed after it was applied; add a new migration instead")
            continue
        for attempt in range(1, LOCK_ATTEMPTS + 1):
            try:
                if online.check(label, migration.sql).concurrent:
                    _apply_outside_transaction(conn, component, migration)
                else:
                    _apply_in_transaction(conn, component, migration)
                break
            except psycopg2.errors.LockNotAvailable:
                if attempt == LOCK_ATTEMPTS:
                    raise MigrationError(f"{label}: could not take its lock within lock_timeout, {attempt} times (a "
                                         "long transaction holds the table): run `meldpunt migrate` again") from None
                log.warning("%s waited longer than its lock_timeout; trying again", label)
                time.sleep(attempt)
        done.append(label)
    return done


def _in_schema(cur, component: Component, local: bool) -> None:
    """Statements run with the component's schema first on the search path, and the migrator's lock_timeout
    (a file may set its own): DDL waiting behind a long transaction gives up instead of blocking every query."""
    scope = sql.SQL("LOCAL ") if local else sql.SQL("")
    cur.execute(sql.SQL("SET {}lock_timeout = {}").format(scope, sql.Literal(online.DEFAULT_LOCK_TIMEOUT)))
    schema = _schema_of(component)
    if schema:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        cur.execute(sql.SQL("SET {}search_path TO {}, hub, public").format(scope, sql.Identifier(schema)))


def _record(cur, migration: Migration) -> None:
    cur.execute("INSERT INTO hub.schema_migrations (component, version, name, checksum) VALUES (%s, %s, %s, %s)",
                (migration.component, migration.version, migration.name, migration.checksum))


def _apply_in_transaction(conn, component: Component, migration: Migration) -> None:
    with conn, conn.cursor() as cur:
        _in_schema(cur, component, local=True)
        cur.execute(migration.sql)
        _record(cur, migration)


def _apply_outside_transaction(conn, component: Component, migration: Migration) -> None:
    """A file of CREATE/DROP INDEX CONCURRENTLY (which cannot run in a transaction), statement by statement.
    An index a failed earlier run left invalid is dropped first, so that running it again builds it anew."""
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            _in_schema(cur, component, local=False)
            for statement in online.statements(migration.sql):
                created = re.match(r"CREATE (UNIQUE )?INDEX CONCURRENTLY IF NOT EXISTS (\S+)", statement, re.I)
                if created:
                    cur.execute("SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                "WHERE c.relname = %s AND NOT i.indisvalid", (created.group(2).strip('"'),))
                    for (invalid,) in cur.fetchall():
                        cur.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {invalid}")
                cur.execute(statement)
            cur.execute("RESET search_path")
            cur.execute("RESET lock_timeout")
    finally:
        conn.autocommit = False
    with conn, conn.cursor() as cur:
        _record(cur, migration)


def pending(dsn: str, components) -> list[Migration]:
    """The migrations of `components` not yet applied to the database at `dsn` (all, on an empty one)."""
    conn = psycopg2.connect(dsn, connect_timeout=5, application_name="meldpunt-migrate")
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('hub.schema_migrations') IS NOT NULL")
            applied = set()
            if cur.fetchone()[0]:
                cur.execute("SELECT component, version FROM hub.schema_migrations")
                applied = set(cur.fetchall())
    finally:
        conn.close()
    return [m for component in components for m in migrations_of(component)
            if (component.name, m.version) not in applied]


def targets_of(region: Region) -> list[tuple[str, str, tuple]]:
    """(label, dsn, components) of every database of the region: the case stores, then statistics, then the
    workbench's own and triage's repeat index (when the region file gives them)."""
    targets = [(m.code, m.case_store_dsn, CASE_STORE_COMPONENTS) for m in region.municipalities]
    if region.key_store_dsn:
        targets.insert(0, ("keys", region.key_store_dsn, KEY_STORE_COMPONENTS))
    targets.append(("statistics", region.statistics_dsn, STATISTICS_COMPONENTS))
    workbench_dsn = (region.options.get(WORKBENCH) or {}).get("database_dsn")
    if workbench_dsn:
        targets.append(("workbench", workbench_dsn, WORKBENCH_COMPONENTS))
    index_dsn = (region.options.get(TRIAGE) or {}).get("index_dsn")
    if index_dsn:
        targets.append((REPEAT_INDEX, index_dsn, REPEAT_INDEX_COMPONENTS))
    return targets


def migrate_region(region: Region, report=lambda line: None, master_key: bytes | None = None) -> None:
    """Create and bring up to date every case store of the region and its statistics database;
    then encrypt any personal data a case store still holds in plaintext (rows stored before
    the encryption migrations), so that none is left after a migrate."""
    from shared.db import roles

    passwords = roles_passwords()
    for label, dsn, components in targets_of(region):
        try:
            created = ensure_database(dsn)
            applied = apply(dsn, components)
            roles.grant(dsn, _kind_of(components), passwords)
            encrypted, to_case, on_old = (encrypt_plaintext(dsn, label, master_key, region.key_store_dsn)
                                          if components is CASE_STORE_COMPONENTS else (0, 0, 0))
            linked = link_audit_rows(dsn) if components is CASE_STORE_COMPONENTS else 0
            if components is CASE_STORE_COMPONENTS:
                move_signing_secrets(dsn, label, master_key, region.key_store_dsn)
        except psycopg2.OperationalError as exc:
            raise MigrationError(f"{label}: cannot reach {_safe(dsn)}: {_first_line(exc)}") from None
        except psycopg2.Error as exc:
            raise MigrationError(f"{label}: {_first_line(exc)}") from None
        state = "created, " if created else ""
        done = f"; encrypted {encrypted} personal data value(s) stored in plaintext" if encrypted else ""
        done += f"; linked {linked} audit row(s) stored before the hash chain" if linked else ""
        done += f"; moved {to_case} value(s) to their case's own key" if to_case else ""
        done += (f"; {on_old} value(s) still on the municipality's key: run `meldpunt migrate` with the master key "
                 "to move them to their case's key (erasure shreds only those)") if on_old else ""
        report((f"{label}: {state}{len(applied)} migration(s) applied" if applied
                else f"{label}: {state}up to date") + done)


def _kind_of(components) -> str:
    return {CASE_STORE_COMPONENTS: "case_store", STATISTICS_COMPONENTS: "statistics",
            WORKBENCH_COMPONENTS: "workbench", KEY_STORE_COMPONENTS: "keys",
            REPEAT_INDEX_COMPONENTS: "repeat_index"}[components]


def roles_passwords(environ=None) -> dict:
    """The services' database passwords for `meldpunt migrate` to set (MELDPUNT_PGPASSWORD_<SERVICE> or _FILE);
    a service without one gets a role that cannot log in."""
    import os

    environ = os.environ if environ is None else environ
    found = {}
    for service in (INTAKE, TRIAGE, POLICE_LIAISON, AFTERCARE, SIGNALS, STATISTICS, WORKBENCH):
        upper = service.upper()
        password = environ.get(f"MELDPUNT_PGPASSWORD_{upper}")
        path = environ.get(f"MELDPUNT_PGPASSWORD_FILE_{upper}")
        if not password and path:
            try:
                password = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise MigrationError(f"MELDPUNT_PGPASSWORD_FILE_{upper}: cannot read {path} ({exc.strerror})") from None
        if password:
            found[service] = password
    return found


def link_audit_rows(dsn: str) -> int:
    """Link the audit rows stored before the hash chain into it (shared/audit_chain.py), in short batches."""
    from shared.audit_chain import link_unchained

    conn = psycopg2.connect(dsn, connect_timeout=5, application_name="meldpunt-migrate")
    try:
        return link_unchained(conn)
    finally:
        conn.close()


def encrypt_plaintext(dsn: str, municipality: str, master_key: bytes | None,
                      key_store_dsn: str | None = None) -> tuple[int, int, int]:
    """Encrypt, in batches of short transactions, what a case store still holds in plaintext; then move the
    cases' values encrypted with the municipality's data key (before case keys) to their case's own key.
    (encrypted, moved, left on the municipality's key for want of the master key)."""
    from shared.crypto import Keyring
    from shared.db.case_keys import CaseKeyStore
    from shared.db.unit_of_work import UnitOfWork
    from shared.personal_data import encrypt_plaintext as encrypt_batch, on_municipality_keys, plaintext_left
    from shared.personal_data import to_case_keys

    conn = psycopg2.connect(dsn, connect_timeout=5, application_name="meldpunt-migrate")
    case_keys = CaseKeyStore(key_store_dsn)
    try:
        keyring = Keyring(master_key, case_keys=case_keys) if master_key is not None else None
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
        moved = 0
        if keyring is None:
            with conn:
                return total, 0, on_municipality_keys(uow)
        while True:
            with conn:
                done = to_case_keys(uow)
            moved += done
            if not done:
                return total, moved, 0
    finally:
        conn.close()
        if case_keys.pool is not None:
            case_keys.pool.close()


def move_signing_secrets(dsn: str, municipality: str, master_key: bytes | None,
                         key_store_dsn: str | None = None) -> int:
    """Signing secrets kept by intake before issue 21 (intake.signing_secrets) move to hub.signing_secrets,
    where every service checks them; each is re-encrypted, bound to its new table."""
    from shared.crypto import Keyring
    from shared.db.case_keys import CaseKeyStore
    from shared.db.unit_of_work import UnitOfWork

    conn = psycopg2.connect(dsn, connect_timeout=5, application_name="meldpunt-migrate")
    try:
        with conn:
            keyring = Keyring(master_key, case_keys=CaseKeyStore(key_store_dsn)) if master_key is not None else None
            uow = UnitOfWork(conn, "migrate", municipality, keyring=keyring)
            if uow.fetchone("SELECT to_regclass('intake.signing_secrets') AS t")["t"] is None:
                return 0
            rows = uow.fetchall("SELECT key_id, secret, created_at FROM intake.signing_secrets")
            if rows and master_key is None:
                raise MigrationError(f"{municipality}: {len(rows)} signing secret(s) to move need the master key: "
                                     "set MELDPUNT_MASTER_KEY or MELDPUNT_MASTER_KEY_FILE")
            for row in rows:
                plain = uow.keyring.decrypt(uow, "intake.signing_secrets", "secret", row["key_id"], bytes(row["secret"]))
                sealed = uow.keyring.encrypt(uow, "hub.signing_secrets", "secret", row["key_id"], plain)
                uow.execute("INSERT INTO hub.signing_secrets (key_id, secret, created_at) VALUES (%s, %s, %s) "
                            "ON CONFLICT (key_id) DO NOTHING",
                            (row["key_id"], psycopg2.Binary(sealed), row["created_at"])).close()
                uow.execute("DELETE FROM intake.signing_secrets WHERE key_id = %s", (row["key_id"],)).close()
        return len(rows)
    finally:
        conn.close()


def _first_line(exc) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _safe(dsn: str) -> str:
    """A DSN fit for messages: host, port and database, no password."""
    params = parse_dsn(dsn)
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '?')}"
