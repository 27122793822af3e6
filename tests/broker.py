"""The RabbitMQ a test run uses: a node of the run's own, and one fresh vhost per test made ahead of it.

The machine's broker (127.0.0.1:5672) is shared by every test run and the demo. Measured here on
2026-12-06 with eight runs beside each other: every test's vhost holds the hub's 169 quorum queues
and each vhost's message stores take file handles; with the broker's limit at 927 handles (it was
started with `ulimit -n 1024`) vhost creation stopped for good (rabbit_vhost:recover waiting in
file_handle_cache), and every test of every run waited in nameko's vhost pipeline until its
timeout. On a node of the run's own nothing another run does can reach the tests: making a vhost
there takes 0.07 s, declaring the topology 1.2-4 s, deleting it again about 1 s.

A test that declares the hub's topology (the `declared` fixture) takes a vhost from a pool instead: one that
holds exactly that topology and was proven clean after its last test (VhostPipeline.recycle). Declaring the
topology's 169 quorum queues cost the node 1.1 CPU-s and deleting them 0.5 (measured 2026-12-07 on a quiet
machine), for each of about 190 tests of the suite.

`--amqp-uri` / `--rabbit-api-uri` (nameko's pytest options) still point a run at another broker.
"""
from __future__ import annotations

import json
import random
import string
import time
from contextlib import contextmanager
from urllib.parse import quote

import eventlet

NAMEKO_DEFAULT_AMQP_URI = "pyamqp://guest:guest@localhost:5672/"  # nameko's --amqp-uri default
VHOST_WAIT_SECONDS = 90.0
RECYCLE_SECONDS = 60.0  # a vhost not proven clean by then is deleted, as any other


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

    node = RabbitNode(f"mh{uuid.uuid4().hex[:6]}t", management=True, fsync=False)
    node.launch()
    return node


