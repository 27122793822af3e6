"""MELDPUNT_AMQP_URI names one RabbitMQ node, or every node of a cluster separated by `;`.

kombu understands the list itself: a connection goes to the first node that answers and, when
it is lost, to the next (round robin). Opening a connection here tries each node once.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from kombu import Connection


def node_addresses(amqp_uri: str) -> list[str]:
    """`host:port` of each node, without credentials (for messages)."""
    found = []
    for uri in amqp_uri.split(";"):
        parts = urlsplit(uri)
        found.append(f"{parts.hostname or 'localhost'}:{parts.port or 5672}")
    return found


def connect(amqp_uri: str, connect_timeout: float = 5, **kwargs) -> Connection:
    """An open connection to the first node that answers (each node of a cluster once; a single
    node twice, as `Connection.connect()` does)."""
    connection = Connection(amqp_uri, connect_timeout=connect_timeout, **kwargs)
    connection.ensure_connection(max_retries=max(1, len(amqp_uri.split(";")) - 1))
    return connection
