"""Triage deadlines: acute within an hour, otherwise one Dutch working day (weekends and holidays)."""
from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from services.triage.domain import due_at, is_overdue
from services.triage.rules import default_rules
from shared.clock import FixedClock
from tests.unit.samples import AMSTERDAM


def ams(*args):
    return datetime(*args, tzinfo=AMSTERDAM)


@pytest.mark.parametrize("received, urgency, expected", [
    (ams(2026, 3, 4, 10, 0), "normaal", ams(2026, 3, 5, 10, 0)),         # Wednesday → Thursday
    (ams(2026, 3, 6, 15, 0), "hoog", ams(2026, 3, 9, 15, 0)),            # Friday → Monday
    (ams(2026, 3, 7, 22, 0), "normaal", ams(2026, 3, 10, 9, 0)),         # Saturday night → Tuesday 9:00
    (ams(2026, 12, 24, 16, 0), "laag", ams(2026, 12, 28, 16, 0)),        # Christmas Eve → after Kerst + weekend
    (ams(2026, 4, 26, 11, 0), "normaal", ams(2026, 4, 29, 9, 0)),        # Sunday before Koningsdag → Wednesday
    (ams(2026, 5, 13, 12, 0), "normaal", ams(2026, 5, 15, 12, 0)),       # day before Hemelvaart → Friday
    (ams(2026, 3, 1, 21, 15), "acuut", ams(2026, 3, 1, 22, 15)),         # acute on a Sunday evening: one hour
    (ams(2026, 12, 25, 3, 0), "acuut", ams(2026, 12, 25, 4, 0)),         # acute on Christmas night: one hour
])
def test_due_at(received, urgency, expected):
    assert due_at(received, urgency) == expected


def test_deadlines_are_configurable_in_the_rules_file():
    rules = dataclasses.replace(default_rules(), working_days=2, acute_minutes=30)

    assert due_at(ams(2026, 3, 6, 15, 0), "normaal", rules) == ams(2026, 3, 10, 15, 0)
    assert due_at(ams(2026, 3, 6, 15, 0), "acuut", rules) == ams(2026, 3, 6, 15, 30)


def test_overdue_with_a_fixed_clock_across_a_weekend():
    clock = FixedClock(ams(2026, 3, 6, 15, 0))
    due = due_at(clock.now(), "normaal")

    clock.advance(days=2)                                   # Sunday: not yet
    assert not is_overdue(due, confirmed=False, now=clock.now())
    clock.set(ams(2026, 3, 9, 15, 0))                       # Monday at the same time: overdue
    assert is_overdue(due, confirmed=False, now=clock.now())
    assert not is_overdue(due, confirmed=True, now=clock.now())
