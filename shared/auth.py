"""API keys and roles: who is calling, for which municipality, and what that role may do.

Machines call with an API key; people, through the workbench, with a person assertion
(shared/assertion.py). Both become one `Principal`, and the same `PERMISSIONS` table decides for
both. A key reads `GM0687.<key id>.<secret>`: the municipality code routes the lookup to that
municipality's own case store, where only a SHA-256 hash of the key is kept. The key
therefore decides the municipality; no request parameter can widen it. A person acts in their
own municipality, or where `person_may_act_in` allows. `PERMISSIONS` is the one place that
decides what each role may do, `case_visibility` the one place that decides which cases a
caller may see (routing and exclusions of conflicts of interest included); docs/security.md
has both.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from shared import assertion, case_views

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
# Roles people hold (signed in to the workbench); the others are for machines and keys only.
PERSON_ROLES = (COORDINATOR, STAFF, AFTERCARE_WORKER, POLICE_LIAISON, ANALYST, OPERATOR)
APIKEY, PERSON = "apikey", "person"
REGION = assertion.REGION

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
    # The aangifte option is chosen by the meldpunt with the victim, never by the police (issue 20).
    "referral:aangifte": {STAFF, COORDINATOR},
    # The police information form (7 W's): the liaison, and staff who hand it to the victim.
    "referral:form": {STAFF, COORDINATOR, POLICE_LIAISON},
    "police_status:read": {INTAKE_CHANNEL, STAFF, COORDINATOR, AFTERCARE_WORKER},
    # The meldpunt's casework (the workbench): list and search cases, read the reporter's additions
    # and evidence, a case's timeline, internal notes, assignment, closing or withdrawing a case,
    # and marking a conflict of interest. A municipality's channel reports; it does not browse.
    "case:work": {STAFF, COORDINATOR},
    # Signals (services/signals): what a role must act on; each sees its own role's (a coordinator
    # every role's), takes and handles them. Repeats across municipalities are the coordinators'.
    "signals:read": {STAFF, COORDINATOR, AFTERCARE_WORKER, POLICE_LIAISON},
    "signals:handle": {STAFF, COORDINATOR, AFTERCARE_WORKER, POLICE_LIAISON},
    "repeat:read": {COORDINATOR},
    "repeat:contact": {COORDINATOR},
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
    """Who calls: a machine's API key or a person (through the workbench), in one shape.

    `municipality` is the municipality whose case store the request concerns; for a person
    `home` is their own municipality or `region`.
    """
    municipality: str
    role: str
    key_id: str | None
    label: str
    kind: str = APIKEY
    sub: str | None = None
    display_name: str | None = None
    home: str | None = None
    roles: tuple = ()
    unit: str | None = None
    session: str | None = None
    identities: frozenset = frozenset()  # keyed hashes of the person's sign-in identity (exclusions)

    @property
    def actor(self) -> str:
        """How this caller appears in the audit log."""
        if self.kind == PERSON:
            return f"person:{self.sub} ({self.display_name}, {self.role})"
        return f"apikey:{self.key_id} ({self.label}, {self.role})"

    @property
    def rate_key(self) -> str:
        """What a rate limit counts: a key, or a person."""
        return f"person:{self.sub}" if self.kind == PERSON else f"{self.municipality}.{self.key_id}"

    def has_role(self, role: str) -> bool:
        return role in (self.roles or (self.role,))


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


# ------------------------------------------------------------------ signing secrets (shared/signatures.py)

SIGNING_TABLE = "hub.signing_secrets"


def signing_secret(uow, key_id: str) -> bytes | None:
    """The key's encrypted signing secret, or None: a key without one does not sign."""
    known = getattr(uow, "signing_secrets", None)  # read with the key (`authenticate_with`)
    if known is not None and key_id in known:
        return known[key_id]
    row = uow.fetchone("SELECT secret FROM hub.signing_secrets WHERE key_id = %s", (key_id,))
    return bytes(row["secret"]) if row else None


