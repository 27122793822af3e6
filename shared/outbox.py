"""The outbox relay: publishes what units of work recorded, with batched publisher confirms.

Two ways out. What this process's own commits recorded is published straight away from
memory (`committed`, `publish_fresh`): no query before the broker sees it, one confirm wait
for every store's events together, and marked published afterwards in one UPDATE per store
for many events (`mark_published`), or on the connection a worker's commit left, when the pool
retires it (`mark_on`). The sweep (`sweep`, `relay`) finds whatever else waits in
an outbox — left by a crash, refused by the broker — leaving rows younger than
FRESH_GRACE_SECONDS to the process that committed them. A store where this process's own
events did not all go out is *owed* a look (`owes`) until a sweep finds it clean, so the full
look at every store is only a net and can be rare in a large region (shared/scan.py). It
claims rows with FOR UPDATE SKIP LOCKED, so several instances of a service sweep side by side without publishing a row
twice at the same time. A row is marked published only after the broker confirmed it. When
the broker is away the rows simply wait, and the relay keeps trying with backoff. A crash
between confirm and mark means the event is published again: consumers are idempotent
(inbox), so that is harmless.
"""
from __future__ import annotations

import functools
import logging
import time

from shared import metrics
from shared.events import CATALOGUE, POLICE_CLOUDEVENTS_EXCHANGE
from shared.messaging import headers as hub_headers
from shared.messaging.publisher import BatchPublisher, Outcome, Outgoing, Unroutable
from shared.messaging.topology import (ACUTE_PRIORITY, acute_exchange, event_exchange, police_cloudevents_exchange,
                                      police_referrals_exchange)
from shared import partner_events

log = logging.getLogger(__name__)

BATCH = 200
MARK_SECONDS = 0.5          # how long confirmed events may wait to be marked published, together
FRESH_GRACE_SECONDS = 2.0   # the sweep leaves rows this young to the process that committed them


class EventPublisher:
    """Publishes outbox rows to their producer's exchange: persistent, confirmed, mandatory.

    A whole batch of rows goes out before the relay waits for the broker's confirms
    (shared/messaging/publisher.py). Mandatory means a message no queue is bound for is
    returned instead of dropped; that row then waits in the outbox (with growing delays)
    until `meldpunt declare` has bound a queue, while the service's other events keep
    flowing. Extra routes (the acute lane, police units) are never mandatory: a police unit
    without a subscriber yet must not hold the event back from the hub's own consumers, and
    the acute lane is only a shortcut for what the main route carries anyway.
    """

    def __init__(self, amqp_uri: str, service: str):
        self.service = service
        self.exchange = event_exchange(service)
        self.acute_exchange = acute_exchange(service)
        self.publisher = BatchPublisher(amqp_uri)

    def __call__(self, rows: list[tuple]) -> Outcome:
        """`rows`: (row id, envelope, priority); a row is confirmed once all its routes are."""
        return self.publisher.publish([
            Outgoing(key=row_id, exchange=getattr(exchange, "name", exchange), routing_key=routing_key,
                     mandatory=index == 0, priority=priority, message_id=body["event_id"],
                     headers={hub_headers.CORRELATION_ID: body["correlation_id"]}, **_encoded(body, exchange))
            for row_id, body, priority in rows
            for index, (exchange, routing_key) in enumerate(routes(body, self.exchange, priority,
                                                                    self.acute_exchange))])

    def close(self):
        self.publisher.close()


@functools.cache
def _police_exchanges() -> dict:
    """The extra routes' exchanges by name, made once: the relay built a kombu Exchange for every route of
    every event it published (2-5 us each; issue 25)."""
    return {exchange.name: exchange for exchange in (police_referrals_exchange(), police_cloudevents_exchange())}


def _encoded(body: dict, exchange) -> dict:
    """The message body for a route: the envelope, or on `police.cloudevents` the CloudEvent (structured)."""
    if getattr(exchange, "name", exchange) == POLICE_CLOUDEVENTS_EXCHANGE:
        return {"body": partner_events.amqp_body(body), "content_type": partner_events.CONTENT_TYPE}
    written = getattr(body, "json", None)  # the JSON this process wrote to the outbox (UnitOfWork.flush)
    if written is not None:  # published as it is: serialised once, not again per route (issue 25)
        return {"body": written, "content_type": "application/json"}
    return {"body": body}


