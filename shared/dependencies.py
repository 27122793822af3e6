"""nameko DependencyProviders that give services their databases and relay their outbox.

`Storage` is set up once per container: one capped connection pool for all the
municipalities' case stores (and statistics), an outbox relay woken right after each
commit that recorded events, sweeping where those did not all go out and now and then
everywhere (events left by a crash), and a reaper that closes idle
connections. Each worker gets a `WorkerStorage` that knows its consumer name, so
that its inbox entries are its own.
"""
from __future__ import annotations

import logging
import time

import eventlet
from eventlet.event import Event as GreenEvent
from nameko.extensions import DependencyProvider

from shared.config import region_secret, settings_from_nameko
from shared.keyed import statistics_key_of
from shared.db.pool import ConnectionPool
from shared.db.unit_of_work import Stores, UnknownMunicipality
from shared.outbox import FRESH_GRACE_SECONDS, MARK_SECONDS, Backoff, EventPublisher, OutboxRelay
from shared.scan import SweepSchedule

log = logging.getLogger(__name__)


class WorkerStorage:
    """What a worker sees: units of work on the stores, with its inbox consumer name set."""

    def __init__(self, stores: Stores, consumer: str, targets: list[tuple[str, str]], own=None):
        self._stores = stores
        self._own = own
        self.consumer = consumer
        self.settings = stores.settings
        self.region = stores.region
        self.targets = targets  # (label, dsn) of every database this service uses

    def municipality(self, code: str):
        """The region's municipality with this code; UnknownMunicipality (not retried) otherwise."""
        try:
            return self.region.municipality(code)
        except KeyError:
            raise UnknownMunicipality(code) from None

    def case_store(self, municipality: str):
        return self._stores.case_store(municipality, consumer=self.consumer)

    def reading(self, municipality: str):
        """One read of a case store, in autocommit (Stores.reading)."""
        return self._stores.reading(municipality)

    def statistics(self):
        return self._stores.statistics(consumer=self.consumer)

    def own(self):
        """A unit of work on the service's own regional database (`Storage(own_database=...)`)."""
        if self._own is None:
            raise RuntimeError("this service has no database of its own in this region")
        label, dsn = self._own
        return self._stores.unit_of_work(dsn, None, self.consumer)

    @property
    def has_own(self) -> bool:
        return self._own is not None

    def reachable(self, dsn: str, fresh_seconds: float = 15.0):
        """Raise if the database cannot be reached; a store this process used successfully in
        the last `fresh_seconds` counts as reachable without a new round trip, so /health stays
        cheap for a region of hundreds of municipalities."""
        if not self._stores.pool.worked_within(dsn, fresh_seconds):
            self._stores.ping(dsn)