def set_signing_secret(uow, key_id: str, secret: str) -> None:
    """Give a key a signing secret (encrypted with the municipality's data key); from now on it signs."""
    import psycopg2

    sealed = uow.keyring.encrypt(uow, SIGNING_TABLE, "secret", key_id, secret.encode("utf-8"))
    uow.execute("INSERT INTO hub.signing_secrets (key_id, secret) VALUES (%s, %s) "
                "ON CONFLICT (key_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = now()",
                (key_id, psycopg2.Binary(sealed))).close()


def drop_signing_secret(uow, key_id: str) -> bool:
    cur = uow.execute("DELETE FROM hub.signing_secrets WHERE key_id = %s", (key_id,))
    dropped = cur.rowcount == 1
    cur.close()
    return dropped


def first_sighting(uow, key_id: str, signature: str, window_seconds: int) -> bool:
    """Record a signature; False if it was seen within the window (a replay). Older sightings are pruned."""
    uow.execute("DELETE FROM hub.seen_signatures WHERE key_id = %s AND seen_at < now() - %s * interval '1 second'",
                (key_id, 2 * window_seconds)).close()
    cur = uow.execute("INSERT INTO hub.seen_signatures (key_id, signature) VALUES (%s, %s) "
                      "ON CONFLICT DO NOTHING", (key_id, signature))
    first = cur.rowcount == 1
    cur.close()
    return first


def parse_bearer(header: str | None) -> re.Match:
    match = _KEY.match(bearer_token(header))
    if not match:
        raise Unauthorized("unknown API key")
    return match


def bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthorized("missing Authorization header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use Authorization: Bearer <key>")
    return token.strip()


def authenticate(header: str | None, region, open_case_store, person_check=None) -> Principal:
    """Find the key's municipality and check the key against that municipality's store.

    `open_case_store(code)` gives a unit of work on that case store.
    """
    return authenticate_with(header, region, open_case_store, person_check=person_check)[0]


def authenticate_with(header: str | None, region, open_case_store, also=None,
                      person_check=None) -> tuple[Principal, object]:
    """`authenticate`, and `also(uow, principal)` for a known key in the same unit of work (what a
    service needs to know about the key besides its role, without a second transaction).

    `person_check`, when this service accepts people: a `PersonCheck` (region secret, the service's
    own name as audience, the clock). A person has no key, so `also` does not apply to them."""
    token = bearer_token(header)
    if assertion.looks_like_assertion(token):
        if person_check is None:
            raise Unauthorized("unknown API key")
        return person_principal(token, region, person_check), None
    match = parse_bearer(header)
    code = match["code"]
    if not region.knows(code):
        raise Unauthorized("unknown API key")
    with open_case_store(code) as uow:
        # the key and its signing secret in one statement (issue 25): `signing_secret` finds it on the uow
        row = uow.fetchone("SELECT k.label, k.role, k.key_hash, k.revoked_at, s.secret FROM hub.api_keys k "
                           "LEFT JOIN hub.signing_secrets s ON s.key_id = k.key_id WHERE k.key_id = %s",
                           (match["key_id"],))
        if row is not None:
            uow.signing_secrets = {match["key_id"]: bytes(row["secret"]) if row.get("secret") is not None else None}
        presented = hash_key(match.group(0))
        stored = bytes(row["key_hash"]) if row else hash_key("no such key")
        if not hmac.compare_digest(presented, stored) or row is None or row["revoked_at"] is not None:
            raise Unauthorized("unknown API key")
        principal = Principal(code, row["role"], match["key_id"], row["label"])
        return principal, (also(uow, principal) if also is not None else None)


def presented_hash(header: str | None) -> bytes | None:
    """The hash of the API key a request presents (as `hash_key`), or None: no key, a person's assertion, or a
    token that is no key at all (those take the full check, which refuses them)."""
    try:
        token = bearer_token(header)
    except Unauthorized:
        return None
    return hash_key(token) if _KEY.match(token) else None


