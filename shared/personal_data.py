"""Where personal data lives in a case store, and what the hub does with all of it at once:
encrypt what was stored in plaintext (`meldpunt migrate`), re-encrypt with a new data key
version (`meldpunt keys rotate`), and erase a case (`meldpunt erase`, `meldpunt retention run`).

Every encrypted column of every service is listed once, in SEALED; a service that adds one
adds it here, so that rotation and erasure know it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import case_views

_PLAN_ROWS = "plan_id IN (SELECT plan_id FROM aftercare.care_plans WHERE case_id = %s)"
_REFERRAL_ROWS = "referral_id IN (SELECT referral_id FROM police_liaison.referrals WHERE case_id = %s)"
_PLAN_CASE = "(SELECT p.case_id FROM aftercare.care_plans p WHERE p.plan_id = t.plan_id)"
_TRACK_ROWS = "track_id IN (SELECT track_id FROM aftercare.witness_tracks WHERE case_id = %s)"
_TRACK_CASE = "(SELECT w.case_id FROM aftercare.witness_tracks w WHERE w.track_id = t.track_id)"
_REFERRAL_CASE = "(SELECT r.case_id FROM police_liaison.referrals r WHERE r.referral_id = t.referral_id)"


@dataclass(frozen=True)
class Sealed:
    table: str                   # schema.table
    id_column: str               # the row id bound into the associated data
    column: str                  # the bytea column holding the ciphertext
    legacy: tuple[str, ...] = ()  # plaintext columns of rows stored before encryption, folded into it
    raw: bool = False            # bytes (an evidence file), not JSON
    case_rows: str | None = None  # WHERE clause (one %s: the case id) selecting a case's rows
    case_of: str = "t.case_id"   # the case id of a row `t` (encrypted with that case's key)


INCIDENT_PERSONAL = ("description", "own_kind", "location_detail", "target", "reporter", "perpetrators", "witnesses",
                     "injuries", "damage")

SEALED = (
    Sealed("intake.incidents", "case_id", "personal", legacy=INCIDENT_PERSONAL, case_rows="case_id = %s"),
    Sealed("intake.evidence", "evidence_id", "personal", legacy=("filename",), case_rows="case_id = %s"),
    Sealed("intake.evidence", "evidence_id", "content_sealed", legacy=("content",), raw=True,
           case_rows="case_id = %s"),
    Sealed("intake.additions", "id", "personal", legacy=("text",), case_rows="case_id = %s"),
    # the workbench's casework: internal notes, a staff closing's note, and who is excluded from a case
    Sealed("intake.notes", "id", "personal", case_rows="case_id = %s"),
    Sealed("intake.closures", "case_id", "personal", case_rows="case_id = %s"),
    Sealed("hub.case_exclusions", "id", "personal", case_rows="case_id = %s"),
    # feedback to the reporter (issue 19): the follow-up secret of a channel's first answer, and the
    # messages between staff and the reporter
    Sealed("intake.idempotency_keys", "case_id", "personal", case_rows="case_id = %s"),
    Sealed("intake.messages", "id", "personal", case_rows="case_id = %s"),
    # a channel key's HMAC secret (issue #3); not a case's data, but encrypted with the same keys
    Sealed("hub.signing_secrets", "key_id", "secret"),
    # a partner subscriber's webhook signing keys (docs/partners.md), likewise
    Sealed("signals.subscriber_keys", "key_id", "secret", raw=True),
    # triage's reasons: the rules quote the description, staff give their own words (issue 21, item 5)
    Sealed("triage.results", "case_id", "personal", legacy=("reasons",), case_rows="case_id = %s"),
    Sealed("police_liaison.referrals", "referral_id", "personal", legacy=("registration_number", "reason"),
           case_rows="case_id = %s"),
    Sealed("police_liaison.referral_steps", "id", "personal", legacy=("detail",), case_rows=_REFERRAL_ROWS,
           case_of=_REFERRAL_CASE),
    Sealed("aftercare.contacts", "contact_id", "health", case_rows=_PLAN_ROWS, case_of=_PLAN_CASE),
    Sealed("aftercare.referrals", "referral_id", "details", case_rows=_PLAN_ROWS, case_of=_PLAN_CASE),
    Sealed("aftercare.referrals", "referral_id", "result", case_rows=_PLAN_ROWS, case_of=_PLAN_CASE),
    # a witness's or colleague's own care track (issue 20): who they are, and a contact's notes
    Sealed("aftercare.witness_tracks", "track_id", "personal", case_rows="case_id = %s"),
    Sealed("aftercare.witness_contacts", "contact_id", "notes", case_rows=_TRACK_ROWS, case_of=_TRACK_CASE),
)

DEFAULT_RETENTION_YEARS = 5


def _present(uow, table: str) -> bool:
    """Whether this case store has the table (a column of a later migration may not be there yet)."""
    return uow.fetchone("SELECT to_regclass(%s) IS NOT NULL AS present", (table,))["present"]


# ------------------------------------------------------------------ plaintext left from before

def encrypt_plaintext(uow, batch_size: int = 200) -> int:
    """Encrypt one batch of rows still holding plaintext personal data (stored before the
    encryption migrations) and empty their plaintext columns; how many rows were done."""
    done = 0
    for entry in SEALED:
        if not entry.legacy or not _present(uow, entry.table):
            continue
        any_plain = " OR ".join(f"{c} IS NOT NULL" for c in entry.legacy)
        case = f"{entry.case_of} AS case_ref" if entry.case_rows else "NULL AS case_ref"
        rows = uow.fetchall(f"SELECT {entry.id_column} AS row_id, {case}, {', '.join(entry.legacy)} "
                            f"FROM {entry.table} t WHERE {entry.column} IS NULL AND ({any_plain}) "
                            "LIMIT %s FOR UPDATE OF t SKIP LOCKED", (batch_size,))
        for row in rows:
            if entry.raw:
                value = bytes(row[entry.legacy[0]])
            else:
                value = {c: row[c] for c in entry.legacy}
            sealed = uow.seal(entry.table, entry.column, row["row_id"], value, raw=entry.raw, case_id=row["case_ref"])
            empty = ", ".join(f"{c} = NULL" for c in entry.legacy)
            uow.execute(f"UPDATE {entry.table} SET {entry.column} = %s, {empty} WHERE {entry.id_column} = %s",
                        (sealed, row["row_id"])).close()
        done += len(rows)
    return done


def plaintext_left(uow) -> int:
    """Rows that still hold personal data in plaintext (0 after `meldpunt migrate`)."""
    left = 0
    for entry in SEALED:
        if entry.legacy and _present(uow, entry.table):
            any_plain = " OR ".join(f"{c} IS NOT NULL" for c in entry.legacy)
            left += uow.fetchone(f"SELECT count(*) AS n FROM {entry.table} WHERE {entry.column} IS NULL "
                                 f"AND ({any_plain})")["n"]
    return left


# ---------------------------------------------------------------------------- key rotation

# a value on a municipality data key (format 1) other than version %s (the header's version)
_NOT_ON = "{column} IS NOT NULL AND get_byte({column}, 2) = 1 AND substring({column} from 4 for 4) <> int4send(%s)"
# a case's value still on a municipality data key (format 1: from before case keys)
_ON_MUNICIPALITY_KEY = "{column} IS NOT NULL AND get_byte({column}, 2) = 1"


def rewrap_batch(uow, version: int, batch_size: int) -> int:
    """Re-encrypt up to `batch_size` values per column that are not on key `version`; rows a
    service holds locked are skipped (taken in a later batch). Returns how many were moved."""
    moved = 0
    for entry in SEALED:
        if not _present(uow, entry.table):
            continue
        where = _NOT_ON.format(column=entry.column)
        rows = uow.fetchall(f"SELECT {entry.id_column} AS row_id, {entry.column} AS sealed FROM {entry.table} "
                            f"WHERE {where} LIMIT %s FOR UPDATE SKIP LOCKED", (version, batch_size))
        # a case's value is moved to its case key instead (what a rotation after the upgrade finds left)
        case_ids = _cases_of(uow, entry, [row["row_id"] for row in rows])
        for row in rows:
            plain = uow.keyring.decrypt(uow, entry.table, entry.column, row["row_id"], row["sealed"])
            resealed = uow.keyring.encrypt(uow, entry.table, entry.column, row["row_id"], plain,
                                           case_id=case_ids.get(row["row_id"]))
            uow.execute(f"UPDATE {entry.table} SET {entry.column} = %s WHERE {entry.id_column} = %s",
                        (resealed, row["row_id"])).close()
        moved += len(rows)
    return moved


def _cases_of(uow, entry: Sealed, row_ids) -> dict:
    """row id -> case id of rows of a case-bound table (empty for a table not bound to cases)."""
    if not entry.case_rows or not row_ids:
        return {}
    rows = uow.fetchall(f"SELECT {entry.id_column} AS row_id, {entry.case_of} AS case_ref FROM {entry.table} t "
                        f"WHERE {entry.id_column} = ANY(%s)", (list(row_ids),))
    return {row["row_id"]: row["case_ref"] for row in rows}


def to_case_keys(uow, batch_size: int = 200) -> int:
    """Move one batch of cases' values still encrypted with the municipality's data key (stored before case
    keys) to their case's own key (`meldpunt migrate`, in short transactions while the hub runs). How many."""
    moved = 0
    for entry in SEALED:
        if not entry.case_rows or not _present(uow, entry.table):
            continue
        rows = uow.fetchall(f"SELECT {entry.id_column} AS row_id, {entry.case_of} AS case_ref, "
                            f"{entry.column} AS sealed FROM {entry.table} t WHERE "
                            + _ON_MUNICIPALITY_KEY.format(column=entry.column)
                            + " LIMIT %s FOR UPDATE OF t SKIP LOCKED", (batch_size,))
        for row in rows:
            plain = uow.keyring.decrypt(uow, entry.table, entry.column, row["row_id"], row["sealed"])
            resealed = uow.keyring.encrypt(uow, entry.table, entry.column, row["row_id"], plain,
                                           case_id=row["case_ref"])
            uow.execute(f"UPDATE {entry.table} SET {entry.column} = %s WHERE {entry.id_column} = %s",
                        (resealed, row["row_id"])).close()
        moved += len(rows)
    return moved


