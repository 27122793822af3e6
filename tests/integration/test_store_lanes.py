"""Store lanes through the real broker and PostgreSQL (shared/messaging/store_lanes.py, issue 25): a backlog
of signals' events, each case's three from three queues and the region's stores taken in turn, is handled on
a few connections per store where it took about one per two events, each event once by its own handler.
Measured when written: 72 events of 4 stores, two workers, room for two connections: 11-13 connections with
the lanes (the start's visit of each store by signals' timers among them), 33-37 without."""
from __future__ import annotations

import dataclasses
import uuid
from collections import Counter

from shared.db.pool import ConnectionPool
from shared.events import dump_event, new_event
from shared.names import INTAKE, TRIAGE
from shared.outbox import EventPublisher
from tests.support import query, wait_for
from tests.unit import samples

CASES_PER_STORE = 6
# three queues of signals; none of these events raises a signal (no notice, no mail: the run's stores are
# shared with the other tests, whose digests count them)
KINDS = ((INTAKE, "incident_reported", lambda: samples.incident()),
         (TRIAGE, "incident_triaged", lambda: samples.triaged(urgency="normaal", decisions=[])),
         (INTAKE, "case_message_posted", lambda: {"message_id": uuid.uuid4(), "direction": "to_reporter"}))


def test_a_backlog_takes_about_one_connection_per_store_not_one_per_event(settings, start_services, monkeypatch):
    codes = settings.region.codes
    cases = [(code, uuid.uuid4()) for _ in range(CASES_PER_STORE) for code in codes]  # the stores in turn
    # the backlog waits in signals' queues before it starts, each queue with the stores in turn
    sent = {code: [] for code in codes}
    for source, event_type, payload in KINDS:
        events = [new_event(event_type, code, case_id, payload()) for code, case_id in cases]
        publish = EventPublisher(settings.amqp_uri, source)
        try:
            assert publish([(n, dump_event(e), 0) for n, e in enumerate(events)]).confirmed == list(range(len(events)))
        finally:
            publish.close()
        for event in events:
            sent[event.municipality].append(str(event.event_id))

    opened = Counter()
    real_connect = ConnectionPool._default_connect

    def counted(pool, dsn):
        if pool.application_name == "meldpunt-signals":
            opened[dsn] += 1
        return real_connect(pool, dsn)

    monkeypatch.setattr(ConnectionPool, "_default_connect", counted)
    # two workers, and room in the pool for their two connections only (besides the relay's marking one):
    # another store's connection is closed to make room for each store, as with 342 municipalities. Idle
    # connections kept for a minute, not the tests' 2 s: on a loaded machine (the whole suite on two cores) a
    # store's connection idled past 2 s between its events and was opened again, 58 times in one CI run
    start_services("signals", settings=dataclasses.replace(settings, max_workers=2, db_max_connections=3,
                                                           db_idle_seconds=60.0))

    stores = {}
    for code in codes:
        dsn = stores[code] = settings.region.municipality(code).case_store_dsn
        handled = wait_for(lambda: [r for r in query(
            dsn, "SELECT consumer, count(*) AS n FROM hub.inbox WHERE event_id::text = ANY(%s) GROUP BY consumer",
            (sent[code],))] if query(dsn, "SELECT count(*) AS n FROM hub.inbox WHERE event_id::text = ANY(%s)",
                                     (sent[code],))[0]["n"] == len(sent[code]) else None,
            what=f"signals' handling of {code}'s events")
        # each event once, by its own handler (its inbox entry), whichever worker took it after which
        assert {r["consumer"]: r["n"] for r in handled} == {
            f"signals.on_{event_type}": CASES_PER_STORE for _, event_type, _ in KINDS}
    events = sum(len(ids) for ids in sent.values())
    workers_opened = sum(opened[dsn] for dsn in stores.values())
    # without the lanes 33-37 (the next event in each queue is another store's); with them 11-13, the
    # start's visits of each store by signals' timers among them
    assert workers_opened <= 5 * len(codes), (
        f"{events} events of {len(codes)} stores opened {workers_opened} connections: {dict(opened)}")