class VerifiedKeys:
    """API keys this process found good in their case store (known, not revoked, no signing secret), by the
    hash of the key as presented: a later request with one is parsed before its key is looked up again, and
    the key is read again in the transaction that does the request's work (`key_still_good`), so a
    revocation takes effect at once (docs/security.md#api-keys-checked-in-the-requests-own-transaction).
    Only keys found good are remembered, so an unknown key's request is never parsed before its check; at
    most `max_keys`, the least recently used forgotten first."""

    def __init__(self, max_keys: int = 10000):
        self.max_keys = max_keys
        self._known: OrderedDict[bytes, Principal] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._known)

    def get(self, presented: bytes | None) -> Principal | None:
        if presented is None:
            return None
        with self._lock:
            principal = self._known.get(presented)
            if principal is not None:
                self._known.move_to_end(presented)
            return principal

    def remember(self, presented: bytes, principal: Principal) -> None:
        with self._lock:
            self._known[presented] = principal
            self._known.move_to_end(presented)
            while len(self._known) > self.max_keys:
                self._known.popitem(last=False)

    def forget(self, presented: bytes) -> None:
        with self._lock:
            self._known.pop(presented, None)


def key_still_good(uow, principal: Principal) -> bool:
    """Whether a key `VerifiedKeys` remembers is still known, not revoked, of the role remembered (its row may be
    changed by hand), and without a signing secret (a key given one since must sign: the full check), read in the
    unit of work's own transaction."""
    return uow.fetchone("SELECT 1 AS good FROM hub.api_keys k WHERE k.key_id = %s AND k.role = %s "
                        "AND k.revoked_at IS NULL "
                        "AND NOT EXISTS (SELECT 1 FROM hub.signing_secrets s WHERE s.key_id = k.key_id)",
                        (principal.key_id, principal.role)) is not None


def authorize(principal: Principal, permission: str) -> None:
    if not any(role in PERMISSIONS[permission] for role in (principal.roles or (principal.role,))):
        who = "a person" if principal.kind == PERSON else "a key"
        raise Forbidden(f"{who} with role {principal.role} lacks the permission {permission}")


def may(principal: Principal, permission: str) -> bool:
    """`authorize` as a question (what a page shows or hides)."""
    try:
        authorize(principal, permission)
    except Forbidden:
        return False
    return True


# ------------------------------------------------------------------ people

@dataclass(frozen=True)
class PersonCheck:
    """What a service needs to accept person assertions: the region secret and its own name; or, for a
    service that holds no region secret (statistics), its own assertion key."""
    region_secret: bytes | None
    audience: str
    now: object = None  # a callable giving unix seconds (the service's clock); None: the system's
    key: object = None  # the audience's assertion key (assertion.signing_key); None: derived from the secret


def person_principal(token: str, region, check: PersonCheck) -> Principal:
    """The person an assertion names, acting in the municipality it names (`act_in`)."""
    try:
        key = check.key if check.key is not None else assertion.signing_key(check.region_secret, check.audience)
        claims = assertion.verify(token, key, check.audience, now=check.now() if check.now else None)
    except assertion.AssertionRefused as refused:
        raise Unauthorized(str(refused)) from None
    roles = tuple(r for r in claims["roles"] if r in PERSON_ROLES)
    if not roles:
        raise Unauthorized("person assertion names no role a person may hold")
    home, act_in = claims["municipality"], claims.get("act_in") or claims["municipality"]
    if home != REGION and not region.knows(home):
        raise Unauthorized("person assertion names a municipality outside this region")
    unit = claims.get("unit")
    if act_in == REGION or not region.knows(act_in) or not person_may_act_in(home, roles, unit, act_in, region):
        raise Forbidden(f"a person of {home} does not work in {act_in}")
    return Principal(act_in, roles[0], None, claims["name"], kind=PERSON, sub=claims["sub"],
                     display_name=claims["name"], home=home, roles=roles, unit=unit, session=claims["sid"],
                     # a service without the region secret works on no cases: no exclusion list to match
                     identities=frozenset(assertion.identity_hashes(check.region_secret, claims["sub"],
                                                                    claims.get("email"))
                                          if check.region_secret else ()))


