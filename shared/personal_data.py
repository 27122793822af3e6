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

from shared import case_progress

_PLAN_ROWS = "plan_id IN (SELECT plan_id FROM aftercare.care_plans WHERE case_id = %s)"
_REFERRAL_ROWS = "referral_id IN (SELECT referral_id FROM police_liaison.referrals WHERE case_id = %s)"


@dataclass(frozen=True)
class Sealed:
    table: str                   # schema.table
    id_column: str               # the row id bound into the associated data
    column: str                  # the bytea column holding the ciphertext
    legacy: tuple[str, ...] = ()  # plaintext columns of rows stored before encryption, folded into it
    raw: bool = False            # bytes (an evidence file), not JSON
    case_rows: str | None = None  # WHERE clause (one %s: the case id) selecting a case's rows


INCIDENT_PERSONAL = ("description", "own_kind", "location_detail", "target", "reporter", "perpetrators", "witnesses",
                     "injuries", "damage")

SEALED = (
    Sealed("intake.incidents", "case_id", "personal", legacy=INCIDENT_PERSONAL, case_rows="case_id = %s"),
    Sealed("intake.evidence", "evidence_id", "personal", legacy=("filename",), case_rows="case_id = %s"),
    Sealed("intake.evidence", "evidence_id", "content_sealed", legacy=("content",), raw=True,
           case_rows="case_id = %s"),
    Sealed("intake.additions", "id", "personal", legacy=("text",), case_rows="case_id = %s"),
    # a channel key's HMAC secret (issue #3); not a case's data, but encrypted with the same keys
    Sealed("intake.signing_secrets", "key_id", "secret"),
    Sealed("police_liaison.referrals", "referral_id", "personal", legacy=("registration_number", "reason"),
           case_rows="case_id = %s"),
    Sealed("police_liaison.referral_steps", "id", "personal", legacy=("detail",), case_rows=_REFERRAL_ROWS),
    Sealed("aftercare.contacts", "contact_id", "health", case_rows=_PLAN_ROWS),
    Sealed("aftercare.referrals", "referral_id", "details", case_rows=_PLAN_ROWS),
    Sealed("aftercare.referrals", "referral_id", "result", case_rows=_PLAN_ROWS),
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
        rows = uow.fetchall(f"SELECT {entry.id_column} AS row_id, {', '.join(entry.legacy)} FROM {entry.table} "
                            f"WHERE {entry.column} IS NULL AND ({any_plain}) LIMIT %s FOR UPDATE SKIP LOCKED",
                            (batch_size,))
        for row in rows:
            if entry.raw:
                value = bytes(row[entry.legacy[0]])
            else:
                value = {c: row[c] for c in entry.legacy}
            sealed = uow.seal(entry.table, entry.column, row["row_id"], value, raw=entry.raw)
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

_NOT_ON = "{column} IS NOT NULL AND substring({column} from 4 for 4) <> int4send(%s)"  # the header's version


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
        for row in rows:
            plain = uow.keyring.decrypt(uow, entry.table, entry.column, row["row_id"], row["sealed"])
            resealed = uow.keyring.encrypt(uow, entry.table, entry.column, row["row_id"], plain)
            uow.execute(f"UPDATE {entry.table} SET {entry.column} = %s WHERE {entry.id_column} = %s",
                        (resealed, row["row_id"])).close()
        moved += len(rows)
    return moved


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
       transaction, while the services keep reading (any version decrypts) and writing.
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
        moved_total += moved
        after_batch(moved)
        if moved:
            report(f"re-encrypted {moved_total} value(s)")
            if pause:
                time.sleep(pause)
            continue
        with open_store() as uow:
            left = values_not_on(uow, version)
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
    dates (what the statistics count). 'erased', 'already erased' or 'unknown'."""
    row = uow.fetchone("SELECT erased_at FROM intake.incidents WHERE case_id = %s FOR UPDATE", (case_id,))
    if row is None:
        return "unknown"
    if row["erased_at"] is not None:
        return "already erased"
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
    """Closed or withdrawn cases whose closing lies more than `years` back and are not erased
    (when a case counts as closed: shared/case_progress.py)."""
    return case_progress.closed_before(uow, now - timedelta(days=round(365.25 * years)), limit)


def run_retention(open_store, years: int, now: datetime, actor: str) -> list:
    """Erase every case of one municipality past its retention period; the erased case ids."""
    erased = []
    while True:
        with open_store() as uow:
            due = retention_due(uow, years, now)
            for case_id in due:
                erase_case(uow, case_id, actor, f"retention: {years} years after closure")
        erased += due
        if len(due) < 100:
            return erased
