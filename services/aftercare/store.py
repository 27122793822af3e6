"""Aftercare's tables in the municipality's case store (schema `aftercare`).

Health data arrives here already encrypted (bytes from shared/crypto.py); this module
only moves rows. The reminder queries lock the moments they claim (FOR UPDATE SKIP
LOCKED) so that several aftercare instances never remind the same moment twice.
"""
from __future__ import annotations

import psycopg2.extras

from shared.db.decision_state import DecisionState

PLAN_COLUMNS = ("plan_id, case_id, urgency, status, planned_at, occurred_at, assigned_to, closed_at, "
                "close_reason, declined_at, replanned_at")


# The reminder scan's due-time index (shared/scan.py) hears of every deadline written here.
REMINDERS_TASK = "reminders"


def insert_plan(uow, plan, occurred_at) -> bool:
    """Store a plan and its contact moments; False if the case already has a plan."""
    # the plan and its moments in one statement (issue 25): the moments only when the plan is new
    row = uow.fetchone(
        "WITH plan AS (INSERT INTO aftercare.care_plans (plan_id, case_id, urgency, planned_at, occurred_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (case_id) DO NOTHING RETURNING plan_id), "
        "moments AS (INSERT INTO aftercare.contact_moments (plan_id, kind, due_at) "
        "SELECT plan.plan_id, m.kind, m.due_at FROM plan, unnest(%s::text[], %s::timestamptz[]) AS m (kind, due_at)) "
        "SELECT count(*) AS inserted FROM plan",
        (plan.plan_id, plan.case_id, plan.urgency, plan.planned_at, occurred_at,
         [moment.kind for moment in plan.moments], [moment.due_at for moment in plan.moments]))
    inserted = row["inserted"] == 1
    if inserted and plan.moments:
        uow.wake(REMINDERS_TASK, min(moment.due_at for moment in plan.moments))
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
        uow.wake(REMINDERS_TASK, due_at)


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


def next_reminder(uow, remind_before_hours: float, overdue_after_hours: float):
    """When the next reminder of this store falls due (the reminder scan's due-time index), or None."""
    return uow.fetchone(
        "SELECT least(min(m.due_at) FILTER (WHERE m.due_notified_at IS NULL) - %s * interval '1 hour', "
        "min(m.due_at) FILTER (WHERE m.overdue_notified_at IS NULL) + %s * interval '1 hour') AS at "
        "FROM aftercare.contact_moments m JOIN aftercare.care_plans p USING (plan_id) "
        "WHERE p.status = 'open' AND m.done_at IS NULL", (remind_before_hours, overdue_after_hours))["at"]


def next_follow_up(uow):
    """When the next handover follow-up of this store falls due, or None (the reminder scan's due-time index)."""
    return uow.fetchone("SELECT min(follow_up_due) AS at FROM aftercare.handovers WHERE status IN ('voorgesteld', "
                        "'overgedragen') AND follow_up_notified_at IS NULL")["at"]


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

def worklist(uow, *, due_before, overdue_before, view: str, worker: str | None, visible=("TRUE", ()),
             limit: int = 100, offset: int = 0) -> tuple[int, list[dict]]:
    """Open moments of open plans: 'overdue' (past overdue_before), 'due_today' (due before
    due_before, not overdue), or 'open' (all); (how many in all, this page). `visible` is the
    caller's shared.auth.case_visibility on `p.case_id`."""
    where = ["p.status = 'open'", "m.done_at IS NULL", visible[0]]
    params: list = list(visible[1])
    if view == "overdue":
        where.append("m.due_at <= %s")
        params.append(overdue_before)
    elif view == "due_today":
        where += ["m.due_at < %s", "m.due_at > %s"]
        params += [due_before, overdue_before]
    if worker:
        where.append("p.assigned_to = %s")
        params.append(worker)
    sql_from = (f"FROM aftercare.contact_moments m JOIN aftercare.care_plans p USING (plan_id) "
                f"WHERE {' AND '.join(where)}")
    total = uow.fetchone(f"SELECT count(*) AS n {sql_from}", params)["n"]
    return total, uow.fetchall(
        f"SELECT p.plan_id, p.case_id, p.urgency, p.assigned_to, m.kind AS moment, m.due_at {sql_from} "
        "ORDER BY m.due_at, m.id LIMIT %s OFFSET %s", (*params, limit, offset))


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


# ------------------------------------------------------------------ a person's decisions (issue 19)

_DECISIONS = DecisionState("aftercare")
case_state = _DECISIONS.case_state
stop_case = _DECISIONS.stop_case
take_decision = _DECISIONS.take_decision


def reopen(uow, plan_id, urgency: str, new_due: dict, now) -> None:
    """A plan closed because a person removed the decision, decided again: open, with the moments not
    done due anew (from now) and reminded anew."""
    uow.execute("UPDATE aftercare.care_plans SET status = 'open', urgency = %s, closed_at = NULL, close_reason = NULL, "
                "replanned_at = %s WHERE plan_id = %s", (urgency, now, plan_id)).close()
    for kind, due_at in new_due.items():
        uow.execute("UPDATE aftercare.contact_moments SET due_at = %s, due_notified_at = NULL, "
                    "overdue_notified_at = NULL WHERE plan_id = %s AND kind = %s AND done_at IS NULL",
                    (due_at, plan_id, kind)).close()
        uow.wake(REMINDERS_TASK, due_at)


# ---------------------------------------------------------------- witnesses and colleagues (issue 20)

TRACK_COLUMNS = ("track_id, case_id, role, consent_at, consent_version, added_by, personal, status, close_reason, "
                 "closed_at, created_at")


