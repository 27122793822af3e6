"""Intake's decisions, free of nameko and SQL: what an incident becomes and what its event says."""
from __future__ import annotations

from shared import triage_rules
from shared import vocabulary
from shared.vocabulary import CONSENTS, URGENCY_PRIORITY


def reported_payload(report: dict, channel: str) -> dict:
    """The incident_reported payload: classifications and consent only, never what or who."""
    return {
        "direct_danger": bool(report.get("direct_danger")),
        "channel": channel,
        "occurred_at": report["occurred_at"],
        "location_type": report["location_type"],
        "target_role": report["target_role"],
        "reported_categories": list(report["categories"]),
        "anonymous": is_anonymous(report),
        "perpetrator_count": len(report["perpetrators"]),
        "consent": dict(report["consent"]),
    }


def updated_payload(row: dict, channel: str, changes: list[str], evidence_count: int) -> dict:
    """The incident_updated payload: the case's classifications as they stand now (triage
    decides again on them) and what kind of information was added."""
    consent = row["consent"] or {}
    current = {
        "occurred_at": row["occurred_at"], "location_type": row["location_type"],
        "target_role": row["target_role"], "categories": row["reported_categories"] or [],
        "reporter": row["reporter"], "perpetrators": row["perpetrators"] or [],
        "consent": {name: bool(consent.get(name)) for name in CONSENTS},
        "direct_danger": bool(row.get("direct_danger")),
    }
    return {**reported_payload(current, channel), "changes": changes, "evidence_count": evidence_count}


def priority_of(payload: dict, description: str | None, rules) -> int:
    """The priority intake records the event with: acute when the region's rules find acute danger
    (their acute floor, the same reading triage starts from; no model), so that an acute report
    overtakes every backlog from the first hop (the acute lane in the triage documentation). Otherwise 0: how
    urgent the rest is, triage decides."""
    if triage_rules.acute_reason(payload, description, rules) is not None:
        return URGENCY_PRIORITY["acuut"]
    return 0


def is_anonymous(report: dict) -> bool:
    reporter = report.get("reporter") or {}
    return not any(reporter.get(k) for k in ("name", "email", "phone"))


# ---------------------------------------------------------------- status the reporter sees

# Intake stores only its own part of the status: `ontvangen` until the reporter withdraws
# (`ingetrokken`). How far the case has come since is read, when someone asks, from the
# services that did the work (shared/case_views.py; their tables are in the same case
# store): a triage result, a referral, a care plan, and whether all of that is finished.
# Reading it costs one statement on a rare read; following three events per incident cost
# three deliveries and a transaction each on every incident.
STATUSES = ("ontvangen", "in_behandeling", "doorverwezen", "nazorg", "afgesloten", "ingetrokken")
_RANK = {status: rank for rank, status in enumerate(STATUSES)}
FINAL = ("afgesloten", "ingetrokken")

def reporter_status(own: str, *, triaged: bool, referred: bool, planned: bool, closed: bool = False) -> str:
    """The status shown for a case: `afgesloten` once its work is done, else intake's own
    status moved on by the furthest step the other services have taken (a care plan, then a
    referral, then a triage result). Forward only, so a status column an earlier release
    moved on keeps its value; a withdrawn case stays withdrawn."""
    if own in FINAL:
        return own
    if closed:
        return "afgesloten"
    reached = [status for status, done in (("in_behandeling", triaged), ("doorverwezen", referred),
                                           ("nazorg", planned)) if done]
    return max([own, *reached], key=_RANK.__getitem__)


def may_change(status: str) -> bool:
    """A reporter may add information or withdraw until the case is closed or withdrawn."""
    return status not in FINAL


# ---------------------------------------------------------------- receipt and secret

# No 0/O, 1/I/L: the reporter copies this code by hand.
RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_receipt_code(randbelow) -> str:
    chars = "".join(RECEIPT_ALPHABET[randbelow(len(RECEIPT_ALPHABET))] for _ in range(10))
    return f"MP-{chars[:5]}-{chars[5:]}"


def normalise_receipt_code(text: str) -> str:
    compact = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    if compact.startswith("MP"):
        compact = compact[2:]
    return f"MP-{compact[:5]}-{compact[5:]}" if len(compact) == 10 else ""


def hash_secret(secret: str) -> str:
    """The secret is 128 random bits, so one SHA-256 is enough; a slow hash guards low-entropy passwords."""
    import hashlib

    return hashlib.sha256(secret.strip().encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    import hmac

    return bool(stored_hash) and hmac.compare_digest(hash_secret(secret or ""), stored_hash)


# ---------------------------------------------------------------- evidence

MEDIA_TYPES = vocabulary.EVIDENCE_MEDIA_TYPES

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
          (b"GIF89a", "image/gif"), (b"%PDF-", "application/pdf"))
_MAIL_HEADERS = ("from:", "received:", "return-path:", "date:", "subject:", "to:", "message-id:",
                 "mime-version:", "delivered-to:")


def sniff_media_type(content: bytes) -> str | None:
    """The media type by content (magic bytes), never by file name; None = not an accepted kind."""
    for magic, media_type in _MAGIC:
        if content.startswith(magic):
            return media_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if not content or b"\x00" in content:
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(ch) < 32 and ch not in "\t\r\n\f" for ch in text[:4096]):
        return None
    first = text.lstrip("\r\n").split("\n", 1)[0].lower()
    if any(first.startswith(h) for h in _MAIL_HEADERS) and ("\n\n" in text or "\r\n\r\n" in text):
        return "message/rfc822"
    return "text/plain"


class EvidenceRefused(ValueError):
    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(code)


def check_evidence(content: bytes, case_total: int, max_file: int, max_case: int) -> str:
    """The media type of an acceptable file, or EvidenceRefused(too_large | case_full | wrong_type | empty)."""
    if not content:
        raise EvidenceRefused("empty")
    if len(content) > max_file:
        raise EvidenceRefused("too_large", limit=max_file)
    if case_total + len(content) > max_case:
        raise EvidenceRefused("case_full", limit=max_case)
    media_type = sniff_media_type(content)
    if media_type is None:
        raise EvidenceRefused("wrong_type")
    return media_type


_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
               "application/pdf": ".pdf", "text/plain": ".txt", "message/rfc822": ".eml"}


def safe_filename(name: str | None, media_type: str) -> str:
    """A download's file name: letters, digits, dashes and dots of the name the file came with, with
    the extension of its checked kind (a `.exe` never comes back as one)."""
    stem = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_ ") else "_"
                   for ch in (name or "bewijs").rsplit(".", 1)[0]).strip()[:80] or "bewijs"
    return stem + _EXTENSIONS.get(media_type, ".bin")
