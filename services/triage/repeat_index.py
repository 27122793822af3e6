"""Triage's regional index of perpetrator keyed hashes: which municipalities' stores know a hash.

A repeat check asks the index one question instead of asking each of the region's other stores
(issue 25: 341 queries, most on a new connection, for every report naming a perpetrator). The
index holds a keyed hash and municipality codes, nothing else (docs/triage.md, docs/security.md),
and every look-up is logged there (`lookups`): who asked, why, how many hashes, who answered yes.

The stores stay the truth; the index follows them. Triage adds a case's perpetrator hashes once
they are committed, before it settles the case's repeat check (the open check makes that
at-least-once), and `reconcile` brings one municipality's entries in line with its store (hashes
a re-triage dropped, an erasure, what the store knew before the index existed): on the triage
scan's visits and after an erasure. Both take a per-municipality lock in the index first, and
`reconcile` reads the store under it: an addition waits for a reconcile that read the store before
the hashes were committed, so it is never undone by it. A hash a store no longer knows may stay
in the index until the next reconcile; the stores it names are asked themselves before a link.
"""
from __future__ import annotations

import hashlib

from psycopg2.extras import execute_values

LOOKUP_ACTOR = "service:triage"


def _lock(iuow, code: str) -> None:
    key = int.from_bytes(hashlib.sha256(f"triage_index:{code}".encode()).digest()[:8], "big", signed=True)
    iuow.execute("SELECT pg_advisory_xact_lock(%s)", (key,)).close()


def _present(uow, hashes=None) -> set[bytes]:
    """The perpetrator hashes the store knows (of `hashes`, or all)."""
    if hashes is None:
        rows = uow.fetchall("SELECT DISTINCT keyed_hash FROM triage.identity_keys WHERE kind = 'perpetrator'")
    else:
        rows = uow.fetchall("SELECT DISTINCT keyed_hash FROM triage.identity_keys WHERE kind = 'perpetrator' "
                            "AND keyed_hash = ANY(%s)", ([bytes(h) for h in hashes],))
    return {bytes(r["keyed_hash"]) for r in rows}


def _write(iuow, code: str, add, remove) -> None:
    if add:
        with iuow.cursor() as cur:
            execute_values(cur, "INSERT INTO triage_index.perpetrator_keys (keyed_hash, municipality) VALUES %s "
                                "ON CONFLICT DO NOTHING", [(bytes(h), code) for h in add], page_size=len(add))
    if remove:
        iuow.execute("DELETE FROM triage_index.perpetrator_keys WHERE municipality = %s AND keyed_hash = ANY(%s)",
                     (code, [bytes(h) for h in remove])).close()


def note_and_ask(iuow, code: str, hashes, reason: str, actor: str = LOOKUP_ACTOR) -> list[str]:
    """In the index: enter hashes that the store of `code` has committed, then the codes of the other
    municipalities that know any of them, the look-up logged. One transaction, no store held open.
    (The lock orders this write after a `reconcile` that read the store before these hashes were there.)"""
    hashes = {bytes(h) for h in hashes}
    _lock(iuow, code)
    _write(iuow, code, hashes, ())
    return ask(iuow, code, hashes, reason, actor)


def ask(iuow, code: str, hashes, reason: str, actor: str) -> list[str]:
    """The codes of the municipalities other than `code` whose stores know any of these hashes; the
    look-up is logged (never the hashes)."""
    hashes = [bytes(h) for h in hashes]
    if not hashes:
        return []
    row = iuow.fetchone(
        "WITH found AS (SELECT coalesce(array_agg(DISTINCT municipality ORDER BY municipality), '{}') AS codes "
        "FROM triage_index.perpetrator_keys WHERE keyed_hash = ANY(%s) AND municipality <> %s), "
        "logged AS (INSERT INTO triage_index.lookups (asked_by, actor, reason, hashes, found) "
        "SELECT %s, %s, %s, %s, codes FROM found) SELECT codes FROM found",
        (hashes, code, code, actor, reason, len(hashes)))
    return list(row["codes"])


def reconcile(iuow, uow, code: str) -> tuple[int, int]:
    """Bring the index's entries of `code` in line with its store (`uow`): (added, removed)."""
    _lock(iuow, code)
    present = _present(uow)
    indexed = {bytes(r["keyed_hash"]) for r in iuow.fetchall(
        "SELECT keyed_hash FROM triage_index.perpetrator_keys WHERE municipality = %s", (code,))}
    add, remove = present - indexed, indexed - present
    _write(iuow, code, add, remove)
    return len(add), len(remove)
