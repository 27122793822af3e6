"""shared/outbox.py: the relay's bookkeeping and backoff, with a fake database and publisher."""
from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest
from kombu.exceptions import OperationalError as KombuOperationalError
from prometheus_client import REGISTRY

from shared import outbox
from shared.messaging.publisher import Outcome, Unroutable
from shared.outbox import Backoff, OutboxRelay


def test_backoff_doubles_up_to_the_maximum_and_resets():
    backoff = Backoff(start=0.5, maximum=15.0)

    assert [backoff.failed() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    backoff.succeeded()
    assert backoff.current == 0.0
    assert backoff.failed() == 0.5


# ---------------------------------------------------------------- a fake outbox table

class FakeCursor:
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, statement, params=None):
        self.db.statements.append((" ".join(statement.split()), params))

    def fetchall(self):
        return self.db.batches.pop(0) if self.db.batches else []


class FakeDatabase:
    """Answers each SELECT with the next prepared batch of outbox rows."""

    def __init__(self, *batches):
        self.batches = [list(b) for b in batches]
        self.statements = []
        self.commits = self.rollbacks = 0

    def cursor(self):
        return FakeCursor(self)

    def commit(self):
        self.commits += 1

    def rollback(self):
        self.rollbacks += 1

    def updates(self):
        return [(s, p) for s, p in self.statements if s.startswith("UPDATE")]


class FakePool:
    def __init__(self, db):
        self.db = db
        self.lent = []

    @contextlib.contextmanager
    def connection(self, dsn):
        self.lent.append(dsn)
        yield self.db

    def holds_idle(self, dsn):
        return False

    def holds(self, dsn):
        return False


def row(row_id, priority=0, event_type="incident_reported"):
    return (row_id, event_type, priority, {"event_id": f"e{row_id}", "event_type": event_type})


class FakePublisher:
    """Confirms every row, except `fail_on`: returned as `error` (Unroutable), or the broker
    goes away there (any other error) and nothing after it is confirmed."""

    def __init__(self, fail_on=None, error=None):
        self.fail_on, self.error = fail_on, error
        self.sent = []

    def __call__(self, rows):
        outcome = Outcome()
        for row_id, body, priority in rows:
            if body["event_id"] == self.fail_on:
                if isinstance(self.error, Unroutable):
                    outcome.failed[row_id] = self.error
                    continue
                if isinstance(self.error, (KombuOperationalError, OSError)):
                    outcome.error = self.error
                    return outcome
                raise self.error
            self.sent.append((body["event_id"], priority))
            outcome.confirmed.append(row_id)
        return outcome


def relay_with(db, publisher, service="intake"):
    return OutboxRelay(service, SimpleNamespace(pool=FakePool(db)), publisher)


def test_relay_publishes_in_order_and_marks_what_went_out():
    db = FakeDatabase([row(7, priority=9), row(3), row(4)])
    publisher = FakePublisher()

    sent = relay_with(db, publisher).relay("GM0687", "postgresql://db/gm0687")

    assert sent == 3
    assert publisher.sent == [("e7", 9), ("e3", 0), ("e4", 0)]
    assert db.updates() == [("UPDATE hub.outbox SET published_at = now() WHERE id = ANY(%s)", ([7, 3, 4],))]
    assert db.commits == 1 and db.rollbacks == 0


def test_relay_claims_only_its_own_service_rows_with_skip_locked():
    db = FakeDatabase([])

    assert relay_with(db, FakePublisher(), service="triage").relay("GM0718", "dsn") == 0

    select, params = db.statements[0]
    assert "FOR UPDATE SKIP LOCKED" in select and "published_at IS NULL" in select
    assert "created_at < now() -" in select  # young rows are the committing process's to publish
    assert params == ("triage", outbox.FRESH_GRACE_SECONDS, outbox.BATCH)
    assert db.updates() == []


# ------------------------------------------------------- this process's own commits

