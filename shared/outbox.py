"""The outbox relay: publishes what units of work recorded, with publisher confirms.

Rows are claimed with FOR UPDATE SKIP LOCKED, so several instances of a service relay
side by side without publishing a row twice at the same time; a row is marked published
only after the broker confirmed it. When the broker is away the rows simply wait, and
the relay keeps trying with backoff. A crash between confirm and mark means the event is
published again: consumers are idempotent (inbox), so that is harmless.
"""
from __future__ import annotations

import logging

from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.amqp.publish import Publisher, UndeliverableMessage

from shared import metrics
from shared.events import CATALOGUE
from shared.messaging import headers as h
from shared.messaging.topology import event_exchange, police_referrals_exchange

log = logging.getLogger(__name__)

BATCH = 200


class EventPublisher:
    """Publishes event bodies to their producer's exchange: persistent, confirmed, mandatory.

    Mandatory means a message no queue is bound for is returned as an error instead of
    being dropped; the row then stays in the outbox until `meldpunt declare` has run. That
    holds for event types some hub service consumes; extra routes are never mandatory.
    """

    def __init__(self, amqp_uri: str, service: str):
        self.service = service
        self.exchange = event_exchange(service)
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True, retry=False)

    _consumed: frozenset | None = None

    def consumed(self, event_type: str) -> bool:
        """Whether some hub service subscribes to this event type of this producer. Only then
        is the producer route mandatory: an event type nobody in the hub consumes yet (but
        outside subscribers may, via an extra route) must not block the outbox behind it."""
        if EventPublisher._consumed is None:
            from shared.messaging.topology import all_subscriptions

            EventPublisher._consumed = frozenset((s.source, s.event_type) for s in all_subscriptions())
        return (self.service, event_type) in EventPublisher._consumed

    def __call__(self, body: dict, priority: int = 0):
        # Every route is confirmed before the relay marks the row published; a failure on a
        # later route republishes the whole row, which idempotent consumers absorb.
        for index, (exchange, routing_key) in enumerate(routes(body, self.exchange)):
            # Extra routes are not mandatory: a police unit without a subscriber yet must not
            # hold the event back from the hub's own consumers.
            self.publisher.publish(
                body, exchange=exchange, routing_key=routing_key, priority=priority,
                mandatory=index == 0 and self.consumed(body["event_type"]),
                message_id=body["event_id"], headers={h.CORRELATION_ID: body["correlation_id"]})


def routes(body: dict, own_exchange) -> list:
    """The producer's exchange with routing key = event type, then the event type's extra routes."""
    out = [(own_exchange, body["event_type"])]
    spec = CATALOGUE.get(body["event_type"])
    if spec is not None and spec.extra_routes is not None:
        exchanges = {"police.referrals": police_referrals_exchange()}
        out += [(exchanges[name], key) for name, key in spec.extra_routes(body)]
    return out


class OutboxRelay:
    def __init__(self, service: str, stores, publish):
        self.service = service
        self.stores = stores
        self.publish = publish

    def relay(self, label: str, dsn: str) -> int:
        """Publish the pending events of one database; return how many went out."""
        sent_total = 0
        while True:
            sent, full = self._relay_batch(label, dsn)
            sent_total += sent
            if not full:
                return sent_total

    def _relay_batch(self, label, dsn) -> tuple[int, bool]:
        with self.stores.pool.connection(dsn) as conn:
            try:
                with conn.cursor() as cur:
                    cur.execute(
                        "SELECT id, event_type, priority, envelope FROM hub.outbox "
                        "WHERE service = %s AND published_at IS NULL "
                        "ORDER BY priority DESC, id LIMIT %s FOR UPDATE SKIP LOCKED",
                        (self.service, BATCH))
                    rows = cur.fetchall()
                    published = []
                    error = None
                    for row_id, event_type, priority, envelope in rows:
                        try:
                            self.publish(envelope, priority=priority)
                        except (UndeliverableMessage, KombuOperationalError, OSError) as exc:
                            error = exc
                            break
                        published.append(row_id)
                        metrics.EVENTS_PUBLISHED.labels(self.service, event_type).inc()
                    if published:
                        cur.execute("UPDATE hub.outbox SET published_at = now() WHERE id = ANY(%s)",
                                    (published,))
                    if error is not None:
                        failed_id = rows[len(published)][0]
                        cur.execute("UPDATE hub.outbox SET attempts = attempts + 1, last_error = %s "
                                    "WHERE id = %s", (_describe(error), failed_id))
                conn.commit()
            except Exception:
                conn.rollback()
                raise
        metrics.OUTBOX_BACKLOG.labels(self.service, label).set(len(rows) - len(published))
        if error is not None:
            raise error
        return len(published), len(rows) == BATCH

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

