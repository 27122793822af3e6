"""nameko timers that spawn no worker when there is nothing for it to do (issue 25: an idle hub's cost).

A nameko @timer spawns a worker on every tick, and a worker costs about a millisecond of CPU (its
dependencies' `get_dependency`, the worker context) even when the method returns at once: a 0.5 s timer
is 0.2 % of a core for nothing. `nudged_timer` ticks as often as the work may lag, but runs its method only
when a worker of the process said there is work (`Nudges.nudge`) since its last run, and as a net every
`net_seconds` (work another instance left, or a command). `configured_timer` takes its interval from the
settings (the region file, read once at start) and does not run at all where they give it nothing to do.
Which stores a run then visits is shared/scan.py's (the due-time index).
"""
from __future__ import annotations

import time

from nameko.extensions import DependencyProvider
from nameko.timer import Timer


class Nudges(DependencyProvider):
    """What a service's `nudged_timer`s are owed a run for, told by its workers."""

    def setup(self):
        self._nudged: set[str] = set()

    def get_dependency(self, worker_ctx):
        return self

    def nudge(self, task: str) -> None:
        """Work for `task` (a nudged timer's method name) was committed: run it at its next tick."""
        self._nudged.add(task)

    def take(self, task: str) -> bool:
        if task in self._nudged:
            self._nudged.discard(task)
            return True
        return False


class NudgedTimer(Timer):
    """@timer(interval, net_seconds=...): on each tick, runs the method only if a worker nudged it since its
    last run (`Nudges.nudge(<method name>)`), or `net_seconds` after its last run; a run that fails is owed
    again at the next tick. The first tick (eager or not) always runs."""

    def __init__(self, interval, net_seconds: float, **kwargs):
        self.net_seconds = net_seconds
        self._last_run: float | None = None
        super().__init__(interval, **kwargs)

    def setup(self):
        nudges = [d for d in self.container.dependencies if isinstance(d, Nudges)]
        if not nudges:
            raise TypeError(f"{self.container.service_name}.{self.method_name}: a nudged_timer needs a Nudges() "
                            "dependency on the service")
        self.nudges = nudges[0]
        super().setup()

    def handle_timer_tick(self):
        now = time.monotonic()
        nudged = self.nudges.take(self.method_name)
        if nudged or self._last_run is None or now - self._last_run >= self.net_seconds:
            self._last_run = now
            super().handle_timer_tick()
        else:
            self.worker_complete.send()  # nameko's loop waits for this before its next tick

    def handle_result(self, worker_ctx, result, exc_info):
        if exc_info is not None:
            self.nudges.nudge(self.method_name)
        return super().handle_result(worker_ctx, result, exc_info)


nudged_timer = NudgedTimer.decorator


class ConfiguredTimer(Timer):
    """@configured_timer(interval, wanted=f, seconds=g), both of the process's settings, read once at start:
    it ticks every `g(settings)` seconds (a region file's option; `interval` without `seconds`), and only if
    `f(settings)` is true (always without `wanted`): else it never ticks."""

    def __init__(self, interval, wanted=None, seconds=None, **kwargs):
        self.wanted, self.seconds = wanted, seconds
        self.enabled = True
        super().__init__(interval, **kwargs)

    def setup(self):
        from shared.config import settings_from_nameko

        settings = settings_from_nameko(self.container.config)
        self.enabled = self.wanted is None or bool(self.wanted(settings))
        if self.seconds is not None:
            self.interval = self.seconds(settings)
        super().setup()

    def start(self):
        if self.enabled:
            super().start()

    def stop(self):
        if self.gt is not None:
            super().stop()

    def kill(self):
        if self.gt is not None:
            super().kill()


configured_timer = ConfiguredTimer.decorator
