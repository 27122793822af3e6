"""Intake's tables in the municipality's case store (schema `intake`).

Personal data is encrypted here and nowhere else: the incident's description and own words,
places, people and injuries go into `personal`, an evidence file's name and content and an addition's text
likewise (shared/personal_data.py lists every such column); reads give them back decrypted.
"""
from __future__ import annotations

import json

from shared.personal_data import INCIDENT_PERSONAL

INCIDENTS, EVIDENCE, ADDITIONS = "intake.incidents", "intake.evidence", "intake.additions"
IDEMPOTENCY, MESSAGES = "intake.idempotency_keys", "intake.messages"

_OPTIONAL = ("occurred_at_precision", "occurred_until", "reporter_relation", "aangifte_help", "direct_danger")


def personal_of(report: dict) -> dict:
    """The personal part of a report: what is stored encrypted."""
    return {"description": report["description"], "own_kind": report.get("own_kind"),
            "location_detail": report.get("location_detail"),
            "target": report.get("target") or None, "reporter": report.get("reporter") or None,
            "perpetrators": report.get("perpetrators") or [], "witnesses": report.get("witnesses") or [],
            "injuries": report.get("injuries"), "damage": report.get("damage")}


def insert_incident(uow, case_id, report: dict, channel: str, received_by: str, draft: bool = False,
                    receipt: tuple[str, str] | None = None) -> None:
    """`receipt`: (receipt code, secret hash), else `set_receipt` later."""
    optional = {name: report.get(name) for name in _OPTIONAL if report.get(name) is not None}
    if receipt is not None:
        optional["receipt_code"], optional["secret_hash"] = receipt
    columns = ["case_id", "channel", "received_by", "occurred_at", "location_type", "target_role",
               "reported_categories", "consent", "draft", "personal", *optional]
    values = [case_id, channel, received_by, report["occurred_at"], report["location_type"],
              report["target_role"], list(report["categories"]), json.dumps(report["consent"]), draft,
              uow.seal(INCIDENTS, "personal", case_id, personal_of(report), case_id=case_id, new_case=True),
              *optional.values()]
    # rides on the commit's statement with the outbox and audit rows (issue 25: a round trip fewer), or goes
    # just before whatever the transaction does next
    uow.execute_later(f"INSERT INTO intake.incidents ({', '.join(columns)}) "
                      f"VALUES ({', '.join(['%s'] * len(values))})", tuple(values))


def _opened(uow, row: dict | None) -> dict | None:
    """An incident row with its personal data decrypted in place (None for an erased case)."""
    if row is None:
        return None
    sealed = row.pop("personal", None)
    personal = uow.unseal(INCIDENTS, "personal", row["case_id"], sealed)
    if personal is not None:
        row.update(personal)
    row["erased"] = row.get("erased_at") is not None
    return row


def get_incident(uow, case_id) -> dict | None:
    """The whole incident, personal data decrypted (the one read every service uses)."""
    return _opened(uow, uow.fetchone("SELECT * FROM intake.incidents WHERE case_id = %s", (case_id,)))


def update_personal(uow, case_id, changes: dict) -> None:
    """Change some of the incident's personal fields (the rest stays as it is), encrypted again."""
    unknown = set(changes) - set(INCIDENT_PERSONAL)
    if unknown:
        raise ValueError(f"not personal fields: {sorted(unknown)}")
    row = get_incident(uow, case_id)
    personal = {name: row.get(name) for name in INCIDENT_PERSONAL}
    personal.update(changes)
    uow.execute("UPDATE intake.incidents SET personal = %s WHERE case_id = %s",
                (uow.seal(INCIDENTS, "personal", case_id, personal, case_id=case_id), case_id)).close()


def idempotent_answer(uow, key_id: str, idempotency_key: str) -> dict | None:
    """The first answer to this key, locked so a concurrent retry waits for it (with the follow-up
    secret it gave, decrypted)."""
    row = uow.fetchone("SELECT request_hash, status_code, response, case_id, personal FROM intake.idempotency_keys "
                       "WHERE key_id = %s AND idempotency_key = %s FOR UPDATE", (key_id, idempotency_key))
    if row is not None:
        secret = uow.unseal(IDEMPOTENCY, "personal", row["case_id"], row.pop("personal"))
        if secret:
            row["response"] = {**row["response"], **secret}
    return row


