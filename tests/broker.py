"""The RabbitMQ a test run uses: a node of the run's own, and one fresh vhost per test made ahead of it.

The machine's broker (127.0.0.1:5672) is shared by every test run and the demo. Measured here on
2026-12-06 with eight runs beside each other: every test's vhost holds the hub's 169 quorum queues
and each vhost's message stores take file handles; with the broker's limit at 927 handles (it was
started with `ulimit -n 1024`) vhost creation stopped for good (rabbit_vhost:recover waiting in
file_handle_cache), and every test of every run waited in nameko's vhost pipeline until its
timeout. On a node of the run's own nothing another run does can reach the tests: making a vhost
there takes 0.07 s, declaring the topology 1.2-4 s, deleting it again about 1 s.

`--amqp-uri` / `--rabbit-api-uri` (nameko's pytest options) still point a run at another broker.
"""
from __future__ import annotations

import random
import string
from contextlib import contextmanager

import eventlet

NAMEKO_DEFAULT_AMQP_URI = "pyamqp://guest:guest@localhost:5672/"  # nameko's --amqp-uri default
VHOST_WAIT_SECONDS = 90.0


def wants_own_node(config) -> bool:
    """True unless the run was pointed at a broker with --amqp-uri."""
    return config.getoption("RABBIT_AMQP_URI") == NAMEKO_DEFAULT_AMQP_URI


def uses_rabbit(items) -> bool:
    """Whether any collected test needs a broker (then its node boots while the rest is set up)."""
    return any("vhost_pipeline" in getattr(item, "fixturenames", ()) for item in items)


def own_node():
    """A RabbitMQ node for this run with its management API, launched (not yet awaited)."""
    import uuid

    from tests.engines import RabbitNode

    node = RabbitNode(f"mh{uuid.uuid4().hex[:6]}t", management=True)
    node.launch()
    return node


class VhostPipeline:
    """Vhosts made `ahead` of the tests that take them and deleted behind them, in green threads.

    nameko's own pipeline waits for ever when the broker fails to make a vhost (its creating
    thread dies with the error): here the test that waits for the vhost fails with the reason,
    after at most VHOST_WAIT_SECONDS, and the next test asks again."""

    def __init__(self, manager, username: str, ahead: int = 2):
        self.manager = manager
        self.username = username
        self.ready = eventlet.Queue()
        self.pool = eventlet.GreenPool()
        for _ in range(ahead):
            self.pool.spawn_n(self._make)

    def _make(self):
        vhost = "nameko_test_" + "".join(random.choice(string.ascii_lowercase) for _ in range(10))
        try:
            self.manager.create_vhost(vhost)
            self.manager.set_vhost_permissions(vhost, self.username, ".*", ".*", ".*")
            self.ready.put(vhost)
        except Exception as exc:  # handed to the test that takes it
            self.ready.put(exc)

    def _destroy(self, vhost: str):
        from collections.abc import Iterable

        from kombu.pools import connections

        try:
            self.manager.delete_vhost(vhost)
        except Exception:  # a vhost left behind costs the throwaway node nothing that matters
            pass
        for key, pool in list(connections.items()):
            if isinstance(key, Iterable) and key[4] == vhost:
                pool.force_close_all()

    @contextmanager
    def get(self):
        self.pool.spawn_n(self._make)  # the next test's, while this one runs
        try:
            item = self.ready.get(timeout=VHOST_WAIT_SECONDS)
        except eventlet.queue.Empty:
            raise RuntimeError(f"the test broker made no vhost within {VHOST_WAIT_SECONDS:.0f} s") from None
        if isinstance(item, Exception):
            raise RuntimeError(f"the test broker did not make a vhost: {item}") from item
        try:
            yield item
        finally:
            self.pool.spawn_n(self._destroy, item)

    def close(self):
        self.pool.waitall()
        while not self.ready.empty():
            item = self.ready.get()
            if not isinstance(item, Exception):
                self._destroy(item)