class VhostPipeline:
    """Vhosts made `ahead` of the tests that take them and deleted behind them, in green threads.

    nameko's own pipeline waits for ever when the broker fails to make a vhost (its creating
    thread dies with the error): here the test that waits for the vhost fails with the reason,
    after at most VHOST_WAIT_SECONDS, and the next test asks again.

    `declare(amqp_uri)` declares the hub's topology as the `declared` fixture does. A test that asks for
    it (`get(declared=True)`) gets a vhost that holds that topology and nothing else, recycled after
    an earlier test (see `recycle`), or a fresh one while none is ready; after the test's teardown
    (`after_test`) its vhost is recycled, or deleted if it cannot be proven clean."""

    def __init__(self, manager, amqp_uri: str, ahead: int = 2, declare=None):
        from urllib.parse import urlparse

        uri = urlparse(amqp_uri)
        self.manager = manager
        self.username = uri.username
        self.amqp_base = f"amqp://{uri.netloc}/"
        self.declare = declare
        self.ready = eventlet.Queue()
        self.recycled = eventlet.Queue()  # vhosts proven to hold exactly `self.canonical`, nothing waiting
        self.canonical = None  # the definitions of a fresh vhost after `declare`
        self.canonical_made = None
        self.returned = []  # recyclable vhosts of the test whose teardown runs now
        self.closed = False
        # the vhost `get` handed out last, if it came recycled: it holds exactly what `declare` makes, so the
        # `declared` fixture need not declare the topology's 169 queues again (about 0.3 CPU-s of the test's
        # process and more of the node's, for each of about 190 tests)
        self.holds_topology = None
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
        self._close_clients(vhost)
        try:
            self.manager.delete_vhost(vhost)
        except Exception:  # a vhost left behind costs the throwaway node nothing that matters
            pass

    @staticmethod
    def _close_clients(vhost: str):
        """This process's pooled kombu connections and producers to the vhost, closed and forgotten: a closed pool
        left in kombu's registry refuses every later acquire ("Acquire on closed pool"), which matters once the
        vhost is used again (a service parking a message publishes through them)."""
        from collections.abc import Iterable

        from kombu.pools import connections, producers

        for registry in (producers, connections):
            for key, pool in list(registry.items()):
                if isinstance(key, Iterable) and not isinstance(key, str) and key[4] == vhost:
                    pool.force_close_all()
                    dict.pop(registry, key, None)

    @contextmanager
    def get(self, declared: bool = False):
        """A vhost for one test; `declared`: one that holds the hub's topology already if one is ready."""
        if declared and self.declare is not None and self.canonical_made is None:
            self.canonical_made = eventlet.event.Event()
            self.pool.spawn_n(self._make_canonical)
        item = None
        self.holds_topology = None
        if declared and self.declare is not None:
            try:
                item = self.holds_topology = self.recycled.get_nowait()
            except eventlet.queue.Empty:
                pass
        if item is None:
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
            if declared and self.declare is not None and not self.closed:
                # recycled once the test's containers are gone (after_test); its connections closed now, as
                # deleting the vhost would: the containers' consumers stop at once instead of within a second
                self.returned.append(item)
                self.pool.spawn_n(self._close_connections, item)
            else:
                self.pool.spawn_n(self._destroy, item)

    def after_test(self):
        """Called when a test's teardown is over (tests/conftest.py): nothing of the test runs any more."""
        returned, self.returned = self.returned, []
        for vhost in returned:
            self.pool.spawn_n(self.recycle, vhost)

    def close(self, throwaway_node: bool = False):
        """Delete every vhost left; on a `throwaway_node`, killed next, leave them (deleting the topology's
        queues of each pooled vhost cost seconds of the run's last test)."""
        self.closed = True
        left, self.returned = self.returned, []
        self.pool.waitall()  # what is being made or recycled stops soon, being closed
        for queue in (self.ready, self.recycled):
            while not queue.empty():
                left.append(queue.get())
        if not throwaway_node:
            for item in left:
                if not isinstance(item, Exception):
                    self._destroy(item)

    # ------------------------------------------------------------------ recycling

    def _make_canonical(self):
        """A fresh vhost with the topology declared: its definitions are what a recycled vhost must hold."""
        try:
            self._make()
            vhost = self.ready.get()
            if isinstance(vhost, Exception):
                raise vhost
            self.declare(self._uri(vhost))
            self.canonical = self._definitions(vhost)
            self.recycled.put(vhost)
        except Exception:  # no recycling in this run: every test gets a fresh vhost, as before
            self.declare = None
        finally:
            self.canonical_made.send(True)

    def _uri(self, vhost: str) -> str:
        return self.amqp_base + quote(vhost, safe="")

    def _api(self, method: str, *path: str, **kwargs):
        return self.manager._request(method, *path, **kwargs)

    def _definitions(self, vhost: str) -> dict:
        """Everything of the vhost that a test can change and a later test could see, but messages."""
        def canon(value):
            return json.dumps(value, sort_keys=True)

        queues = {q["name"]: canon([q.get("type"), q["durable"], q["auto_delete"], q.get("exclusive"),
                                    q.get("arguments")])
                  for q in self._api("GET", "queues", vhost, params={"disable_stats": "true"})}
        exchanges = {e["name"]: canon([e["type"], e["durable"], e["auto_delete"], e["internal"], e.get("arguments")])
                     for e in self._api("GET", "exchanges", vhost, params={"disable_stats": "true"})}
        bindings = sorted(canon([b["source"], b["destination"], b["destination_type"], b["routing_key"],
                                 b.get("arguments")]) for b in self._api("GET", "bindings", vhost))
        def each(*path):  # without the vhost's name, which each entry repeats
            return sorted(canon({k: v for k, v in entry.items() if k != "vhost"}) for entry in self._api("GET", *path))

        return {"queues": queues, "exchanges": exchanges, "bindings": bindings,
                "permissions": each("vhosts", vhost, "permissions"),
                "topic-permissions": each("vhosts", vhost, "topic-permissions"),
                "policies": each("policies", vhost), "operator-policies": each("operator-policies", vhost),
                "limits": each("vhost-limits", vhost),
                "parameters": sorted(canon(p) for p in self._api("GET", "parameters") if p.get("vhost") == vhost)}

    def recycle(self, vhost: str):
        """Bring a vhost a test used back to the state of a fresh one with the topology declared, and prove it,
        or delete it. Nothing of the test runs any more (after_test); what it may have left: connections
        (closed here: its consumers' unacknowledged messages go back to their queues), queues and exchanges of
        its own (deleted), messages (purged). Proven clean: the definitions equal the canonical ones exactly
        (queues, exchanges, bindings with their arguments; permissions, policies, limits, parameters), no
        connection is open, and every queue holds no message and no consumer, both as the queues themselves
        answer and as the management API shows them (its figures lag by up to the node's statistics
        interval: a test that reads them must not see the last test's)."""
        try:
            self.canonical_made.wait()
            if self.canonical is None or not self._clean(vhost):
                self._destroy(vhost)
                return
        except Exception:
            self._destroy(vhost)
            return
        if self.closed:
            self._destroy(vhost)
        else:
            self.recycled.put(vhost)

    def _clean(self, vhost: str) -> bool:
        """Rounds of tidying and purging until one finds nothing left; then the management API's figures must
        show it too (once they do, one more round proves nothing came back meanwhile)."""
        self._close_clients(vhost)
        deadline = time.monotonic() + RECYCLE_SECONDS
        while time.monotonic() < deadline and not self.closed:
            if not self._tidy(vhost):
                return False
            if self._purge(vhost):  # a closed channel's consumer goes from a quorum queue within seconds
                time.sleep(0.5)
                continue
            if self._quiet(vhost):
                return True
            while not self._quiet(vhost) and time.monotonic() < deadline and not self.closed:
                time.sleep(1.0)  # the figures change once per statistics interval (5 s)
        return False

    def _tidy(self, vhost: str) -> bool:
        """Close the vhost's connections, delete queues and exchanges the topology does not have; False if
        anything else differs from the canonical definitions."""
        self._close_connections(vhost)
        found = self._definitions(vhost)
        if found == self.canonical:
            return True
        for name in set(found["queues"]) - set(self.canonical["queues"]):
            self._delete_quietly("queues", vhost, name)
        for name in set(found["exchanges"]) - set(self.canonical["exchanges"]):
            self._delete_quietly("exchanges", vhost, name)
        return self._definitions(vhost) == self.canonical

    def _purge(self, vhost: str) -> bool:
        """Purge every queue that holds messages; True if any held messages or had a consumer (as the queues
        themselves answer, not the management API's figures)."""
        from kombu import Connection

        waiting = False
        with Connection(self._uri(vhost), connect_timeout=10) as conn:
            channel = conn.channel()
            for name in self.canonical["queues"]:
                ok = channel.queue_declare(name, passive=True)
                if ok.consumer_count:
                    waiting = True
                if ok.message_count:
                    channel.queue_purge(name)
                    waiting = True
            channel.close()
        return waiting

    def _quiet(self, vhost: str) -> bool:
        """No connection, and no message or consumer as the management API shows them."""
        if any(c for c in self._api("GET", "vhosts", vhost, "connections")):
            return False
        queues = self._api("GET", "queues", vhost, params={"columns": "name,messages,consumers"})
        return all(not q.get("messages") and not q.get("consumers") for q in queues)

    def _close_connections(self, vhost: str):
        try:
            for connection in self._api("GET", "vhosts", vhost, "connections"):
                self._delete_quietly("connections", connection["name"])
        except Exception:  # recycle tries again and proves it
            pass

    def _delete_quietly(self, *path):
        try:
            self._api("DELETE", *path)
        except Exception:  # gone already
            pass
