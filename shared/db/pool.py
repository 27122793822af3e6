"""One connection pool per process for many case stores, under a single cap.

A hub serves hundreds of municipalities, each with its own database; a pool per
municipality would multiply connections by municipalities × services. Here every
connection a process holds, to any store, counts against one cap; idle connections
close after a while, and when the cap is reached an idle connection of another store
makes room. Works with plain threads and, monkey-patched, with eventlet greenthreads:
each worker gets its own connection, never shared.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import defaultdict

import psycopg2
import psycopg2.extras

log = logging.getLogger(__name__)

psycopg2.extras.register_uuid()


class PoolTimeout(Exception):
    """No connection became free in time: the process is at its connection cap."""


class ConnectionPool:
    def __init__(self, max_connections: int = 6, idle_seconds: float = 30.0,
                 application_name: str = "meldpunt", connect=None, acquire_timeout: float = 30.0,
                 reuse_wait: float = 0.25, session_options: str | None = None):
        self.max_connections = max_connections
        self.idle_seconds = idle_seconds
        self.application_name = application_name
        self.acquire_timeout = acquire_timeout
        self.session_options = session_options  # libpq `options`: e.g. lock_timeout, statement_timeout
        # At the cap, wait this long for a busy connection to the same store to come back
        # before closing another store's idle one: a new PostgreSQL connection costs a process
        # fork and several milliseconds, a reused one nothing.
        self.reuse_wait = reuse_wait
        self.connections_opened = 0
        self._worked: dict[str, float] = {}  # when a connection to each store last came back healthy
        self._connect = connect or self._default_connect
        self._idle: dict[str, list[tuple[float, object]]] = defaultdict(list)
        self._in_use = 0
        self._busy: dict[str, int] = defaultdict(int)  # connections lent out, per store
        self._open = 0
        self._cond = threading.Condition()
        self._closed = False
        # Called with (dsn, connection) just before the pool closes a healthy idle connection (to make room,
        # idle too long, or the pool closing), outside the pool's lock: the outbox relay marks that store's
        # published rows on it first, where it would otherwise open a new connection for them (issue 25).
        self.on_retire = None

    def _default_connect(self, dsn):
        extra = {"options": self.session_options} if self.session_options else {}
        return psycopg2.connect(dsn, application_name=self.application_name, connect_timeout=5, **extra)

    # -- accounting, under the condition's lock
    @property
    def open_connections(self) -> int:
        return self._open

    def _take_idle(self, dsn):
        idle = self._idle.get(dsn)
        if idle:
            return idle.pop()[1]
        return None

    def _evict_oldest_idle(self) -> tuple[str, object] | None:
        oldest_dsn, oldest_at = None, None
        for dsn, items in self._idle.items():
            if items and (oldest_at is None or items[0][0] < oldest_at):
                oldest_dsn, oldest_at = dsn, items[0][0]
        if oldest_dsn is None:
            return None
        return oldest_dsn, self._idle[oldest_dsn].pop(0)[1]

    def acquire(self, dsn: str):
        started = time.monotonic()
        deadline = started + self.acquire_timeout
        to_close = None
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("connection pool is closed")
                conn = self._take_idle(dsn)
                if conn is not None:
                    if conn.closed:
                        self._open -= 1
                        continue
                    self._in_use += 1
                    self._busy[dsn] += 1
                    return conn
                if self._open < self.max_connections:
                    break
                reuse_remaining = started + self.reuse_wait - time.monotonic()
                if self._busy[dsn] and reuse_remaining > 0:
                    self._cond.wait(reuse_remaining)
                    continue
                to_close = self._evict_oldest_idle()
                if to_close is not None:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolTimeout(f"no database connection free within {self.acquire_timeout}s "
                                      f"(cap {self.max_connections})")
                self._cond.wait(remaining)
            if to_close is None:
                self._open += 1
            self._in_use += 1
            self._busy[dsn] += 1
            self.connections_opened += 1
        if to_close is not None:
            self._retire(*to_close)
        try:
            return self._connect(dsn)
        except Exception:
            with self._cond:
                self._open -= 1
                self._in_use -= 1
                self._busy[dsn] -= 1
                self._worked.pop(dsn, None)  # /health asks the store itself next time
                self._cond.notify_all()
            raise

    def release(self, dsn: str, conn, discard: bool = False):
        """Give a connection back; a broken or discarded one is closed, not reused."""
        if not discard and not conn.closed:
            try:
                if conn.status != psycopg2.extensions.STATUS_READY:
                    conn.rollback()
            except psycopg2.Error:
                discard = True
        with self._cond:
            self._in_use -= 1
            self._busy[dsn] -= 1
            if discard or conn.closed or self._closed:
                self._open -= 1
                close_it = True
                if discard:  # broken: the store no longer counts as recently reachable (/health)
                    self._worked.pop(dsn, None)
            else:
                self._idle[dsn].append((time.monotonic(), conn))
                self._worked[dsn] = time.monotonic()
                close_it = False
            # everyone waiting looks again: the one waiting for this store takes it
            self._cond.notify_all()
        if close_it:
            _quietly_close(conn)

    @contextlib.contextmanager
    def connection(self, dsn: str):
        conn = self.acquire(dsn)
        broken = False
        try:
            yield conn
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            broken = True
            raise
        finally:
            self.release(dsn, conn, discard=broken)

    def holds_idle(self, dsn: str) -> bool:
        """Whether an idle connection to this store waits here (taking it opens nothing)."""
        with self._cond:
            return bool(self._idle.get(dsn))

    def holds(self, dsn: str) -> bool:
        """Whether a connection to this store is open here, idle or lent out."""
        with self._cond:
            return bool(self._idle.get(dsn)) or self._busy.get(dsn, 0) > 0

    def worked_within(self, dsn: str, seconds: float) -> bool:
        """Whether a connection to this store came back healthy in the last `seconds`."""
        worked = self._worked.get(dsn)
        return worked is not None and time.monotonic() - worked <= seconds

    def close_idle(self, older_than: float | None = None) -> int:
        """Close connections idle longer than `older_than` seconds (default: idle_seconds)."""
        limit = self.idle_seconds if older_than is None else older_than
        now = time.monotonic()
        doomed = []
        with self._cond:
            for dsn, items in self._idle.items():
                keep = [(t, c) for t, c in items if now - t < limit]
                doomed.extend((dsn, c) for t, c in items if now - t >= limit)
                self._idle[dsn] = keep
            self._open -= len(doomed)
            self._cond.notify_all()
        for dsn, conn in doomed:
            self._retire(dsn, conn)
        return len(doomed)

    def close(self):
        with self._cond:
            self._closed = True
            doomed = [(dsn, c) for dsn, items in self._idle.items() for _, c in items]
            self._idle.clear()
            self._open -= len(doomed)
            self._cond.notify_all()
        for dsn, conn in doomed:
            self._retire(dsn, conn)

    def _retire(self, dsn: str, conn) -> None:
        """Close an idle connection the pool no longer keeps, after `on_retire` had its last use of it."""
        if self.on_retire is not None and not conn.closed:
            try:
                self.on_retire(dsn, conn)
            except Exception:  # a last use that fails must not fail the worker that made room
                log.debug("last use of a retiring connection failed", exc_info=True)
        _quietly_close(conn)


def _quietly_close(conn):
    try:
        conn.close()
    except Exception:  # closing a dead connection must not hide the real error
        log.debug("closing connection failed", exc_info=True)
