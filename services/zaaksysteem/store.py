"""The zaaksysteem service's tables in each municipality's case store (schema `zaaksysteem`): the outbox of
deliveries, each case's zaak and the delivery log."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta


def add_delivery(uow, case_id, step: str, outcome: str | None, shared: dict, happened_at) -> bool:
    """A delivery for the case's step; False when the case had it already (an event seen twice)."""
    cur = uow.execute(
        "INSERT INTO zaaksysteem.deliveries (delivery_id, case_id, step, outcome, shared, happened_at, next_attempt_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (case_id, step) DO NOTHING",
        (uuid.uuid4(), case_id, step, outcome, json.dumps(shared), happened_at, happened_at))
    added = cur.rowcount == 1
    cur.close()
    return added


def claim_due(uow, now, limit: int = 20) -> list[dict]:
    """Due deliveries whose case is ready for them, locked for this round (others skip them): a status
    once the case has its zaak, the end only after the case's other steps."""
    return uow.fetchall(
        "SELECT d.*, z.zaak_url FROM zaaksysteem.deliveries d "
        "LEFT JOIN zaaksysteem.zaken z ON z.case_id = d.case_id "
        "WHERE d.state = 'pending' AND d.next_attempt_at <= %s "
        "AND (d.step = 'aanmaken' OR z.zaak_url IS NOT NULL) "
        "AND NOT (d.step = 'afsluiten' AND EXISTS (SELECT 1 FROM zaaksysteem.deliveries o WHERE o.case_id = d.case_id "
        "         AND o.step <> 'afsluiten' AND o.state = 'pending')) "
        "ORDER BY d.next_attempt_at LIMIT %s FOR UPDATE OF d SKIP LOCKED", (now, limit))


def zaak_made(uow, case_id, zaak_url: str) -> None:
    uow.execute("INSERT INTO zaaksysteem.zaken (case_id, zaak_url) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (case_id, zaak_url)).close()


def delivered(uow, delivery_id, now, detail: str) -> None:
    uow.execute("UPDATE zaaksysteem.deliveries SET state = 'delivered', delivered_at = %s, attempts = attempts + 1, "
                "last_error = NULL WHERE delivery_id = %s", (now, delivery_id)).close()
    uow.execute("INSERT INTO zaaksysteem.attempts (delivery_id, at, result, detail) VALUES (%s, %s, 'delivered', %s)",
                (delivery_id, now, detail)).close()


def failed(uow, delivery_id, now, error: str, wait_seconds: float) -> None:
    uow.execute("UPDATE zaaksysteem.deliveries SET attempts = attempts + 1, last_error = %s, next_attempt_at = %s "
                "WHERE delivery_id = %s", (error[:1000], now + timedelta(seconds=wait_seconds), delivery_id)).close()
    uow.execute("INSERT INTO zaaksysteem.attempts (delivery_id, at, result, detail) VALUES (%s, %s, 'failed', %s)",
                (delivery_id, now, error[:1000])).close()


def deliveries(uow, case_id=None, state=None, limit: int = 100) -> list[dict]:
    """The delivery log: each delivery with its zaak and attempts, newest first."""
    query = ("SELECT d.delivery_id, d.case_id, d.step, d.outcome, d.state, d.attempts, d.last_error, d.happened_at, "
             "d.next_attempt_at, d.delivered_at, z.zaak_url FROM zaaksysteem.deliveries d "
             "LEFT JOIN zaaksysteem.zaken z ON z.case_id = d.case_id WHERE true")
    params = []
    if case_id is not None:
        query += " AND d.case_id = %s"
        params.append(case_id)
    if state is not None:
        query += " AND d.state = %s"
        params.append(state)
    query += " ORDER BY d.created_at DESC, d.step LIMIT %s"
    params.append(limit)
    return uow.fetchall(query, params)


def retry_now(uow, delivery_id, now) -> bool:
    cur = uow.execute("UPDATE zaaksysteem.deliveries SET next_attempt_at = %s WHERE delivery_id = %s "
                      "AND state = 'pending'", (now, delivery_id))
    done = cur.rowcount == 1
    cur.close()
    return done
