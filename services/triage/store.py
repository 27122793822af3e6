"""Triage's SQL: its results and identity keys (schema `triage`), and a read of the incident
through intake's store in the same case store (description and identifiers stay in this store)."""
from __future__ import annotations

import psycopg2.extras

from services.intake import store as intake_store

QUEUE_ORDER = "array_position(ARRAY['acuut','hoog','normaal','laag'], urgency), due_at"


def get_incident(uow, case_id) -> dict | None:
    """What triage reads of the incident: the description and the identifiers to hash (decrypted)."""
    row = intake_store.get_incident(uow, case_id)
    if row is None:
        return None
    return {name: row.get(name) for name in ("received_at", "description", "reporter", "perpetrators", "erased")}


def get_result(uow, case_id, lock: bool = False) -> dict | None:
    return uow.fetchone("SELECT * FROM triage.results WHERE case_id = %s" + (" FOR UPDATE" if lock else ""),
                        (case_id,))


def save_result(uow, case_id, result, received_at, due_at) -> None:
    """Store a (re-)triage: a new proposal that staff confirm or override."""
    uow.execute(
        "INSERT INTO triage.results (case_id, categories, urgency, decisions, reasons, rules_version, "
        "aftercare_intensity, received_at, due_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (case_id) DO UPDATE SET categories = EXCLUDED.categories, urgency = EXCLUDED.urgency, "
        "decisions = EXCLUDED.decisions, reasons = EXCLUDED.reasons, rules_version = EXCLUDED.rules_version, "
        "aftercare_intensity = EXCLUDED.aftercare_intensity, due_at = EXCLUDED.due_at, status = 'voorstel', "
        "decided_by = NULL, "
        "decided_at = NULL, updated_at = now()",
        (case_id, result.categories, result.urgency, result.decisions, result.reasons, result.rules_version,
         result.aftercare_intensity, received_at, due_at)).close()


def decide(uow, case_id, status, actor, now, categories, urgency, decisions, reasons) -> None:
    uow.execute("UPDATE triage.results SET status = %s, decided_by = %s, decided_at = %s, categories = %s, "
                "urgency = %s, decisions = %s, reasons = %s, updated_at = now() WHERE case_id = %s",
                (status, actor, now, categories, urgency, decisions, reasons, case_id)).close()


def queue(uow, limit: int = 200) -> list[dict]:
    return uow.fetchall(
        "SELECT case_id, triaged_at, categories, urgency, decisions, reasons, rules_version, "
        "aftercare_intensity, due_at, status, overdue_reported_at IS NOT NULL AS overdue "
        f"FROM triage.results WHERE status = 'voorstel' ORDER BY {QUEUE_ORDER} LIMIT %s", (limit,))


OVERDUE_BATCH = 100


def claim_overdue(uow, now, limit: int = OVERDUE_BATCH) -> list[dict]:
    """Mark unconfirmed results past their deadline, each once: rows another triage instance is
    marking are skipped (SKIP LOCKED), and a marked row never matches again."""
    rows = uow.fetchall(
        "SELECT case_id, urgency, due_at FROM triage.results WHERE status = 'voorstel' "
        "AND overdue_reported_at IS NULL AND due_at <= %s ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
        (now, limit))
    for row in rows:
        uow.execute("UPDATE triage.results SET overdue_reported_at = %s WHERE case_id = %s",
                    (now, row["case_id"])).close()
    return rows


def replace_keys(uow, case_id, keys: dict) -> dict[str, set[bytes]]:
    """Give the case these keyed hashes; return the ones it had before, by kind (one statement
    takes them away and says what they were)."""
    before: dict[str, set[bytes]] = {}
    for r in uow.fetchall("DELETE FROM triage.identity_keys WHERE case_id = %s RETURNING kind, keyed_hash",
                          (case_id,)):
        before.setdefault(r["kind"], set()).add(bytes(r["keyed_hash"]))
    rows = [(case_id, kind, h) for kind, hashes in keys.items() for h in hashes]
    if rows:
        with uow.cursor() as cur:
            psycopg2.extras.execute_values(cur, "INSERT INTO triage.identity_keys (case_id, kind, keyed_hash) "
                                                "VALUES %s ON CONFLICT DO NOTHING", rows, page_size=len(rows))
    return before


def linked_cases(uow, case_id, kind: str, hashes) -> list:
    """Other cases in this municipality sharing any of these keyed hashes."""
    if not hashes:
        return []
    rows = uow.fetchall("SELECT DISTINCT case_id FROM triage.identity_keys WHERE kind = %s "
                        "AND keyed_hash = ANY(%s) AND case_id <> %s ORDER BY case_id",
                        (kind, [bytes(h) for h in hashes], case_id))
    return [r["case_id"] for r in rows]


def count_linked(uow, case_id, kind: str, hashes) -> int:
    """How many other cases in this municipality share any of these keyed hashes (counted in the
    database: a much-reported person can have hundreds)."""
    if not hashes:
        return 0
    return uow.fetchone("SELECT count(DISTINCT case_id) AS n FROM triage.identity_keys WHERE kind = %s "
                        "AND keyed_hash = ANY(%s) AND case_id <> %s",
                        (kind, [bytes(h) for h in hashes], case_id))["n"]


def open_repeat_check(uow, event_id, case_id, linked: int, priority: int) -> None:
    """A perpetrator repeat to settle once the other municipalities have answered."""
    uow.execute("INSERT INTO triage.repeat_checks (event_id, case_id, linked, priority) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (event_id) DO NOTHING", (event_id, case_id, linked, priority)).close()


def repeat_check(uow, event_id) -> dict | None:
    return uow.fetchone("SELECT linked, priority FROM triage.repeat_checks WHERE event_id = %s", (event_id,))


def close_repeat_check(uow, event_id) -> dict | None:
    """Take the open check away; None when another delivery already settled it."""
    return uow.fetchone("DELETE FROM triage.repeat_checks WHERE event_id = %s RETURNING linked, priority",
                        (event_id,))


def knows_perpetrator(uow, hashes) -> bool:
    """Asked of another municipality's store: only whether it knows any of these hashes."""
    if not hashes:
        return False
    row = uow.fetchone("SELECT EXISTS (SELECT 1 FROM triage.identity_keys WHERE kind = 'perpetrator' "
                       "AND keyed_hash = ANY(%s)) AS known", ([bytes(h) for h in hashes],))
    return bool(row["known"])


def keys_of_case(uow, case_id, kind: str) -> list[bytes]:
    return [bytes(r["keyed_hash"]) for r in uow.fetchall(
        "SELECT keyed_hash FROM triage.identity_keys WHERE case_id = %s AND kind = %s", (case_id, kind))]
