"""Operators see only their own municipality's dead letters, and looking does not reorder them (issue 21,
item 13): letters of two municipalities parked in triage's dead-letter queue, interleaved; each municipality's
operator key lists its own, in order; the administrator's view (`meldpunt dlq list`) afterwards finds the
queue exactly as it was. Before, any operator key listed every municipality's letters."""
from __future__ import annotations

import json
import uuid

import requests

from shared.messaging.dlq import DeadLetters
from tests.support import Hub, publish_raw


def test_an_operator_lists_only_their_own_municipality_and_the_queue_keeps_its_order(settings, start_services):
    start_services("triage")
    hub = Hub(settings)
    first, second = settings.region.codes[:2]
    parked = []
    for i in range(6):
        code = (first, second)[i % 2]
        event_id = str(uuid.uuid4())
        body = {"event_id": event_id, "event_type": "incident_reported", "municipality": code,
                "case_id": str(uuid.uuid4())}
        publish_raw(settings.amqp_uri, "", "triage.dlq", json.dumps(body).encode(), message_id=event_id,
                    headers={"x-meldpunt-error": "ValueError: test"})
        parked.append((code, event_id))
    order = [event_id for _, event_id in parked]
    assert [letter.message_id for letter in DeadLetters(settings.amqp_uri).list("triage")] == order

    for code in (first, second):
        key = hub.key(code, "operator")
        answer = requests.get(hub.url("triage", "/api/v1/dead-letters"), headers={"Authorization": f"Bearer {key}"},
                              timeout=10)
        assert answer.status_code == 200
        listed = answer.json()["messages"]
        assert [m["message_id"] for m in listed] == [event_id for c, event_id in parked if c == code]
        assert {m["municipality"] for m in listed} == {code}
        assert answer.json()["count"] == 3
    # looking twice, by two operators, left every letter where it was
    assert [letter.message_id for letter in DeadLetters(settings.amqp_uri).list("triage")] == order