def on_municipality_keys(uow) -> int:
    """Cases' values not yet on their case key (0 after `meldpunt migrate` with the master key)."""
    return sum(uow.fetchone(f"SELECT count(*) AS n FROM {entry.table} WHERE "
                            + _ON_MUNICIPALITY_KEY.format(column=entry.column))["n"]
               for entry in SEALED if entry.case_rows and _present(uow, entry.table))


def values_not_on(uow, version: int) -> int:
    """How many encrypted values still use another key version than `version`."""
    total = 0
    for entry in SEALED:
        if _present(uow, entry.table):
            total += uow.fetchone(f"SELECT count(*) AS n FROM {entry.table} WHERE "
                                  + _NOT_ON.format(column=entry.column), (version,))["n"]
    return total


def rotate(open_store, actor: str, batch_size: int = 100, pause: float = 0.0, report=lambda line: None,
           after_batch=lambda moved: None) -> dict:
    """Rotate one municipality's data key without downtime.

    1. A new key version is added (one short transaction); every write after it uses it.
    2. Values on older versions are re-encrypted in small batches, each its own short
       transaction, while the services keep reading (any version decrypts) and writing; case keys on
       older versions are re-wrapped (the cases' data itself is not decrypted).
    3. When none is left, the older versions are retired.
    `open_store()` gives a unit of work on the municipality's case store.
    """
    with open_store() as uow:
        version = uow.keyring.add_version(uow)
        uow.audit(actor, "rotate", f"data key: new version v{version}")
    report(f"data key v{version} made; new values use it from now on")
    moved_total = 0
    while True:
        with open_store() as uow:
            moved = rewrap_batch(uow, version, batch_size)
            # case keys: re-wrapped with the new municipality key; the data they protect is not touched
            moved += uow.keyring.rewrap_case_keys(uow, version, batch_size)
        moved_total += moved
        after_batch(moved)
        if moved:
            report(f"re-encrypted {moved_total} value(s)")
            if pause:
                time.sleep(pause)
            continue
        with open_store() as uow:
            left = values_not_on(uow, version) + uow.keyring.case_keys.count_not_on(uow, version)
            if left:  # rows that were locked by a service during the last batch
                continue
            retired = uow.keyring.retire_older(uow, version)
            uow.audit(actor, "rotate", f"data key: {moved_total} value(s) re-encrypted to v{version}, "
                                       f"retired {', '.join(f'v{v}' for v in retired) or 'none'}")
        report(f"done: {moved_total} value(s) on v{version}; retired "
               f"{', '.join(f'v{v}' for v in retired) or 'no older version'}")
        return {"version": version, "moved": moved_total, "retired": retired}


