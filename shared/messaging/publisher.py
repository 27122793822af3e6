"""Publishing a batch of messages with publisher confirms, waiting once for the whole batch.

nameko's Publisher waits for the broker's confirm after every message: one network round
trip per event. The outbox relay publishes what a batch of rows holds, then waits for all
their confirms together (the broker acks with `multiple`), which is what the raw broker
ceiling in docs/benchmarks.md measures too. A message published `mandatory` that no queue
takes comes back as basic.return before its ack; its key is then reported unroutable.
"""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass, field

import amqp
from kombu.serialization import dumps

from shared.messaging.nodes import connect

log = logging.getLogger(__name__)

PERSISTENT = 2


class Unroutable(Exception):
    """A mandatory message no queue is bound for: the broker returned it."""


class Nacked(Exception):
    """The broker refused the message (an internal error on its side); try again later."""


@dataclass
class Outgoing:
    key: object           # what the caller marks as done when every message of the key is confirmed
    body: dict | bytes    # a dict is sent as JSON; bytes as they are, with `content_type`
    exchange: str
    routing_key: str
    mandatory: bool = False
    priority: int = 0
    message_id: str | None = None
    headers: dict = field(default_factory=dict)
    content_type: str | None = None


@dataclass
class Outcome:
    confirmed: list = field(default_factory=list)    # keys whose every message the broker confirmed
    failed: dict = field(default_factory=dict)       # key -> Unroutable or Nacked
    error: Exception | None = None                   # the broker went away; the other keys are unknown


class BatchPublisher:
    """One connection and one confirm-mode channel, reused; reopened after any failure."""

    def __init__(self, amqp_uri: str, confirm_timeout: float = 30.0):
        self.amqp_uri = amqp_uri
        self.confirm_timeout = confirm_timeout
        self._connection = None
        self._channel = None

    def publish(self, messages: list[Outgoing]) -> Outcome:
        if not messages:
            return Outcome()
        fresh = self._channel is None
        outcome = self._publish(messages)
        if outcome.error is not None and not fresh and not outcome.confirmed and not outcome.failed:
            # a connection that sat idle may have died with a broker restart: one more try on a new one
            log.info("publisher connection was stale (%s); reconnecting", type(outcome.error).__name__)
            outcome = self._publish(messages)
        return outcome

    def close(self):
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # closing a broken connection may fail again; it is gone either way
                log.debug("publisher connection did not close cleanly", exc_info=True)

    # ------------------------------------------------------------------ internals
    def _open(self):
        connection = connect(self.amqp_uri)  # the first node of a cluster that answers
        channel = connection.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._connection, self._channel, self._next_tag = connection, channel, 1

    def _publish(self, messages: list[Outgoing]) -> Outcome:
        outcome = Outcome()
        self._pending: dict[int, Outgoing] = {}
        self._returned: dict[str, Exception] = {}
        self._nacked: dict[int, object] = {}  # delivery tag -> key of a message the broker refused
        by_message_id = {}
        sent = 0
        try:
            if self._channel is None:
                self._open()
            for message in messages:
                if isinstance(message.body, bytes):
                    content_type, encoding, payload = message.content_type, "utf-8", message.body
                else:
                    content_type, encoding, payload = dumps(message.body, serializer="json")
                self._channel.basic_publish(
                    amqp.Message(payload, content_type=content_type, content_encoding=encoding,
                                 delivery_mode=PERSISTENT, priority=message.priority,
                                 message_id=message.message_id, application_headers=message.headers),
                    exchange=message.exchange, routing_key=message.routing_key, mandatory=message.mandatory)
                self._pending[self._next_tag] = message
                self._next_tag += 1
                sent += 1
                if message.mandatory and message.message_id is not None:
                    by_message_id[message.message_id] = message.key
            deadline = time.monotonic() + self.confirm_timeout
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout(f"no confirm from the broker within {self.confirm_timeout}s")
                self._connection.drain_events(timeout=remaining)
        except Exception as exc:
            outcome.error = exc
            self.close()
        # a key is done when none of its messages is still pending, returned or nacked
        unfinished = {m.key for m in self._pending.values()} | {m.key for m in messages[sent:]}
        for message_id, reason in self._returned.items():
            key = by_message_id.get(message_id)
            if key is not None:
                outcome.failed[key] = reason
        for key in self._nacked.values():
            outcome.failed.setdefault(key, Nacked("the broker refused the message"))
        seen = set()
        for message in messages:
            key = message.key
            if key in seen or key in unfinished or key in outcome.failed:
                continue
            seen.add(key)
            outcome.confirmed.append(key)
        return outcome

    def _settle(self, delivery_tag: int, multiple: bool, nacked: bool):
        tags = [t for t in self._pending if t <= delivery_tag] if multiple else [delivery_tag]
        for tag in tags:
            message = self._pending.pop(tag, None)
            if message is not None and nacked:
                self._nacked[tag] = message.key

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, nacked=False)

    def _on_nack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, nacked=True)

    def _on_return(self, exc, exchange, routing_key, message):
        message_id = message.properties.get("message_id")
        self._returned[message_id] = Unroutable(f"no queue bound for {exchange or '(default)'}/{routing_key}")
