"""Aftercare's tables in the municipality's case store (schema `aftercare`).

Health data arrives here already encrypted (bytes from shared/crypto.py); this module
only moves rows. The reminder queries lock the moments they claim (FOR UPDATE SKIP
LOCKED) so that several aftercare instances never remind the same moment twice.
"""
from __future__ import annotations

import psycopg2.extras

PLAN_COLUMNS = ("plan_id, case_id, urgency, status, planned_at, occurred_at, assigned_to, closed_at, "
                "close_reason, declined_at, replanned_at")


def insert_plan(uow, plan, occurred_at) -> bool:
    """Store a plan and its contact moments; False if the case already has a plan."""
    cur = uow.execute("INSERT INTO aftercare.care_plans (plan_id, case_id, urgency, planned_at, occurred_at) "
                      "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (case_id) DO NOTHING",
                      (plan.plan_id, plan.case_id, plan.urgency, plan.planned_at, occurred_at))
    inserted = cur.rowcount == 1
    cur.close()
    if inserted and plan.moments:
        with uow.cursor() as cur:
            psycopg2.extras.execute_values(
                cur, "INSERT INTO aftercare.contact_moments (plan_id, kind, due_at) VALUES %s",
                [(plan.plan_id, moment.kind, moment.due_at) for moment in plan.moments])
    return inserted


def plan_of_case(uow, case_id, lock: bool = False) -> dict | None:
    return uow.fetchone(f"SELECT {PLAN_COLUMNS} FROM aftercare.care_plans WHERE case_id = %s"
                        + (" FOR UPDATE" if lock else ""), (case_id,))


def get_plan(uow, plan_id, lock: bool = False) -> dict | None:
    return uow.fetchone(f"SELECT {PLAN_COLUMNS} FROM aftercare.care_plans WHERE plan_id = %s"
                        + (" FOR UPDATE" if lock else ""), (plan_id,))


def moments(uow, plan_id) -> list[dict]:
    return uow.fetchall("SELECT kind, due_at, done_at, due_notified_at, overdue_notified_at "
                        "FROM aftercare.contact_moments WHERE plan_id = %s ORDER BY due_at, id", (plan_id,))


def replan(uow, plan_id, urgency: str, new_due: dict, now) -> None:
    """A new urgency and deadlines for the open moments; reminders already sent stay sent."""
    uow.execute("UPDATE aftercare.care_plans SET urgency = %s, replanned_at = %s WHERE plan_id = %s",
                (urgency, now, plan_id)).close()
    for kind, due_at in new_due.items():
        uow.execute("UPDATE aftercare.contact_moments SET due_at = %s "
                    "WHERE plan_id = %s AND kind = %s AND done_at IS NULL", (due_at, plan_id, kind)).close()


# ---------------------------------------------------------------- reminders

_CLAIM = """
SELECT m.id, m.plan_id, m.kind, m.due_at, p.case_id, p.urgency
  FROM aftercare.contact_moments m
  JOIN aftercare.care_plans p USING (plan_id)
 WHERE p.status = 'open' AND m.done_at IS NULL AND m.{marker} IS NULL AND m.due_at <= %s
 ORDER BY m.due_at
 LIMIT %s
   FOR UPDATE OF m SKIP LOCKED
"""


def claim_reminders(uow, marker: str, due_before, limit: int = 200) -> list[dict]:
    """Lock open moments whose `marker` reminder has not gone out and whose deadline
    (shifted by the caller) has come; moments another instance holds are skipped."""
    if marker not in ("due_notified_at", "overdue_notified_at"):
        raise ValueError(marker)
    return uow.fetchall(_CLAIM.format(marker=marker), (due_before, limit))


def mark_reminded(uow, marker: str, moment_id: int, now) -> None:
    if marker not in ("due_notified_at", "overdue_notified_at"):
        raise ValueError(marker)
    uow.execute(f"UPDATE aftercare.contact_moments SET {marker} = %s WHERE id = %s", (now, moment_id)).close()


# ----------------------------------------------------------------- worklist