def insert_track(uow, track_id, case_id, role: str, consent_at, consent_version: str, added_by: str, personal,
                 moments) -> None:
    """A witness's or colleague's care track with its own contact moments."""
    uow.execute("INSERT INTO aftercare.witness_tracks (track_id, case_id, role, consent_at, consent_version, added_by, "
                "personal) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (track_id, case_id, role, consent_at, consent_version, added_by, personal)).close()
    with uow.cursor() as cur:
        psycopg2.extras.execute_values(
            cur, "INSERT INTO aftercare.witness_moments (track_id, kind, due_at) VALUES %s",
            [(track_id, m.kind, m.due_at) for m in moments])


def get_track(uow, track_id, lock: bool = False) -> dict | None:
    return uow.fetchone(f"SELECT {TRACK_COLUMNS} FROM aftercare.witness_tracks WHERE track_id = %s"
                        + (" FOR UPDATE" if lock else ""), (track_id,))


def tracks_of_case(uow, case_id) -> list[dict]:
    return uow.fetchall(f"SELECT {TRACK_COLUMNS} FROM aftercare.witness_tracks WHERE case_id = %s ORDER BY created_at",
                        (case_id,))


def track_moments(uow, track_id) -> list[dict]:
    return uow.fetchall("SELECT kind, due_at, done_at FROM aftercare.witness_moments WHERE track_id = %s "
                        "ORDER BY due_at, id", (track_id,))


def insert_track_contact(uow, contact_id, track_id, kind: str, contact: dict, notes) -> None:
    uow.execute("INSERT INTO aftercare.witness_contacts (contact_id, track_id, moment, contacted_at, contacted_by, "
                "method, outcome, notes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (contact_id, track_id, kind, contact["contacted_at"], contact["contacted_by"], contact["method"],
                 contact["outcome"], notes)).close()


def complete_track_moment(uow, track_id, kind: str, at) -> None:
    uow.execute("UPDATE aftercare.witness_moments SET done_at = %s WHERE track_id = %s AND kind = %s "
                "AND done_at IS NULL", (at, track_id, kind)).close()


def track_contacts(uow, track_id) -> int:
    return uow.fetchone("SELECT count(*) AS n FROM aftercare.witness_contacts WHERE track_id = %s", (track_id,))["n"]


def close_track(uow, track_id, status: str, reason: str, now) -> None:
    uow.execute("UPDATE aftercare.witness_tracks SET status = %s, close_reason = %s, closed_at = %s "
                "WHERE track_id = %s", (status, reason, now, track_id)).close()


# ---------------------------------------------------------------- handovers to help (issue 20)

def insert_handover(uow, row: dict) -> None:
    columns = sorted(row)
    uow.execute(f"INSERT INTO aftercare.handovers ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                [row[c] for c in columns]).close()
    uow.wake(REMINDERS_TASK, row["follow_up_due"])


def get_handover(uow, handover_id, lock: bool = False) -> dict | None:
    return uow.fetchone("SELECT * FROM aftercare.handovers WHERE handover_id = %s" + (" FOR UPDATE" if lock else ""),
                        (handover_id,))


def handovers_of_case(uow, case_id) -> list[dict]:
    return uow.fetchall("SELECT * FROM aftercare.handovers WHERE case_id = %s ORDER BY proposed_at", (case_id,))


def update_handover(uow, handover_id, changes: dict) -> None:
    columns = sorted(changes)
    uow.execute(f"UPDATE aftercare.handovers SET {', '.join(f'{c} = %s' for c in columns)}, updated_at = now() "
                "WHERE handover_id = %s", [changes[c] for c in columns] + [handover_id]).close()
    if changes.get("follow_up_due"):
        uow.wake(REMINDERS_TASK, changes["follow_up_due"])


def claim_handover_follow_ups(uow, now, limit: int = 100) -> list[dict]:
    """Open handovers past their follow-up and not yet told, locked so that one instance tells each once."""
    return uow.fetchall("SELECT * FROM aftercare.handovers WHERE status IN ('voorgesteld', 'overgedragen') "
                        "AND follow_up_notified_at IS NULL AND follow_up_due <= %s ORDER BY follow_up_due LIMIT %s "
                        "FOR UPDATE SKIP LOCKED", (now, limit))


def claim_witness_reminders(uow, due_before, limit: int = 200) -> list[dict]:
    """Open moments of open witness tracks whose reminder is due and not yet sent, locked (SKIP LOCKED) so that
    one instance tells each once."""
    return uow.fetchall(
        "SELECT m.id, m.track_id, m.kind, m.due_at, w.case_id, w.role FROM aftercare.witness_moments m "
        "JOIN aftercare.witness_tracks w USING (track_id) WHERE w.status = 'open' AND m.done_at IS NULL "
        "AND m.due_notified_at IS NULL AND m.due_at <= %s ORDER BY m.due_at LIMIT %s FOR UPDATE OF m SKIP LOCKED",
        (due_before, limit))


def mark_witness_reminded(uow, moment_id, now) -> None:
    uow.execute("UPDATE aftercare.witness_moments SET due_notified_at = %s WHERE id = %s", (now, moment_id)).close()


def next_witness_reminder(uow, remind_before_hours: float):
    return uow.fetchone(
        "SELECT min(m.due_at) - %s * interval '1 hour' AS at FROM aftercare.witness_moments m "
        "JOIN aftercare.witness_tracks w USING (track_id) WHERE w.status = 'open' AND m.done_at IS NULL "
        "AND m.due_notified_at IS NULL", (remind_before_hours,))["at"]