def person_may_act_in(home: str, roles, unit: str | None, code: str, region) -> bool:
    """Whose case store a person may open: their own municipality's; any of the region for a person
    of the region (what they then see of it is decided per case, `case_visibility`); a police
    liaison the municipalities of their unit; and a meldpunt the region file names for another
    municipality's conflicts of interest (`conflicts_to`), for the cases routed to it."""
    if home in (code, REGION):
        return True
    municipality = region.municipality(code)
    if POLICE_LIAISON in roles and unit and municipality.police_unit == unit:
        return True
    return municipality.conflicts_to == home


# ------------------------------------------------------------------ which cases a caller sees

def case_visibility(principal: Principal, case_column: str = "i.case_id", counting: bool = False) -> tuple[str, list]:
    """The one rule of which cases of the case store a caller may see, as an SQL condition on
    `case_column` (with its parameters), for a single case and for every list alike.

    - A person named on a case's exclusion list (a conflict of interest) never sees it.
    - A case routed away because of a conflict of interest (`hub.case_access`, handled by the
      region or another municipality's meldpunt) is seen only by the people it is routed to, and
      by the police (its referral goes on); the municipality's own staff and keys no longer see it.
    - A person acting outside their own municipality (region, second meldpunt) sees only the
      cases routed to them; `counting` (numbers without content, the regional view) drops that.
    - An `OWN_CASES_ONLY` key sees only what it brought in itself (checked in `may_see_case`).
    """
    clauses, params = [], []
    if principal.identities:
        clauses.append(f"NOT EXISTS (SELECT 1 FROM hub.case_exclusions x WHERE x.case_id = {case_column} "
                       "AND x.identity = ANY(%s))")
        params.append(sorted(principal.identities))
    if counting or principal.has_role(POLICE_LIAISON):
        pass
    elif principal.kind == PERSON and principal.home != principal.municipality:
        clauses.append(f"EXISTS (SELECT 1 FROM hub.case_access a WHERE a.case_id = {case_column} "
                       "AND a.handled_by = %s)")
        params.append(principal.home)
    elif principal.role not in OWN_CASES_ONLY:
        clauses.append(f"NOT EXISTS (SELECT 1 FROM hub.case_access a WHERE a.case_id = {case_column} "
                       "AND a.handled_by <> %s)")
        params.append(principal.municipality)
    return (" AND ".join(clauses) or "TRUE"), params


def visible(principal: Principal, uow, case_id) -> bool:
    """`case_visibility` for one case id, whether or not intake holds the case (a service checks a
    case of its own rows: a triage result, a referral, a care plan)."""
    condition, params = case_visibility(principal)
    # the condition's parameters come first: it stands before the FROM that names the case
    return uow.fetchone(f"SELECT ({condition}) AS visible FROM (SELECT %s::uuid AS case_id) i",
                        (*params, case_id))["visible"]


def may_see_case(principal: Principal, uow, case_id) -> bool:
    """Whether the case exists in the caller's municipality and the caller may see it
    (`case_visibility`; for OWN_CASES_ONLY keys only the cases the key brought in).

    A case is brought in by the key recorded in intake's `received_by` (`Principal.actor`).
    Callers answer `404` when this is false: a case one may not see looks like no case.
    """
    condition, params = case_visibility(principal)
    received_by = case_views.received_by(uow, case_id, condition, params)
    if received_by is None:
        return False
    return principal.role not in OWN_CASES_ONLY or received_by.startswith(f"apikey:{principal.key_id} ")
