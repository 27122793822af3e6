"""A case's decision state in a service's own schema: the table `<schema>.cases` (case_id, decided_at,
stopped_at and the stop's reason) with which the services that carry out a person's decisions (issue 19)
take them one case at a time, in the order they were made, and stop with the case. One definition for
every service that keeps one; each keeps the table in its own schema (the rooms stay sealed)."""
from __future__ import annotations

# A decision made at EXCLUDED.decided_at is carried out only while the case has not stopped and no newer one
# was (decisions may arrive out of order); NULL, no decision, leaves decided_at as it is.
_DECIDED = ("CASE WHEN c.stopped_at IS NULL AND (c.decided_at IS NULL OR c.decided_at <= EXCLUDED.decided_at) "
            "THEN EXCLUDED.decided_at ELSE c.decided_at END")


class DecisionState:
    def __init__(self, schema: str, stop_column: str = "stop_reason"):
        self.table, self.stop_column = f"{schema}.cases", stop_column

    def case_state(self, uow, case_id, claim=None, decision_at=None) -> dict | None:
        """The case's decision state (made when first needed), locked: one decision of a case at a time. One
        statement (issue 25; an insert and a SELECT … FOR UPDATE were two): an upsert, which in READ COMMITTED
        locks and returns the newest row even when another transaction made or changed it after this
        statement began, as the SELECT … FOR UPDATE did.

        `decision_at`: a decision made then, carried out in the same statement (`decided_at` moves to it)
        unless the case has stopped or a newer decision was carried out; the state returned tells which.
        `claim`: the event handled, claimed in the inbox in the same statement (`UnitOfWork.inbox_claim`);
        None, and nothing changes, when it was handled before."""
        upsert = (f"INSERT INTO {self.table} AS c (case_id, decided_at) {{}} ON CONFLICT (case_id) DO UPDATE "
                  f"SET decided_at = {_DECIDED} RETURNING *")
        if claim is None:
            return uow.fetchone(upsert.format("VALUES (%s, %s)"), (case_id, decision_at))
        inbox, params = uow.inbox_claim(claim)
        row = uow.fetchone(
            f"WITH claimed AS ({inbox}), state AS ("
            + upsert.format("SELECT %s::uuid, %s::timestamptz WHERE EXISTS (SELECT 1 FROM claimed)")
            + ") SELECT EXISTS (SELECT 1 FROM claimed) AS first, s.* FROM (SELECT 1) AS one LEFT JOIN state s ON true",
            (*params, case_id, decision_at))
        return row if row.pop("first") else None

    def take_decision(self, uow, case_id, at, claim=None) -> bool:
        """`case_state` carrying out the decision made `at` (issue 25: its two statements and the update
        of decided_at were three round trips): False, and nothing changes, when the case has stopped or a
        newer decision was carried out already (decisions may arrive out of order), or when `claim`, the
        event whose decision this is, was handled before."""
        case = self.case_state(uow, case_id, claim=claim, decision_at=at)
        return case is not None and case["stopped_at"] is None and case["decided_at"] == at

    def stop_case(self, uow, case_id, reason: str, at) -> None:
        uow.execute(f"UPDATE {self.table} SET stopped_at = %s, {self.stop_column} = %s WHERE case_id = %s",
                    (at, reason, case_id)).close()