def fresh(row_id, priority=0):
    return (row_id, {"event_id": f"e{row_id}", "event_type": "incident_reported"}, priority)


def test_own_commits_go_out_in_one_batch_acute_first_and_are_marked_together_later():
    db = FakeDatabase()
    publisher = FakePublisher()
    relay = relay_with(db, publisher)
    relay.committed("dsn-a", [fresh(1), fresh(2)])
    relay.committed("dsn-b", [fresh(5, priority=9)])

    assert relay.publish_fresh() == 3
    assert publisher.sent == [("e5", 9), ("e1", 0), ("e2", 0)]  # one publish call, no query first
    assert db.statements == [] and not relay.has_fresh
    relay.mark_published()  # not yet due: marking waits to take many rows in one statement
    assert db.updates() == [] and 0 < relay.mark_due_in() <= outbox.MARK_SECONDS

    relay.mark_published(force=True)
    assert sorted(params for _, params in db.updates()) == [([1, 2],), ([5],)]  # one UPDATE per store
    assert relay.mark_due_in() is None


def test_marking_takes_no_connection_a_worker_kept_open():
    """After a burst every store written to is marked once: through the workers' pool each cold store
    would close the connection a worker used longest ago (issue 25), so the marking has a connection of its
    own, and marks on the workers' pool only a store it holds an idle connection to."""
    class WorkersPool(FakePool):
        def holds_idle(self, dsn):
            return dsn == "dsn-warm"

    db = FakeDatabase()
    workers, marking = WorkersPool(db), FakePool(db)
    relay = OutboxRelay("intake", SimpleNamespace(pool=workers), FakePublisher(), marking_pool=marking)
    relay.committed("dsn-warm", [fresh(1)])
    relay.committed("dsn-cold", [fresh(2)])
    relay.publish_fresh()

    relay.mark_published(force=True)

    assert workers.lent == ["dsn-warm"] and marking.lent == ["dsn-cold"]
    assert sorted(params for _, params in db.updates()) == [([1],), ([2],)]


def test_a_store_whose_connection_a_pool_retires_is_marked_on_that_connection():
    """After a burst over hundreds of stores the workers' pool holds each store's connection for less than
    marking waits: the rows are marked on the connection as the pool retires it, not later on a new one."""
    db, other = FakeDatabase(), FakeDatabase()
    marking = FakePool(db)
    relay = OutboxRelay("intake", SimpleNamespace(pool=FakePool(db)), FakePublisher(), marking_pool=marking)
    relay.committed("dsn-a", [fresh(1), fresh(2)])
    relay.committed("dsn-b", [fresh(3)])
    relay.publish_fresh()

    relay.mark_on("dsn-a", other)
    relay.mark_on("dsn-c", other)   # nothing of its own waits there: no statement

    assert other.updates() == [("UPDATE hub.outbox SET published_at = now() WHERE id = ANY(%s)", ([1, 2],))]
    assert other.commits == 1
    relay.mark_published(force=True)
    assert [params for _, params in db.updates()] == [([3],)] and marking.lent == ["dsn-b"]


def test_rows_a_retiring_connection_could_not_mark_are_marked_later():
    class Broken(FakeDatabase):
        def cursor(self):
            raise RuntimeError("server closed the connection")

    db = FakeDatabase()
    relay = OutboxRelay("intake", SimpleNamespace(pool=FakePool(db)), FakePublisher(), marking_pool=FakePool(db))
    relay.committed("dsn-a", [fresh(1)])
    relay.publish_fresh()

    relay.mark_on("dsn-a", Broken())

    relay.mark_published(force=True)
    assert [params for _, params in db.updates()] == [([1],)]


