"""Police liaison's tables in the municipality's case store (schema `police_liaison`), and its
one read of intake's incidents (the details a liaison may fetch)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from services.police_liaison.domain import COLUMNS, ELA_FLAGS
from shared.db.decision_state import DecisionState

_UPDATABLE = COLUMNS
# Kept encrypted in `personal` (shared/personal_data.py): the police's registration number, free text, and
# the employer's mandate for the aangifte (who signed, when, scope).
PERSONAL = ("registration_number", "reason", "mandate")
# Of those, the ones stored in plain columns before encryption (emptied when a row is sealed again).
LEGACY_PLAIN = ("registration_number", "reason")
REFERRALS, STEPS = "police_liaison.referrals", "police_liaison.referral_steps"


def _opened(uow, row: dict | None) -> dict | None:
    """A referral row with its registration number and reason decrypted in place."""
    if row is None:
        return None
    personal = uow.unseal(REFERRALS, "personal", row["referral_id"], row.pop("personal", None)) or {}
    for name in PERSONAL:
        row[name] = personal.get(name, row.get(name))
    return row


# The escalation scan's due-time index (shared/scan.py) hears of every deadline written here: acceptance
# deadlines and aangifte advice dates.
ESCALATE_TASK = "escalate"
_AT_ONCE = datetime(1970, 1, 1, tzinfo=timezone.utc)


def insert_referral(uow, referral, actor: str, ela: dict, accept_deadline, aangifte: dict | None = None,
                    ela_version: str | None = None) -> bool:
    """Store a new referral; False if the case already has one. `aangifte`: aangifte_by, onder_nummer and
    aangifte_advice_due as they start; `ela_version`: the version of the region's ELA checklist it is made under."""
    aangifte = aangifte or {}
    # the referral and its first step in one statement (issue 25): the step only when the referral is new
    row = uow.fetchone(
        "WITH referral AS (INSERT INTO police_liaison.referrals (referral_id, case_id, police_unit, status, "
        "categories, urgency, vpt_registered, domiciliekeuze, employer_aangifte, priority_handling, claim_damages, "
        "accept_deadline, aangifte_by, onder_nummer, aangifte_advice_due, ela_version) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (case_id) DO NOTHING "
        "RETURNING referral_id, status), "
        "step AS (INSERT INTO police_liaison.referral_steps (referral_id, status, actor, at) "
        "SELECT referral_id, status, %s, now() FROM referral) "
        "SELECT count(*) AS inserted FROM referral",
        (referral.referral_id, referral.case_id, referral.police_unit, referral.status,
         referral.categories, referral.urgency, *(ela[f] for f in ELA_FLAGS), accept_deadline,
         aangifte.get("aangifte_by"), bool(aangifte.get("onder_nummer")), aangifte.get("aangifte_advice_due"),
         ela_version, actor))
    inserted = row["inserted"] == 1
    if inserted:
        uow.wake(ESCALATE_TASK, accept_deadline)
        uow.wake(ESCALATE_TASK, aangifte.get("aangifte_advice_due"))
    return inserted


def _case_of(uow, referral_id):
    """The case a referral belongs to: its personal data is encrypted with that case's key."""
    row = uow.fetchone("SELECT case_id FROM police_liaison.referrals WHERE referral_id = %s", (referral_id,))
    return row["case_id"] if row else None


def add_step(uow, referral_id, status: str, actor: str, detail: str | None = None, at=None) -> None:
    if detail is None:
        uow.execute("INSERT INTO police_liaison.referral_steps (referral_id, status, actor, at) "
                    "VALUES (%s, %s, %s, COALESCE(%s, now()))", (referral_id, status, actor, at)).close()
        return
    # the id is taken first: the encrypted detail is bound to it
    step_id = uow.fetchone("SELECT nextval('police_liaison.referral_steps_id_seq') AS id")["id"]
    sealed = uow.seal(STEPS, "personal", step_id, {"detail": detail}, case_id=_case_of(uow, referral_id))
    uow.execute("INSERT INTO police_liaison.referral_steps (id, referral_id, status, actor, personal, at) "
                "VALUES (%s, %s, %s, %s, %s, COALESCE(%s, now()))",
                (step_id, referral_id, status, actor, sealed, at)).close()


