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


def test_the_outbox_nets_full_look_costs_a_connection_per_store_per_hour_in_a_large_region():
    from shared.scan import SWEEP_SECONDS_PER_STORE
    assert full_round_seconds(1.0, 4, SWEEP_SECONDS_PER_STORE) == pytest.approx(42.1, abs=0.1)  # the demo region
    assert full_round_seconds(1.0, 342, SWEEP_SECONDS_PER_STORE) == pytest.approx(3600)


def stores(n):
    return [(f"GM{i:04d}", f"dsn-{i}") for i in range(n)]


def test_the_outbox_sweeps_every_store_at_start_once_more_after_the_grace_then_at_the_nets_pace():
    from shared.scan import SweepSchedule
    demo = stores(4)
    schedule = SweepSchedule(period=1.0, now=0.0, second_look_after=2.5)
    nothing_owed = lambda dsn: False  # noqa: E731
    assert schedule.due(0.0, demo, nothing_owed) == demo
    assert schedule.due(0.5, demo, nothing_owed) == []
    assert schedule.wake_at(owed=False) == 2.5  # the second look, once the start's young rows are not
    assert schedule.due(2.5, demo, nothing_owed) == demo
    assert schedule.due(3.0, demo, nothing_owed) == []
    assert schedule.wake_at(owed=False) == pytest.approx(2.5 + 4 * 3600 / 342)  # then the net's pace
    assert schedule.due(2.5 + 43, demo, nothing_owed) == demo


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
    assert schedule.wake_at(owed=False) == pytest.approx(2.5 + 3600)
    assert len(schedule.due(3603, region, owed.__contains__)) == 342


def test_a_store_that_fails_holds_back_only_itself_not_the_stores_after_it():
    """Its PostgreSQL server down, one municipality's store raises: the round goes on to the
    others, and the failing store is tried again on the next round."""
    from shared.scan import Rotations

    rotations = Rotations()
    rotations.setup()
    codes = ["GM0664", "GM0715", "GM0687", "GM0718"]  # the failing ones first
    visited = []

    def work(code):
        if code in ("GM0664", "GM0715"):
            raise OSError("connection refused: server down")
        visited.append(code)

    assert rotations.each("escalate", codes, 5, work) == ["GM0664", "GM0715"]
    assert visited == ["GM0687", "GM0718"]
    assert rotations.each("escalate", codes, 5, work) == ["GM0664", "GM0715"]
    assert visited == ["GM0687", "GM0718"] * 2


def test_a_tick_visits_only_the_stores_whose_deadline_has_come_once_each_is_known():
    """The due-time index (issue 25): every store once at start (paced), then only where a deadline
    passed, learnt from the visit's own query or told by a commit of this process."""
    from datetime import datetime, timedelta, timezone

    from shared.scan import Rotations

    rotations = Rotations()
    rotations.setup()
    now = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    codes = [f"GM{n:04d}" for n in range(342)]
    pending = {"GM0007": now + timedelta(minutes=10)}
    visited = []

    def work(code):
        visited.append(code)
        return pending.get(code)

    for _ in range(7):  # the start: every store once, fifty per 5 s tick
        rotations.each_due("escalate", codes, 5, now, work)
    assert sorted(visited) == codes
    visited.clear()
    assert rotations.each_due("escalate", codes, 5, now, work) == [] and visited == []  # idle: no store
    rotations.tell("escalate", "GM0100", now + timedelta(minutes=1))  # a commit of this process
    rotations.each_due("escalate", codes, 5, now + timedelta(seconds=59), work)
    assert visited == []
    rotations.each_due("escalate", codes, 5, now + timedelta(minutes=1), work)
    assert visited == ["GM0100"]
    rotations.each_due("escalate", codes, 5, now + timedelta(minutes=10), work)
    assert visited == ["GM0100", "GM0007"]


def test_a_deadline_told_while_its_store_is_being_visited_is_not_lost():
    from datetime import datetime, timedelta, timezone

    from shared.scan import Rotations

    rotations = Rotations()
    rotations.setup()
    now = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    visited = []

    def work(code):  # the visit read "nothing waits" just before a commit told of a new deadline
        visited.append(code)
        if len(visited) == 1:
            rotations.tell("overdue", code, now + timedelta(minutes=5))
        return None

    rotations.each_due("overdue", ["GM0687"], 30, now, work)
    rotations.each_due("overdue", ["GM0687"], 30, now + timedelta(minutes=5), work)
    assert visited == ["GM0687", "GM0687"]


def test_a_store_whose_visit_failed_is_visited_again_on_the_next_tick():
    from datetime import datetime, timezone

    from shared.scan import Rotations

    rotations = Rotations()
    rotations.setup()
    now = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    calls = []

    def work(code):
        calls.append(code)
        if len(calls) == 1:
            raise OSError("server down")
        return None

    assert rotations.each_due("reminders", ["GM0664"], 60, now, work) == ["GM0664"]
    assert rotations.each_due("reminders", ["GM0664"], 60, now, work) == []
    assert rotations.each_due("reminders", ["GM0664"], 60, now, work) == []
    assert calls == ["GM0664", "GM0664"]
