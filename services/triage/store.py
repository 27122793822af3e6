"""Triage's SQL: its results and identity keys (schema `triage`)."""
from __future__ import annotations

import psycopg2.extras

QUEUE_ORDER = "array_position(ARRAY['acuut','hoog','normaal','laag'], urgency), due_at"
# a withdrawn or closed case waits for nobody: not in the queue, never overdue
NOT_STOPPED = "NOT EXISTS (SELECT 1 FROM triage.stopped_cases x WHERE x.case_id = r.case_id)"


RESULTS = "triage.results"


def _opened(uow, row: dict | None) -> dict | None:
    """A result with its reasons decrypted (personal data: they quote the description and the staff)."""
    if row is None:
        return None
    sealed = row.pop("personal", None)
    if sealed is not None:
        row["reasons"] = uow.unseal(RESULTS, "personal", row["case_id"], sealed)["reasons"]
    elif row.get("reasons") is None:
        row["reasons"] = []  # erased
    return row


def _sealed(uow, case_id, reasons) -> bytes:
    return uow.seal(RESULTS, "personal", case_id, {"reasons": list(reasons)}, case_id=case_id)


def get_result(uow, case_id, lock: bool = False) -> dict | None:
    return _opened(uow, uow.fetchone("SELECT * FROM triage.results WHERE case_id = %s" + (" FOR UPDATE" if lock else ""),
                                     (case_id,)))


def save_result(uow, case_id, result, received_at, due_at) -> None:
    """Store a (re-)triage: a new proposal that staff confirm or override."""
    uow.execute(
        "INSERT INTO triage.results (case_id, categories, urgency, decisions, reasons, personal, rules_version, "
        "aftercare_intensity, received_at, due_at) VALUES (%s, %s, %s, %s, NULL, %s, %s, %s, %s, %s) "
        "ON CONFLICT (case_id) DO UPDATE SET categories = EXCLUDED.categories, urgency = EXCLUDED.urgency, "
        "decisions = EXCLUDED.decisions, reasons = NULL, personal = EXCLUDED.personal, "
        "rules_version = EXCLUDED.rules_version, "
        "aftercare_intensity = EXCLUDED.aftercare_intensity, due_at = EXCLUDED.due_at, status = 'voorstel', "
        "decided_by = NULL, "
        "decided_at = NULL, updated_at = now()",
        (case_id, result.categories, result.urgency, result.decisions, _sealed(uow, case_id, result.reasons),
         result.rules_version,
         result.aftercare_intensity, received_at, due_at)).close()
    uow.wake(OVERDUE_TASK, due_at)


def decide(uow, case_id, status, actor, now, categories, urgency, decisions, reasons) -> None:
    uow.execute("UPDATE triage.results SET status = %s, decided_by = %s, decided_at = %s, categories = %s, "
                "urgency = %s, decisions = %s, reasons = NULL, personal = %s, updated_at = now() WHERE case_id = %s",
                (status, actor, now, categories, urgency, decisions, _sealed(uow, case_id, reasons), case_id)).close()


def queue(uow, visible=("TRUE", ()), limit: int = 200, offset: int = 0) -> tuple[int, list[dict]]:
    """Results waiting for staff, one page of them, and how many wait in all; `visible` is the caller's
    shared.auth.case_visibility on `r.case_id`."""
    condition, params = visible
    where = f"FROM triage.results r WHERE status = 'voorstel' AND {condition} AND {NOT_STOPPED}"
    total = uow.fetchone(f"SELECT count(*) AS n {where}", params)["n"]
    return total, [_opened(uow, row) for row in uow.fetchall(
        "SELECT case_id, triaged_at, categories, urgency, decisions, reasons, personal, rules_version, "
        "aftercare_intensity, due_at, status, overdue_reported_at IS NOT NULL AS overdue "
        f"{where} ORDER BY {QUEUE_ORDER}, r.case_id LIMIT %s OFFSET %s",
        (*params, limit, offset))]


OVERDUE_BATCH = 100
# The overdue scan's due-time index (shared/scan.py) hears of every deadline written here.
OVERDUE_TASK = "overdue"


def next_overdue(uow):
    """When the next unconfirmed result of this store passes its deadline, or None."""
    return uow.fetchone("SELECT min(due_at) AS at FROM triage.results r WHERE status = 'voorstel' "
                        f"AND overdue_reported_at IS NULL AND {NOT_STOPPED}")["at"]


