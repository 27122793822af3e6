"""Periodic work over every municipality's store, spread so that a large region stays cheap.

A process keeps a few connections (MELDPUNT_DB_MAX_CONNECTIONS) for all the stores it uses;
a task that visits all 342 stores of the Netherlands every few seconds would open and close
a connection for nearly every visit. So a full round over the stores takes at least
`SECONDS_PER_STORE` per store, and each tick visits only its share of them, in turn: a
region of a few municipalities is visited whole on every tick, 342 municipalities every
34 s, a slice of them per tick. (The work itself stays correct with any order or instance
count: claims are made with SKIP LOCKED and marked once.)
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from nameko.extensions import DependencyProvider

SECONDS_PER_STORE = 0.1
# The outbox relay's look at every store is only a net (shared/outbox.py): a process publishes
# its own commits and looks again where that failed, so its full round may take longer.
SWEEP_SECONDS_PER_STORE = 0.5


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


class Rotations(DependencyProvider):
    """One `Rotation` per periodic task of a service process (nameko makes a service instance per
    worker, so the turn is kept here)."""

    def setup(self):
        self._rotations: dict[str, Rotation] = {}

    def get_dependency(self, worker_ctx):
        return self

    def due(self, task: str, codes: Sequence[str], tick_seconds: float) -> list[str]:
        return self._rotations.setdefault(task, Rotation()).due(codes, tick_seconds)
