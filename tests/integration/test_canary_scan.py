"""No personal data leaves the case store: a whole case with canaries in every personal field,
then a scan of every event on the broker, every log line, every service's /metrics and
every table of the statistics database.

The canaries go into the report (names, contact data, description, perpetrator, witnesses,
target, injuries, damage) and into what staff, the police liaison and the aftercare worker
add later (override reason, step reason, contact and referral notes).
"""
import json
import logging
import uuid

import pytest
import requests
from kombu import Connection, Exchange, Queue

from shared.messaging.topology import police_referrals_exchange
from shared.names import SERVICES
from tests.support import CANARIES, canaries_in, canary_body, query, wait_for


@pytest.fixture
def hub(hub, start_services):
    """Every service (`hub` starts five): each one's events, logs and metrics are looked at here."""
    start_services("signals", "workbench", "zaaksysteem")
    return hub


NOW = "2026-11-21T10:00:00+01:00"


def _capture_queue(amqp_uri, name):
    """A queue bound to every exchange events travel on, with every routing key."""
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        queue = Queue(name, durable=False, auto_delete=False)(channel)
        queue.declare()
        for exchange in [f"{s}.events" for s in SERVICES] + [police_referrals_exchange().name]:
            queue.bind_to(exchange=Exchange(exchange), routing_key="#")
        channel.close()


def _captured(amqp_uri, name) -> list[tuple[str, str]]:
    out = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(name, no_ack=True)) is not None:
            body = message.body if isinstance(message.body, str) else message.body.decode("utf-8", "replace")
            out.append((message.delivery_info["routing_key"], body + json.dumps(message.headers or {})))
        channel.close()
    return out


def _statistics_dump(dsn) -> str:
    tables = query(dsn, "SELECT table_schema, table_name FROM information_schema.tables "
                        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'")
    assert any(t["table_name"] == "incident_facts" for t in tables)
    return "\n".join(json.dumps(query(dsn, f'SELECT * FROM "{t["table_schema"]}"."{t["table_name"]}"'), default=str)
                     for t in tables)


def test_no_canary_in_any_event_log_line_metric_or_statistics_table(hub, caplog):
    caplog.set_level(logging.DEBUG)
    amqp = hub.settings.amqp_uri
    capture = f"canary-capture-{uuid.uuid4().hex[:8]}"
    _capture_queue(amqp, capture)
    code = hub.region.codes[0]
    auth = lambda role: {"Authorization": f"Bearer {hub.key(code, role)}"}
    staff, liaison, worker = auth("staff"), auth("police_liaison"), auth("aftercare_worker")

    channel_key = hub.key(code)
    case_id = hub.report(channel_key, canary_body()).json()["case_id"]
    wait_for(lambda: (f := hub.facts(code, uuid.UUID(case_id))) and f["aftercare_planned"], what="the path")
    store = hub.case_store(code)
    referral_id = wait_for(lambda: query(store, "SELECT referral_id FROM police_liaison.referrals WHERE case_id = %s",
                                         (case_id,)), what="police referral")[0]["referral_id"]
    plan_id = query(store, "SELECT plan_id FROM aftercare.care_plans WHERE case_id = %s", (case_id,))[0]["plan_id"]

    # what people add later, with canaries too
    steps = [
        ("triage", "POST", f"/api/v1/triage/{case_id}/override", staff,
         {"categories": ["bedreiging"], "urgency": "acuut", "decisions": ["aftercare", "police_referral"],
          "reason": "KanarieReden van de medewerker"}),
        ("police_liaison", "GET", f"/api/v1/referrals/{referral_id}/details", liaison, None),
        ("police_liaison", "POST", f"/api/v1/referrals/{referral_id}/steps", liaison, {"status": "accepted"}),
        ("police_liaison", "POST", f"/api/v1/referrals/{referral_id}/steps", liaison,
         {"status": "afgewezen", "reason": "KanarieAfwijzing door de politie"}),
        ("aftercare", "POST", f"/api/v1/aftercare/plans/{plan_id}/contacts", worker,
         {"contacted_at": NOW, "contacted_by": "worker.a", "method": "phone", "outcome": "reached",
          "notes": "KanarieNotitie: slaapt slecht"}),
        ("aftercare", "POST", f"/api/v1/aftercare/plans/{plan_id}/referrals", worker,
         {"kind": "huisarts", "referred_at": NOW, "referred_by": "worker.a", "notes": "KanarieVerwijzing"}),
    ]
    for service, verb, path, headers, body in steps:
        answer = requests.request(verb, hub.url(service, path), headers=headers, json=body, timeout=10)
        assert answer.status_code in (200, 201), (path, answer.text)

    # the canaries were really taken in: the case itself holds them
    shown = requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}"),
                         headers={"Authorization": f"Bearer {channel_key}"}, timeout=10)
    assert set(canaries_in(shown.text)) == set(CANARIES)

    # wait until the later steps' events have travelled (the capture queue is drained as it goes)
    seen = []
    events = wait_for(lambda: (seen.extend(_captured(amqp, capture)) or (got := list(seen))) and
                      {"aftercare_referred", "referral_updated", "triage_overridden"} <= {rk.split(".")[-1] for rk, _ in got}
                      and got, what="the later events on the broker")
    assert len(events) >= 8
    for routing_key, text in events:
        assert canaries_in(text) == [], routing_key

    lines = [record.getMessage() + " " + json.dumps({k: v for k, v in record.__dict__.items()
                                                     if k not in ("msg", "args", "exc_info")}, default=str)
             for record in caplog.records]
    assert any("handled" in line for line in lines)  # the services did log, and we see it
    for line in lines:
        assert canaries_in(line) == [], line

    for service in SERVICES:
        metrics = requests.get(hub.url(service, "/metrics"), timeout=10).text
        assert "meldpunt_" in metrics
        assert canaries_in(metrics) == [], service

    assert canaries_in(_statistics_dump(hub.region.statistics_dsn)) == []