def test_marking_waits_a_while_for_a_store_whose_connection_a_worker_has_in_hand(monkeypatch):
    """Its commit marks them (take_unmarked), or it comes back idle, or retires (mark_on); only rows older than
    two marking rounds go through a new connection. A sweep's stores are marked at once."""
    class WorkersPool(FakePool):
        def holds_idle(self, dsn):
            return False

        def holds(self, dsn):
            return dsn in ("dsn-busy", "dsn-swept")

    clock = [100.0]
    monkeypatch.setattr(outbox.time, "monotonic", lambda: clock[0])
    db = FakeDatabase()
    workers, marking = WorkersPool(db), FakePool(db)
    relay = OutboxRelay("intake", SimpleNamespace(pool=workers), FakePublisher(), marking_pool=marking)
    for n, dsn in enumerate(("dsn-busy", "dsn-swept", "dsn-gone")):
        relay.committed(dsn, [fresh(n)])
    relay.publish_fresh()

    clock[0] += outbox.MARK_SECONDS
    relay.mark_published(now_for={"dsn-swept"})
    assert sorted(marking.lent) == ["dsn-gone", "dsn-swept"] and workers.lent == []

    clock[0] += outbox.MARK_SECONDS
    relay.mark_published()
    assert sorted(marking.lent) == ["dsn-busy", "dsn-gone", "dsn-swept"]
    assert sorted(params for _, params in db.updates()) == [([0],), ([1],), ([2],)]


def test_what_the_broker_does_not_take_from_own_commits_is_left_to_the_sweep():
    db = FakeDatabase()
    relay = relay_with(db, FakePublisher(fail_on="e2", error=Unroutable("no queue")))
    relay.committed("dsn", [fresh(1), fresh(2)])
    assert relay.publish_fresh() == 1
    relay.mark_published(force=True)
    assert [params for _, params in db.updates()] == [([1],)]  # e2 stays unpublished in the outbox

    gone = relay_with(FakeDatabase(), FakePublisher(fail_on="e1", error=OSError("connection reset")))
    gone.committed("dsn", [fresh(1), fresh(2)])
    with pytest.raises(OSError):
        gone.publish_fresh()
    assert not gone.has_fresh and gone.mark_due_in() is None  # nothing in hand: the sweep finds both


def test_unroutable_event_waits_while_the_others_go_on():
    db = FakeDatabase([row(1), row(2), row(3)])
    publisher = FakePublisher(fail_on="e2", error=Unroutable("no queue"))

    assert relay_with(db, publisher).relay("GM0687", "dsn") == 2  # no backing off for the whole outbox

    assert publisher.sent == [("e1", 0), ("e3", 0)]
    updates = db.updates()
    assert updates[0][1] == ([1, 3],)
    assert updates[1][0].startswith("UPDATE hub.outbox SET attempts = attempts + 1, last_error = %s")
    assert updates[1][1][1:] == (True, 2)  # unroutable: it waits before its next try


@pytest.mark.parametrize("error", [KombuOperationalError("connection refused"),
                                   ConnectionResetError("reset by peer")])
def test_broker_refusal_keeps_the_rest_and_records_the_attempt(error):
    db = FakeDatabase([row(1), row(2), row(3)])
    publisher = FakePublisher(fail_on="e2", error=error)

    with pytest.raises(type(error)):
        relay_with(db, publisher).relay("GM0687", "dsn")

    assert publisher.sent == [("e1", 0)]
    published, *attempts = db.updates()
    assert published[1] == ([1],)
    assert [a[1][2] for a in attempts] == [2, 3], "every row not confirmed records the attempt"
    for statement, params in attempts:
        assert statement.startswith("UPDATE hub.outbox SET attempts = attempts + 1, last_error = %s")
        assert params[0].startswith(type(error).__name__) and params[1] is False
    assert db.commits == 1, "what was confirmed must be marked, even when a later row fails"


def test_unexpected_error_rolls_back():
    db = FakeDatabase([row(1)])

    with pytest.raises(KeyError):
        relay_with(db, FakePublisher(fail_on="e1", error=KeyError("envelope"))).relay("GM0687", "dsn")

    assert db.rollbacks == 1 and db.commits == 0


