"""Police liaison's tables in the municipality's case store (schema `police_liaison`), and its
one read of intake's incidents (the details a liaison may fetch)."""
from __future__ import annotations

import json

from services.police_liaison.domain import ELA_FLAGS

_UPDATABLE = {"status", "registration_number", "outcome", "reason", *ELA_FLAGS}
# Kept encrypted in `personal` (shared/personal_data.py): the police's registration number and free text.
PERSONAL = ("registration_number", "reason")
REFERRALS, STEPS = "police_liaison.referrals", "police_liaison.referral_steps"


def _opened(uow, row: dict | None) -> dict | None:
    """A referral row with its registration number and reason decrypted in place."""
    if row is None:
        return None
    personal = uow.unseal(REFERRALS, "personal", row["referral_id"], row.pop("personal", None)) or {}
    for name in PERSONAL:
        row[name] = personal.get(name, row.get(name))
    return row


def insert_referral(uow, referral, actor: str, ela: dict, accept_deadline) -> bool:
    """Store a new referral; False if the case already has one."""
    cur = uow.execute(
        "INSERT INTO police_liaison.referrals (referral_id, case_id, police_unit, status, categories, urgency, "
        "vpt_registered, domiciliekeuze, employer_aangifte, priority_handling, claim_damages, accept_deadline) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (case_id) DO NOTHING",
        (referral.referral_id, referral.case_id, referral.police_unit, referral.status,
         referral.categories, referral.urgency, *(ela[f] for f in ELA_FLAGS), accept_deadline))
    inserted = cur.rowcount == 1
    cur.close()
    if inserted:
        add_step(uow, referral.referral_id, referral.status, actor)
    return inserted


def add_step(uow, referral_id, status: str, actor: str, detail: str | None = None, at=None) -> None:
    if detail is None:
        uow.execute("INSERT INTO police_liaison.referral_steps (referral_id, status, actor, at) "
                    "VALUES (%s, %s, %s, COALESCE(%s, now()))", (referral_id, status, actor, at)).close()
        return
    # the id is taken first: the encrypted detail is bound to it
    step_id = uow.fetchone("SELECT nextval('police_liaison.referral_steps_id_seq') AS id")["id"]
    sealed = uow.seal(STEPS, "personal", step_id, {"detail": detail})
    uow.execute("INSERT INTO police_liaison.referral_steps (id, referral_id, status, actor, personal, at) "
                "VALUES (%s, %s, %s, %s, %s, COALESCE(%s, now()))",
                (step_id, referral_id, status, actor, sealed, at)).close()


def get_referral(uow, referral_id, for_update: bool = False) -> dict | None:
    lock = " FOR UPDATE" if for_update else ""
    return _opened(uow, uow.fetchone(f"SELECT * FROM police_liaison.referrals WHERE referral_id = %s{lock}",
                                     (referral_id,)))


def referral_of_case(uow, case_id) -> dict | None:
    """The case's referral without its encrypted details (status and outcome only)."""
    row = uow.fetchone("SELECT * FROM police_liaison.referrals WHERE case_id = %s", (case_id,))
    if row is not None:
        row.pop("personal", None)
    return row


def list_referrals(uow, police_unit: str) -> list[dict]:
    return [_opened(uow, row) for row in uow.fetchall(
        "SELECT * FROM police_liaison.referrals WHERE police_unit = %s ORDER BY created_at", (police_unit,))]


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
    if set(changes) & set(PERSONAL):
        current = get_referral(uow, referral_id) or {}
        personal = {name: changes.get(name, current.get(name)) for name in PERSONAL}
        plain["personal"] = uow.seal(REFERRALS, "personal", referral_id, personal)
        plain.update({name: None for name in PERSONAL})  # no plaintext left from before encryption
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


def mark_escalated(uow, referral_id, now) -> None:
    uow.execute("UPDATE police_liaison.referrals SET escalated_at = %s WHERE referral_id = %s",
                (now, referral_id)).close()


def incident_consent(uow, case_id) -> dict | None:
    """The reporter's consent as intake stored it (for the ELA checklist's employer aangifte)."""
    row = uow.fetchone("SELECT consent FROM intake.incidents WHERE case_id = %s", (case_id,))
    return row["consent"] if row else None


def incident_details(uow, case_id) -> dict | None:
    """What the police may read of the incident: description, perpetrators, when and where
    (decrypted through intake's store). Not the reporter's contact data (that goes through the
    municipality), not aftercare. An erased case says so, with its personal data gone."""
    from services.intake import store as intake_store

    row = intake_store.get_incident(uow, case_id)
    if row is None:
        return None
    return {name: row.get(name) for name in ("case_id", "occurred_at", "location_type", "target_role",
                                             "reported_categories", "description", "perpetrators", "erased")}


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
