"""Statistics that no arithmetic undoes: for random regions, everything the people of each
municipality are shown (every week, month, quarter and year, the region and every municipality,
as staff and as analyst) is handed to an integer-programming solver, which tries to pin each
hidden number they did not know. None may be pinned (docs/statistics.md, "The attacker test").

MELDPUNT_STATS_ATTACK_EXAMPLES=200 tries more and larger regions (about a minute per 20)."""
from __future__ import annotations

import os
import random
from datetime import date

from hypothesis import HealthCheck, given, settings

from services.statistics import suppression
from tests.unit.statistics_attacker import Attack
from tests.unit.statistics_world import Incident, World, worlds

EXAMPLES = int(os.environ.get("MELDPUNT_STATS_ATTACK_EXAMPLES", "12"))
HEAVY = "MELDPUNT_STATS_ATTACK_EXAMPLES" in os.environ


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=not HEAVY,
          database=None)
@given(worlds(max_municipalities=5 if HEAVY else 4, max_incidents=80 if HEAVY else 40))
def test_no_hidden_number_is_pinned_by_any_municipality(world):
    for municipality in world.municipalities:
        report = Attack(world, municipality).run(random.Random(1))
        print(f"n={len(world.municipalities)} incidents={len(world.incidents)} threshold={world.threshold} "
              f"{municipality}: vars={report.variables} eqs={report.equations} hidden={report.hidden_numbers} "
              f"protected={report.protected} pinned={len(report.pinned)} solves={report.solves}")
        assert not report.pinned, [(t.where, t.true, t.own) for t in report.pinned[:5]]


def quiet_region():
    """Issue 21's first attack: a month hidden alone, its quarter and the other months shown."""
    made = []
    for code, months in {"GM0687": (2, 7, 9), "GM0718": (6, 8, 7), "GM0664": (5, 5, 6)}.items():
        for month, n in zip((1, 2, 3), months):
            made += [Incident(code, date(2026, month, 10 + i % 5), "ambtenaar", "normaal", "api", "balie",
                              ("bedreiging",), "niet_verwezen") for i in range(n)]
    return World(["GM0687", "GM0718", "GM0664"], made, date(2026, 1, 1), date(2026, 3, 31), threshold=5)


def test_the_attacker_finds_what_small_number_hiding_alone_leaves(monkeypatch):
    """The test can fail: with only the small numbers hidden (no protecting moves), the solver
    recovers GM0687's January 2 from its first quarter."""
    world = quiet_region()
    assert not Attack(world, "GM0718").run().pinned

    monkeypatch.setattr(suppression, "_partners", lambda *args: {"anyone", "else"})
    suppression._protect.cache_clear()
    try:
        pinned = Attack(quiet_region(), "GM0718").run().pinned
    finally:
        suppression._protect.cache_clear()
    assert any("GM0687" in t.where and t.true == 2 for t in pinned), [t.where for t in pinned]
