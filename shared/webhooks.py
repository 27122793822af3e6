"""Signed webhooks to partners, whoever sends them (police units, subscribers): the signature, its check,
the backoff, and one HTTP attempt.

The receiver checks `X-Meldpunt-Signature: sha256=<hex>`, an HMAC-SHA256 with its secret over
`<X-Meldpunt-Timestamp>.<raw body>`, and deduplicates on `X-Meldpunt-Delivery`. While a key is being
rotated the hub signs with both keys and the header carries both signatures, comma-separated
(`sha256=<new>, sha256=<old>`): a receiver that has either key accepts, so the partner can switch keys
whenever it likes during the overlap (docs/partners.md#signatures).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

import requests

SIGNATURE = "X-Meldpunt-Signature"
TIMESTAMP = "X-Meldpunt-Timestamp"
DELIVERY = "X-Meldpunt-Delivery"
EVENT_TYPE = "X-Meldpunt-Event-Type"
# A receiver should refuse a timestamp further than this from its own clock: a captured request cannot
# be replayed later (the delivery id catches a replay within the window).
TOLERANCE_SECONDS = 300


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secrets: list[bytes], timestamp: str, body: bytes) -> str:
    """The header's value: one signature per valid key (two during a rotation), newest key first."""
    return ", ".join(sign(secret, timestamp, body) for secret in secrets)


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether any signature in the header was made with `secret` over this timestamp and body."""
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in (signature or "").split(","))


def fresh(timestamp: str, now: datetime, tolerance: float = TOLERANCE_SECONDS) -> bool:
    """Whether a request's timestamp (Unix seconds) lies within `tolerance` of `now`."""
    try:
        return abs(now.timestamp() - int(timestamp)) <= tolerance
    except (TypeError, ValueError):
        return False


def next_attempt(now: datetime, attempts_so_far: int, first: float, maximum: float) -> datetime:
    """Exponential backoff: first, 2×first, 4×first … capped at maximum."""
    return now + timedelta(seconds=min(maximum, first * (2 ** max(0, attempts_so_far - 1))))


def encode(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def post(url: str, raw: bytes, content_type: str, secrets: list[bytes], delivery_id: str, event_type: str,
         now: datetime, timeout: float) -> str | None:
    """POST `raw` once, signed with every key in `secrets`; None when the receiver answered 2xx, else a
    one-line reason (never the body)."""
    timestamp = str(int(now.timestamp()))
    headers = {"Content-Type": content_type, TIMESTAMP: timestamp, DELIVERY: delivery_id,
               EVENT_TYPE: event_type, SIGNATURE: signature_header(secrets, timestamp, raw)}
    try:
        response = requests.post(url, data=raw, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return f"{type(exc).__name__}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"
