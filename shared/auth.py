"""API keys and roles: who is calling, for which municipality, and what that role may do.

A key reads `GM0687.<key id>.<secret>`: the municipality code routes the lookup to that
municipality's own case store, where only a SHA-256 hash of the key is kept. The key
therefore decides the municipality; no request parameter can widen it. `PERMISSIONS` is
the one place that decides what each role may do (docs/security.md has the table).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

REPORTER = "reporter"
INTAKE_CHANNEL = "intake_channel"
STAFF = "staff"
COORDINATOR = "coordinator"
AFTERCARE_WORKER = "aftercare_worker"
POLICE_LIAISON = "police_liaison"
ANALYST = "analyst"
OPERATOR = "operator"
ROLES = (REPORTER, INTAKE_CHANNEL, STAFF, COORDINATOR, AFTERCARE_WORKER, POLICE_LIAISON,
         ANALYST, OPERATOR)

PERMISSIONS = {
    "incident:create": {INTAKE_CHANNEL, STAFF, COORDINATOR},
    "incident:read": {INTAKE_CHANNEL, STAFF, COORDINATOR},
    # Evidence files go into the case store; the case's own key holder or staff add them.
    "evidence:add": {INTAKE_CHANNEL, STAFF, COORDINATOR},
    # Drafts read from the meldpunt mailbox are completed by the meldpunt's own staff.
    "draft:complete": {STAFF, COORDINATOR},
    "statistics:read": {STAFF, COORDINATOR, ANALYST},
    # A municipality's own figures without suppression; a regional analyst sees suppressed figures only.
    "statistics:exact": {STAFF, COORDINATOR},
    # Aftercare holds health data (AVG art. 9): only aftercare roles read or change it.
    "aftercare:read": {AFTERCARE_WORKER, COORDINATOR},
    "aftercare:write": {AFTERCARE_WORKER, COORDINATOR},
    "triage:read": {STAFF, COORDINATOR},
    "triage:decide": {STAFF, COORDINATOR},
    # Police referrals: both sides see the referral and its ELA checklist; only the unit's
    # liaison reads the incident's details (audited) and moves the referral along.
    "referral:read": {STAFF, COORDINATOR, POLICE_LIAISON},
    "referral:ela": {STAFF, COORDINATOR, POLICE_LIAISON},
    "referral:details": {POLICE_LIAISON},
    "referral:update": {POLICE_LIAISON},
    "police_status:read": {INTAKE_CHANNEL, STAFF, COORDINATOR, AFTERCARE_WORKER},
    # Operators keep the hub running: dead-letter summaries (ids, codes, error lines), never case content.
    "operations:read": {OPERATOR},
}

# Roles that see only the cases their own key brought in. A municipality's intake channel
# (its website, its app) reports; it has no business browsing the municipality's cases, and a
# stolen channel key must not open every case (docs/security.md, threat model).
OWN_CASES_ONLY = frozenset({INTAKE_CHANNEL})

_KEY = re.compile(r"^(?P<code>GM\d{4})\.(?P<key_id>[0-9a-f]{12})\.(?P<secret>[A-Za-z0-9_-]{32,64})$")


class Unauthorized(Exception):
    """No key, or a key the hub does not know (or no longer accepts)."""


class Forbidden(Exception):
    """A known key whose role does not allow this."""


@dataclass(frozen=True)
class Principal:
    municipality: str
    role: str
    key_id: str
    label: str

    @property
    def actor(self) -> str:
        """How this caller appears in the audit log."""
        return f"apikey:{self.key_id} ({self.label}, {self.role})"


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def new_key(municipality: str) -> tuple[str, str]:
    key_id = secrets.token_hex(6)
    return key_id, f"{municipality}.{key_id}.{secrets.token_urlsafe(32)}"


def create_key(uow, label: str, role: str) -> tuple[str, str]:
    """Store a new key's hash in the unit of work's case store; return (key id, key)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    key_id, key = new_key(uow.municipality)
    uow.execute("INSERT INTO hub.api_keys (key_id, label, role, key_hash) VALUES (%s, %s, %s, %s)",
                (key_id, label, role, hash_key(key))).close()
    uow.audit("cli", "create", f"api key {key_id} ({role})")
    return key_id, key


def revoke_key(uow, key_id: str) -> bool:
    cur = uow.execute("UPDATE hub.api_keys SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL",
                      (key_id,))
    changed = cur.rowcount == 1
    cur.close()
    if changed:
        uow.audit("cli", "revoke", f"api key {key_id}")
    return changed


def list_keys(uow) -> list[dict]:
    return uow.fetchall("SELECT key_id, label, role, created_at, revoked_at FROM hub.api_keys ORDER BY created_at")


def parse_bearer(header: str | None) -> re.Match:
    if not header:
        raise Unauthorized("missing Authorization header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use Authorization: Bearer <key>")
    match = _KEY.match(token.strip())
    if not match:
        raise Unauthorized("unknown API key")
    return match


def authenticate(header: str | None, region, open_case_store) -> Principal:
    """Find the key's municipality and check the key against that municipality's store.

    `open_case_store(code)` gives a unit of work on that case store.
    """
    return authenticate_with(header, region, open_case_store)[0]


def authenticate_with(header: str | None, region, open_case_store, also=None) -> tuple[Principal, object]:
    """`authenticate`, and `also(uow, principal)` for a known key in the same unit of work (what a
    service needs to know about the key besides its role, without a second transaction)."""
    match = parse_bearer(header)
    code = match["code"]
    if not region.knows(code):
        raise Unauthorized("unknown API key")
    with open_case_store(code) as uow:
        row = uow.fetchone("SELECT label, role, key_hash, revoked_at FROM hub.api_keys WHERE key_id = %s",
                           (match["key_id"],))
        presented = hash_key(match.group(0))
        stored = bytes(row["key_hash"]) if row else hash_key("no such key")
        if not hmac.compare_digest(presented, stored) or row is None or row["revoked_at"] is not None:
            raise Unauthorized("unknown API key")
        principal = Principal(code, row["role"], match["key_id"], row["label"])
        return principal, (also(uow, principal) if also is not None else None)


def authorize(principal: Principal, permission: str) -> None:
    if principal.role not in PERMISSIONS[permission]:
        raise Forbidden(f"a key with role {principal.role} lacks the permission {permission}")


def may_see_case(principal: Principal, uow, case_id) -> bool:
    """Whether the case exists in the caller's municipality and the caller may see it (OWN_CASES_ONLY).

    A case is brought in by the key recorded in intake's `received_by` (`Principal.actor`).
    Callers answer `404` when this is false: another key's case looks like no case.
    """
    row = uow.fetchone("SELECT received_by FROM intake.incidents WHERE case_id = %s", (case_id,))
    if row is None:
        return False
    return principal.role not in OWN_CASES_ONLY or row["received_by"].startswith(f"apikey:{principal.key_id} ")