def claim_overdue(uow, now, limit: int = OVERDUE_BATCH) -> list[dict]:
    """Mark unconfirmed results past their deadline, each once: rows another triage instance is
    marking are skipped (SKIP LOCKED), and a marked row never matches again."""
    rows = uow.fetchall(
        "SELECT case_id, urgency, due_at FROM triage.results r WHERE status = 'voorstel' "
        f"AND overdue_reported_at IS NULL AND due_at <= %s AND {NOT_STOPPED} ORDER BY due_at LIMIT %s "
        "FOR UPDATE OF r SKIP LOCKED",
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


def replace_keys_and_count(uow, case_id, keys: dict) -> tuple[dict[str, set[bytes]], dict[str, int]]:
    """`replace_keys` and `count_linked` for every kind with keys, in one statement (issue 25: they
    were three): the keyed hashes the case had before, by kind, and how many other cases in this
    municipality share any of its new ones, by kind. The case's triage result is locked already
    (`save_result`), so no other triage of the case changes its keys meanwhile."""
    rows = [(kind, bytes(h)) for kind, hashes in keys.items() for h in hashes]
    kinds, hashes = [kind for kind, _ in rows], [h for _, h in rows]
    found = uow.fetchall(
        "WITH new (kind, keyed_hash) AS (SELECT * FROM unnest(%(kinds)s::text[], %(hashes)s::bytea[])), "
        "before AS (SELECT kind, keyed_hash FROM triage.identity_keys WHERE case_id = %(case)s), "
        "gone AS (DELETE FROM triage.identity_keys WHERE case_id = %(case)s "
        "AND (kind, keyed_hash) NOT IN (SELECT kind, keyed_hash FROM new)), "
        "added AS (INSERT INTO triage.identity_keys (case_id, kind, keyed_hash) SELECT %(case)s, kind, keyed_hash "
        "FROM new ON CONFLICT DO NOTHING) "
        "SELECT 'before' AS what, kind, keyed_hash, NULL::bigint AS n FROM before "
        "UNION ALL SELECT 'linked', k.kind, NULL, count(DISTINCT k.case_id) FROM triage.identity_keys k "
        "JOIN new USING (kind, keyed_hash) WHERE k.case_id <> %(case)s GROUP BY k.kind",
        {"kinds": kinds, "hashes": hashes, "case": case_id})
    before: dict[str, set[bytes]] = {}
    linked: dict[str, int] = {}
    for r in found:
        if r["what"] == "before":
            before.setdefault(r["kind"], set()).add(bytes(r["keyed_hash"]))
        else:
            linked[r["kind"]] = r["n"]
    return before, linked


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


def stop(uow, case_id, reason: str, now) -> bool:
    """The case was withdrawn or closed; False when it was stopped before."""
    cur = uow.execute("INSERT INTO triage.stopped_cases (case_id, reason, stopped_at) VALUES (%s, %s, %s) "
                      "ON CONFLICT DO NOTHING", (case_id, reason, now))
    stopped = cur.rowcount == 1
    cur.close()
    return stopped


def latest_case_with_perpetrator(uow, hashes):
    """Asked of another municipality's store once it said it knows the perpetrator: its latest case with
    any of these keyed hashes (the case it tells its own coordinator about), or None."""
    row = uow.fetchone("SELECT k.case_id FROM triage.identity_keys k JOIN triage.results t USING (case_id) "
                       "WHERE k.kind = 'perpetrator' AND k.keyed_hash = ANY(%s) ORDER BY t.triaged_at DESC LIMIT 1",
                       ([bytes(h) for h in hashes],))
    return row["case_id"] if row else None


def add_repeat_link(uow, link_id, case_id, other: str) -> bool:
    """Remember a repeat link told to this store; False when it was told before (a redelivery)."""
    cur = uow.execute("INSERT INTO triage.repeat_links (link_id, case_id, other_municipality) VALUES (%s, %s, %s) "
                      "ON CONFLICT DO NOTHING", (link_id, case_id, other))
    added = cur.rowcount == 1
    cur.close()
    return added


def add_known_elsewhere(uow, case_id, codes) -> None:
    """Remember which other municipalities knew the perpetrator when asked (what the result shows)."""
    uow.execute("UPDATE triage.results SET known_elsewhere = ARRAY(SELECT DISTINCT c FROM "
                "unnest(coalesce(known_elsewhere, '{}') || %s::text[]) AS c ORDER BY c) WHERE case_id = %s",
                (list(codes), case_id)).close()
