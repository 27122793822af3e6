"""Benchmark: how soon an acute report behind 10,000 queued normal ones is triaged and referred (target: 1 s).

Run with `make bench`. The backlog is published to triage's queue while triage is stopped;
then triage and police_liaison start, and we time the acute case from that start to its referral.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from kombu import Connection, Exchange, Producer

from shared import vocabulary as v
from shared.events import dump_event
from tests.integration.test_acute_lane import reported
from tests.support import query, wait_for

BACKLOG = 10_000


def test_acute_report_behind_ten_thousand(settings, start_services):
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    exchange = Exchange("intake.events", type="topic", durable=True)
    with Connection(settings.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.default_channel)
        for _ in range(BACKLOG):
            producer.publish(dump_event(reported(code)), exchange=exchange, routing_key="incident_reported",
                             delivery_mode=2, priority=v.URGENCY_PRIORITY["normaal"])
        acute = reported(code, location_type="woning", reported_categories=["bedreiging"],
                         consent={"contact": True, "police_referral": True, "inform_manager": False,
                                  "employer_reports": False})
        producer.publish(dump_event(acute), exchange=exchange, routing_key="incident_reported",
                         delivery_mode=2, priority=v.URGENCY_PRIORITY["acuut"])

    start_services("police_liaison")
    started = time.monotonic()
    start_services("triage")
    wait_for(lambda: query(dsn, "SELECT 1 FROM police_liaison.referrals WHERE case_id = %s", (acute.case_id,)),
             timeout=120, interval=0.01, what="acute referral")
    elapsed = time.monotonic() - started
    triaged_before = query(dsn, "SELECT count(*) AS n FROM triage.results WHERE triaged_at < "
                                "(SELECT triaged_at FROM triage.results WHERE case_id = %s)", (acute.case_id,))[0]["n"]
    print(f"\nacute lane: referred {elapsed:.3f}s after triage started behind {BACKLOG} queued "
          f"normal reports; {triaged_before} of them were triaged first")
    assert triaged_before < BACKLOG, "the acute report must not wait for the whole backlog"
    figures = os.environ.get("MELDPUNT_BENCH_FIGURES")
    if figures:  # bench/run.py collects the figure for docs/benchmarks.md
        Path(figures).write_text(json.dumps({"acute_referral_seconds_behind_10000": elapsed,
                                             "acute_normal_reports_triaged_first": triaged_before}))
