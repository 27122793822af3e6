"""HMAC-SHA256 request signatures of API keys that sign: what is signed and when a signature holds.

A key with a signing secret signs every request, to every service: `X-Meldpunt-Timestamp: <unix seconds>`
and `X-Meldpunt-Signature: sha256=<hex of HMAC-SHA256(secret, canonical)>`, where `canonical` is

    <timestamp> LF <METHOD> LF <path> LF <query string as sent, without '?'> LF <body bytes>

so that a signature holds for one method, one path, one query and one body at one time. Plain code,
no nameko or SQL; shared/service.py checks it for every key-guarded endpoint (and replays against the
key's case store).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TIMESTAMP_HEADER = "X-Meldpunt-Timestamp"
SIGNATURE_HEADER = "X-Meldpunt-Signature"
_TIMESTAMP = re.compile(r"^\d{1,12}$")
_SIGNATURE = re.compile(r"^sha256=(?P<hex>[0-9a-f]{64})$")


class SignatureRefused(ValueError):
    """Why a request's signature does not hold: `code` is one of missing_timestamp, missing_signature,
    bad_timestamp, bad_signature_format, expired, wrong_signature, replayed, unverifiable; `header` the header
    at fault."""

    def __init__(self, code: str, header: str):
        self.code, self.header = code, header
        super().__init__(code)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def canonical(timestamp: int | str, method: str, path: str, query: str | bytes, body: bytes) -> bytes:
    """What a signature covers: timestamp, method, path, query and body, each on its own line."""
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    head = f"{timestamp}\n{method.upper()}\n{path}\n{query}\n"
    return head.encode("utf-8") + body


def sign(secret: str, timestamp: int | str, method: str, path: str, query: str | bytes, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), canonical(timestamp, method, path, query, body), hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str | None, signature: str | None, method: str, path: str,
           query: str | bytes, body: bytes, now: float, window_seconds: int) -> str:
    """The signature's hex if it holds (the caller then checks it was not seen before); SignatureRefused if not."""
    if not timestamp:
        raise SignatureRefused("missing_timestamp", TIMESTAMP_HEADER)
    if not signature:
        raise SignatureRefused("missing_signature", SIGNATURE_HEADER)
    if not _TIMESTAMP.match(timestamp.strip()):
        raise SignatureRefused("bad_timestamp", TIMESTAMP_HEADER)
    match = _SIGNATURE.match(signature.strip().lower())
    if not match:
        raise SignatureRefused("bad_signature_format", SIGNATURE_HEADER)
    if abs(now - int(timestamp)) > window_seconds:
        raise SignatureRefused("expired", TIMESTAMP_HEADER)
    expected = sign(secret, timestamp.strip(), method, path, query, body)
    if not hmac.compare_digest(expected, f"sha256={match['hex']}"):
        raise SignatureRefused("wrong_signature", SIGNATURE_HEADER)
    return match["hex"]


# The problem detail per refusal, in the caller's language.
REASONS = {
    "missing_timestamp": {"en": "this key signs its requests: send X-Meldpunt-Timestamp (unix seconds)",
                          "nl": "deze sleutel ondertekent verzoeken: stuur X-Meldpunt-Timestamp (unix-seconden)"},
    "missing_signature": {"en": "this key signs its requests: send X-Meldpunt-Signature: sha256=<hex>",
                          "nl": "deze sleutel ondertekent verzoeken: stuur X-Meldpunt-Signature: sha256=<hex>"},
    "bad_timestamp": {"en": "must be unix seconds", "nl": "moet unix-seconden zijn"},
    "bad_signature_format": {"en": "must read sha256=<64 hex characters>",
                             "nl": "moet luiden sha256=<64 hexadecimale tekens>"},
    "expired": {"en": "lies outside the replay window of {window} seconds; sign again with the current time",
                "nl": "ligt buiten het venster van {window} seconden; onderteken opnieuw met de huidige tijd"},
    "wrong_signature": {"en": "does not match HMAC-SHA256 over timestamp, method, path, query and body",
                        "nl": "klopt niet met HMAC-SHA256 over tijdstempel, methode, pad, query en inhoud"},
    "replayed": {"en": "was already used; sign each request anew",
                 "nl": "is al gebruikt; onderteken elk verzoek opnieuw"},
    "unverifiable": {"en": "this service cannot check this key's signatures (it holds no master key); use a key "
                           "that does not sign",
                     "nl": "deze dienst kan de ondertekening van deze sleutel niet controleren (geen hoofdsleutel); "
                           "gebruik een sleutel die niet ondertekent"},
}
DETAIL = {"en": "the request signature does not hold", "nl": "de ondertekening van het verzoek klopt niet"}
