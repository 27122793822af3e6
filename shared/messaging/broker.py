"""`meldpunt broker setup`: the region's vhost and every service's own RabbitMQ user.

Each service gets exactly the permissions `topology.service_permissions` names: it
declares nothing, writes only to its own exchanges and reads only its own queues. The
administrator's account (MELDPUNT_RABBIT_API_URI, MELDPUNT_AMQP_URI for `meldpunt
declare`) stays with the operators; no service needs it.
"""
from __future__ import annotations

from shared.messaging.management import ManagementApi, q, vhost_of
from shared.messaging.topology import service_permissions


def setup(api: ManagementApi, amqp_uri: str, users: dict, report=lambda line: None) -> str:
    """Create the vhost of `amqp_uri` (if missing), give the administrator all rights on it and
    create or update each `users[service] = (user, password)` with that service's permissions."""
    vhost = vhost_of(amqp_uri)
    v = q(vhost)
    api.call("PUT", f"vhosts/{v}", json={"description": "Meldpunt Hub region"})
    api.call("PUT", f"permissions/{v}/{q(api.user)}", json={"configure": ".*", "write": ".*", "read": ".*"})
    report(f"vhost {vhost}: ready, administrator {api.user}")
    for service, (user, password) in sorted(users.items()):
        api.call("PUT", f"users/{q(user)}", json={"password": password, "tags": ""})
        api.call("PUT", f"permissions/{v}/{q(user)}", json=service_permissions(service))
        report(f"user {user}: {service}, configure nothing, write and read its own exchanges and queues only")
    return vhost


def remove_users(api: ManagementApi, users) -> None:
    for user in users:
        api.call("DELETE", f"users/{q(user)}", ok=(204, 404))
