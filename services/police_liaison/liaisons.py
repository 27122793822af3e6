"""AMQP subscriptions of police liaisons, made through the RabbitMQ management HTTP API.

`meldpunt liaison add UNIT` gives a unit one RabbitMQ user, one durable queue bound to
`police.referrals` with `<unit>.#`, and permissions that let that user read (consume)
only that queue: configure and write nothing. The password is printed once.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from shared.events import POLICE_REFERRALS_EXCHANGE
from shared.messaging.management import ManagementApi, vhost_of  # noqa: F401 — the CLI's entry
from shared.messaging.management import ManagementError as LiaisonError
from shared.messaging.management import q as _q
from shared.messaging.topology import liaison_queue_name

UNIT = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class Subscription:
    user: str
    password: str
    vhost: str
    queue: str


def user_name(unit: str, vhost: str) -> str:
    # RabbitMQ users are global: a unit's user in another vhost must not collide
    return f"police-{unit}" if vhost == "/" else f"police-{unit}@{vhost}"


def add(api: ManagementApi, vhost: str, unit: str) -> Subscription:
    if not UNIT.match(unit):
        raise LiaisonError(f"{unit!r} is not a police unit code such as zwb-walcheren")
    user, queue, password = user_name(unit, vhost), liaison_queue_name(unit), secrets.token_urlsafe(24)
    if api.call("GET", f"users/{_q(user)}", ok=(200, 404)).status_code == 200:
        raise LiaisonError(f"unit {unit} already has a RabbitMQ user {user}; "
                           f"`meldpunt liaison remove {unit}` first to issue a new password")
    v = _q(vhost)
    api.call("PUT", f"exchanges/{v}/{_q(POLICE_REFERRALS_EXCHANGE)}",
             json={"type": "topic", "durable": True, "auto_delete": False, "internal": False, "arguments": {}})
    api.call("PUT", f"queues/{v}/{_q(queue)}", json={"durable": True, "auto_delete": False, "arguments": {}})
    api.call("POST", f"bindings/{v}/e/{_q(POLICE_REFERRALS_EXCHANGE)}/q/{_q(queue)}",
             json={"routing_key": f"{unit}.#", "arguments": {}})
    api.call("PUT", f"users/{_q(user)}", json={"password": password, "tags": ""})
    # consuming needs read on the queue; nothing may be declared, bound or published
    api.call("PUT", f"permissions/{v}/{_q(user)}",
             json={"configure": "^$", "write": "^$", "read": f"^{re.escape(queue)}$"})
    return Subscription(user, password, vhost, queue)


def remove(api: ManagementApi, vhost: str, unit: str) -> tuple[bool, bool]:
    """Delete the unit's user and queue; (user existed, queue existed)."""
    if not UNIT.match(unit):
        raise LiaisonError(f"{unit!r} is not a police unit code such as zwb-walcheren")
    user_gone = api.call("DELETE", f"users/{_q(user_name(unit, vhost))}", ok=(204, 404)).status_code == 204
    queue_gone = api.call("DELETE", f"queues/{_q(vhost)}/{_q(liaison_queue_name(unit))}",
                          ok=(204, 404)).status_code == 204
    return user_gone, queue_gone
