"""Intake's tables in the municipality's case store (schema `intake`).

Personal data is encrypted here and nowhere else: the incident's description and own words,
places, people and injuries go into `personal`, an evidence file's name and content and an addition's text
likewise (shared/personal_data.py lists every such column); reads give them back decrypted.
"""
from __future__ import annotations

import json

from shared.personal_data import INCIDENT_PERSONAL

INCIDENTS, EVIDENCE, ADDITIONS = "intake.incidents", "intake.evidence", "intake.additions"

_OPTIONAL = ("occurred_at_precision", "occurred_until", "reporter_relation", "aangifte_help")


def personal_of(report: dict) -> dict:
    """The personal part of a report: what is stored encrypted."""
    return {"description": report["description"], "own_kind": report.get("own_kind"),
            "location_detail": report.get("location_detail"),
            "target": report.get("target") or None, "reporter": report.get("reporter") or None,
            "perpetrators": report.get("perpetrators") or [], "witnesses": report.get("witnesses") or [],
            "injuries": report.get("injuries"), "damage": report.get("damage")}


def insert_incident(uow, case_id, report: dict, channel: str, received_by: str, draft: bool = False) -> None:
    optional = {name: report.get(name) for name in _OPTIONAL if report.get(name) is not None}
    columns = ["case_id", "channel", "received_by", "occurred_at", "location_type", "target_role",
               "reported_categories", "consent", "draft", "personal", *optional]
    values = [case_id, channel, received_by, report["occurred_at"], report["location_type"],
              report["target_role"], list(report["categories"]), json.dumps(report["consent"]), draft,
              uow.seal(INCIDENTS, "personal", case_id, personal_of(report)), *optional.values()]
    uow.execute(f"INSERT INTO intake.incidents ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(values))})", tuple(values)).close()


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
                (uow.seal(INCIDENTS, "personal", case_id, personal), case_id)).close()


def idempotent_answer(uow, key_id: str, idempotency_key: str) -> dict | None:
    """The first answer to this key, locked so a concurrent retry waits for it."""
    return uow.fetchone("SELECT request_hash, status_code, response FROM intake.idempotency_keys "
                        "WHERE key_id = %s AND idempotency_key = %s FOR UPDATE", (key_id, idempotency_key))


def remember_answer(uow, key_id: str, idempotency_key: str, request_hash: str, status_code: int,
                    response: dict, case_id) -> None:
    uow.execute("INSERT INTO intake.idempotency_keys "
                "(key_id, idempotency_key, request_hash, status_code, response, case_id) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (key_id, idempotency_key, request_hash, status_code, json.dumps(response), case_id)).close()


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
                (evidence_id, case_id, uow.seal(EVIDENCE, "personal", evidence_id, name), media_type, len(content),
                 hashlib.sha256(content).hexdigest(),
                 psycopg2.Binary(uow.seal(EVIDENCE, "content_sealed", evidence_id, content, raw=True)),
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
                (row_id, case_id, channel, added_by, uow.seal(ADDITIONS, "personal", row_id, {"text": text}))).close()


def list_additions(uow, case_id) -> list[dict]:
    rows = uow.fetchall("SELECT id, channel, added_by, personal, added_at FROM intake.additions WHERE case_id = %s "
                        "ORDER BY id", (case_id,))
    for row in rows:
        row.update(uow.unseal(ADDITIONS, "personal", row.pop("id"), row.pop("personal")) or {"text": None})
    return rows


# ---------------------------------------------------------------- signing secrets (migration 0004)

SIGNING_TABLE = "intake.signing_secrets"


def signing_secret(uow, key_id: str) -> bytes | None:
    """The key's encrypted signing secret, or None: a key without one does not sign."""
    row = uow.fetchone("SELECT secret FROM intake.signing_secrets WHERE key_id = %s", (key_id,))
    return bytes(row["secret"]) if row else None


def set_signing_secret(uow, key_id: str, encrypted: bytes) -> None:
    import psycopg2

    uow.execute("INSERT INTO intake.signing_secrets (key_id, secret) VALUES (%s, %s) "
                "ON CONFLICT (key_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = now()",
                (key_id, psycopg2.Binary(encrypted))).close()


def drop_signing_secret(uow, key_id: str) -> bool:
    cur = uow.execute("DELETE FROM intake.signing_secrets WHERE key_id = %s", (key_id,))
    dropped = cur.rowcount == 1
    cur.close()
    return dropped


def first_sighting(uow, key_id: str, signature: str, window_seconds: int) -> bool:
    """Record a signature; False if it was seen within the window (a replay). Older sightings are pruned."""
    uow.execute("DELETE FROM intake.seen_signatures WHERE key_id = %s AND seen_at < now() - %s * interval '1 second'",
                (key_id, 2 * window_seconds)).close()
    cur = uow.execute("INSERT INTO intake.seen_signatures (key_id, signature) VALUES (%s, %s) "
                      "ON CONFLICT DO NOTHING", (key_id, signature))
    first = cur.rowcount == 1
    cur.close()
    return first


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
              "personal": uow.seal(INCIDENTS, "personal", case_id, personal_of(report)),
              **{name: report.get(name) for name in _OPTIONAL}}
    values["occurred_at_precision"] = values["occurred_at_precision"] or "exact"
    values["reporter_relation"] = values["reporter_relation"] or "target"
    values["aangifte_help"] = bool(values["aangifte_help"])
    cur = uow.execute(f"UPDATE intake.incidents SET {', '.join(f'{name} = %s' for name in values)}, draft = false "
                      "WHERE case_id = %s AND draft", (*values.values(), case_id))
    done = cur.rowcount == 1
    cur.close()
    return done