def worklist(uow, *, due_before, overdue_before, view: str, worker: str | None) -> list[dict]:
    """Open moments of open plans: 'overdue' (past overdue_before), 'due_today' (due before
    due_before, not overdue), or 'open' (all)."""
    where = ["p.status = 'open'", "m.done_at IS NULL"]
    params: list = []
    if view == "overdue":
        where.append("m.due_at <= %s")
        params.append(overdue_before)
    elif view == "due_today":
        where += ["m.due_at < %s", "m.due_at > %s"]
        params += [due_before, overdue_before]
    if worker:
        where.append("p.assigned_to = %s")
        params.append(worker)
    return uow.fetchall(
        "SELECT p.plan_id, p.case_id, p.urgency, p.assigned_to, m.kind AS moment, m.due_at "
        "FROM aftercare.contact_moments m JOIN aftercare.care_plans p USING (plan_id) "
        f"WHERE {' AND '.join(where)} ORDER BY m.due_at LIMIT 500", params)


def assign(uow, plan_id, worker: str) -> None:
    uow.execute("UPDATE aftercare.care_plans SET assigned_to = %s WHERE plan_id = %s", (worker, plan_id)).close()


# ------------------------------------------------------- contacts, referrals

def first_open_moment(uow, plan_id) -> str | None:
    row = uow.fetchone("SELECT kind FROM aftercare.contact_moments WHERE plan_id = %s AND done_at IS NULL "
                       "ORDER BY due_at, id LIMIT 1", (plan_id,))
    return row["kind"] if row else None


def moment(uow, plan_id, kind: str) -> dict | None:
    return uow.fetchone("SELECT id, kind, due_at, done_at FROM aftercare.contact_moments "
                        "WHERE plan_id = %s AND kind = %s", (plan_id, kind))


def insert_contact(uow, contact_id, plan_id, moment_kind: str, contact: dict, health: bytes | None,
                   now) -> None:
    uow.execute("INSERT INTO aftercare.contacts (contact_id, plan_id, moment, contacted_at, contacted_by, "
                "method, outcome, health, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (contact_id, plan_id, moment_kind, contact["contacted_at"], contact["contacted_by"],
                 contact["method"], contact["outcome"], health, now)).close()


def complete_moment(uow, plan_id, kind: str, done_at) -> None:
    uow.execute("UPDATE aftercare.contact_moments SET done_at = %s "
                "WHERE plan_id = %s AND kind = %s AND done_at IS NULL", (done_at, plan_id, kind)).close()


def contacts(uow, plan_id) -> list[dict]:
    return uow.fetchall("SELECT contact_id, moment, contacted_at, contacted_by, method, outcome, health "
                        "FROM aftercare.contacts WHERE plan_id = %s ORDER BY contacted_at", (plan_id,))


def insert_referral(uow, referral_id, plan_id, referred_at, referred_by: str, details: bytes) -> None:
    uow.execute("INSERT INTO aftercare.referrals (referral_id, plan_id, referred_at, referred_by, details) "
                "VALUES (%s, %s, %s, %s, %s)", (referral_id, plan_id, referred_at, referred_by, details)).close()


def get_referral(uow, referral_id) -> dict | None:
    return uow.fetchone("SELECT r.referral_id, r.plan_id, p.case_id, p.status, r.result_at "
                        "FROM aftercare.referrals r JOIN aftercare.care_plans p USING (plan_id) "
                        "WHERE r.referral_id = %s FOR UPDATE OF r", (referral_id,))


def set_referral_result(uow, referral_id, result: bytes, result_at) -> None:
    uow.execute("UPDATE aftercare.referrals SET result = %s, result_at = %s WHERE referral_id = %s",
                (result, result_at, referral_id)).close()


def referrals(uow, plan_id) -> list[dict]:
    return uow.fetchall("SELECT referral_id, referred_at, referred_by, details, result, result_at "
                        "FROM aftercare.referrals WHERE plan_id = %s ORDER BY referred_at", (plan_id,))


def counts(uow, plan_id) -> dict:
    return uow.fetchone("SELECT (SELECT count(*) FROM aftercare.contacts WHERE plan_id = %s) AS contacts, "
                        "(SELECT count(*) FROM aftercare.referrals WHERE plan_id = %s) AS referrals",
                        (plan_id, plan_id))


def close(uow, plan_id, status: str, reason: str, now) -> None:
    uow.execute("UPDATE aftercare.care_plans SET status = %s, close_reason = %s, closed_at = %s, "
                "declined_at = CASE WHEN %s = 'declined' THEN %s ELSE declined_at END WHERE plan_id = %s",
                (status, reason, now, status, now, plan_id)).close()
