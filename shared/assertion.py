"""Person assertions: how the workbench tells another service which person is asking.

A person signs in to the workbench only (OpenID Connect, services/workbench/). When the
workbench calls another service's HTTP API on that person's behalf, it sends a short-lived
JWT it signed itself instead of an API key: HS256 with a key derived from the region secret
(HKDF-SHA256, label `meldpunt person assertion v1`), issuer `meldpunt-workbench`, audience the
called service, at most 60 seconds valid. Statistics holds no region secret: its assertions are
signed with a key derived from statistics' own key (shared/keyed.py), so that what statistics holds
can forge an assertion to no other service. `shared/auth.py` checks it and turns it into the same
`Principal` an API key gives (BRIEF decision 1, docs/security.md#people).
"""
from __future__ import annotations

import hashlib
import hmac
import time
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from shared.keyed import statistics_key
from shared.names import STATISTICS

ISSUER = "meldpunt-workbench"
LABEL = b"meldpunt person assertion v1"
IDENTITY_LABEL = b"meldpunt person identity v1"
MAX_LIFETIME_SECONDS = 60
ALGORITHM = "HS256"
REGION = "region"  # a person of the region (regional coordinator, analyst), not of one municipality

_keys: dict[bytes, OctKey] = {}


class AssertionRefused(Exception):
    """The token is not a person assertion this hub signed, or no longer valid."""


def _derived(secret: bytes, label: bytes) -> OctKey:
    key = _keys.get((secret, label))
    if key is None:
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)
        key = _keys[(secret, label)] = OctKey.import_key(raw)
    return key


def signing_key(region_secret: bytes, audience: str) -> OctKey:
    """The key of assertions to `audience`: HKDF-SHA256 of the region secret with its own label (so the secret's
    other uses, keyed hashes of perpetrators and case references, never meet this key); for statistics, of
    statistics' own key (`statistics_assertion_key`)."""
    if audience == STATISTICS:
        return statistics_assertion_key(statistics_key(region_secret))
    return _derived(region_secret, LABEL)


def statistics_assertion_key(key: bytes) -> OctKey:
    """The key of assertions to statistics, from statistics' own key (MELDPUNT_STATISTICS_KEY)."""
    return _derived(key, LABEL + b" statistics")


def issue(region_secret: bytes, audience: str, *, sub: str, name: str, municipality: str, roles: list[str],
          unit: str | None, session: str, email: str | None = None, act_in: str | None = None,
          now: float | None = None, lifetime: int = 30) -> str:
    """A signed assertion for one call to `audience` (a service name). `act_in` is the municipality
    whose case store the call concerns (default: the person's own)."""
    if not 0 < lifetime <= MAX_LIFETIME_SECONDS:
        raise ValueError(f"an assertion lives at most {MAX_LIFETIME_SECONDS} seconds")
    issued = int(now if now is not None else time.time())
    claims = {"iss": ISSUER, "aud": audience, "iat": issued, "exp": issued + lifetime, "jti": uuid.uuid4().hex,
              "sub": sub, "name": name, "municipality": municipality, "roles": list(roles), "unit": unit,
              "sid": session, "email": email, "act_in": act_in or municipality}
    return jwt.encode({"alg": ALGORITHM}, claims, signing_key(region_secret, audience), algorithms=[ALGORITHM])


def verify(token: str, key: OctKey, audience: str, now: float | None = None) -> dict:
    """The claims of a valid assertion for `audience`, checked with that audience's `key` (`signing_key`);
    AssertionRefused otherwise."""
    try:
        decoded = jwt.decode(token, key, algorithms=[ALGORITHM])
    except (JoseError, ValueError) as exc:
        raise AssertionRefused(f"not a valid person assertion ({type(exc).__name__})") from None
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(now if now is not None else time.time()), leeway=5,
        iss={"essential": True, "value": ISSUER}, aud={"essential": True, "value": audience},
        exp={"essential": True}, iat={"essential": True}, sub={"essential": True})
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise AssertionRefused(f"person assertion refused ({exc.error})") from None
    if not isinstance(claims.get("exp"), int) or not isinstance(claims.get("iat"), int) \
            or claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
        raise AssertionRefused("person assertion lives too long")
    roles = claims.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise AssertionRefused("person assertion names no role")
    for name in ("name", "municipality", "sid"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise AssertionRefused(f"person assertion lacks {name}")
    return claims


def identity_hashes(region_secret: bytes, sub: str, email: str | None) -> list[str]:
    """Keyed hashes of a person's sign-in identity (subject, e-mail address) as a case's exclusion
    list holds them: the list matches people without naming them in the clear."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=IDENTITY_LABEL).derive(region_secret)
    values = [f"sub:{sub}"] + ([f"email:{email.strip().lower()}"] if email and email.strip() else [])
    return [hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest() for value in values]


def email_hash(region_secret: bytes, email: str) -> str:
    """The keyed hash of one e-mail address, as `identity_hashes` makes it (staff exclude by address)."""
    return identity_hashes(region_secret, "", email)[1]


def looks_like_assertion(token: str) -> bool:
    """A JWT's header starts `eyJ` (base64 of `{"`); an API key starts with its gemeentecode."""
    return token.startswith("eyJ") and token.count(".") == 2
