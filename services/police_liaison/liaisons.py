"""AMQP subscriptions of police liaisons, made through the RabbitMQ management HTTP API.

`meldpunt liaison add UNIT` gives a unit one RabbitMQ user, one quorum queue bound to
`police.referrals` with `<unit>.#` (length-limited: past the limit the oldest messages move
to the unit's parked queue `police.referrals.<unit>.parked`), and permissions that let that
user read (consume) only those two queues: configure and write nothing. The password is
printed once.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from shared import vocabulary
from shared.events import POLICE_CLOUDEVENTS_EXCHANGE, POLICE_REFERRALS_EXCHANGE
from shared.messaging.management import ManagementApi, vhost_of  # noqa: F401 — the CLI's entry
from shared.messaging.management import ManagementError as LiaisonError
from shared.messaging.management import provision_reader, q as _q
from shared.messaging.topology import (UnitQueueLimits, liaison_parked_queue, liaison_parked_queue_name,
                                       liaison_queue, liaison_queue_name, police_parked_exchange)

UNIT = re.compile(vocabulary.POLICE_UNIT_PATTERN)


@dataclass(frozen=True)
class Subscription:
    user: str
    password: str
    vhost: str
    queue: str


def user_name(unit: str, vhost: str) -> str:
    # RabbitMQ users are global: a unit's user in another vhost must not collide
    return f"police-{unit}" if vhost == "/" else f"police-{unit}@{vhost}"


def add(api: ManagementApi, vhost: str, unit: str, limits: UnitQueueLimits = UnitQueueLimits(),
        cloudevents: bool = False) -> Subscription:
    """`limits`: the region's `police_liaison.unit_queue_*` (options.unit_queue_limits; `meldpunt declare` keeps them);
    `cloudevents`: the queue reads `police.cloudevents` instead of the hub's envelope (`police_liaison.formats`)."""
    if not UNIT.match(unit):
        raise LiaisonError(f"{unit!r} is not a police unit code such as zwb-walcheren")
    user, queue, password = user_name(unit, vhost), liaison_queue_name(unit), secrets.token_urlsafe(24)
    if api.call("GET", f"users/{_q(user)}", ok=(200, 404)).status_code == 200:
        raise LiaisonError(f"unit {unit} already has a RabbitMQ user {user}; "
                           f"`meldpunt liaison remove {unit}` first to issue a new password")
    # the parked queue first: the unit queue overflows into it
    provision_reader(api, vhost, [(POLICE_REFERRALS_EXCHANGE, "topic"), (POLICE_CLOUDEVENTS_EXCHANGE, "topic"),
                                  (police_parked_exchange().name, "direct")],
                     [liaison_parked_queue(unit), liaison_queue(unit, limits, cloudevents)], user, password)
    return Subscription(user, password, vhost, queue)


def measure_queues(connection, units, limit: int) -> dict[str, dict[str, int]]:
    """Each unit's AMQP queue (`waiting`) and its parked overflow (`parked`) into the gauges the
    alerts on a unit that stopped reading use (deploy/prometheus/alerts.yml), at each scrape of
    police liaison's /metrics; units without a subscription are skipped. Returns the depths."""
    from shared import metrics

    found = {}
    for unit in sorted(set(units)):
        depths = {}
        for kind, name in (("waiting", liaison_queue_name(unit)), ("parked", liaison_parked_queue_name(unit))):
            channel = connection.channel()
            try:
                depths[kind] = channel.queue_declare(name, passive=True).message_count
            except Exception:  # no such queue (the broker closed that channel)
                continue
            channel.close()
        for kind, depth in depths.items():
            metrics.PARTNER_QUEUE.labels(unit, kind).set(depth)
        if depths:
            metrics.PARTNER_QUEUE_LIMIT.labels(unit).set(limit)
            found[unit] = depths
    return found


def remove(api: ManagementApi, vhost: str, unit: str) -> tuple[bool, bool]:
    """Delete the unit's user and queue; (user existed, queue existed)."""
    if not UNIT.match(unit):
        raise LiaisonError(f"{unit!r} is not a police unit code such as zwb-walcheren")
    user_gone = api.call("DELETE", f"users/{_q(user_name(unit, vhost))}", ok=(204, 404)).status_code == 204
    queue_gone = api.call("DELETE", f"queues/{_q(vhost)}/{_q(liaison_queue_name(unit))}",
                          ok=(204, 404)).status_code == 204
    api.call("DELETE", f"queues/{_q(vhost)}/{_q(liaison_parked_queue(unit).name)}", ok=(204, 404))
    return user_gone, queue_gone
