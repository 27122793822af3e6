"""A key per purpose from the region secret (issue 21, item 2): HKDF-SHA256 with a label, so that the key of one
kind of keyed hash (triage's identity hashes, statistics' case references, the workbench's person assertions in
shared/assertion.py) opens none of the others.

Statistics never holds the region secret: it is given its purpose key alone (MELDPUNT_STATISTICS_KEY, printed by
`meldpunt keys derive-statistics`), from which it makes its case references and checks the person assertions
addressed to it (shared/assertion.py). A leaked statistics key opens neither triage's identity hashes nor another
service's assertions."""
from __future__ import annotations

import threading

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSES = {
    "identity": b"meldpunt-identity-hashes-v1",     # services/triage/identity.py
    "case_ref": b"meldpunt-statistics-case-ref-v1",  # services/statistics/domain.py
}
_derived: dict[tuple[bytes, str], bytes] = {}
_lock = threading.Lock()


def purpose_key(region_secret: bytes, purpose: str) -> bytes:
    """The 32-byte key of one purpose, derived from the region secret (computed once per process)."""
    slot = (region_secret, purpose)
    with _lock:
        key = _derived.get(slot)
        if key is None:
            key = _derived[slot] = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                                        info=PURPOSES[purpose]).derive(region_secret)
        return key


def statistics_key(region_secret: bytes) -> bytes:
    """Statistics' own key, derived from the region secret: the key of its case references (the label is the
    case_ref purpose's, so that references made before statistics had a key of its own stay the same)."""
    return purpose_key(region_secret, "case_ref")


def statistics_key_of(settings) -> bytes:
    """MELDPUNT_STATISTICS_KEY where it is given (statistics' containers), else derived from the region secret (a
    laptop's `make run`, the CLI). Neither: a ConfigError naming both."""
    from shared.config import ConfigError, region_secret

    if settings.statistics_key:
        return settings.statistics_key
    try:
        return statistics_key(region_secret(settings))
    except ConfigError:
        raise ConfigError("statistics needs MELDPUNT_STATISTICS_KEY (`meldpunt keys derive-statistics` prints it "
                          "from the region secret) for its case references and person assertions") from None
