"""Signed webhooks to police units: what a unit receives, in its format, through shared/webhooks.py.

The receiver checks `X-Meldpunt-Signature: sha256=<hex>`, an HMAC-SHA256 with the unit's
secret over `<X-Meldpunt-Timestamp>.<raw body>`, and deduplicates on `X-Meldpunt-Delivery`.
A unit whose `police_liaison.formats` says `cloudevents` gets each event as a CloudEvent in the
HTTP binding's structured mode (application/cloudevents+json, shared/partner_events.py), signed
the same way; the others the hub's envelope as JSON.
"""
from __future__ import annotations

from datetime import datetime

from shared import partner_events
from shared.webhooks import (DELIVERY, EVENT_TYPE, SIGNATURE, TIMESTAMP, encode, next_attempt,  # noqa: F401
                             post, sign, verify)


def deliver(url: str, secret: bytes, delivery_id: str, event_type: str, body: dict, now: datetime,
            timeout: float, form: str = partner_events.ENVELOPE) -> str | None:
    """POST once (the envelope, or with `form` cloudevents the CloudEvent); None when the receiver
    answered 2xx, else a one-line reason."""
    if form == partner_events.CLOUDEVENTS:
        ce_headers, raw = partner_events.http_message(body)
        content_type = ce_headers["content-type"]
    else:
        raw, content_type = encode(body), "application/json"
    return post(url, raw, content_type, [secret], delivery_id, event_type, now, timeout)
