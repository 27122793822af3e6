"""Signed webhooks to police units: the signature, the backoff, and one HTTP attempt.

The receiver checks `X-Meldpunt-Signature: sha256=<hex>`, an HMAC-SHA256 with the unit's
secret over `<X-Meldpunt-Timestamp>.<raw body>`, and deduplicates on `X-Meldpunt-Delivery`.
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


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def next_attempt(now: datetime, attempts_so_far: int, first: float, maximum: float) -> datetime:
    """Exponential backoff: first, 2×first, 4×first … capped at maximum."""
    return now + timedelta(seconds=min(maximum, first * (2 ** max(0, attempts_so_far - 1))))


def encode(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def deliver(url: str, secret: bytes, delivery_id: str, event_type: str, body: dict, now: datetime,
            timeout: float) -> str | None:
    """POST once; None when the receiver answered 2xx, else a one-line reason."""
    raw = encode(body)
    timestamp = str(int(now.timestamp()))
    headers = {"Content-Type": "application/json", TIMESTAMP: timestamp, DELIVERY: delivery_id,
               EVENT_TYPE: event_type, SIGNATURE: sign(secret, timestamp, raw)}
    try:
        response = requests.post(url, data=raw, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return f"{type(exc).__name__}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"
