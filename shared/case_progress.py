"""How far a case has come across the services, read from their tables in the case store.

Each service writes only its own tables; this is the one place that reads them together, for
two questions: which status the reporter sees (intake's follow-up page and case view) and
whether, and since when, a case is closed (the retention period runs from then).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

_FROM = ("FROM intake.incidents i "
         "LEFT JOIN triage.results t ON t.case_id = i.case_id "
         "LEFT JOIN police_liaison.referrals r ON r.case_id = i.case_id "
         "LEFT JOIN aftercare.care_plans p ON p.case_id = i.case_id")

# Closed: staff confirmed or overrode triage, and the referral and care plan the case got, if
# any, are finished (the police closed or refused the referral; the plan was closed or
# declined). Closed since the last of those moments. Only a re-triage (a proposal again) or
# a referral or plan made later would open it again; intake refuses changes to a closed case.
_CLOSED_SINCE = ("CASE WHEN t.status IN ('bevestigd', 'overschreven') "
                 "AND (r.case_id IS NULL OR r.status IN ('afgesloten', 'afgewezen')) "
                 "AND (p.case_id IS NULL OR p.status <> 'open') "
                 "THEN greatest(t.decided_at, r.updated_at, p.closed_at, p.declined_at) END")


@dataclass(frozen=True)
class Progress:
    own_status: str  # intake's own column: ontvangen, or ingetrokken once withdrawn
    triaged: bool
    referred: bool
    planned: bool
    closed_since: datetime | None


def progress_of(uow, case_id) -> Progress | None:
    """The case's progress in one statement; None for an unknown case."""
    row = uow.fetchone(f"SELECT i.status, t.case_id IS NOT NULL AS triaged, r.case_id IS NOT NULL AS referred, "
                       f"p.case_id IS NOT NULL AS planned, {_CLOSED_SINCE} AS closed_since "
                       f"{_FROM} WHERE i.case_id = %s", (case_id,))
    if row is None:
        return None
    return Progress(row["status"], row["triaged"], row["referred"], row["planned"], row["closed_since"])


def closed_before(uow, before: datetime, limit: int = 100) -> list:
    """Cases not yet erased that were withdrawn or closed before `before`, in case order.

    An `afgesloten` in intake's own column (set by hand or by an earlier release) counts from
    when it was set.
    """
    rows = uow.fetchall(
        f"SELECT i.case_id {_FROM} WHERE i.erased_at IS NULL AND ("
        "(i.status = 'ingetrokken' AND coalesce(i.withdrawn_at, i.status_changed_at, i.received_at) < %s) "
        "OR (i.status = 'afgesloten' AND coalesce(i.status_changed_at, i.received_at) < %s) "
        f"OR (i.status <> 'ingetrokken' AND {_CLOSED_SINCE} < %s)) ORDER BY i.case_id LIMIT %s",
        (before, before, before, limit))
    return [r["case_id"] for r in rows]
