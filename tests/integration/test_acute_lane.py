"""The acute lane through the real broker: an acute incident published behind a backlog of
normal ones is triaged before most of that backlog (priority queues, x-max-priority 10)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from kombu import Connection, Exchange, Producer

from shared import vocabulary as v
from shared.events import dump_event, new_event
from tests.support import query, wait_for

BACKLOG = 2000


def reported(code, **overrides):
    payload = {"channel": "api", "occurred_at": datetime(2026, 11, 20, 13, 5, tzinfo=timezone.utc),
               "location_type": "balie", "target_role": "ambtenaar", "reported_categories": ["verbale_agressie"],
               "anonymous": True, "perpetrator_count": 1,
               "consent": {"contact": False, "police_referral": False, "inform_manager": False,
                           "employer_reports": False}}
    payload.update(overrides)
    return new_event("incident_reported", code, uuid.uuid4(), payload)


def test_acute_incident_overtakes_a_backlog(settings, start_services):
    code = settings.region.codes[3]
    dsn = settings.region.municipality(code).case_store_dsn
    exchange = Exchange("intake.events", type="topic", durable=True)
    # triage is not running: the backlog waits in its queue, the acute report comes last
    with Connection(settings.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.default_channel)
        for _ in range(BACKLOG):
            producer.publish(dump_event(reported(code)), exchange=exchange, routing_key="incident_reported",
                             delivery_mode=2, priority=v.URGENCY_PRIORITY["normaal"])
        acute = reported(code, location_type="woning", reported_categories=["bedreiging"])
        producer.publish(dump_event(acute), exchange=exchange, routing_key="incident_reported",
                         delivery_mode=2, priority=v.URGENCY_PRIORITY["acuut"])

    start_services("triage")
    row = wait_for(lambda: query(dsn, "SELECT triaged_at, urgency FROM triage.results WHERE case_id = %s",
                                 (acute.case_id,)), timeout=120, interval=0.05, what="acute triage")[0]
    assert row["urgency"] == "acuut"
    before = query(dsn, "SELECT count(*) AS n FROM triage.results WHERE triaged_at < %s", (row["triaged_at"],))[0]["n"]
    # only what the consumer had already prefetched can come first
    assert before < BACKLOG // 10, f"{before} normal incidents were triaged before the acute one"
    [event] = [r["envelope"] for r in query(dsn, "SELECT envelope FROM hub.outbox WHERE event_type = "
                                                 "'incident_triaged' AND envelope->>'case_id' = %s",
                                            (str(acute.case_id),))]
    assert event["payload"]["urgency"] == "acuut"
    assert query(dsn, "SELECT priority FROM hub.outbox WHERE envelope->>'case_id' = %s",
                 (str(acute.case_id),))[0]["priority"] == 9
