"""Partner subscribers' AMQP queues (docs/partners.md#amqp): made and removed through the RabbitMQ management
HTTP API by `meldpunt subscriber add|remove`, and signals' publishing of a delivery onto one.

A subscriber gets one RabbitMQ user and one quorum queue `partners.<name>` bound to `partners.events` with its
name as routing key, bounded in bytes (`x-max-length-bytes`, refusing more when full) and in time
(`x-message-ttl`: an expired message moves to its parked queue `partners.<name>.parked`), and permissions to read
those two queues only: configure and write nothing. The password is printed once.
"""
from __future__ import annotations

import secrets

from shared.messaging.management import ManagementApi, ManagementError, provision_reader, q as _q, vhost_of  # noqa: F401
from shared.messaging.topology import (PARTNERS_EXCHANGE, PARTNERS_PARKED_EXCHANGE, subscriber_parked_queue,
                                       subscriber_parked_queue_name, subscriber_queue, subscriber_queue_name)


def user_name(name: str, vhost: str) -> str:
    # RabbitMQ users are global: a subscriber's user in another vhost must not collide
    return f"partner-{name}" if vhost == "/" else f"partner-{name}@{vhost}"


def add(api: ManagementApi, vhost: str, name: str, max_bytes: int, ttl_seconds: int) -> tuple[str, str, str]:
    """(user, password, queue); ManagementError when the subscriber has a user already."""
    user, queue, password = user_name(name, vhost), subscriber_queue(name, max_bytes, ttl_seconds), \
        secrets.token_urlsafe(24)
    if api.call("GET", f"users/{_q(user)}", ok=(200, 404)).status_code == 200:
        raise ManagementError(f"subscriber {name} already has a RabbitMQ user {user}; "
                              f"`meldpunt subscriber remove {name}` first")
    # the parked queue first: the subscriber's queue dead-letters what expires into it
    provision_reader(api, vhost, [(PARTNERS_EXCHANGE, "direct"), (PARTNERS_PARKED_EXCHANGE, "direct")],
                     [subscriber_parked_queue(name, max_bytes), queue], user, password)
    return user, password, queue.name


def remove(api: ManagementApi, vhost: str, name: str) -> tuple[bool, bool]:
    """Delete the subscriber's user and queues; (user existed, queue existed)."""
    user_gone = api.call("DELETE", f"users/{_q(user_name(name, vhost))}", ok=(204, 404)).status_code == 204
    api.call("DELETE", f"queues/{_q(vhost)}/{_q(subscriber_parked_queue_name(name))}", ok=(204, 404))
    queue_gone = api.call("DELETE", f"queues/{_q(vhost)}/{_q(subscriber_queue_name(name))}",
                          ok=(204, 404)).status_code == 204
    return user_gone, queue_gone


class Publisher:
    """Deliveries onto subscribers' queues, each confirmed by the broker, on one connection per round of the
    deliverer (opened only when the round has an AMQP delivery). `publish(row)`: None when the broker took
    it, else a one-line reason (the queue is missing or full, or the broker is away)."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri, self._batch = amqp_uri, None

    def publish(self, row: dict) -> str | None:
        from shared.messaging.publisher import BatchPublisher, Outgoing, Unroutable
        from shared.partner_events import CONTENT_TYPE

        if self._batch is None:
            self._batch = BatchPublisher(self.amqp_uri)
        key = str(row["delivery_id"])
        outcome = self._batch.publish([Outgoing(key, row["body"].encode(), PARTNERS_EXCHANGE, row["subscriber"],
                                                mandatory=True, message_id=str(row["event_id"]),
                                                content_type=CONTENT_TYPE, headers={"x-meldpunt-delivery": key})])
        if key in outcome.confirmed:
            return None
        if key in outcome.failed:
            return ("unroutable: the subscriber's queue is missing" if isinstance(outcome.failed[key], Unroutable)
                    else "refused by the broker: the subscriber's queue is full")
        return f"broker: {type(outcome.error).__name__}"

    def close(self):
        if self._batch is not None:
            self._batch.close()
