"""Operator access to the dead-letter queues: list, show, replay, purge.

Looking does not consume: messages fetched for inspection are returned to the queue
when the channel closes. Replay sends a message straight back to the consumer queue it
failed in (not to every consumer of its event), with its attempt count reset.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from kombu import Connection, Producer, Queue

from shared.messaging import headers as hub_headers
from shared.messaging.topology import dead_letter_queue_name


@dataclass
class DeadLetter:
    message_id: str
    service: str
    queue: str
    event_type: str
    municipality: str
    case_id: str
    attempts: int
    error: str
    failed_at: str
    replayed: int
    body: bytes
    message: object = None

    def summary(self) -> dict:
        return {k: getattr(self, k) for k in ("message_id", "event_type", "municipality", "case_id",
                                              "attempts", "replayed", "failed_at", "error", "queue")}


def _broker_death(headers: dict) -> dict:
    """What the broker wrote when it dead-lettered the message itself (a consumer queue's
    delivery limit): the queue and the reason, from the newest `x-death` entry."""
    deaths = headers.get("x-death") or []
    return deaths[0] if deaths and isinstance(deaths[0], dict) else {}


def _dead_letter(service: str, message) -> DeadLetter:
    headers = message.headers or {}
    death = {} if hub_headers.QUEUE in headers else _broker_death(headers)
    raw = message.body
    if isinstance(raw, str):
        raw = raw.encode(message.content_encoding if message.content_encoding not in (None, "binary") else "utf-8")
    try:
        body = json.loads(raw)
        body = body if isinstance(body, dict) else {}
    except (ValueError, UnicodeDecodeError):
        body = {}
    return DeadLetter(
        message_id=str(message.properties.get("message_id") or body.get("event_id") or "?"),
        service=service, queue=str(headers.get(hub_headers.QUEUE) or death.get("queue") or "?"),
        event_type=str(body.get("event_type") or headers.get(hub_headers.EVENT_TYPE, "?")),
        municipality=str(body.get("municipality", "?")), case_id=str(body.get("case_id", "?")),
        attempts=int(headers.get(hub_headers.ATTEMPT, 0)),
        error=str(headers.get(hub_headers.ERROR) or (f"the broker parked it: {death['reason']} (a worker died handling it, "
                                           "or its connection was lost, on every delivery)" if death else "")),
        failed_at=str(headers.get(hub_headers.FAILED_AT) or death.get("time") or ""), replayed=int(headers.get(hub_headers.REPLAYED, 0)),
        body=raw, message=message)


class DeadLetters:
    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri

    def _connection(self):
        return Connection(self.amqp_uri, connect_timeout=5, transport_options={"confirm_publish": True})

    def depth(self, service: str) -> int:
        with self._connection() as conn:
            _, count, _ = Queue(dead_letter_queue_name(service))(conn.default_channel).queue_declare(passive=True)
            return count

    def list(self, service: str, limit: int = 100, municipality: str | None = None) -> list[DeadLetter]:
        """The first `limit` parked messages in queue order (with `municipality`: only those naming it, looking
        at no more than SCAN_LIMIT messages). Nothing is acknowledged or rejected: closing the channel hands every
        fetched message back, and the broker puts each back where it was, so looking never changes the order."""
        with self._connection() as conn:
            channel = conn.channel()
            found = self._fetch(channel, service, limit, municipality)
            channel.close()  # unacked messages go back to the queue, in their places
        return found

    SCAN_LIMIT = 10_000

    def _fetch(self, channel, service, limit, municipality=None):
        queue = Queue(dead_letter_queue_name(service))(channel)
        found, looked = [], 0
        while len(found) < limit and looked < self.SCAN_LIMIT:
            message = queue.get(no_ack=False, accept=None)
            if message is None:
                break
            looked += 1
            letter = _dead_letter(service, message)
            if municipality is None or letter.municipality == municipality:
                found.append(letter)
        return found

    def replay(self, service: str, message_id: str | None = None) -> list[str]:
        """Send one message (or all, when message_id is None) back to its consumer queue."""
        done = []
        with self._connection() as conn:
            channel = conn.channel()
            producer = Producer(channel)
            for letter in self._fetch(channel, service, limit=10_000):
                if message_id is not None and letter.message_id != message_id:
                    continue
                if letter.queue == "?":
                    continue  # nothing says where it belongs; leave it for a person
                message = letter.message
                headers = {k: v for k, v in (message.headers or {}).items()
                           if k not in (hub_headers.ATTEMPT, hub_headers.ERROR, hub_headers.FAILED_AT, "x-delivery-count")}
                headers[hub_headers.REPLAYED] = letter.replayed + 1
                producer.publish(letter.body, exchange="", routing_key=letter.queue, headers=headers,
                                 content_type=message.content_type or "application/octet-stream",
                                 content_encoding=message.content_encoding or "binary",
                                 delivery_mode=2, priority=message.properties.get("priority") or 0,
                                 message_id=message.properties.get("message_id"), mandatory=True)
                message.ack()
                done.append(letter.message_id)
            channel.close()
        return done

    def purge(self, service: str, message_id: str | None = None) -> int:
        with self._connection() as conn:
            channel = conn.channel()
            if message_id is None:
                count = Queue(dead_letter_queue_name(service))(channel).purge() or 0
            else:
                count = 0
                for letter in self._fetch(channel, service, limit=10_000):
                    if letter.message_id == message_id:
                        letter.message.ack()
                        count += 1
            channel.close()
        return count
