"""One store's events one after another in a process, so that they share its connection (issue 25).

A service that takes many kinds of events, each in its own queue (signals: some twenty), hears of one
incident several times (reported, triaged, referred), at moments apart. With hundreds of municipalities its
pool (MELDPUNT_DB_MAX_CONNECTIONS, one cap over every store) no longer holds the incident's store when the
next of its events comes, so each event opened a connection: a process fork on the server each, 16.7 a
second from signals alone for 12 s after a 342-store burst, on the two cores the next reports needed.

Here the handlers of a process that take part (`event_handler(..., store_lanes=True)`) hand their events to
one waiting list of the container instead of each to a worker at once. A free worker takes:

1. the next event of the store whose event just ended in it, if one waits: the connection that worker just
   gave back is the newest idle one in the pool, so this event finds it open;
2. otherwise the oldest waiting event (highest priority first, then when it occurred) of a store that has no
   event in a worker: that store's next event is then held for the one in hand (1.) rather than given a
   second connection beside it;
3. otherwise, when every waiting event's store is in a worker, the oldest of them: a worker never waits
   idle while an event waits (a region of four municipalities keeps all its workers busy, as before).

Oldest-first across the queues also keeps them level in time, so an incident's events from different
queues are in the process together and follow each other on one connection. Each event is still its own
worker, handler, transaction, inbox entry, ack, retry and parking, as without lanes; only the order in
which waiting events get a worker changes. Nothing waits here but what the broker delivered within the
consumers' prefetch (unacked: a process that dies leaves them to be delivered again).
"""
from __future__ import annotations

import bisect
import itertools
import logging
from collections import Counter

import eventlet

log = logging.getLogger(__name__)


class StoreLanes:
    """The waiting events of one container's store-lane handlers, and which store each worker has."""

    def __init__(self, container):
        self.container = container
        self._waiting: dict[str, list] = {}   # municipality -> [(order, seq, start)], oldest first
        self._in_workers: Counter = Counter()  # municipality -> its events in workers now
        self._seq = itertools.count()
        self._looking_again = False
        self.closed = False
        self.followed = 0  # events that took the connection their store's previous event left (1.)

    # ------------------------------------------------------------ the list
    def add(self, municipality: str, priority: int, occurred_at, start) -> None:
        """An event of `municipality` waits; `start()` gives it to a worker (spawn_worker, non-blocking here:
        called only while a worker is free) and returns the worker's green thread, or None when none ran."""
        if self.closed:
            return  # unacked: the broker takes it back with the stopping consumer's connection
        bisect.insort(self._waiting.setdefault(municipality, []), ((-priority, occurred_at), next(self._seq), start))
        self.dispatch()

    def close(self) -> None:
        """The container stops: what still waits is left unacked, and the broker delivers it again once the
        consumer's connection closes (to another instance, or to this one's next start); given back one by
        one here, it would come straight back to the consumers still stopping. What is in workers ends."""
        self.closed = True
        self._waiting = {}

    @property
    def waiting(self) -> int:
        return sum(len(items) for items in self._waiting.values())

    def next_store(self, after: str | None = None) -> str | None:
        """Which store's event a free worker takes (the module's rules 1-3); `after`: the store whose event
        just ended in that worker."""
        if not self._waiting:
            return None
        idle = [(items[0][:2], code) for code, items in self._waiting.items() if not self._in_workers[code]]
        best = min(idle or [(items[0][:2], code) for code, items in self._waiting.items()])
        if after is not None and after in self._waiting and self._waiting[after][0][0][0] <= best[0][0][0]:
            self.followed += 1
            return after  # not before an event of higher priority
        return best[1]

    # ------------------------------------------------------------ workers
    def dispatch(self, after: str | None = None) -> None:
        """Give waiting events to free workers."""
        while self._waiting and not self.closed and self.container._worker_pool.free() > 0:
            code = self.next_store(after)
            after = None
            items = self._waiting[code]
            _, _, start = items.pop(0)
            if not items:
                del self._waiting[code]
            try:
                thread = start()
            except Exception:  # start() answers the broker itself (requeue) when no worker can run
                log.exception("could not start a worker for an event of %s", code)
                continue
            if thread is None:
                continue
            self._in_workers[code] += 1
            thread.link(self._ended, code)
        if self._waiting and not self._in_workers and not self._looking_again and not self.closed:
            # every worker busy with other work (timers, HTTP): no event of ours ends to hand these out
            self._looking_again = True
            eventlet.spawn_after(LOOK_AGAIN_SECONDS, self._look_again)

    def _look_again(self) -> None:
        self._looking_again = False
        try:
            self.dispatch()
        except Exception:
            log.exception("store lanes could not hand out waiting events")

    def _ended(self, thread, code: str) -> None:
        """Linked to a worker's green thread: runs once it has ended and its place in the pool is free."""
        self._in_workers[code] -= 1
        if not self._in_workers[code]:
            del self._in_workers[code]
        try:
            self.dispatch(after=code)
        except Exception:  # never into the green thread that is ending
            log.exception("store lanes could not hand out waiting events")


# How soon waiting events are looked at again when the workers are all busy with work that is not theirs.
LOOK_AGAIN_SECONDS = 0.01


def lanes_of(container) -> StoreLanes:
    """The container's one StoreLanes, made on first use (kept on the container: extensions see it through a
    weak proxy)."""
    lanes = getattr(container, "hub_store_lanes", None)
    if lanes is None:
        lanes = container.hub_store_lanes = StoreLanes(container)
    return lanes