def get_referral(uow, referral_id, for_update: bool = False) -> dict | None:
    lock = " FOR UPDATE" if for_update else ""
    return _opened(uow, uow.fetchone(f"SELECT * FROM police_liaison.referrals WHERE referral_id = %s{lock}",
                                     (referral_id,)))


def referral_of_case(uow, case_id, lock: bool = False) -> dict | None:
    """The case's referral without its encrypted details (status and outcome only)."""
    row = uow.fetchone("SELECT * FROM police_liaison.referrals WHERE case_id = %s" + (" FOR UPDATE" if lock else ""),
                       (case_id,))
    if row is not None:
        row.pop("personal", None)
    return row


def list_referrals(uow, police_unit: str, visible=("TRUE", ()), case_id=None) -> list[dict]:
    """The unit's referrals (of one case, when given); `visible` is the caller's
    shared.auth.case_visibility on `r.case_id`."""
    condition, params = visible
    by_case = " AND r.case_id = %s" if case_id else ""
    return [_opened(uow, row) for row in uow.fetchall(
        f"SELECT * FROM police_liaison.referrals r WHERE police_unit = %s AND {condition}{by_case} "
        "ORDER BY created_at", (police_unit, *params, *([case_id] if case_id else [])))]


def steps(uow, referral_id) -> list[dict]:
    rows = uow.fetchall("SELECT id, status, at, actor, detail, personal FROM police_liaison.referral_steps "
                        "WHERE referral_id = %s ORDER BY id", (referral_id,))
    for row in rows:
        personal = uow.unseal(STEPS, "personal", row.pop("id"), row.pop("personal"))
        if personal is not None:
            row["detail"] = personal["detail"]
    return rows


def update_referral(uow, referral_id, changes: dict) -> None:
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    plain = {c: v for c, v in changes.items() if c not in PERSONAL}
    for deadline in ("accept_deadline", "aangifte_advice_due"):
        if deadline in changes:
            uow.wake(ESCALATE_TASK, changes[deadline])
    if changes.get("status") == "created" or any(
            column in changes and changes[column] is None for column in ("escalated_at", "aangifte_reminded_at")):
        uow.wake(ESCALATE_TASK, _AT_ONCE)  # waiting again: the scan looks at its deadlines
    if set(changes) & set(PERSONAL):
        current = get_referral(uow, referral_id) or {}
        personal = {name: changes.get(name, current.get(name)) for name in PERSONAL}
        plain["personal"] = uow.seal(REFERRALS, "personal", referral_id, personal, case_id=_case_of(uow, referral_id))
        plain.update({name: None for name in LEGACY_PLAIN})  # no plaintext left from before encryption
    if "ela_items" in plain:
        plain["ela_items"] = json.dumps(plain["ela_items"])
    columns = sorted(plain)
    assignments = ", ".join(f"{c} = %s" for c in columns)
    uow.execute(f"UPDATE police_liaison.referrals SET {assignments}, updated_at = now() WHERE referral_id = %s",
                [plain[c] for c in columns] + [referral_id]).close()


def overdue_referrals(uow, now, limit: int = 100) -> list[dict]:
    """Referrals still waiting for acceptance past their deadline, claimed so that only one
    instance escalates each (SKIP LOCKED); the caller marks them escalated in the same transaction."""
    return uow.fetchall(
        "SELECT * FROM police_liaison.referrals WHERE status = 'created' AND escalated_at IS NULL "
        "AND accept_deadline <= %s ORDER BY accept_deadline LIMIT %s FOR UPDATE SKIP LOCKED", (now, limit))


