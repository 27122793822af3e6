"""Dutch working days: weekends and national public holidays (the `holidays` package) are not.

Deadlines such as "triage within one working day" count in working days in Dutch time.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
# The package imports its ~250 country modules on the first look-up (about 55 ms of CPU): at the process's start
# here, not inside the first incident's deadline (issue 25).
import holidays.countries  # noqa: F401

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@lru_cache(maxsize=64)
def _holidays(year: int):
    return holidays.country_holidays("NL", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def holiday_name(day: date) -> str | None:
    return _holidays(day.year).get(day)


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(moment: datetime, days: int) -> datetime:
    """The same Dutch clock time `days` working days later; a start outside working days
    counts from the start of the next working day."""
    local = moment.astimezone(AMSTERDAM)
    day = local.date()
    if not is_working_day(day):
        day = _first_working_day_from(day)
        local = datetime.combine(day, time(9, 0), AMSTERDAM)
    for _ in range(days):
        day = next_working_day(day)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), AMSTERDAM).astimezone(moment.tzinfo)


def _first_working_day_from(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def end_of_working_day(moment: datetime, closing: time = time(17, 0)) -> datetime:
    """Closing time of the working day `moment` falls on (or of the next one, if it is not one
    or it is already past closing)."""
    local = moment.astimezone(AMSTERDAM)
    day = local.date()
    if not is_working_day(day) or local.time() >= closing:
        day = next_working_day(day) if is_working_day(day) else _first_working_day_from(day)
    return datetime.combine(day, closing, AMSTERDAM).astimezone(moment.tzinfo)
