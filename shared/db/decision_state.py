"""A case's decision state in a service's own schema: the table `<schema>.cases` (case_id, decided_at,
stopped_at and the stop's reason) with which the services that carry out a person's decisions (issue 19)
take them one case at a time, in the order they were made, and stop with the case. One definition for
every service that keeps one; each keeps the table in its own schema (the rooms stay sealed)."""
from __future__ import annotations


class DecisionState:
    def __init__(self, schema: str, stop_column: str = "stop_reason"):
        self.table, self.stop_column = f"{schema}.cases", stop_column

    def case_state(self, uow, case_id) -> dict:
        """The case's decision state (made when first needed), locked: one decision of a case at a time."""
        uow.execute(f"INSERT INTO {self.table} (case_id) VALUES (%s) ON CONFLICT DO NOTHING", (case_id,)).close()
        return uow.fetchone(f"SELECT * FROM {self.table} WHERE case_id = %s FOR UPDATE", (case_id,))

    def set_decided(self, uow, case_id, at) -> None:
        uow.execute(f"UPDATE {self.table} SET decided_at = %s WHERE case_id = %s", (at, case_id)).close()

    def take_decision(self, uow, case_id, at, claim=None) -> bool:
        """`case_state`, its checks and `set_decided` in one statement (issue 25: a round trip each was
        three): the case's decision state, made when first needed and locked (one decision of a case at
        a time), moves to the decision made `at`. False, and nothing changes, when the case has stopped
        or a newer decision was carried out already (decisions may arrive out of order).

        `claim`: the event whose decision this is, claimed in the inbox in the same statement
        (`UnitOfWork.inbox_claim`); False, and nothing changes, when it was handled before."""
        if claim is not None:
            inbox, params = uow.inbox_claim(claim)
            row = uow.fetchone(
                f"WITH claimed AS ({inbox}), decision AS (INSERT INTO {self.table} AS c (case_id, decided_at) "
                "SELECT %s::uuid, %s::timestamptz WHERE EXISTS (SELECT 1 FROM claimed) ON CONFLICT (case_id) DO UPDATE "
                "SET decided_at = CASE WHEN c.stopped_at IS NULL AND (c.decided_at IS NULL OR c.decided_at <= "
                "EXCLUDED.decided_at) THEN EXCLUDED.decided_at ELSE c.decided_at END RETURNING stopped_at, decided_at) "
                "SELECT EXISTS (SELECT 1 FROM claimed) AS first, d.stopped_at, d.decided_at "
                "FROM (SELECT 1) AS one LEFT JOIN decision d ON true", (*params, case_id, at))
            return row["first"] and row["stopped_at"] is None and row["decided_at"] == at
        row = uow.fetchone(
            f"INSERT INTO {self.table} AS c (case_id, decided_at) VALUES (%s, %s) ON CONFLICT (case_id) DO UPDATE "
            "SET decided_at = CASE WHEN c.stopped_at IS NULL AND (c.decided_at IS NULL OR c.decided_at <= "
            "EXCLUDED.decided_at) THEN EXCLUDED.decided_at ELSE c.decided_at END RETURNING stopped_at, decided_at",
            (case_id, at))
        return row["stopped_at"] is None and row["decided_at"] == at

    def stop_case(self, uow, case_id, reason: str, at) -> None:
        uow.execute(f"UPDATE {self.table} SET stopped_at = %s, {self.stop_column} = %s WHERE case_id = %s",
                    (at, reason, case_id)).close()
