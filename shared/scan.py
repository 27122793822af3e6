"""Periodic work over every municipality's store, spread so that a large region stays cheap.

A process keeps a few connections (MELDPUNT_DB_MAX_CONNECTIONS) for all the stores it uses;
a task that visits all 342 stores of the Netherlands every few seconds would open and close
a connection for nearly every visit (issue 25: an idle hub kept a quarter of the machine busy).
So a task with deadlines (triage's overdue results, police escalations, aftercare reminders)
keeps a due-time index (`DueTimes`): each visit of a store also reads when its next piece of
work falls due, and the process's own commits tell it of new deadlines (`UnitOfWork.wake`); a
tick visits only the stores whose time has come. A store nobody told about is looked at once an
hour (`NET_SECONDS`: deadlines written by another instance that then died, or by a command),
and at start every store once, paced: at least `SECONDS_PER_STORE` per store, a share per tick
(`Rotation`). (The work itself stays correct with any order or instance count: claims are made
with SKIP LOCKED and marked once.)
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

SECONDS_PER_STORE = 0.1
# A store no commit of this process told about is looked at again after this long (per task).
NET_SECONDS = 3600.0
# The outbox relay's look at every store is only a net (shared/outbox.py): a process publishes
# its own commits and looks again where that failed. Its round takes at least this per store:
# 342 stores once an hour, so a connection every 10.5 s per service (a region of 4: every 42 s).
SWEEP_SECONDS_PER_STORE = NET_SECONDS / 342


def full_round_seconds(configured: float, stores: int, per_store: float = SECONDS_PER_STORE) -> float:
    """How long one round over all stores takes at least: the configured period, or longer for many stores."""
    return max(configured, stores * per_store)


class Rotation:
    """Which stores one periodic task visits on each tick, all of them once per full round."""

    def __init__(self):
        self._next = 0

    def due(self, codes: Sequence[str], tick_seconds: float) -> list[str]:
        if not codes:
            return []
        n = len(codes)
        share = min(n, math.ceil(n * tick_seconds / full_round_seconds(tick_seconds, n)))
        start = self._next % n
        self._next = (start + share) % n
        return [codes[(start + i) % n] for i in range(share)]


class SweepSchedule:
    """Which databases the outbox relay sweeps when (shared/outbox.py): every one at start and
    once more when the rows it left as young are not (`second_look_after`), then as a net at
    least SWEEP_SECONDS_PER_STORE per database apart; those it is owed a look, every `period`."""

    def __init__(self, period: float, now: float, second_look_after: float):
        self.period = period
        self.next_full = now
        self.second_look: float | None = now + second_look_after
        self.next_owed = 0.0

    def due(self, now: float, targets: Sequence[tuple[str, str]], owes) -> list[tuple[str, str]]:
        """The (label, dsn) to sweep now; `owes(dsn)` says whether the relay owes it a look."""
        todo: list[tuple[str, str]] = []
        if now >= self.next_full:
            todo = list(targets)
            self.next_full = now + full_round_seconds(self.period, len(todo), SWEEP_SECONDS_PER_STORE)
            if self.second_look is not None:
                self.next_full, self.second_look = min(self.next_full, self.second_look), None
        elif now >= self.next_owed:
            todo = [(label, dsn) for label, dsn in targets if owes(dsn)]
        if todo:
            self.next_owed = now + self.period
        return todo

    def wake_at(self, owed: bool) -> float:
        """When the next sweep may be due (the relay owes a look somewhere, or not)."""
        return min(self.next_full, self.next_owed) if owed else self.next_full


class DueTimes:
    """When each store next has work for one periodic task, as far as this process knows: from the
    last visit (the task's own query) and from what this process committed since (`tell`). A store
    not yet visited, or not for NET_SECONDS, is unknown: it is visited (paced) to learn it."""

    def __init__(self, net_seconds: float = NET_SECONDS):
        self.net_seconds = net_seconds
        self.lead = timedelta(0)  # a told deadline counts this much earlier (aftercare's reminder lead)
        self._next: dict[str, datetime | None] = {}  # None: nothing waits there
        self._looked: dict[str, float] = {}
        self._looking: dict[str, datetime | None] = {}  # tells that came in while a visit ran

    def tell(self, code: str, at: datetime) -> None:
        """This process committed work in `code`'s store that falls due at `at`."""
        at = at - self.lead
        if code in self._looking:
            told = self._looking[code]
            self._looking[code] = at if told is None else min(told, at)
        if code in self._next:
            known = self._next[code]
            self._next[code] = at if known is None else min(known, at)

    def due(self, codes: Sequence[str], now: datetime) -> tuple[list[str], list[str]]:
        """(stores whose work is due, stores not known): both to visit."""
        clock = time.monotonic()
        due, unknown = [], []
        for code in codes:
            if code not in self._next or clock - self._looked[code] >= self.net_seconds:
                unknown.append(code)
            elif self._next[code] is not None and self._next[code] <= now:
                due.append(code)
        return due, unknown

    def looking(self, code: str) -> None:
        self._looking[code] = None

    def looked(self, code: str, next_at: datetime | None) -> None:
        """The visit found the store's next work due at `next_at` (None: nothing waits)."""
        told = self._looking.pop(code, None)
        at = [t for t in (next_at, told) if t is not None]
        self._next[code] = min(at) if at else None
        self._looked[code] = time.monotonic()

    def failed(self, code: str) -> None:
        """The visit failed: what was known stays, so a due store is visited again on the next tick."""
        told = self._looking.pop(code, None)
        if told is not None and code in self._next:
            self.tell(code, told + self.lead)


class Rotations(DependencyProvider):
    """One `Rotation` per periodic task of a service process (nameko makes a service instance per
    worker, so the turn is kept here)."""

    def setup(self):
        self._rotations: dict[str, Rotation] = {}
        self._due_times: dict[str, DueTimes] = {}

    def start(self):
        # the process's commits tell the due-time index of new deadlines (UnitOfWork.wake)
        for dependency in getattr(self.container, "dependencies", ()):
            stores = getattr(dependency, "stores", None)
            if stores is not None and hasattr(stores, "on_wake"):
                stores.on_wake(self.tell)

    def get_dependency(self, worker_ctx):
        return self

    def due_times(self, task: str) -> DueTimes:
        return self._due_times.setdefault(task, DueTimes())

    def tell(self, task: str, code: str, at: datetime) -> None:
        self.due_times(task).tell(code, at)

    def each_due(self, task: str, codes: Sequence[str], tick_seconds: float, now: datetime,
                 work: Callable[[str], datetime | None], lead: timedelta = timedelta(0)) -> list[str]:
        """`work(code)` for each store whose work is due, and for a paced share of those not known
        yet; `work` returns when the store's next work falls due (None: none waits). `lead`: a
        deadline told by a commit is visited this much before it. Returns the codes that failed."""
        times = self.due_times(task)
        times.lead = lead
        due, unknown = times.due(codes, now)
        todo = due + [code for code in self.due(task, unknown, tick_seconds) if code not in due]
        failed = []
        for code in todo:
            times.looking(code)
            try:
                times.looked(code, work(code))
            except Exception as exc:  # noqa: BLE001 — one store's trouble must not stop the round
                times.failed(code)
                failed.append(code)
                log.warning("%s: the store of %s failed this round (%s); the other stores go on", task, code,
                            str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__)
        return failed

    def due(self, task: str, codes: Sequence[str], tick_seconds: float) -> list[str]:
        return self._rotations.setdefault(task, Rotation()).due(codes, tick_seconds)

    def each(self, task: str, codes: Sequence[str], tick_seconds: float, work: Callable[[str], object]) -> list[str]:
        """`work(code)` for each store due on this tick. A store that fails (its PostgreSQL server
        is down) is logged and left for the next round, so that it holds back only its own
        municipality, not the stores after it. Returns the codes that failed."""
        failed = []
        for code in self.due(task, codes, tick_seconds):
            try:
                work(code)
            except Exception as exc:  # noqa: BLE001 — one store's trouble must not stop the round
                failed.append(code)
                log.warning("%s: the store of %s failed this round (%s); the other stores go on", task, code,
                            str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__)
        return failed