class Storage(DependencyProvider):
    def __init__(self, relay_outbox: bool = True, uses_case_stores: bool = True,
                 uses_statistics: bool = False, own_database=None):
        """`own_database(region)` gives (label, dsn) of a regional database of the service's own
        (the workbench's sessions, triage's repeat index), reached with `WorkerStorage.own()`; None
        when the region has none."""
        self.relay_outbox = relay_outbox
        self.uses_case_stores = uses_case_stores
        self.uses_statistics = uses_statistics
        self.own_database = own_database

    def setup(self):
        self.settings = settings_from_nameko(self.container.config)
        service = self.container.service_name
        # a relaying process keeps one of its MELDPUNT_DB_MAX_CONNECTIONS for marking published rows
        # (shared/outbox.py): the cap still counts every connection the process holds
        marking = self.relay_outbox and self.settings.db_max_connections > 1
        self.pool = ConnectionPool(self.settings.db_max_connections - marking, self.settings.db_idle_seconds,
                                   application_name=f"meldpunt-{service}",
                                   session_options=self.settings.db_session_options)
        self.stores = Stores(self.settings, self.pool, service)
        self._targets = None
        self._wake = GreenEvent()
        self._running = False
        if self.relay_outbox:
            marking_pool = ConnectionPool(1, self.settings.db_idle_seconds, application_name=f"meldpunt-{service}",
                                          session_options=self.settings.db_session_options) if marking else None
            # two publishers (connections): fresh events never wait behind a sweep's publishing
            self.relay = OutboxRelay(service, self.stores, EventPublisher(self.settings.amqp_uri, service),
                                     publish_fresh=EventPublisher(self.settings.amqp_uri, service),
                                     marking_pool=marking_pool)
            # a connection either pool closes first marks what the relay published on its store
            for pool in (self.pool, marking_pool):
                if pool is not None:
                    pool.on_retire = self.relay.mark_on
            self.stores.on_commit(self._committed)
            self.stores.marks_for(self.relay)

    def start(self):
        self._running = True
        self._stopped = GreenEvent()
        self._threads = [self.container.spawn_managed_thread(self._reap_loop, identifier="db-idle-reaper")]
        if self.relay_outbox:
            self._threads.append(self.container.spawn_managed_thread(self._relay_loop, identifier="outbox-relay"))
            self._threads.append(self.container.spawn_managed_thread(self._sweep_loop, identifier="outbox-sweep"))

    def stop(self):
        """Let the relay finish its batch and the reaper its sleep, then close the pool."""
        self._running = False
        self._stopped.send(True)
        self._poke()
        with eventlet.Timeout(10, False):
            for thread in self._threads:
                thread.wait()
        if self.relay_outbox:
            self.relay.mark_published(force=True)  # what the relay published on its way out
            self.relay.close()
        self.pool.close()

    def kill(self):
        self._running = False
        self.pool.on_retire = None  # killed: no last statements on the way out
        self.pool.close()
        if self.relay_outbox and self.relay.marking_pool is not None:
            self.relay.marking_pool.close()

    def get_dependency(self, worker_ctx):
        return WorkerStorage(self.stores, f"{self.container.service_name}.{worker_ctx.entrypoint.method_name}",
                             self._targets or self.targets(),
                             self._own())

    def _own(self):
        return self.own_database(self.settings.region) if self.own_database else None

    # ------------------------------------------------------------ databases
    def targets(self) -> list[tuple[str, str]]:
        """(label, dsn) of every database this service uses; the region is fixed for the container's life."""
        if self._targets is None:
            targets = self.stores.case_store_targets() if self.uses_case_stores else []
            if self.uses_statistics:
                targets.append(("statistics", self.settings.region.statistics_dsn))
            if self._own():
                targets.append(self._own())
            self._targets = tuple(targets)
        return list(self._targets)

    # --------------------------------------------------------------- relay
    def _committed(self, dsn, rows):
        self.relay.committed(dsn, rows)
        self._poke()

    def _poke(self):
        if not self._wake.ready():
            self._wake.send(True)

    def _relay_loop(self):
        """Publish what this process commits as it commits. Nothing here waits for a database:
        marking and sweeping are the sweep thread's, so a fresh event never queues behind them."""
        backoff = Backoff()
        while self._running:
            self._wake = GreenEvent()
            delay = None
            try:
                self.relay.publish_fresh()
                backoff.succeeded()
            except Exception as exc:
                if not self._running:
                    break
                delay = backoff.failed()  # the rows wait in the outbox; the sweep takes them
                log.info("fresh events of %s left to the sweep: %s", self.container.service_name,
                         type(exc).__name__)
            if delay is not None:  # the broker is away: commits meanwhile do not hurry the next try
                with eventlet.Timeout(delay, False):
                    self._stopped.wait()
            elif not self.relay.has_fresh:  # else commits arrived while we were publishing
                self._wake.wait()
        try:
            self.relay.publish_fresh()  # on the way out: what is still in hand
        except Exception as exc:
            log.info("events left for the next start's sweep: %s", type(exc).__name__)

    def _sweep_loop(self):
        """Mark what went out published, many rows at once; sweep the stores this process owes a
        look (its own events did not all go out) every MELDPUNT_OUTBOX_SWEEP_SECONDS; and every
        store at start, again once the rows it left as young are not, then now and then (a
        crashed process's rows, should it not come back), at least 0.5 s per store apart."""
        backoff = Backoff()
        schedule = SweepSchedule(self.settings.outbox_sweep_seconds, time.monotonic(), FRESH_GRACE_SECONDS + 0.5)
        while self._running:
            try:
                todo = schedule.due(time.monotonic(), self.targets(), self.relay.owes)
                # a sweep must not find what went out already in the stores it looks at
                self.relay.mark_published(now_for={dsn for _, dsn in todo})
                if todo:
                    self.relay.sweep(todo)
                backoff.succeeded()
                delay = min(max(0.0, schedule.wake_at(self.relay.owed) - time.monotonic()), MARK_SECONDS)
            except Exception:
                if not self._running:
                    break
                delay = backoff.failed()  # the stores that failed are owed a look after it
            with eventlet.Timeout(delay, False):
                self._stopped.wait()

    def _reap_loop(self):
        """Close idle connections; once an hour, prune published events from the outbox (first
        ten minutes after start: a prune visits every store, so not while the start's sweep does)."""
        next_prune = time.monotonic() + 600
        while self._running:
            with eventlet.Timeout(max(1.0, self.settings.db_idle_seconds / 2), False):
                self._stopped.wait()
            if not self._running:
                return
            self.pool.close_idle()
            if self.relay_outbox and self.relay.marking_pool is not None:
                self.relay.marking_pool.close_idle()
            if self.relay_outbox and time.monotonic() >= next_prune:
                next_prune = time.monotonic() + 3600
                for label, dsn in self.targets():
                    try:
                        self.relay.prune(dsn)
                    except Exception as exc:
                        log.warning("could not prune the outbox of %s: %s", label, type(exc).__name__)