def remember_answer(uow, key_id: str, idempotency_key: str, request_hash: str, status_code: int,
                    response: dict, case_id) -> None:
    """The first answer, for retries; its follow-up secret is kept encrypted, never in `response`."""
    secret = {"secret": response["secret"]} if response.get("secret") else None
    plain = {k: v for k, v in response.items() if k != "secret"}
    uow.execute("INSERT INTO intake.idempotency_keys "
                "(key_id, idempotency_key, request_hash, status_code, response, case_id, personal) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (key_id, idempotency_key, request_hash, status_code, json.dumps(plain), case_id,
                 uow.seal(IDEMPOTENCY, "personal", case_id, secret, case_id=case_id) if secret else None)).close()


def set_receipt(uow, case_id, receipt_code: str, secret_hash: str) -> None:
    uow.execute("UPDATE intake.incidents SET receipt_code = %s, secret_hash = %s WHERE case_id = %s",
                (receipt_code, secret_hash, case_id)).close()


def find_by_receipt(uow, receipt_code: str) -> dict | None:
    return uow.fetchone("SELECT case_id, status, secret_hash, received_at, withdrawn_at FROM intake.incidents "
                        "WHERE receipt_code = %s FOR UPDATE", (receipt_code,))


def lock_incident(uow, case_id) -> dict | None:
    return uow.fetchone("SELECT case_id, status, channel FROM intake.incidents WHERE case_id = %s FOR UPDATE",
                        (case_id,))


def set_status(uow, case_id, status: str) -> None:
    uow.execute("UPDATE intake.incidents SET status = %s, status_changed_at = now(), "
                "withdrawn_at = CASE WHEN %s = 'ingetrokken' THEN now() ELSE withdrawn_at END "
                "WHERE case_id = %s", (status, status, case_id)).close()


def evidence_total(uow, case_id) -> tuple[int, int]:
    row = uow.fetchone("SELECT count(*) AS n, coalesce(sum(size_bytes), 0) AS total FROM intake.evidence "
                       "WHERE case_id = %s", (case_id,))
    return row["n"], int(row["total"])


def add_evidence(uow, evidence_id, case_id, filename: str, media_type: str, content: bytes, added_by: str) -> None:
    import hashlib

    import psycopg2

    name = {"filename": filename[:200] or "bestand"}
    uow.execute("INSERT INTO intake.evidence (evidence_id, case_id, personal, media_type, size_bytes, sha256, "
                "content_sealed, added_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (evidence_id, case_id, uow.seal(EVIDENCE, "personal", evidence_id, name, case_id=case_id), media_type, len(content),
                 hashlib.sha256(content).hexdigest(),
                 psycopg2.Binary(uow.seal(EVIDENCE, "content_sealed", evidence_id, content, raw=True, case_id=case_id)),
                 added_by)).close()


def list_evidence(uow, case_id) -> list[dict]:
    rows = uow.fetchall("SELECT evidence_id, personal, media_type, size_bytes, sha256, added_at, added_by "
                        "FROM intake.evidence WHERE case_id = %s ORDER BY added_at, evidence_id", (case_id,))
    for row in rows:
        row.update(uow.unseal(EVIDENCE, "personal", row["evidence_id"], row.pop("personal")) or {"filename": None})
    return rows


def evidence_content(uow, evidence_id) -> bytes | None:
    """One evidence file, decrypted; None if there is no such file."""
    row = uow.fetchone("SELECT content_sealed FROM intake.evidence WHERE evidence_id = %s", (evidence_id,))
    return uow.unseal(EVIDENCE, "content_sealed", evidence_id, row["content_sealed"], raw=True) if row else None


def add_text(uow, case_id, channel: str, added_by: str, text: str) -> None:
    # the id is taken first: the ciphertext is bound to it
    row_id = uow.fetchone("SELECT nextval('intake.additions_id_seq') AS id")["id"]
    uow.execute("INSERT INTO intake.additions (id, case_id, channel, added_by, personal) VALUES (%s, %s, %s, %s, %s)",
                (row_id, case_id, channel, added_by, uow.seal(ADDITIONS, "personal", row_id, {"text": text}, case_id=case_id))).close()


