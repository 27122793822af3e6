"""Store lanes (shared/messaging/store_lanes.py): which waiting event a free worker takes, so that one store's
events follow each other on its connection, and a worker never idles while an event waits."""
from datetime import datetime, timedelta, timezone

import eventlet

from shared.messaging.store_lanes import StoreLanes

T0 = datetime(2026, 12, 7, 14, 0, tzinfo=timezone.utc)


class Thread:
    """A worker's green thread: `end()` runs what was linked to it, as eventlet does when it exits."""

    def __init__(self, workers, name):
        self.workers, self.name, self.links = workers, name, []

    def link(self, fn, *args):
        self.links.append((fn, args))

    def end(self):
        self.workers.running.remove(self)
        for fn, args in self.links:
            fn(self, *args)


class Workers:
    def __init__(self, size):
        self.size, self.running, self.started = size, [], []

    def free(self):
        return self.size - len(self.running)

    def start(self, name):
        thread = Thread(self, name)
        self.running.append(thread)
        self.started.append(name)
        return thread

    def end(self, name):
        next(t for t in self.running if t.name == name).end()


class Container:
    def __init__(self, size):
        self._worker_pool = Workers(size)


def lanes_with(size):
    container = Container(size)
    return StoreLanes(container), container._worker_pool


def add(lanes, workers, code, name, seconds, priority=0):
    lanes.add(code, priority, T0 + timedelta(seconds=seconds), lambda: workers.start(name))


def test_a_free_worker_takes_an_event_at_once():
    lanes, workers = lanes_with(2)
    add(lanes, workers, "GM1", "reported", 0)
    assert workers.started == ["reported"] and lanes.waiting == 0


def test_the_next_event_of_a_store_follows_the_one_that_ends():
    lanes, workers = lanes_with(1)
    add(lanes, workers, "GM1", "1 reported", 0)
    add(lanes, workers, "GM2", "2 reported", 1)
    add(lanes, workers, "GM1", "1 triaged", 2)       # younger than GM2's, but GM1's connection is the one open
    workers.end("1 reported")
    assert workers.started == ["1 reported", "1 triaged"]
    assert lanes.followed == 1
    workers.end("1 triaged")
    assert workers.started[-1] == "2 reported"


def test_oldest_first_among_stores_not_in_a_worker():
    lanes, workers = lanes_with(2)
    add(lanes, workers, "GM1", "1 a", 0)
    add(lanes, workers, "GM9", "9 a", 1)             # both workers busy now
    add(lanes, workers, "GM3", "3 late", 9)
    add(lanes, workers, "GM1", "1 b", 2)             # its store is in a worker: held for it
    add(lanes, workers, "GM2", "2 early", 3)
    workers.end("9 a")                                # GM9 has nothing waiting: the oldest of an idle store
    assert workers.started[-1] == "2 early"


def test_an_event_of_a_store_in_a_worker_goes_after_other_stores_events():
    lanes, workers = lanes_with(2)
    add(lanes, workers, "GM1", "1 a", 0)
    add(lanes, workers, "GM3", "3 a", 0.5)
    add(lanes, workers, "GM1", "1 b", 1)             # older, but its store's connection is in a worker
    add(lanes, workers, "GM2", "2 a", 3)
    workers.end("3 a")
    assert workers.started[-1] == "2 a"
    workers.end("1 a")
    assert workers.started[-1] == "1 b"


def test_a_worker_never_idles_while_an_event_waits():
    lanes, workers = lanes_with(2)
    add(lanes, workers, "GM1", "1 a", 0)
    add(lanes, workers, "GM1", "1 b", 1)             # only its own store's events wait: a second connection
    assert workers.started == ["1 a", "1 b"]          # (a region of few municipalities keeps every worker busy)


def test_higher_priority_goes_before_following_a_store():
    lanes, workers = lanes_with(1)
    add(lanes, workers, "GM1", "1 a", 0)
    add(lanes, workers, "GM1", "1 b", 1)
    add(lanes, workers, "GM2", "2 acute", 5, priority=9)
    workers.end("1 a")
    assert workers.started[-1] == "2 acute"


def test_waiting_events_are_handed_out_when_other_work_frees_a_worker():
    lanes, workers = lanes_with(1)
    timer = workers.start("a timer")                  # not an event of the lanes: its end tells them nothing
    add(lanes, workers, "GM1", "1 a", 0)
    assert lanes.waiting == 1
    timer.end()
    eventlet.sleep(0.05)                              # the lanes look again on their own
    assert workers.started == ["a timer", "1 a"] and lanes.waiting == 0


def test_closed_lanes_hand_out_nothing_more():
    lanes, workers = lanes_with(1)
    add(lanes, workers, "GM1", "1 a", 0)
    add(lanes, workers, "GM2", "2 a", 1)
    lanes.close()                                     # left unacked: the broker delivers them again
    add(lanes, workers, "GM3", "3 a", 2)
    workers.end("1 a")
    assert workers.started == ["1 a"] and lanes.waiting == 0


def test_a_worker_that_did_not_start_is_not_counted():
    lanes, workers = lanes_with(1)
    lanes.add("GM1", 0, T0, lambda: None)             # the container is being killed: requeued by the handler
    add(lanes, workers, "GM1", "1 b", 1)
    assert workers.started == ["1 b"]
