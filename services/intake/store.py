"""Intake's tables in the municipality's case store (schema `intake`)."""
from __future__ import annotations

import json

_OPTIONAL = ("own_kind", "occurred_at_precision", "occurred_until", "location_detail", "reporter_relation",
             "injuries", "damage", "aangifte_help")


def insert_incident(uow, case_id, report: dict, channel: str, received_by: str) -> None:
    reporter = report.get("reporter")
    target = report.get("target")
    optional = {name: report.get(name) for name in _OPTIONAL if report.get(name) is not None}
    columns = ["case_id", "channel", "received_by", "occurred_at", "description", "location_type",
               "target_role", "reported_categories", "reporter", "perpetrators", "consent", "target",
               "witnesses", *optional]
    values = [case_id, channel, received_by, report["occurred_at"], report["description"],
              report["location_type"], report["target_role"], list(report["categories"]),
              json.dumps(reporter) if reporter else None,
              json.dumps(report["perpetrators"], default=str), json.dumps(report["consent"]),
              json.dumps(target) if target else None,
              json.dumps(report.get("witnesses") or []), *optional.values()]
    uow.execute(f"INSERT INTO intake.incidents ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(values))})", tuple(values)).close()


def get_incident(uow, case_id) -> dict | None:
    return uow.fetchone("SELECT * FROM intake.incidents WHERE case_id = %s", (case_id,))


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
