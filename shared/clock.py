"""Time as the hub sees it: injectable, so deadlines and reminders can be tested to the minute.

Domain code takes `now` as an argument; services get it from the `clock` dependency,
which tests replace by a `FixedClock` through the container config key MELDPUNT_CLOCK.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from nameko.extensions import DependencyProvider


class Clock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("a FixedClock needs an aware datetime")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta) -> datetime:
        self.at += timedelta(**delta)
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


SYSTEM_CLOCK = Clock()


class ClockProvider(DependencyProvider):
    def setup(self):
        self.clock = self.container.config.get("MELDPUNT_CLOCK") or SYSTEM_CLOCK

    def get_dependency(self, worker_ctx):
        return self.clock