# -------------------------------------------------------------------------------- erasure

def erase_case(uow, case_id, actor: str, reason: str) -> str:
    """Erase the personal data of one case in every service's tables, keeping its codes and
    dates (what the statistics count). 'erased', 'already erased', 'on legal hold' or 'unknown'."""
    row = uow.fetchone("SELECT erased_at FROM intake.incidents WHERE case_id = %s FOR UPDATE", (case_id,))
    if row is None:
        return "unknown"
    if row["erased_at"] is not None:
        return "already erased"
    if on_hold(uow, case_id):
        return "on legal hold"
    # crypto-shredding first (it commits at once in a key store of its own): should the rest fail, the case is
    # unreadable rather than readable; and every copy of its ciphertext (dumps, backups) with it
    uow.keyring.destroy_case_key(uow, case_id)
    for entry in SEALED:
        if entry.case_rows is None or not _present(uow, entry.table):
            continue
        columns = ", ".join(f"{c} = NULL" for c in (entry.column, *entry.legacy))
        uow.execute(f"UPDATE {entry.table} SET {columns} WHERE {entry.case_rows}", (case_id,)).close()
    # the files themselves, the keyed hashes that link the case to other cases' perpetrators,
    # and a repeat check still open (parked): a repeat of a case that is gone is not to be reported
    uow.execute("DELETE FROM intake.evidence WHERE case_id = %s", (case_id,)).close()
    uow.execute("DELETE FROM triage.identity_keys WHERE case_id = %s", (case_id,)).close()
    uow.execute("DELETE FROM triage.repeat_checks WHERE case_id = %s", (case_id,)).close()
    # no follow-up any more, and no more aftercare reminders about a case that is gone
    uow.execute("UPDATE intake.incidents SET erased_at = now(), receipt_code = NULL, secret_hash = NULL "
                "WHERE case_id = %s", (case_id,)).close()
    uow.execute("UPDATE aftercare.care_plans SET status = 'closed', close_reason = 'erased', closed_at = now() "
                "WHERE case_id = %s AND status = 'open'", (case_id,)).close()
    uow.audit(actor, "erase", "personal data of the case", case_id=case_id, reason=reason)
    return "erased"


