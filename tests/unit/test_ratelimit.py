"""Rate limits behind a proxy (issue 21, item 10): the public form's buckets stay bounded, and X-Forwarded-For
counts only from a configured proxy."""
import pytest

from shared.config import ConfigError
from shared.ratelimit import TokenBucket, client_address, parse_networks


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_thousand_addresses_with_a_cap_of_a_hundred_leave_at_most_a_hundred_buckets():
    bucket = TokenBucket(6.0, 10, max_addresses=100)
    for i in range(1000):
        bucket.take(f"198.51.100.{i % 250}.{i}")
    assert len(bucket) <= 100


def test_the_address_used_last_keeps_its_count_while_others_are_forgotten():
    clock = Clock()
    bucket = TokenBucket(1.0, 2, clock=clock, max_addresses=10)
    assert bucket.allow("hammer") and bucket.allow("hammer") and not bucket.allow("hammer")
    for i in range(9):
        bucket.allow(f"other-{i}")
    assert not bucket.allow("hammer")  # still over its rate: the least recently used went first
    assert len(bucket) <= 10


def test_buckets_filled_up_again_are_forgotten_first():
    clock = Clock()
    bucket = TokenBucket(60.0, 1, clock=clock, max_addresses=3)
    bucket.allow("a")
    bucket.allow("b")
    clock.now = 10.0  # a and b are full again
    bucket.allow("c")
    bucket.allow("d")
    assert len(bucket) == 2


PROXIES = parse_networks("127.0.0.1, 10.0.0.0/8")


@pytest.mark.parametrize("peer, forwarded, client", [
    ("203.0.113.7", None, "203.0.113.7"),                         # no proxy
    ("203.0.113.7", "198.51.100.1", "203.0.113.7"),               # an untrusted peer's header is ignored
    ("127.0.0.1", "198.51.100.1", "198.51.100.1"),                # the proxy's header is believed
    ("127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),       # what the client wrote on the left does not count
    ("127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1"),      # a chain of trusted proxies is walked
    ("127.0.0.1", "10.1.2.3", "10.1.2.3"),                        # only proxies: the left-most
    ("127.0.0.1", "nonsense, 10.1.2.3", "10.1.2.3"),              # garbage stops the walk
    ("127.0.0.1", "2001:db8:1:2:3::7", "2001:db8:1:2::/64"),      # IPv6 by its /64
    ("127.0.0.1", None, "127.0.0.1"),
])
def test_the_client_address_behind_a_trusted_proxy(peer, forwarded, client):
    assert client_address(peer, forwarded, PROXIES) == client


def test_without_configured_proxies_the_header_never_counts():
    assert client_address("127.0.0.1", "198.51.100.1", ()) == "127.0.0.1"


def test_a_bad_trusted_proxy_setting_is_one_clear_line():
    from hub.registry import load_settings

    with pytest.raises(ConfigError, match="MELDPUNT_TRUSTED_PROXIES: 'proxy.example' is not an IP address"):
        load_settings({"MELDPUNT_TRUSTED_PROXIES": "10.0.0.1, proxy.example"})
    assert load_settings({"MELDPUNT_TRUSTED_PROXIES": "10.0.0.1, 10.2.0.0/16"}).trusted_proxies == parse_networks(
        "10.0.0.1,10.2.0.0/16")
