"""The RabbitMQ management HTTP API, for the commands that create users, vhosts and permissions."""
from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests


class ManagementError(Exception):
    """Something the operator can fix, in one line."""


def vhost_of(amqp_uri: str) -> str:
    """The vhost of MELDPUNT_AMQP_URI (of its first node, when it lists a cluster's nodes)."""
    path = urlsplit(amqp_uri.split(";")[0]).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def q(value: str) -> str:
    return quote(value, safe="")


class ManagementApi:
    def __init__(self, api_uri: str, timeout: float = 10.0):
        parts = urlsplit(api_uri if api_uri.endswith("/") else api_uri + "/")
        self.auth = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.base = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        self.timeout = timeout

    @property
    def user(self) -> str:
        return self.auth[0]

    def call(self, method: str, path: str, json=None, ok=(200, 201, 204)) -> requests.Response:
        try:
            response = requests.request(method, self.base + path, json=json, auth=self.auth, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ManagementError(f"cannot reach the RabbitMQ management API at {self.base}: "
                                  f"{type(exc).__name__}") from None
        if response.status_code not in ok:
            raise ManagementError(f"RabbitMQ management API: {method} {path} answered {response.status_code} "
                                  f"{response.text.strip()[:200]}")
        return response


def provision_reader(api: ManagementApi, vhost: str, exchanges, queues, user: str, password: str) -> None:
    """A partner's own queue and the user that reads it (a police unit's, a partner subscriber's): the
    exchanges `(name, type)`, then `queues` in order with their bindings — the parked queue `<queue>.parked`
    first, as the queue dead-letters into it, and the queue last — then a user that may read those two and
    nothing else: it declares, binds and publishes nothing."""
    main = queues[-1].name
    assert all(declared.name in (main, f"{main}.parked") for declared in queues), [d.name for d in queues]
    v = q(vhost)
    for exchange, kind in exchanges:
        api.call("PUT", f"exchanges/{v}/{q(exchange)}",
                 json={"type": kind, "durable": True, "auto_delete": False, "internal": False, "arguments": {}})
    for declared in queues:
        api.call("PUT", f"queues/{v}/{q(declared.name)}",
                 json={"durable": True, "auto_delete": False, "arguments": declared.queue_arguments})
        api.call("POST", f"bindings/{v}/e/{q(declared.exchange.name)}/q/{q(declared.name)}",
                 json={"routing_key": declared.routing_key, "arguments": {}})
    api.call("PUT", f"users/{q(user)}", json={"password": password, "tags": ""})
    api.call("PUT", f"permissions/{v}/{q(user)}",
             json={"configure": "^$", "write": "^$", "read": f"^{re.escape(main)}(\\.parked)?$"})
