"""Keyed hashes of perpetrator and victim identifiers, so repeats can be found without names.

An identifier (name with date of birth, online handle, phone number, licence plate) is
normalised and turned into HMAC-SHA256 with the region secret the hub holds. Only these
keyed hashes are compared across municipalities; without the secret they cannot be
reversed by trying likely names. docs/triage.md explains the privacy design.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date

from shared.keyed import purpose_key



def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text).split())


def name_with_birth_date(name: str | None, birth_date) -> str | None:
    """'Kees  Bakker' + 1975-04-12 → 'name:bakker kees|1975-04-12' (name parts sorted: order
    of first and last name does not matter). A name without a birth date is too ambiguous."""
    if not name or not birth_date:
        return None
    if isinstance(birth_date, str):
        birth_date = date.fromisoformat(birth_date[:10])
    parts = sorted(_plain(name).split())
    return f"name:{' '.join(parts)}|{birth_date.isoformat()}" if parts else None


def online_handle(handle: str | None) -> str | None:
    if not handle:
        return None
    handle = _plain(handle.strip().lstrip("@")).replace(" ", "")
    return f"handle:{handle}" if handle else None


def phone(number: str | None) -> str | None:
    """Dutch numbers in any notation: '06-12 34 56 78', '+31 6 12345678', '0031612345678'."""
    if not number:
        return None
    digits = re.sub(r"\D", "", number)
    if digits.startswith("0031"):
        digits = "0" + digits[4:]
    elif digits.startswith("31") and number.strip().startswith("+"):
        digits = "0" + digits[2:]
    return f"phone:{digits}" if len(digits) >= 6 else None


def licence_plate(plate: str | None) -> str | None:
    if not plate:
        return None
    plate = re.sub(r"[^A-Z0-9]", "", plate.upper())
    return f"plate:{plate}" if len(plate) >= 4 else None


def email(address: str | None) -> str | None:
    return f"email:{address.strip().lower()}" if address and "@" in address else None


def perpetrator_identifiers(perpetrator: dict) -> set[str]:
    found = {name_with_birth_date(perpetrator.get("name"), perpetrator.get("birth_date")),
             online_handle(perpetrator.get("online_handle")), phone(perpetrator.get("phone")),
             licence_plate(perpetrator.get("licence_plate"))}
    return {i for i in found if i}


def victim_identifiers(reporter: dict | None) -> set[str]:
    if not reporter:
        return set()
    found = {email(reporter.get("email")), phone(reporter.get("phone"))}
    return {i for i in found if i}


def keyed_hash(secret: bytes, identifier: str) -> bytes:
    return hmac.new(secret, identifier.encode("utf-8"), hashlib.sha256).digest()


def keys_of(secret: bytes, perpetrators: list[dict], reporter: dict | None) -> dict[str, set[bytes]]:
    """{'perpetrator': {hash, …}, 'victim': {hash, …}} for one case, with the identity key derived from the
    region secret (shared/keyed.py: statistics' case references use another)."""
    secret = purpose_key(secret, "identity")
    return {
        "perpetrator": {keyed_hash(secret, i) for p in perpetrators for i in perpetrator_identifiers(p)},
        "victim": {keyed_hash(secret, i) for i in victim_identifiers(reporter)},
    }
