"""Periodic scans over a large region visit every store once per round, a share per tick."""
import pytest

from shared.scan import Rotation, full_round_seconds


def test_a_small_region_is_visited_whole_on_every_tick():
    rotation = Rotation()
    codes = ["GM0687", "GM0718", "GM0664", "GM0715"]
    assert rotation.due(codes, 5) == codes
    assert rotation.due(codes, 5) == codes


def test_every_dutch_municipality_is_visited_once_per_round_a_share_per_tick():
    codes = [f"GM{n:04d}" for n in range(342)]
    rotation = Rotation()
    assert full_round_seconds(5, len(codes)) == pytest.approx(34.2)
    ticks = [rotation.due(codes, 5) for _ in range(7)]  # 7 ticks of 5 s: one 34.2 s round
    assert {len(t) for t in ticks} == {50}  # 342 * 5 / 34.2: ten stores a second, not 68
    visited = [code for tick in ticks for code in tick]
    assert set(visited) == set(codes)
    assert visited == (codes * 2)[:350]  # in turn, wrapping around to the start
    assert rotation.due(codes, 5)[0] == codes[350 % 342]  # the turn goes on where it stopped


def test_a_long_tick_visits_all_stores_each_time():
    codes = [f"GM{n:04d}" for n in range(342)]
    assert Rotation().due(codes, 60) == codes  # a round takes at least 34.2 s: a 60 s tick covers it
    assert Rotation().due([], 5) == []


def test_the_outbox_nets_full_look_is_rarer_in_a_large_region():
    from shared.scan import SWEEP_SECONDS_PER_STORE
    assert full_round_seconds(1.0, 4, SWEEP_SECONDS_PER_STORE) == 2.0  # the demo region
    assert full_round_seconds(1.0, 342, SWEEP_SECONDS_PER_STORE) == pytest.approx(171)


def stores(n):
    return [(f"GM{i:04d}", f"dsn-{i}") for i in range(n)]


def test_the_outbox_sweeps_every_store_at_start_once_more_after_the_grace_then_at_the_nets_pace():
    from shared.scan import SweepSchedule
    demo = stores(4)
    schedule = SweepSchedule(period=1.0, now=0.0, second_look_after=2.5)
    nothing_owed = lambda dsn: False  # noqa: E731
    assert schedule.due(0.0, demo, nothing_owed) == demo
    assert schedule.due(0.5, demo, nothing_owed) == []
    assert schedule.wake_at(owed=False) == 2.0  # the demo's net: 4 stores x 0.5 s
    assert schedule.due(2.0, demo, nothing_owed) == demo
    assert schedule.due(3.0, demo, nothing_owed) == []
    assert schedule.due(4.0, demo, nothing_owed) == demo


def test_in_a_large_region_only_the_stores_owed_a_look_are_swept_between_the_nets_rounds():
    from shared.scan import SweepSchedule
    region = stores(342)
    owed = {"dsn-7"}
    schedule = SweepSchedule(period=1.0, now=0.0, second_look_after=2.5)
    assert len(schedule.due(0.0, region, owed.__contains__)) == 342
    assert schedule.wake_at(owed=True) == 1.0
    assert schedule.due(1.0, region, owed.__contains__) == [("GM0007", "dsn-7")]
    assert schedule.due(1.5, region, owed.__contains__) == []  # once per period
    assert len(schedule.due(2.5, region, owed.__contains__)) == 342  # the second look after start
    owed.clear()
    assert schedule.due(3.5, region, owed.__contains__) == []
    assert schedule.wake_at(owed=False) == pytest.approx(2.5 + 171)
    assert len(schedule.due(173.5, region, owed.__contains__)) == 342