def retention_due(uow, years: int, now: datetime, limit: int = 100) -> list:
    """Closed or withdrawn cases whose closing lies more than `years` back, and cases that never closed and did
    not change for as long; not erased, not under legal hold (shared/case_views.py)."""
    return case_views.closed_before(uow, now - timedelta(days=round(365.25 * years)), limit)


def run_retention(open_store, years: int, now: datetime, actor: str) -> list:
    """Erase every case of one municipality past its retention period; the erased case ids. Then prune what
    only served to recognise repeats (`prune_bookkeeping`)."""
    erased = []
    while True:
        with open_store() as uow:
            due = retention_due(uow, years, now)
            for case_id in due:
                erase_case(uow, case_id, actor, f"retention: {years} years after closure")
        erased += due
        if len(due) < 100:
            break
    prune_bookkeeping(open_store, now)
    return erased


# ---------------------------------------------------------------------------- bookkeeping

INBOX_KEEP_DAYS = 90        # far past any redelivery or retry; a dead letter replayed later is handled again
IDEMPOTENCY_KEEP_DAYS = 30  # a client repeats a request within hours; the key maps to a case and a secret


def prune_bookkeeping(open_store, now: datetime, batch: int = 1000) -> dict:
    """Delete inbox rows (which events a consumer handled) and intake's idempotency keys past their use, in
    batches of short transactions; how many of each."""
    done = {"hub.inbox": 0, "intake.idempotency_keys": 0}
    for table, column, days, key in (("hub.inbox", "handled_at", INBOX_KEEP_DAYS, "consumer, event_id"),
                                     ("intake.idempotency_keys", "created_at", IDEMPOTENCY_KEEP_DAYS,
                                      "key_id, idempotency_key")):
        while True:
            with open_store() as uow:
                if not _present(uow, table):
                    break
                cur = uow.execute(f"DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} "
                                  f"WHERE {column} < %s LIMIT %s)", (now - timedelta(days=days), batch))
                count = cur.rowcount
                cur.close()
            done[table] += count
            if count < batch:
                break
    return done


# ---------------------------------------------------------------------------- legal hold

def on_hold(uow, case_id) -> bool:
    if not _present(uow, "hub.legal_holds"):
        return False
    return uow.fetchone("SELECT count(*) AS n FROM hub.legal_holds WHERE case_id = %s AND lifted_at IS NULL",
                        (case_id,))["n"] > 0


def set_hold(uow, case_id, reason: str, actor: str) -> str:
    """Put a case under legal hold: 'set', 'already on hold' or 'unknown'. Audited (the reason stays in
    hub.legal_holds, the audit log keeps the code)."""
    if uow.fetchone("SELECT 1 AS known FROM intake.incidents WHERE case_id = %s FOR UPDATE", (case_id,)) is None:
        return "unknown"
    if on_hold(uow, case_id):
        return "already on hold"
    uow.execute("INSERT INTO hub.legal_holds (case_id, reason, set_by) VALUES (%s, %s, %s)",
                (case_id, reason, actor)).close()
    uow.audit(actor, "hold", "legal hold set", case_id=case_id, reason="legal_hold")
    return "set"


def lift_hold(uow, case_id, reason: str, actor: str) -> str:
    """Lift a case's legal hold: 'lifted' or 'not on hold'. Audited."""
    cur = uow.execute("UPDATE hub.legal_holds SET lifted_by = %s, lifted_at = now(), lift_reason = %s "
                      "WHERE case_id = %s AND lifted_at IS NULL", (actor, reason, case_id))
    lifted = cur.rowcount
    cur.close()
    if not lifted:
        return "not on hold"
    uow.audit(actor, "lift", "legal hold lifted", case_id=case_id, reason="legal_hold")
    return "lifted"


def holds(uow) -> list[dict]:
    return uow.fetchall("SELECT case_id, reason, set_by, set_at FROM hub.legal_holds WHERE lifted_at IS NULL "
                        "ORDER BY set_at")
