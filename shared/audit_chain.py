"""The hash chain of a municipality's audit log (issue 21, item 3): how a row's hash is computed, the backfill of
rows stored before the chain, and the check `meldpunt audit verify` and the restore drill run.

The database links each row at commit (shared/migrations/case_store/0005_audit_chain.sql); the check here
recomputes every hash in Python from the rows themselves, so that a replaced function in the database or an
edited, deleted, inserted or reordered row shows as the first link that does not hold.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timezone

import psycopg2.extensions

GENESIS = bytes(32)  # the "previous hash" of the first row
COLUMNS = "seq, id, at, actor, action, case_id, subject, reason, prev_hash, row_hash"


def _field(value) -> str:
    if value is None:
        return "-"
    text = str(value)
    return f"{len(text.encode('utf-8'))}:{text}"


def canonical(seq: int, row) -> bytes:
    """The text a row's hash covers, exactly as hub.audit_link builds it."""
    at = row["at"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    parts = (seq, row["id"], at, row["actor"], row["action"], row["case_id"], row["subject"], row["reason"])
    return "|".join(_field(p) for p in parts).encode("utf-8")


def row_hash(prev: bytes, seq: int, row) -> bytes:
    return hashlib.sha256(bytes(prev) + canonical(seq, row)).digest()


@dataclass
class Verdict:
    rows: int = 0                  # rows checked in the chain
    head_seq: int = 0              # the last link (also what to write down as an anchor)
    head_hash: bytes = GENESIS
    broken: str | None = None      # the first broken link, one line

    @property
    def ok(self) -> bool:
        return self.broken is None

    @property
    def anchor(self) -> str:
        return f"{self.head_seq}:{self.head_hash.hex()}"


def verify(conn, anchor: str | None = None, batch: int = 5000) -> Verdict:
    """Walk the chain of the audit log at `conn` in one snapshot; stop at the first link that does not hold.

    `anchor` ("SEQ:HEX", from an earlier verify kept outside the database) must still be a link of the chain:
    an owner who rewrote the chain from some row on and its head cannot also match a hash written down before."""
    verdict = Verdict()
    wanted_anchor = None
    if anchor:
        seq_text, _, hex_text = anchor.partition(":")
        wanted_anchor = (int(seq_text), bytes.fromhex(hex_text))
    # one snapshot for the whole walk; a caller already in a transaction (the restore drill) keeps its own
    own = not conn.autocommit and conn.status == psycopg2.extensions.STATUS_READY
    if own:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        return _walk(conn, verdict, wanted_anchor, batch)
    finally:
        if own:
            conn.rollback()
            conn.set_session(isolation_level="DEFAULT", readonly="DEFAULT")


def _walk(conn, verdict: Verdict, wanted_anchor, batch: int) -> Verdict:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM hub.audit_log WHERE seq IS NULL")
        unlinked = cur.fetchone()[0]
        cur.execute("SELECT seq, row_hash FROM hub.audit_chain_head")
        head_seq, head_hash = cur.fetchone()
    prev, expected = GENESIS, 1
    with conn.cursor(name=f"audit_chain_walk_{id(verdict)}") as cur:
        cur.itersize = batch
        cur.execute(f"SELECT {COLUMNS} FROM hub.audit_log WHERE seq IS NOT NULL ORDER BY seq, id")
        names = COLUMNS.split(", ")
        for values in cur:
            row = dict(zip(names, values))
            problem = _link_problem(row, expected, prev)
            if problem:
                verdict.broken = problem
                return verdict
            prev, expected = bytes(row["row_hash"]), expected + 1
            verdict.rows += 1
            verdict.head_seq, verdict.head_hash = row["seq"], prev
            if wanted_anchor and row["seq"] == wanted_anchor[0] and prev != wanted_anchor[1]:
                verdict.broken = (f"link {row['seq']} (row id {row['id']}) differs from the anchor written "
                                  "down before: the chain was rewritten from there or earlier")
                return verdict
    if (head_seq, bytes(head_hash)) != (verdict.head_seq, verdict.head_hash):
        verdict.broken = (f"the chain ends at link {verdict.head_seq} but its head says {head_seq}: "
                          "rows at the end were deleted (or the head was changed)")
    elif wanted_anchor and wanted_anchor[0] > verdict.head_seq:
        verdict.broken = (f"the anchor names link {wanted_anchor[0]} but the chain ends at "
                          f"{verdict.head_seq}: rows at the end were deleted")
    elif unlinked:
        verdict.broken = (f"{unlinked} row(s) outside the chain (inserted past the trigger, or stored before "
                          "it and not linked yet: run `meldpunt migrate`)")
    return verdict


def _link_problem(row, expected: int, prev: bytes) -> str | None:
    where = f"link {expected} (row id {row['id']}, {row['action']} {row['subject']!r})"
    if row["seq"] != expected:
        if row["seq"] > expected:
            return f"link {expected} is missing (the next is {row['seq']}, row id {row['id']}): a row was deleted"
        return f"link {row['seq']} appears twice (row id {row['id']}): a row was copied or renumbered"
    if row["prev_hash"] is None or bytes(row["prev_hash"]) != prev:
        return f"{where} does not follow link {expected - 1}: rows were deleted, inserted or reordered"
    if row["row_hash"] is None or bytes(row["row_hash"]) != row_hash(prev, expected, row):
        return f"{where}: its content no longer matches its hash: the row was edited"
    return None


def link_unchained(conn, batch: int = 500) -> int:
    """Link the rows stored before the chain existed, oldest first, in short transactions (`meldpunt migrate`)."""
    total = 0
    while True:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT to_regproc('hub.audit_link') IS NOT NULL")
            if not cur.fetchone()[0]:
                return total
            cur.execute("SELECT id FROM hub.audit_log WHERE seq IS NULL ORDER BY id LIMIT %s", (batch,))
            ids = [r[0] for r in cur.fetchall()]
            for row_id in ids:
                cur.execute("SELECT hub.audit_link(%s)", (row_id,))
        total += len(ids)
        if len(ids) < batch:
            return total
