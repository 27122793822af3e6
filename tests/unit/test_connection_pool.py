"""shared/db/pool.py: one cap over connections to many case stores, with fake connections."""
from __future__ import annotations

import random
import threading
import time

import psycopg2
import psycopg2.extensions
import pytest

from shared.db.pool import ConnectionPool, PoolTimeout

MIDDELBURG = "postgresql://postgres@db/meldpunt_gm0687"
VLISSINGEN = "postgresql://postgres@db/meldpunt_gm0718"
GOES = "postgresql://postgres@db/meldpunt_gm0664"
TERNEUZEN = "postgresql://postgres@db/meldpunt_gm0715"


class FakeConnection:
    def __init__(self, server, dsn):
        self.server, self.dsn = server, dsn
        self.closed = 0
        self.status = psycopg2.extensions.STATUS_READY
        self.rollbacks = 0
        self.rollback_error = None

    def rollback(self):
        if self.rollback_error:
            raise self.rollback_error
        self.rollbacks += 1
        self.status = psycopg2.extensions.STATUS_READY

    def close(self):
        if not self.closed:
            self.closed = 1
            self.server.disconnected(self)


class FakeServer:
    """Stands in for psycopg2.connect; counts how many connections are open at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.made = []
        self.live = 0
        self.most_live = 0
        self.refuse = None

    def connect(self, dsn):
        if self.refuse:
            raise self.refuse
        conn = FakeConnection(self, dsn)
        with self.lock:
            self.made.append(conn)
            self.live += 1
            self.most_live = max(self.most_live, self.live)
        return conn

    def disconnected(self, conn):
        with self.lock:
            self.live -= 1


@pytest.fixture
def server():
    return FakeServer()


def make_pool(server, cap=3, timeout=0.05, **kwargs):
    return ConnectionPool(max_connections=cap, connect=server.connect, acquire_timeout=timeout, **kwargs)


def idle_count(pool):
    return sum(len(items) for items in pool._idle.values())


def assert_books_balance(pool, server):
    """Every connection the pool counts is either lent out or idle, and really open."""
    assert pool.open_connections == pool._in_use + idle_count(pool) == server.live
    assert pool.open_connections <= pool.max_connections


def test_released_connection_is_reused_for_the_same_store(server):
    pool = make_pool(server)
    conn = pool.acquire(MIDDELBURG)
    pool.release(MIDDELBURG, conn)

    assert pool.acquire(MIDDELBURG) is conn
    assert len(server.made) == 1
    assert_books_balance(pool, server)


def test_idle_connection_is_not_lent_for_another_store(server):
    pool = make_pool(server)
    conn = pool.acquire(MIDDELBURG)
    pool.release(MIDDELBURG, conn)

    other = pool.acquire(VLISSINGEN)

    assert other is not conn and other.dsn == VLISSINGEN
    assert pool.open_connections == 2
    assert_books_balance(pool, server)


def test_cap_holds_across_stores_and_acquire_times_out(server):
    pool = make_pool(server, cap=3, timeout=0.05)
    held = [pool.acquire(dsn) for dsn in (MIDDELBURG, VLISSINGEN, GOES)]

    started = time.monotonic()
    with pytest.raises(PoolTimeout, match="cap 3"):
        pool.acquire(TERNEUZEN)

    assert 0.04 <= time.monotonic() - started < 1.0
    assert len(server.made) == 3 and server.live == 3
    assert pool.open_connections == 3 and pool._in_use == 3
    for dsn, conn in zip((MIDDELBURG, VLISSINGEN, GOES), held):
        pool.release(dsn, conn)
    assert_books_balance(pool, server)


def test_same_store_also_waits_at_the_cap(server):
    pool = make_pool(server, cap=2)
    pool.acquire(MIDDELBURG), pool.acquire(MIDDELBURG)

    with pytest.raises(PoolTimeout):
        pool.acquire(MIDDELBURG)


def test_at_the_cap_the_oldest_idle_connection_of_another_store_makes_room(server):
    pool = make_pool(server, cap=2)
    middelburg = pool.acquire(MIDDELBURG)
    vlissingen = pool.acquire(VLISSINGEN)
    pool.release(MIDDELBURG, middelburg)   # idle longest
    pool.release(VLISSINGEN, vlissingen)

    goes = pool.acquire(GOES)

    assert goes.dsn == GOES
    assert middelburg.closed and not vlissingen.closed
    assert pool.acquire(VLISSINGEN) is vlissingen
    assert pool.open_connections == 2 and server.most_live == 2
    assert_books_balance(pool, server)


def test_waiting_acquire_gets_room_when_another_store_releases(server):
    pool = make_pool(server, cap=1, timeout=5.0)
    middelburg = pool.acquire(MIDDELBURG)

    def give_back():
        time.sleep(0.05)
        pool.release(MIDDELBURG, middelburg)

    helper = threading.Thread(target=give_back)
    helper.start()
    goes = pool.acquire(GOES)
    helper.join()

    assert goes.dsn == GOES and middelburg.closed
    assert server.most_live == 1
    assert_books_balance(pool, server)


def test_at_the_cap_a_busy_connection_to_the_same_store_is_awaited_rather_than_a_new_one_opened(server):
    pool = make_pool(server, cap=2, timeout=5.0, reuse_wait=2.0)
    busy = pool.acquire(MIDDELBURG)
    pool.release(VLISSINGEN, pool.acquire(VLISSINGEN))  # idle, could be evicted

    def give_back():
        time.sleep(0.05)
        pool.release(MIDDELBURG, busy)

    helper = threading.Thread(target=give_back)
    helper.start()
    again = pool.acquire(MIDDELBURG)
    helper.join()

    assert again is busy, "reusing the busy store's connection costs no new PostgreSQL process"
    assert len(server.made) == 2 and pool.connections_opened == 2
    assert_books_balance(pool, server)


def test_the_wait_for_the_same_store_is_short_then_another_stores_idle_connection_makes_room(server):
    pool = make_pool(server, cap=2, timeout=5.0, reuse_wait=0.05)
    pool.acquire(MIDDELBURG)  # stays busy
    vlissingen = pool.acquire(VLISSINGEN)
    pool.release(VLISSINGEN, vlissingen)

    started = time.monotonic()
    second = pool.acquire(MIDDELBURG)

    assert second.dsn == MIDDELBURG and vlissingen.closed
    assert time.monotonic() - started < 2.0
    assert_books_balance(pool, server)


def test_a_store_counts_as_working_after_a_healthy_release_only(server):
    pool = make_pool(server)
    assert not pool.worked_within(MIDDELBURG, 60)
    pool.release(GOES, pool.acquire(GOES), discard=True)
    pool.release(MIDDELBURG, pool.acquire(MIDDELBURG))

    assert pool.worked_within(MIDDELBURG, 60) and not pool.worked_within(GOES, 60)
    assert not pool.worked_within(MIDDELBURG, -1)


def test_release_with_discard_closes(server):
    pool = make_pool(server)
    conn = pool.acquire(MIDDELBURG)

    pool.release(MIDDELBURG, conn, discard=True)

    assert conn.closed
    assert pool.open_connections == 0 and idle_count(pool) == 0
    assert pool.acquire(MIDDELBURG) is not conn
    assert_books_balance(pool, server)


def test_release_of_a_connection_that_died_is_not_pooled(server):
    pool = make_pool(server)
    conn = pool.acquire(MIDDELBURG)
    conn.close()  # the server went away while it was lent out

    pool.release(MIDDELBURG, conn)

    assert pool.open_connections == 0 and idle_count(pool) == 0


def test_unfinished_transaction_is_rolled_back_before_reuse(server):
    pool = make_pool(server)
    conn = pool.acquire(MIDDELBURG)
    conn.status = psycopg2.extensions.STATUS_IN_TRANSACTION

    pool.release(MIDDELBURG, conn)

    assert conn.rollbacks == 1 and not conn.closed
    assert pool.acquire(MIDDELBURG) is conn


def test_ready_connection_is_not_rolled_back(server):
    pool = make_pool(server)
    conn = pool.acquire(MIDDELBURG)

    pool.release(MIDDELBURG, conn)

    assert conn.rollbacks == 0


def test_failing_rollback_discards_the_connection(server):
    pool = make_pool(server)
    conn = pool.acquire(MIDDELBURG)
    conn.status = psycopg2.extensions.STATUS_IN_TRANSACTION
    conn.rollback_error = psycopg2.OperationalError("server closed the connection unexpectedly")

    pool.release(MIDDELBURG, conn)

    assert conn.closed
    assert_books_balance(pool, server)
    assert pool.open_connections == 0


def test_idle_connection_found_closed_is_replaced(server):
    pool = make_pool(server, cap=1)
    conn = pool.acquire(MIDDELBURG)
    pool.release(MIDDELBURG, conn)
    conn.close()  # dropped by the server while idle

    fresh = pool.acquire(MIDDELBURG)

    assert fresh is not conn and not fresh.closed
    assert_books_balance(pool, server)


def test_failed_connect_frees_its_place(server):
    pool = make_pool(server, cap=1)
    server.refuse = psycopg2.OperationalError("could not connect to server")

    with pytest.raises(psycopg2.OperationalError):
        pool.acquire(MIDDELBURG)

    assert pool.open_connections == 0 and pool._in_use == 0
    server.refuse = None
    assert pool.acquire(MIDDELBURG).dsn == MIDDELBURG


def test_failed_connect_after_eviction_keeps_the_count(server):
    pool = make_pool(server, cap=1)
    pool.release(MIDDELBURG, pool.acquire(MIDDELBURG))
    server.refuse = psycopg2.OperationalError("could not connect to server")

    with pytest.raises(psycopg2.OperationalError):
        pool.acquire(GOES)

    assert_books_balance(pool, server)
    assert pool.open_connections == 0


def test_close_idle_closes_only_old_idle_connections(server):
    pool = make_pool(server, cap=4)
    old = pool.acquire(MIDDELBURG)
    busy = pool.acquire(GOES)
    pool.release(MIDDELBURG, old)
    time.sleep(0.15)
    recent = pool.acquire(VLISSINGEN)
    pool.release(VLISSINGEN, recent)

    closed = pool.close_idle(older_than=0.1)

    assert closed == 1
    assert old.closed and not recent.closed and not busy.closed
    assert pool.open_connections == 2
    assert_books_balance(pool, server)


def test_close_idle_defaults_to_idle_seconds(server):
    pool = make_pool(server, idle_seconds=60)
    pool.release(MIDDELBURG, pool.acquire(MIDDELBURG))

    assert pool.close_idle() == 0
    assert pool.close_idle(older_than=0) == 1
    assert_books_balance(pool, server)


def test_connection_context_discards_on_database_errors(server):
    pool = make_pool(server)

    with pytest.raises(psycopg2.InterfaceError):
        with pool.connection(MIDDELBURG) as conn:
            raise psycopg2.InterfaceError("connection already closed")

    assert conn.closed and pool.open_connections == 0


def test_connection_context_keeps_the_connection_on_other_errors(server):
    pool = make_pool(server)

    with pytest.raises(ValueError):
        with pool.connection(MIDDELBURG) as conn:
            raise ValueError("bad input")

    assert not conn.closed and pool.acquire(MIDDELBURG) is conn


def test_close_closes_idle_and_refuses_new_work(server):
    pool = make_pool(server)
    idle = pool.acquire(MIDDELBURG)
    lent = pool.acquire(VLISSINGEN)
    pool.release(MIDDELBURG, idle)

    pool.close()

    assert idle.closed and not lent.closed
    with pytest.raises(RuntimeError, match="closed"):
        pool.acquire(MIDDELBURG)
    pool.release(VLISSINGEN, lent)
    assert lent.closed and pool.open_connections == 0 and server.live == 0


def test_a_retiring_idle_connection_gets_a_last_use_first_a_broken_one_none(server):
    """The outbox relay marks a store's published rows on the connection a worker left there before the pool
    closes it (OutboxRelay.mark_on, issue 25): made room for, idle too long, or the pool closing."""
    pool = make_pool(server, cap=2)
    last_use = []
    pool.on_retire = lambda dsn, conn: last_use.append((dsn, conn, bool(conn.closed)))
    middelburg, vlissingen = pool.acquire(MIDDELBURG), pool.acquire(VLISSINGEN)
    pool.release(MIDDELBURG, middelburg)
    pool.release(VLISSINGEN, vlissingen, discard=True)   # broken: closed at once, no last use
    goes = pool.acquire(GOES)
    terneuzen = pool.acquire(TERNEUZEN)                  # room made: Middelburg's idle connection retires
    assert last_use == [(MIDDELBURG, middelburg, False)] and middelburg.closed
    pool.release(GOES, goes)
    pool.release(TERNEUZEN, terneuzen)

    assert pool.close_idle(older_than=0) == 2
    assert {(dsn, conn) for dsn, conn, _ in last_use[1:]} == {(GOES, goes), (TERNEUZEN, terneuzen)}
    assert not any(was_closed for *_, was_closed in last_use)
    assert_books_balance(pool, server)


def test_a_failing_last_use_still_closes_and_the_worker_gets_its_connection(server):
    pool = make_pool(server, cap=1)

    def fails(dsn, conn):
        raise psycopg2.OperationalError("server closed the connection")

    pool.on_retire = fails
    middelburg = pool.acquire(MIDDELBURG)
    pool.release(MIDDELBURG, middelburg)

    assert pool.acquire(VLISSINGEN).dsn == VLISSINGEN
    assert middelburg.closed
    pool.close()


def test_many_workers_on_many_stores_never_exceed_the_cap(server):
    pool = make_pool(server, cap=3, timeout=5.0)
    stores = [MIDDELBURG, VLISSINGEN, GOES, TERNEUZEN]
    failures = []

    def worker(seed):
        rng = random.Random(seed)
        try:
            for _ in range(40):
                dsn = rng.choice(stores)
                conn = pool.acquire(dsn)
                assert conn.dsn == dsn and not conn.closed
                time.sleep(0)
                pool.release(dsn, conn, discard=rng.random() < 0.1)
        except Exception as exc:  # reported below, threads swallow exceptions
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    assert server.most_live <= 3
    assert pool._in_use == 0
    assert_books_balance(pool, server)
