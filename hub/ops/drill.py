"""The restore drill: proof that a municipality's case store comes back from the backups as it was at a moment.

1. `take_mark`: a moment on the live store. For the few milliseconds it takes, writes to the compared tables
   wait (SHARE locks); it reads a fingerprint of every row of them and writes a named restore point into
   the WAL. Whatever committed before is in the fingerprint and before the restore point; nothing else.
2. `archive_wal`: the WAL holding the restore point goes to the repository.
3. `restore_scratch`: pgBackRest restores the server, with only this store, to the restore point into a
   scratch folder; a server of our own starts there on a Unix socket only and recovers up to the mark.
4. `compare` runs every check in CHECKS on the restored store against the mark: every case, outbox row and
   audit row as marked, nothing more; cases erased before the mark still without their personal data.

Checks are plain functions `check(conn, mark) -> list[str]` (problems, one line each), listed in CHECKS: the
rows, the erased cases, the audit log's hash chain and the erased cases' destroyed keys (issue 21).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg2
from psycopg2 import sql

from hub.ops import backup
from hub.ops.pgserver import LocalServer, give_to
from shared.personal_data import SEALED

# The tables compared row by row: the cases as every service holds them, the outbox and the audit log.
COMPARED = ("intake.incidents", "triage.results", "police_liaison.referrals", "aftercare.care_plans",
            "hub.outbox", "hub.audit_log")


class DrillError(Exception):
    """The drill could not run (no backup, the restore failed); one line."""


@dataclass
class Mark:
    name: str                       # the restore point's name in the WAL
    at: datetime                    # the server's clock at the mark
    rows: dict                      # table -> sorted md5 of every row's text
    erased: list                    # case ids erased before the mark
    unpublished: int                # outbox rows not yet published at the mark
    audit_anchor: str | None = None  # the audit chain's head at the mark (SEQ:HASH, shared/audit_chain.py)

    def count(self, table: str) -> int:
        return len(self.rows.get(table, []))


@dataclass
class DrillResult:
    mark: Mark
    problems: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)   # step -> seconds

    @property
    def ok(self) -> bool:
        return not self.problems


def _session(conn) -> None:
    with conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")  # row texts hold timestamps: render them alike on both servers


def fingerprint(cur, table: str) -> list[str]:
    schema, name = table.split(".")
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    if not cur.fetchone()[0]:
        return []
    cur.execute(sql.SQL("SELECT md5(t::text) FROM {}.{} t").format(sql.Identifier(schema), sql.Identifier(name)))
    return sorted(row[0] for row in cur.fetchall())


def take_mark(dsn: str, name: str | None = None) -> Mark:
    """Fingerprint the compared tables and write a restore point, with writers to them held for that long."""
    name = name or f"meldpunt-drill-{datetime.utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    conn = psycopg2.connect(dsn, connect_timeout=5, application_name="meldpunt-drill")
    try:
        _session(conn)
        with conn, conn.cursor() as cur:
            present = []
            for table in COMPARED:
                cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
                if cur.fetchone()[0]:
                    present.append(table)
            # SHARE: reads go on, a writer waits until the restore point is written (milliseconds on a
            # small store); a writer that is half-way is waited for, so its commit falls before the mark
            cur.execute("SET LOCAL lock_timeout = '10s'")
            cur.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(
                sql.SQL(", ").join(sql.Identifier(*t.split(".")) for t in present)))
            rows = {table: fingerprint(cur, table) for table in COMPARED}
            cur.execute("SELECT case_id::text FROM intake.incidents WHERE erased_at IS NOT NULL ORDER BY 1")
            erased = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT count(*) FROM hub.outbox WHERE published_at IS NULL")
            unpublished = cur.fetchone()[0]
            anchor = None
            cur.execute("SELECT to_regclass('hub.audit_chain_head') IS NOT NULL")
            if cur.fetchone()[0]:
                cur.execute("SELECT seq, row_hash FROM hub.audit_chain_head")
                seq, head = cur.fetchone()
                anchor = f"{seq}:{bytes(head).hex()}" if seq else None
            cur.execute("SELECT pg_create_restore_point(%s), clock_timestamp()", (name,))
            at = cur.fetchone()[1]
    finally:
        conn.close()
    return Mark(name, at, rows, erased, unpublished, anchor)


def archive_wal(server_dsn: str, timeout: float = 120) -> None:
    """Close the current WAL segment and wait until the server archived it (the restore point is in it)."""
    conn = psycopg2.connect(server_dsn, connect_timeout=5, application_name="meldpunt-drill")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_walfile_name(pg_switch_wal())")
            segment = cur.fetchone()[0]
            deadline = time.monotonic() + timeout
            while True:
                cur.execute("SELECT last_archived_wal, last_failed_wal, last_failed_time FROM pg_stat_archiver")
                archived, failed, failed_at = cur.fetchone()
                if archived and archived[:24] >= segment:
                    return
                if time.monotonic() > deadline:
                    raise DrillError(f"WAL segment {segment} was not archived within {timeout:.0f} s (last archived "
                                     f"{archived}, last failed {failed} at {failed_at}): check archive_command")
                time.sleep(0.1)
    finally:
        conn.close()


def restore_scratch(settings, label: str, mark: Mark, folder: Path, report=print) -> LocalServer:
    """Restore `label`'s server as it was at `mark` into `folder` and start it there (socket only)."""
    options = backup.options_of(settings.region)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    give_to(options["os_user"], folder)
    data = folder / "data"
    backup.restore(settings, label, data, to_name=mark.name, report=report)
    _complete_configuration(data)
    scratch = LocalServer(folder, backup.free_port(), os_user=options["os_user"], data=data, socket_only=True)
    # the restored postgresql.conf may name the production server's paths and settings: override what matters
    scratch.start({"archive_mode": "off", "hot_standby": "on", "shared_preload_libraries": "''"}, timeout=300)
    scratch.wait_until_promoted(timeout=300)
    return scratch