def unreminded_aangifte(uow, now, limit: int = 100) -> list[dict]:
    """Referrals past their aangifte advice date with no aangifte planned and no reminder yet, claimed
    (SKIP LOCKED) so that one instance reminds each; the caller marks them in the same transaction."""
    return uow.fetchall(
        "SELECT * FROM police_liaison.referrals WHERE status IN ('created', 'accepted') "
        "AND aangifte_reminded_at IS NULL AND aangifte_advice_due <= %s ORDER BY aangifte_advice_due LIMIT %s "
        "FOR UPDATE SKIP LOCKED", (now, limit))


def next_escalation(uow):
    """When the next referral of this store passes its acceptance deadline unaccepted or its aangifte
    advice date unreminded (the escalation scan's due-time index), or None."""
    return uow.fetchone(
        "SELECT least(min(accept_deadline) FILTER (WHERE status = 'created' AND escalated_at IS NULL), "
        "min(aangifte_advice_due) FILTER (WHERE status IN ('created', 'accepted') AND aangifte_reminded_at IS NULL)"
        ") AS at FROM police_liaison.referrals")["at"]


def mark_escalated(uow, referral_id, now) -> None:
    uow.execute("UPDATE police_liaison.referrals SET escalated_at = %s WHERE referral_id = %s",
                (now, referral_id)).close()


# ------------------------------------------------------------------ webhook deliveries

def add_delivery(uow, delivery_id, event_id, police_unit: str, event_type: str, body: dict) -> bool:
    cur = uow.execute(
        "INSERT INTO police_liaison.webhook_deliveries (delivery_id, event_id, police_unit, event_type, body) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id, police_unit) DO NOTHING",
        (delivery_id, event_id, police_unit, event_type, json.dumps(body, default=str)))
    inserted = cur.rowcount == 1
    cur.close()
    return inserted


def due_deliveries(uow, now, limit: int = 20) -> list[dict]:
    return uow.fetchall(
        "SELECT * FROM police_liaison.webhook_deliveries WHERE status = 'pending' AND next_attempt <= %s "
        "ORDER BY next_attempt LIMIT %s FOR UPDATE SKIP LOCKED", (now, limit))


def delivery_result(uow, delivery_id, ok: bool, error: str | None, next_attempt, give_up: bool) -> None:
    if ok:
        uow.execute("UPDATE police_liaison.webhook_deliveries SET status = 'delivered', attempts = attempts + 1, "
                    "delivered_at = now(), last_error = NULL WHERE delivery_id = %s", (delivery_id,)).close()
    else:
        uow.execute("UPDATE police_liaison.webhook_deliveries SET status = %s, attempts = attempts + 1, "
                    "last_error = %s, next_attempt = %s WHERE delivery_id = %s",
                    ("failed" if give_up else "pending", error, next_attempt, delivery_id)).close()


def deliveries(uow, police_unit: str, limit: int = 100) -> list[dict]:
    return uow.fetchall(
        "SELECT delivery_id, event_id, event_type, status, attempts, next_attempt, last_error, created_at, "
        "delivered_at FROM police_liaison.webhook_deliveries WHERE police_unit = %s "
        "ORDER BY created_at DESC LIMIT %s", (police_unit, limit))


def replay_delivery(uow, delivery_id) -> bool:
    cur = uow.execute("UPDATE police_liaison.webhook_deliveries SET status = 'pending', next_attempt = now() "
                      "WHERE delivery_id = %s", (delivery_id,))
    found = cur.rowcount == 1
    cur.close()
    return found


# ------------------------------------------------------------------ a person's decisions (issue 19)

_DECISIONS = DecisionState("police_liaison")
case_state = _DECISIONS.case_state
stop_case = _DECISIONS.stop_case
take_decision = _DECISIONS.take_decision


def stopped(uow, case_id) -> dict | None:
    """When and why the case stopped (withdrawn or closed), or None."""
    return uow.fetchone("SELECT stopped_at, stop_reason FROM police_liaison.cases "
                        "WHERE case_id = %s AND stopped_at IS NOT NULL", (case_id,))