def test_relay_keeps_going_while_batches_are_full(monkeypatch):
    monkeypatch.setattr(outbox, "BATCH", 2)
    db = FakeDatabase([row(1), row(2)], [row(3), row(4)], [row(5)])

    assert relay_with(db, FakePublisher()).relay("GM0664", "dsn") == 5
    assert db.commits == 3


# ---------------------------------------------------------------- sweep over many databases

def error_count(service):
    return REGISTRY.get_sample_value("meldpunt_outbox_publish_errors_total", {"service": service}) or 0.0


def sweeping(service, outcomes):
    """A relay whose relay() answers per label from `outcomes` (a count or an exception)."""
    relay = OutboxRelay(service, stores=None, publish=None)
    visited = []

    def fake_relay(label, dsn):
        visited.append(label)
        outcome = outcomes[label]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    relay.relay = fake_relay
    return relay, visited


TARGETS = [("GM0687", "dsn-1"), ("GM0718", "dsn-2"), ("GM0664", "dsn-3"), ("GM0715", "dsn-4")]


def test_sweep_adds_up_every_database():
    relay, visited = sweeping("unit-sweep-ok", {"GM0687": 2, "GM0718": 0, "GM0664": 5, "GM0715": 1})

    assert relay.sweep(TARGETS) == 8
    assert visited == ["GM0687", "GM0718", "GM0664", "GM0715"]
    assert error_count("unit-sweep-ok") == 0


def test_sweep_relays_the_other_databases_and_raises_the_first_error():
    first, second = OSError("broker away"), KombuOperationalError("still away")
    relay, visited = sweeping("unit-sweep-errors", {"GM0687": 2, "GM0718": first, "GM0664": second, "GM0715": 1})
    before = error_count("unit-sweep-errors")

    with pytest.raises(OSError) as caught:
        relay.sweep(TARGETS)

    assert caught.value is first
    assert visited == ["GM0687", "GM0718", "GM0664", "GM0715"], "one broken store must not hold up the others"
    assert error_count("unit-sweep-errors") - before == 2


# ------------------------------------------------------ which stores are owed a look

def test_a_store_whose_own_events_did_not_go_out_is_owed_a_look_until_a_sweep_finds_it_clean(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(outbox.time, "monotonic", lambda: clock[0])
    relay = relay_with(FakeDatabase([], []), FakePublisher(fail_on="e2", error=Unroutable("no queue")))
    relay.committed("dsn-a", [fresh(1)])
    relay.committed("dsn-b", [fresh(2)])
    relay.publish_fresh()
    assert relay.owed and relay.owes("dsn-b") and not relay.owes("dsn-a")

    relay.relay("GM0718", "dsn-b")  # too soon: the row is still too young for a sweep to take it
    assert relay.owes("dsn-b")
    clock[0] += outbox.FRESH_GRACE_SECONDS + 1
    relay.relay("GM0718", "dsn-b")  # (in this fake, another process took it meanwhile)
    assert not relay.owed


def test_a_store_the_broker_went_away_on_stays_owed(monkeypatch):
    gone = relay_with(FakeDatabase(), FakePublisher(fail_on="e1", error=OSError("connection reset")))
    gone.committed("dsn", [fresh(1)])
    with pytest.raises(OSError):
        gone.publish_fresh()
    assert gone.owes("dsn")

    monkeypatch.setattr(outbox.time, "monotonic", lambda: 10 ** 9)  # long after
    sweep = relay_with(FakeDatabase([row(1), row(2)]), FakePublisher(fail_on="e2", error=OSError("gone again")))
    with pytest.raises(OSError):
        sweep.relay("GM0687", "dsn")
    assert sweep.owes("dsn"), "a sweep that failed part-way looks again"

    unroutable = relay_with(FakeDatabase([row(1)]), FakePublisher(fail_on="e1", error=Unroutable("no queue")))
    unroutable.relay("GM0687", "dsn")
    assert unroutable.owes("dsn"), "an event no queue takes yet keeps its store owed"
