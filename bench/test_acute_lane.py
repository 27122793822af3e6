"""Benchmark: how soon an acute report accepted behind 10,000 queued normal ones is triaged and
referred (target: 1 s).

Run with `make bench`. Every report is posted through intake's HTTP API while triage is stopped,
so the acute one is marked acute by intake's own check (docs/triage.md, acute lane), as in
production; then triage and police_liaison start, and we time the acute case from that start
to its referral.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import eventlet

from tests.integration.test_acute_lane import ACUTE, NORMAL
from tests.support import Hub, query, wait_for

BACKLOG = 10_000


def test_acute_report_behind_ten_thousand(settings, start_services):
    start_services("intake")
    hub = Hub(settings)
    code = settings.region.codes[0]
    dsn = hub.case_store(code)
    key = hub.key(code)
    pool = eventlet.GreenPool(20)
    posted = time.monotonic()
    statuses = list(pool.imap(lambda _: hub.report(key, NORMAL).status_code, range(BACKLOG)))
    assert statuses == [201] * BACKLOG
    answer = hub.report(key, ACUTE)
    assert answer.status_code == 201
    acute_case = answer.json()["case_id"]
    print(f"\nposted {BACKLOG} normal reports through the API in {time.monotonic() - posted:.1f}s")
    wait_for(lambda: not query(dsn, "SELECT 1 FROM hub.outbox WHERE published_at IS NULL LIMIT 1"),
             timeout=300, what="intake's outbox published")

    start_services("police_liaison")
    started = time.monotonic()
    start_services("triage")
    wait_for(lambda: query(dsn, "SELECT 1 FROM police_liaison.referrals WHERE case_id = %s", (acute_case,)),
             timeout=120, interval=0.01, what="acute referral")
    elapsed = time.monotonic() - started
    triaged_before = query(dsn, "SELECT count(*) AS n FROM triage.results WHERE triaged_at < "
                                "(SELECT triaged_at FROM triage.results WHERE case_id = %s)", (acute_case,))[0]["n"]
    print(f"acute lane: referred {elapsed:.3f}s after triage started behind {BACKLOG} queued "
          f"normal reports posted through the API; {triaged_before} of them were triaged first")
    assert triaged_before < BACKLOG, "the acute report must not wait for the whole backlog"
    assert elapsed < 1.0, f"the acute report was referred {elapsed:.2f}s after triage started (target 1 s)"
    figures = os.environ.get("MELDPUNT_BENCH_FIGURES")
    if figures:  # bench/run.py collects the figure for docs/benchmarks.md
        Path(figures).write_text(json.dumps({"acute_referral_seconds_behind_10000": elapsed,
                                             "acute_normal_reports_triaged_first": triaged_before}))
