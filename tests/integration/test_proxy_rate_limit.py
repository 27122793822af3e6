"""The public form's rate limit per address behind the documented TLS proxy (issue 21, item 10), against a
running intake: with the proxy configured each reporter has their own bucket (before, every reporter behind
the proxy shared the proxy's); without it, X-Forwarded-For is ignored, so a script cannot escape its bucket
by writing the header itself."""
from __future__ import annotations

import dataclasses

import requests

from shared.ratelimit import parse_networks
from tests.support import Hub

BURST = 10  # intake's form_burst in the demo region


def _post(hub, forwarded_for=None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    code = hub.region.codes[0]
    # no CSRF token: 400 when the bucket lets it through, 429 when it does not (the limit comes first)
    return requests.post(hub.url("intake", f"/meld/{code}"), data={"description": "x"}, headers=headers,
                         timeout=10).status_code


def test_behind_a_trusted_proxy_each_reporter_has_their_own_bucket(settings, start_services):
    proxied = dataclasses.replace(settings, trusted_proxies=parse_networks("127.0.0.1"))
    start_services("intake", settings=proxied)
    hub = Hub(proxied)
    assert [_post(hub, "198.51.100.1") for _ in range(BURST)] == [400] * BURST
    assert _post(hub, "198.51.100.1") == 429
    assert _post(hub, "203.0.113.9, 198.51.100.1") == 429  # what the client writes on the left does not help
    assert _post(hub, "198.51.100.2") == 400                # another reporter behind the same proxy goes on


def test_without_a_configured_proxy_the_header_is_ignored(settings, start_services):
    start_services("intake", settings=settings)
    hub = Hub(settings)
    assert [_post(hub, f"198.51.100.{i}") for i in range(BURST)] == [400] * BURST
    assert _post(hub, "198.51.100.99") == 429
