"""Token buckets in a process's memory: per address on the public form, per API key on the API.

A restart forgets them and several processes of one service each count on their own
(docs/security.md says so). Enough against a script hammering an endpoint or a stolen key
being used to page through a municipality's cases at machine speed.
"""
from __future__ import annotations

import threading
import time


class TokenBucket:
    def __init__(self, rate_per_minute: float, burst: int, clock=time.monotonic, max_addresses: int = 10000):
        self.rate = rate_per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self.max_addresses = max_addresses
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str) -> float:
        """Take one token for `who`: 0.0 when there was one, else the seconds until there is."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(who, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if len(self._buckets) >= self.max_addresses and who not in self._buckets:
                # Forget full buckets first: they hold no information.
                self._buckets = {a: b for a, b in self._buckets.items() if b[0] < self.burst}
            if tokens < 1.0:
                self._buckets[who] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[who] = (tokens - 1.0, now)
            return 0.0

    def allow(self, who: str) -> bool:
        return self.take(who) == 0.0
