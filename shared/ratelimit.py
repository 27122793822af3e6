"""Token buckets in a process's memory: per address on the public form, per API key on the API; and which
address a request comes from when it passes a proxy.

A restart forgets them and several processes of one service each count on their own
(docs/security.md says so). Enough against a script hammering an endpoint or a stolen key
being used to page through a municipality's cases at machine speed. Memory is bounded: at most
`max_addresses` buckets, the least recently used forgotten first.
"""
from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict


class TokenBucket:
    def __init__(self, rate_per_minute: float, burst: int, clock=time.monotonic, max_addresses: int = 10000):
        self.rate = rate_per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # oldest use first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, who: str) -> float:
        """Take one token for `who`: 0.0 when there was one, else the seconds until there is."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(who, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if len(self._buckets) >= self.max_addresses:
                self._make_room(now)
            if tokens < 1.0:
                self._buckets[who] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[who] = (tokens - 1.0, now)
            return 0.0

    def _make_room(self, now: float) -> None:
        """Forget buckets that have filled up again (they hold no information), then the least recently used."""
        full = [who for who, (tokens, last) in self._buckets.items()
                if tokens + (now - last) * self.rate >= self.burst]
        for who in full:
            del self._buckets[who]
        while len(self._buckets) >= self.max_addresses:
            self._buckets.popitem(last=False)

    def allow(self, who: str) -> bool:
        return self.take(who) == 0.0


def parse_networks(text: str) -> tuple:
    """`MELDPUNT_TRUSTED_PROXIES`: addresses or networks separated by commas (ValueError names a bad one)."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network such as 10.0.0.5 or 10.0.0.0/24") from None
    return tuple(networks)


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: tuple) -> str:
    """The address a request comes from. `X-Forwarded-For` counts only when the request comes from a trusted
    proxy; then the right-most address in it that is not itself a trusted proxy is the client (a client can
    put anything on the left). An IPv6 client counts by its /64, what one household or host holds."""
    peer = _address(remote_addr or "")
    client = peer
    if _trusted(peer, trusted_proxies) and forwarded_for:
        for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
            address = _address(hop)
            if address is None:  # garbage in the header: stop at what the proxies vouched for
                break
            client = address
            if not _trusted(address, trusted_proxies):
                break
    if client is None:
        return remote_addr or "unknown"
    if client.version == 6:
        return str(ipaddress.ip_network(f"{client}/64", strict=False))
    return str(client)