def list_additions(uow, case_id) -> list[dict]:
    rows = uow.fetchall("SELECT id, channel, added_by, personal, added_at FROM intake.additions WHERE case_id = %s "
                        "ORDER BY id", (case_id,))
    for row in rows:
        row.update(uow.unseal(ADDITIONS, "personal", row.pop("id"), row.pop("personal")) or {"text": None})
    return rows


# ---------------------------------------------------------------- bulk import and e-mail (migration 0004)

def imported_case(uow, row_hash: str):
    row = uow.fetchone("SELECT case_id FROM intake.imported_rows WHERE row_hash = %s", (row_hash,))
    return row["case_id"] if row else None


def remember_import(uow, row_hash: str, case_id, source: str, line: int) -> None:
    uow.execute("INSERT INTO intake.imported_rows (row_hash, case_id, source, line) VALUES (%s, %s, %s, %s)",
                (row_hash, case_id, source, line)).close()


def mail_case(uow, message_id: str):
    row = uow.fetchone("SELECT case_id FROM intake.mail_messages WHERE message_id = %s", (message_id,))
    return row["case_id"] if row else None


def remember_mail(uow, message_id: str, case_id, mailbox: str) -> None:
    uow.execute("INSERT INTO intake.mail_messages (message_id, case_id, mailbox) VALUES (%s, %s, %s)",
                (message_id, case_id, mailbox)).close()


# ---------------------------------------------------------------- drafts (e-mail) completed by staff

def list_drafts(uow, limit: int = 200) -> list[dict]:
    return uow.fetchall("SELECT case_id, channel, received_at, received_by FROM intake.incidents "
                        "WHERE draft ORDER BY received_at LIMIT %s", (limit,))


def complete_draft(uow, case_id, report: dict) -> bool:
    """Replace a draft's fields by the report staff completed, and make it a case; False if it is no draft.
    The same columns as insert_incident, personal data encrypted likewise."""
    values = {"occurred_at": report["occurred_at"], "location_type": report["location_type"],
              "target_role": report["target_role"], "reported_categories": list(report["categories"]),
              "consent": json.dumps(report["consent"]),
              "personal": uow.seal(INCIDENTS, "personal", case_id, personal_of(report), case_id=case_id),
              **{name: report.get(name) for name in _OPTIONAL}}
    values["occurred_at_precision"] = values["occurred_at_precision"] or "exact"
    values["reporter_relation"] = values["reporter_relation"] or "target"
    values["aangifte_help"] = bool(values["aangifte_help"])
    cur = uow.execute(f"UPDATE intake.incidents SET {', '.join(f'{name} = %s' for name in values)}, draft = false "
                      "WHERE case_id = %s AND draft", (*values.values(), case_id))
    done = cur.rowcount == 1
    cur.close()
    return done


# ---------------------------------------------------------------- casework from the workbench (migration 0006)

NOTES, CLOSURES, EXCLUSIONS = "intake.notes", "intake.closures", "hub.case_exclusions"


def timeline(uow, case_id) -> list[dict]:
    """The case's audit entries and the events it caused (while still in the outbox), oldest first."""
    uow.flush()  # with what this transaction audited and recorded so far
    return uow.fetchall(
        "SELECT at, 'audit' AS kind, actor, action, subject AS what, reason FROM hub.audit_log WHERE case_id = %s "
        "UNION ALL SELECT created_at AS at, 'event' AS kind, service AS actor, 'event' AS action, event_type AS what, "
        "NULL AS reason FROM hub.outbox WHERE envelope->>'case_id' = %s ORDER BY at", (case_id, str(case_id)))


def add_note(uow, case_id, added_by: str, text: str) -> int:
    row_id = uow.fetchone("SELECT nextval('intake.notes_id_seq') AS id")["id"]  # the ciphertext is bound to it
    uow.execute("INSERT INTO intake.notes (id, case_id, added_by, personal) VALUES (%s, %s, %s, %s)",
                (row_id, case_id, added_by, uow.seal(NOTES, "personal", row_id, {"text": text}, case_id=case_id))).close()
    return row_id


