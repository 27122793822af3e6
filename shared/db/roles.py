"""Least privilege in PostgreSQL (issue 21, item 1): a role per service with grants on exactly what it uses, made
and granted by `meldpunt migrate` in every database of the region.

- `meldpunt_<service>` for intake, triage, police liaison, aftercare, signals and zaaksysteem in each case store: all
  rights on its own schema's tables; on the hub schema the outbox and inbox, the data and case keys, reading the API keys,
  access rules, disclosures and holds; INSERT only on `hub.audit_log` (no SELECT, UPDATE, DELETE, and as a
  non-owner it cannot switch the append-only trigger off); SELECT on the few tables shared/case_views.py reads
  across services. Statistics and the workbench reach a case store only to check an API key (`KEY_READERS`: the
  key's hash, its signing secret sealed, the replay list); nothing of a case, no service schema. In the statistics
  database only `meldpunt_statistics`, in the workbench's only `meldpunt_workbench`, in triage's repeat index only
  `meldpunt_triage`; in the key store the services that encrypt.
- The migrations run as the database owner (`meldpunt migrate` with the owner's user in the DSNs); no service uses
  it. CONNECT is revoked from PUBLIC in every database of the region.
- A role can log in only when its password is given: MELDPUNT_PGPASSWORD_<SERVICE> or _FILE at `meldpunt migrate`
  time. A service connects as its role when MELDPUNT_PGUSER_<SERVICE> is set (shared/config.py); without it (the
  demo, `make run`, the tests) it uses the DSN's user as before.
"""
from __future__ import annotations

import psycopg2
from psycopg2 import sql

CASE_STORE_SERVICES = ("intake", "triage", "police_liaison", "aftercare", "signals", "zaaksysteem")
# the services that hold the master key (hub/registry needs_master_key)
ENCRYPTING = ("intake", "triage", "police_liaison", "aftercare", "signals")
# Services that open a case store only to check a caller's API key (shared/auth.authenticate_with and the signature
# check in shared/service.py): what that reads and writes, and nothing else.
KEY_READERS = ("statistics", "workbench")
_KEY_CHECK = {
    "hub.api_keys": "SELECT",
    "hub.signing_secrets": "SELECT",
    "hub.seen_signatures": "SELECT, INSERT, DELETE",
    "hub.schema_migrations": "SELECT",
}

# hub tables every case-store service uses, and how
_HUB = {
    "hub.outbox": "SELECT, INSERT, UPDATE, DELETE",
    "hub.inbox": "SELECT, INSERT, UPDATE, DELETE",
    "hub.data_keys": "SELECT, INSERT, UPDATE",
    "hub.case_keys": "SELECT, INSERT, UPDATE, DELETE",
    "hub.api_keys": "SELECT, UPDATE",
    # every service checks a signing key's signature (shared/service.py) and records it against replays
    "hub.signing_secrets": "SELECT",
    "hub.seen_signatures": "SELECT, INSERT, DELETE",
    "hub.case_access": "SELECT",
    "hub.case_exclusions": "SELECT",
    "hub.disclosures": "SELECT, INSERT, UPDATE",
    "hub.legal_holds": "SELECT",
    "hub.audit_log": "INSERT",
    "hub.schema_migrations": "SELECT",
}
# what a service writes in the hub schema beyond _HUB
_HUB_EXTRA = {"intake": {"hub.case_access": "SELECT, INSERT, UPDATE", "hub.case_exclusions": "SELECT, INSERT"}}
# the cross-service reads of shared/case_views.py (and the consent of a case for triage's decisions)
_CASE_VIEWS = ("intake.incidents", "intake.additions", "triage.results", "triage.identity_keys",
               "police_liaison.referrals", "aftercare.care_plans")


def role_of(service: str) -> str:
    return f"meldpunt_{service}"


def _ensure_role(cur, role: str, password: str | None) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    if cur.fetchone() is None:
        try:
            cur.execute("SAVEPOINT mk_role")
            cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            cur.execute("RELEASE SAVEPOINT mk_role")
        # a concurrent migrate made it: committed before our look (DuplicateObject), or while our CREATE waited for
        # its transaction (then the catalogue's unique index answers; five test jobs on a fresh server did)
        except (psycopg2.errors.DuplicateObject, psycopg2.errors.UniqueViolation):
            cur.execute("ROLLBACK TO SAVEPOINT mk_role")
    if password:
        cur.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))


def _present(cur, table: str) -> bool:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    return cur.fetchone()[0]


def _grant(cur, privileges: str, table: str, role: str) -> None:
    if _present(cur, table):
        schema, name = table.split(".")
        cur.execute(sql.SQL(f"GRANT {privileges} ON TABLE {{}}.{{}} TO {{}}").format(
            sql.Identifier(schema), sql.Identifier(name), sql.Identifier(role)))


def _own_schema(cur, schema: str, role: str) -> None:
    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    if cur.fetchone() is None:
        return
    ident, who = sql.Identifier(schema), sql.Identifier(role)
    cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, who))
    cur.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(ident, who))
    cur.execute(sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(ident, who))


def _connect_only(cur, database: str, roles) -> None:
    db = sql.Identifier(database)
    cur.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(db))
    for role in roles:
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, sql.Identifier(role)))


def grant(dsn: str, kind: str, passwords: dict | None = None) -> list[str]:
    """Make the roles of a database of `kind` (case_store, statistics, workbench, keys) and grant them exactly
    their tables; the roles granted."""
    passwords = passwords or {}
    services = {"case_store": CASE_STORE_SERVICES + KEY_READERS, "statistics": ("statistics",),
                "workbench": ("workbench",),
                "keys": ENCRYPTING, "repeat_index": ("triage",)}[kind]
    roles = [role_of(s) for s in services]
    conn = psycopg2.connect(dsn, connect_timeout=5, application_name="meldpunt-migrate")
    try:
        with conn, conn.cursor() as cur:
            for service in services:
                _ensure_role(cur, role_of(service), passwords.get(service))
            cur.execute("SELECT current_database()")
            _connect_only(cur, cur.fetchone()[0], roles)
            cur.execute("GRANT USAGE ON SCHEMA hub TO " + ", ".join(f'"{r}"' for r in roles))
            for service in services:
                role = role_of(service)
                if kind == "keys":
                    _grant(cur, _HUB["hub.case_keys"], "hub.case_keys", role)
                    continue
                if kind == "case_store" and service in KEY_READERS:
                    for table, privileges in _KEY_CHECK.items():
                        _grant(cur, privileges, table, role)
                    continue
                # triage's repeat index keeps its tables in schema triage_index (issue 25)
                _own_schema(cur, "triage_index" if kind == "repeat_index" else service, role)
                if kind != "case_store":  # statistics, workbench: their own schema and the outbox and inbox
                    for table in ("hub.outbox", "hub.inbox", "hub.schema_migrations"):
                        _grant(cur, _HUB[table], table, role)
                    cur.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA hub TO {}").format(
                        sql.Identifier(role)))
                    continue
                for table, privileges in {**_HUB, **_HUB_EXTRA.get(service, {})}.items():
                    _grant(cur, privileges, table, role)
                cur.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA hub TO {}").format(sql.Identifier(role)))
                for table in _CASE_VIEWS:
                    if not table.startswith(service + "."):
                        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                            sql.Identifier(table.split(".")[0]), sql.Identifier(role)))
                        _grant(cur, "SELECT", table, role)
    finally:
        conn.close()
    return roles