def _complete_configuration(data: Path) -> None:
    """A server whose configuration lives outside its data directory (Debian's /etc/postgresql) comes back
    without it: give the scratch copy a minimal one (its socket is private to the drill's folder)."""
    for name, text in (("postgresql.conf", "# minimal configuration of a restore drill's scratch server\n"),
                       ("pg_hba.conf", "local all all trust\n"),
                       ("pg_ident.conf", "")):
        path = data / name
        if not path.exists():
            path.write_text(text)
            give_to_owner_of(data, path)


def give_to_owner_of(folder: Path, path: Path) -> None:
    stat = folder.stat()
    if os.geteuid() == 0:
        os.chown(path, stat.st_uid, stat.st_gid)


# ------------------------------------------------------------------------------ checks

def rows_as_marked(conn, mark: Mark) -> list[str]:
    """Every row of every compared table as it was at the mark: none missing, none changed, none extra."""
    problems = []
    with conn.cursor() as cur:
        for table in COMPARED:
            restored = fingerprint(cur, table)
            wanted = mark.rows[table]
            if restored != wanted:
                missing = len(set(wanted) - set(restored))
                extra = len(set(restored) - set(wanted))
                problems.append(f"{table}: {len(restored)} row(s) restored for {len(wanted)} at the mark "
                                f"({missing} missing or different, {extra} not there at the mark)")
    return problems


def erased_cases_stay_erased(conn, mark: Mark) -> list[str]:
    """Cases erased before the mark have no personal data in the restored store either."""
    problems = []
    if not mark.erased:
        return problems
    with conn.cursor() as cur:
        for entry in SEALED:
            if entry.case_rows is None:
                continue
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (entry.table,))
            if not cur.fetchone()[0]:
                continue
            filled = " OR ".join(f"{c} IS NOT NULL" for c in (entry.column, *entry.legacy))
            for case_id in mark.erased:
                cur.execute(f"SELECT count(*) FROM {entry.table} WHERE ({entry.case_rows}) AND ({filled})",
                            (case_id,))
                if cur.fetchone()[0]:
                    problems.append(f"erased case {case_id} has personal data again in {entry.table}.{entry.column}")
    return problems


def audit_chain_holds(conn, mark: Mark) -> list[str]:
    """The restored audit log's hash chain holds from its first link to its head, and holds the head of the
    live store at the mark (issue 21, item 3)."""
    from shared.audit_chain import verify

    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('hub.audit_chain_head') IS NOT NULL")
        if not cur.fetchone()[0]:
            return []
    verdict = verify(conn, anchor=mark.audit_anchor)
    return [] if verdict.ok else [f"hub.audit_log: the hash chain does not hold: {verdict.broken}"]


