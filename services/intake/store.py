"""Intake's tables in the municipality's case store (schema `intake`)."""
from __future__ import annotations

import json


def insert_incident(uow, case_id, report: dict, channel: str, received_by: str) -> None:
    reporter = report.get("reporter")
    uow.execute(
        "INSERT INTO intake.incidents (case_id, channel, received_by, occurred_at, description, "
        "location_type, target_role, reported_categories, reporter, perpetrators, consent) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (case_id, channel, received_by, report["occurred_at"], report["description"],
         report["location_type"], report["target_role"], list(report["categories"]),
         json.dumps(reporter) if reporter else None,
         json.dumps(report["perpetrators"], default=str), json.dumps(report["consent"]))).close()


def get_incident(uow, case_id) -> dict | None:
    return uow.fetchone("SELECT * FROM intake.incidents WHERE case_id = %s", (case_id,))