def list_notes(uow, case_id) -> list[dict]:
    rows = uow.fetchall("SELECT id, added_by, added_at, personal FROM intake.notes WHERE case_id = %s ORDER BY id",
                        (case_id,))
    for row in rows:
        row.update(uow.unseal(NOTES, "personal", row["id"], row.pop("personal")) or {"text": None})
    return rows


def assign(uow, case_id, person: str | None, name: str | None, by: str) -> None:
    if person is None:
        uow.execute("DELETE FROM intake.assignments WHERE case_id = %s", (case_id,)).close()
        return
    uow.execute("INSERT INTO intake.assignments (case_id, assigned_to, assigned_name, assigned_by) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (case_id) DO UPDATE SET assigned_to = EXCLUDED.assigned_to, "
                "assigned_name = EXCLUDED.assigned_name, assigned_by = EXCLUDED.assigned_by, assigned_at = now()",
                (case_id, person, name, by)).close()


def assignment(uow, case_id) -> dict | None:
    return uow.fetchone("SELECT assigned_to, assigned_name, assigned_at FROM intake.assignments WHERE case_id = %s",
                        (case_id,))


def close(uow, case_id, kind: str, reason: str, note: str | None, by: str) -> None:
    """Staff close (`afgesloten`) or withdraw (`ingetrokken`) a case: final."""
    uow.execute("INSERT INTO intake.closures (case_id, kind, reason, personal, closed_by) VALUES (%s, %s, %s, %s, %s)",
                (case_id, kind, reason, uow.seal(CLOSURES, "personal", case_id, {"note": note}, case_id=case_id) if note else None,
                 by)).close()
    set_status(uow, case_id, kind)


def closure(uow, case_id) -> dict | None:
    row = uow.fetchone("SELECT kind, reason, personal, closed_by, closed_at FROM intake.closures WHERE case_id = %s",
                       (case_id,))
    if row is not None:
        row.update(uow.unseal(CLOSURES, "personal", case_id, row.pop("personal")) or {"note": None})
    return row


def mark_conflict(uow, case_id, handled_by: str, kind: str, by: str, exclusions) -> int:
    """Route the case away (hub.case_access) and exclude people by keyed identity hash; how many are new."""
    uow.execute("INSERT INTO hub.case_access (case_id, handled_by, reason, marked_by) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (case_id) DO UPDATE SET reason = EXCLUDED.reason, marked_by = EXCLUDED.marked_by, "
                "marked_at = now()", (case_id, handled_by, kind, by)).close()
    added = 0
    for identity, named in exclusions:
        row_id = uow.fetchone("SELECT nextval('hub.case_exclusions_id_seq') AS id")["id"]
        cur = uow.execute("INSERT INTO hub.case_exclusions (id, case_id, identity, personal, added_by) "
                          "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                          (row_id, case_id, identity, uow.seal(EXCLUSIONS, "personal", row_id, named, case_id=case_id), by))
        added += cur.rowcount
        cur.close()
    return added


def conflict_of(uow, case_id) -> dict | None:
    row = uow.fetchone("SELECT handled_by, reason, marked_by, marked_at FROM hub.case_access WHERE case_id = %s",
                       (case_id,))
    if row is not None:
        row["excluded"] = uow.fetchone("SELECT count(*) AS n FROM hub.case_exclusions WHERE case_id = %s",
                                       (case_id,))["n"]
    return row



# ---------------------------------------------------------------- messages between staff and the reporter

def add_message(uow, message_id, case_id, direction: str, author: str, text: str) -> None:
    row_id = uow.fetchone("SELECT nextval('intake.messages_id_seq') AS id")["id"]  # the ciphertext is bound to it
    uow.execute("INSERT INTO intake.messages (id, message_id, case_id, direction, author, personal) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (row_id, message_id, case_id, direction, author,
                 uow.seal(MESSAGES, "personal", row_id, {"text": text}, case_id=case_id))).close()


def list_messages(uow, case_id) -> list[dict]:
    rows = uow.fetchall("SELECT id, message_id, direction, author, posted_at, personal FROM intake.messages "
                        "WHERE case_id = %s ORDER BY id", (case_id,))
    for row in rows:
        row.update(uow.unseal(MESSAGES, "personal", row.pop("id"), row.pop("personal")) or {"text": None})
    return rows