def shredded_cases_stay_unreadable(conn, mark: Mark) -> list[str]:
    """Cases erased before the mark have no key in the restored store (a region without a key store keeps case keys
    there) and no value on a municipality key, which the master key would still open (issue 21, item 4)."""
    problems = []
    if not mark.erased:
        return problems
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('hub.case_keys') IS NOT NULL")
        if cur.fetchone()[0]:
            cur.execute("SELECT case_id::text FROM hub.case_keys WHERE wrapped_key IS NOT NULL AND case_id::text = ANY(%s)",
                        (mark.erased,))
            problems += [f"erased case {case_id} has its key again in hub.case_keys" for (case_id,) in cur.fetchall()]
        for entry in SEALED:
            if entry.case_rows is None:
                continue
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (entry.table,))
            if not cur.fetchone()[0]:
                continue
            for case_id in mark.erased:
                cur.execute(f"SELECT count(*) FROM {entry.table} WHERE ({entry.case_rows}) AND {entry.column} IS NOT NULL "
                            f"AND get_byte({entry.column}, 2) = 1", (case_id,))
                if cur.fetchone()[0]:
                    problems.append(f"erased case {case_id} has a value on the municipality's key in "
                                    f"{entry.table}.{entry.column}")
    return problems


CHECKS = [rows_as_marked, erased_cases_stay_erased, audit_chain_holds, shredded_cases_stay_unreadable]


def compare(dsn: str, mark: Mark, checks=None) -> list[str]:
    conn = psycopg2.connect(dsn, connect_timeout=10, application_name="meldpunt-drill")
    try:
        _session(conn)
        problems = []
        for check in checks or CHECKS:
            problems += check(conn, mark)
        conn.rollback()
        return problems
    finally:
        conn.close()


# ------------------------------------------------------------------------------ the whole drill

def drill(settings, label: str, *, scratch_root: Path | None = None, after_mark=None, report=print) -> DrillResult:
    """Mark `label`'s live store, restore its server to the mark into a scratch folder, compare, remove the copy.
    `after_mark()` runs between the mark and the restore (the demo and the tests change the store there)."""
    region = settings.region
    server, dbname = backup.server_of(region, label)
    dsn = region.statistics_dsn if label == "statistics" else region.municipality(label).case_store_dsn
    seconds = {}
    if not any(entry.newest for entry in backup.status(settings) if entry.label == label):
        raise DrillError(f"{label} has no good backup yet: run `meldpunt backup run` first")
    started = time.monotonic()
    mark = take_mark(dsn)
    seconds["mark"] = time.monotonic() - started
    report(f"{label}: marked {mark.name} at {mark.at:%Y-%m-%d %H:%M:%S%z}: {mark.count('intake.incidents')} case(s), "
           f"{mark.count('hub.outbox')} outbox row(s) ({mark.unpublished} unpublished), "
           f"{mark.count('hub.audit_log')} audit row(s), {len(mark.erased)} erased case(s)")
    if after_mark is not None:
        after_mark()
    started = time.monotonic()
    archive_wal(server.dsn())
    seconds["archive"] = time.monotonic() - started
    folder = Path(tempfile.mkdtemp(prefix="meldpunt-drill-", dir=scratch_root))
    scratch = None
    try:
        started = time.monotonic()
        scratch = restore_scratch(settings, label, mark, folder, report=report)
        seconds["restore"] = time.monotonic() - started
        started = time.monotonic()
        problems = compare(scratch.dsn(dbname), mark)
        seconds["compare"] = time.monotonic() - started
    finally:
        if scratch is not None:
            scratch.remove()
        else:
            shutil.rmtree(folder, ignore_errors=True)
    result = DrillResult(mark, problems, seconds)
    timing = ", ".join(f"{step} {value:.1f} s" for step, value in seconds.items())
    if result.ok:
        report(f"{label}: the restore to {mark.name} holds every case, outbox row and audit row as marked, "
               f"and every case erased before it stays erased ({timing})")
    else:
        for problem in problems:
            report(f"{label}: {problem}")
    return result