def routes(body: dict, own_exchange, priority: int = 0, acute=None) -> list:
    """The producer's exchange with routing key = event type; at the acute priority also the
    producer's acute lane (`acute`, its `<service>.acute` exchange); then the event type's extra routes."""
    out = [(own_exchange, body["event_type"])]
    if acute is not None and priority >= ACUTE_PRIORITY:
        out.append((acute, body["event_type"]))
    spec = CATALOGUE.get(body["event_type"])
    if spec is not None and spec.extra_routes is not None:
        exchanges = _police_exchanges()
        out += [(exchanges[name], key) for name, key in spec.extra_routes(body)]
    return out


class OutboxRelay:
    def __init__(self, service: str, stores, publish, publish_fresh=None, marking_pool=None):
        """`publish` serves the sweep; `publish_fresh` (its own connection, when the two run in
        separate threads) this process's own commits. `marking_pool`: where the marking of published
        rows gets a connection to a store the workers' pool holds none to (default: that pool)."""
        self.service = service
        self.stores = stores
        self.marking_pool = marking_pool
        self.publish = publish
        self.publish_fresh_rows = publish_fresh or publish
        self._fresh: dict[str, list[tuple]] = {}      # dsn -> (row id, envelope, priority) committed here
        self._unmarked: dict[str, list[int]] = {}     # dsn -> row ids confirmed, not yet marked published
        self._unmarked_since: dict[str, float] = {}   # dsn -> when its oldest unmarked row was confirmed
        self._owed: dict[str, float] = {}             # dsn -> look again there, at least until then

    # ------------------------------------------------ this process's commits
    def committed(self, dsn: str, rows) -> None:
        """A unit of work on `dsn` committed these outbox rows: publish them at the next chance."""
        self._fresh.setdefault(dsn, []).extend(rows)

    @property
    def has_fresh(self) -> bool:
        return bool(self._fresh)

    @property
    def owed(self) -> bool:
        return bool(self._owed)

    def owes(self, dsn: str) -> bool:
        """True while events this process recorded or swept on `dsn` may still wait there."""
        return dsn in self._owed

    def _owe(self, dsn: str, seconds: float = 0.0) -> None:
        until = time.monotonic() + seconds
        self._owed[dsn] = max(self._owed.get(dsn, until), until)

    def publish_fresh(self) -> int:
        """Publish the rows this process committed, acute first, in one batch for all stores. What
        the broker does not confirm stays in the outbox for the sweep; a broker error is raised."""
        fresh, self._fresh = self._fresh, {}
        # acute first; within a priority, per store in commit (row id) order
        rows = sorted((((dsn, row_id), envelope, priority)
                       for dsn, items in fresh.items() for row_id, envelope, priority in items),
                      key=lambda item: (-item[2], item[0]))
        if not rows:
            return 0
        outcome = None
        try:
            outcome = self.publish_fresh_rows(rows)
        finally:  # what did not go out: the sweep takes it there once it is no longer young
            confirmed = set(outcome.confirmed) if outcome is not None else set()
            for dsn in {dsn for (dsn, row_id), _, _ in rows if (dsn, row_id) not in confirmed}:
                self._owe(dsn, FRESH_GRACE_SECONDS + 1)
        types = {key: envelope["event_type"] for key, envelope, _ in rows}
        for dsn, row_id in outcome.confirmed:
            metrics.EVENTS_PUBLISHED.labels(self.service, types[(dsn, row_id)]).inc()
            self._unmarked.setdefault(dsn, []).append(row_id)
            self._unmarked_since.setdefault(dsn, time.monotonic())
        if outcome.error is not None:
            raise outcome.error
        return len(outcome.confirmed)

    def take_unmarked(self, dsn: str) -> list[int]:
        """The confirmed rows of `dsn` not yet marked published, for a unit of work on that store to mark in
        the statement that writes its own outbox rows (`UnitOfWork.flush`): under load a store's next
        transaction comes long before the next marking round, which then costs no transaction of its own
        (issue 25). `give_back` what a unit of work that rolled back took."""
        self._unmarked_since.pop(dsn, None)
        return self._unmarked.pop(dsn, [])

    def give_back(self, dsn: str, ids: list[int]) -> None:
        if ids:
            self._unmarked.setdefault(dsn, []).extend(ids)
            self._unmarked_since.setdefault(dsn, time.monotonic())

    def mark_due_in(self) -> float | None:
        """Seconds until confirmed rows should be marked published; None when none wait."""
        if not self._unmarked_since:
            return None
        return max(0.0, min(self._unmarked_since.values()) + MARK_SECONDS - time.monotonic())

    def mark_published(self, force: bool = False, now_for=()) -> None:
        """Mark the confirmed rows published, one UPDATE per store, for each store whose rows have waited
        MARK_SECONDS (or all at once with `force`, those of the stores in `now_for` at once, or when BATCH
        rows wait): a store written to meanwhile has had them marked by that write (`take_unmarked`), one
        whose connection the pool retired on that connection (`mark_on`). A store that cannot be reached
        keeps its rows for next time."""
        if not self._unmarked:
            return
        now = time.monotonic()
        every = force or sum(map(len, self._unmarked.values())) >= BATCH
        for dsn in [dsn for dsn in self._unmarked
                    if every or dsn in now_for or self._unmarked_since.get(dsn, now) + MARK_SECONDS <= now]:
            # After a burst every store written to is marked once, most with a new connection: through the
            # workers' pool each would close the connection a worker used longest ago, so that a burst's marking
            # turned the whole pool over every second and the next events found no store open (issue 25).
            # A store the workers' pool holds an idle connection to is marked on it; one whose connection a
            # worker has in hand waits for it a while (its commit or its retirement marks them, or the next
            # round finds it idle); any other through the marking pool's own connection.
            pool = self.stores.pool
            if self.marking_pool is not None and not pool.holds_idle(dsn):
                if (not force and dsn not in now_for and pool.holds(dsn)
                        and now - self._unmarked_since.get(dsn, now) < 2 * MARK_SECONDS):
                    continue
                pool = self.marking_pool
            ids = self._unmarked.pop(dsn, None)  # a unit of work may have taken them meanwhile
            self._unmarked_since.pop(dsn, None)
            if not ids:
                continue
            try:
                with pool.connection(dsn) as conn, conn.cursor() as cur:
                    cur.execute("UPDATE hub.outbox SET published_at = now() WHERE id = ANY(%s)", (ids,))
                    conn.commit()
            except Exception as exc:
                log.warning("published events of %s not yet marked published: %s", self.service, _describe(exc))
                self._unmarked.setdefault(dsn, []).extend(ids)
                self._unmarked_since.setdefault(dsn, time.monotonic())

    def mark_on(self, dsn: str, conn) -> None:
        """Mark the confirmed rows of `dsn` published on `conn`, an idle connection to that store which its pool
        is about to close (`ConnectionPool.on_retire`). After a burst over hundreds of stores a worker's pool
        holds each store's connection for well under the MARK_SECONDS marking waits, so nearly every store was
        marked on a new connection of its own (a fork on the server, 50-80 a second after a 342-store burst,
        issue 25); the connection the worker's commit left is still open here, and one statement marks them."""
        ids = self.take_unmarked(dsn)
        if not ids:
            return
        try:
            with conn.cursor() as cur:
                cur.execute("UPDATE hub.outbox SET published_at = now() WHERE id = ANY(%s)", (ids,))
            conn.commit()
        except Exception as exc:
            self.give_back(dsn, ids)  # marked by a later round
            log.info("published events of %s not marked on a closing connection: %s", self.service, _describe(exc))

    def close(self):
        for publisher in {id(p): p for p in (self.publish, self.publish_fresh_rows)}.values():
            publisher.close()
        if self.marking_pool is not None:
            self.marking_pool.close()

    # ------------------------------------------------------------- the sweep

    def relay(self, label: str, dsn: str) -> int:
        """Publish the pending events of one database; return how many went out. A database
        where some did not go out stays owed a look; one found clean is owed nothing more."""
        sent_total, left = 0, False
        try:
            while True:
                sent, full, failed = self._relay_batch(label, dsn)
                sent_total += sent
                left = left or failed
                if not full:
                    break
        except Exception:
            self._owe(dsn)
            raise
        if left:
            self._owe(dsn)
        elif self._owed.get(dsn, 0.0) <= time.monotonic():
            self._owed.pop(dsn, None)
        return sent_total

    def _relay_batch(self, label, dsn) -> tuple[int, bool, bool]:
        with self.stores.pool.connection(dsn) as conn:
            try:
                with conn.cursor() as cur:
                    cur.execute(
                        "SELECT id, event_type, priority, envelope FROM hub.outbox "
                        "WHERE service = %s AND published_at IS NULL "
                        "AND (next_attempt_at IS NULL OR next_attempt_at <= now()) "
                        "AND created_at < now() - %s * interval '1 second' "
                        # rows that already failed go last, so one unroutable event type
                        # cannot hold back the rest of the outbox
                        "ORDER BY attempts > 0, priority DESC, id LIMIT %s FOR UPDATE SKIP LOCKED",
                        (self.service, FRESH_GRACE_SECONDS, BATCH))
                    rows = cur.fetchall()
                    outcome = self.publish([(row_id, envelope, priority) for row_id, _, priority, envelope in rows])
                    confirmed = set(outcome.confirmed)
                    published = [row_id for row_id, *_ in rows if row_id in confirmed]
                    types = {row_id: event_type for row_id, event_type, *_ in rows}
                    for row_id in published:
                        metrics.EVENTS_PUBLISHED.labels(self.service, types[row_id]).inc()
                    if published:
                        cur.execute("UPDATE hub.outbox SET published_at = now() WHERE id = ANY(%s)",
                                    (published,))
                    failed = dict(outcome.failed)
                    if outcome.error is not None:
                        # the broker went away: every row not confirmed records the attempt
                        for row_id, *_ in rows:
                            if row_id not in failed and row_id not in confirmed:
                                failed[row_id] = outcome.error
                    for failed_id, exc in failed.items():
                        # an unroutable row waits 2, 4, 8 … seconds (at most 5 minutes) before its next try;
                        # after a broker outage rows go out as soon as the broker is back
                        unroutable = isinstance(exc, Unroutable)
                        if unroutable:
                            metrics.OUTBOX_PUBLISH_ERRORS.labels(self.service).inc()
                            log.warning("%s event %s has no queue bound to it; it waits in the outbox of %s "
                                        "until `meldpunt declare` binds one", self.service, types[failed_id], label)
                        cur.execute("UPDATE hub.outbox SET attempts = attempts + 1, last_error = %s, "
                                    "next_attempt_at = CASE WHEN %s THEN now() + least(power(2, attempts + 1), 300) "
                                    "* interval '1 second' END WHERE id = %s",
                                    (_describe(exc), unroutable, failed_id))
                conn.commit()
            except Exception:
                conn.rollback()
                raise
        if outcome.error is not None or failed:
            self._measure_backlog(label, dsn)
        elif len(rows) < BATCH:
            metrics.OUTBOX_BACKLOG.labels(self.service, label).set(0)
        if outcome.error is not None:
            raise outcome.error
        return len(published), len(rows) == BATCH and bool(published), bool(failed)

    def _measure_backlog(self, label, dsn):
        try:
            with self.stores.pool.connection(dsn) as conn, conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM hub.outbox WHERE service = %s AND published_at IS NULL",
                            (self.service,))
                metrics.OUTBOX_BACKLOG.labels(self.service, label).set(cur.fetchone()[0])
                conn.rollback()
        except Exception:  # the database may be what failed; the gauge keeps its last value
            log.debug("could not measure the outbox backlog", exc_info=True)

    def prune(self, dsn: str, keep_days: int = 7) -> int:
        """Delete published events older than `keep_days`; they were kept only for inspection."""
        with self.stores.pool.connection(dsn) as conn, conn.cursor() as cur:
            cur.execute("DELETE FROM hub.outbox WHERE service = %s AND published_at < now() - %s * interval '1 day'",
                        (self.service, keep_days))
            conn.commit()
            return cur.rowcount

    def sweep(self, targets) -> int:
        """Relay every database in `targets`; errors are counted and logged, then re-raised."""
        sent, first_error = 0, None
        for label, dsn in targets:
            try:
                sent += self.relay(label, dsn)
            except Exception as exc:
                metrics.OUTBOX_PUBLISH_ERRORS.labels(self.service).inc()
                log.warning("outbox of %s for %s not relayed: %s", self.service, label, _describe(exc))
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return sent


class Backoff:
    """Exponential backoff between failed sweeps, reset by a good one."""

    def __init__(self, start=0.5, maximum=15.0):
        self.start, self.maximum, self.current = start, maximum, 0.0

    def failed(self) -> float:
        self.current = min(self.maximum, self.current * 2 if self.current else self.start)
        return self.current

    def succeeded(self):
        self.current = 0.0


def _describe(exc) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300]}" if text else type(exc).__name__