class MasterKeyRequired(Exception):
    """A service that encrypts was started without a master key."""


class Encryption(DependencyProvider):
    """The process's keyring (shared/crypto.py) for services that keep encrypted personal data.

    Without MELDPUNT_MASTER_KEY / MELDPUNT_MASTER_KEY_FILE the container refuses to start:
    storing health data unencrypted is never the fallback.
    """

    def setup(self):
        from shared.db.case_keys import keyring_for

        settings = settings_from_nameko(self.container.config)
        if settings.master_key is None:
            raise MasterKeyRequired(missing_key_message(self.container.service_name))
        self.keyring = keyring_for(settings)

    def get_dependency(self, worker_ctx):
        return self.keyring


def missing_key_message(service: str) -> str:
    return (f"no master key for the encryption at rest of {service}: set MELDPUNT_MASTER_KEY (base64) "
            "or MELDPUNT_MASTER_KEY_FILE (`meldpunt keys init` makes one)")


def needs_master_key(service_cls) -> bool:
    return any(isinstance(value, Encryption) for value in vars(service_cls).values()) or any(
        needs_master_key(base) for base in service_cls.__bases__ if base is not object)


class RegionSecret(DependencyProvider):
    """The region secret for keyed hashes, read at start-up: a service using it refuses to start
    without it (its `check_settings` says so in one line first)."""

    def setup(self):
        self.secret = region_secret(settings_from_nameko(self.container.config))

    def get_dependency(self, worker_ctx):
        return self.secret


class StatisticsKey(DependencyProvider):
    """Statistics' own key (shared/keyed.py), read at start-up: MELDPUNT_STATISTICS_KEY, or derived from the
    region secret where the process has one (`make run`)."""

    def setup(self):
        self.key = statistics_key_of(settings_from_nameko(self.container.config))

    def get_dependency(self, worker_ctx):
        return self.key
