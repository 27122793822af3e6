"""shared/auth.py: API key format, hashing, lookup per municipality and the permission table."""
from __future__ import annotations

import contextlib
import hashlib
import itertools
from datetime import datetime, timezone

import pytest

from shared import auth
from shared.auth import (PERMISSIONS, ROLES, Forbidden, Principal, Unauthorized, authenticate, authorize,
                         hash_key, new_key, parse_bearer)

SECRET = "s3cr3t_-" * 5  # 40 characters of the url-safe alphabet
KEY = f"GM0687.0a1b2c3d4e5f.{SECRET}"


def test_parse_bearer_accepts_a_key():
    match = parse_bearer(f"Bearer {KEY}")

    assert (match["code"], match["key_id"], match["secret"]) == ("GM0687", "0a1b2c3d4e5f", SECRET)
    assert match.group(0) == KEY


def test_parse_bearer_is_lenient_about_scheme_case_and_spacing():
    assert parse_bearer(f"bearer   {KEY}  ")["code"] == "GM0687"


@pytest.mark.parametrize("header, reason", [
    (None, "missing Authorization header"),
    ("", "missing Authorization header"),
    (f"Basic {KEY}", "use Authorization: Bearer <key>"),
    ("Bearer", "use Authorization: Bearer <key>"),
    ("Bearer    ", "use Authorization: Bearer <key>"),
    (KEY, "use Authorization: Bearer <key>"),
])
def test_parse_bearer_rejects_missing_or_other_scheme(header, reason):
    with pytest.raises(Unauthorized, match=reason.replace("<", ".").replace(">", ".")):
        parse_bearer(header)


@pytest.mark.parametrize("token", [
    f"GM68.0a1b2c3d4e5f.{SECRET}",          # not a gemeentecode
    f"GM0687.0A1B2C3D4E5F.{SECRET}",        # key id is lower-case hex
    f"GM0687.0a1b2c3d4e.{SECRET}",          # key id too short
    "GM0687.0a1b2c3d4e5f.tooshort",
    f"GM0687.0a1b2c3d4e5f.{'x' * 65}",
    f"GM0687.0a1b2c3d4e5f.{SECRET[:-1]}!",
    f"GM0687:0a1b2c3d4e5f:{SECRET}",
])
def test_parse_bearer_rejects_malformed_keys(token):
    with pytest.raises(Unauthorized, match="unknown API key"):
        parse_bearer(f"Bearer {token}")


def test_hash_key_is_sha256():
    assert hash_key(KEY) == hashlib.sha256(KEY.encode()).digest()
    assert len(hash_key(KEY)) == 32


def test_new_key_round_trips_through_parse_bearer():
    key_id, key = new_key("GM0715")
    match = parse_bearer(f"Bearer {key}")

    assert (match["code"], match["key_id"]) == ("GM0715", key_id)
    assert match.group(0) == key
    assert new_key("GM0715")[1] != key


@pytest.mark.parametrize("role, permission", list(itertools.product(ROLES, sorted(PERMISSIONS))))
def test_authorize_follows_the_permission_table(role, permission):
    principal = Principal("GM0687", role, "0a1b2c3d4e5f", "balie Middelburg")
    if role in PERMISSIONS[permission]:
        authorize(principal, permission)
    else:
        with pytest.raises(Forbidden, match=f"role {role} lacks the permission {permission}"):
            authorize(principal, permission)


def test_permission_table_only_names_known_roles():
    assert set().union(*PERMISSIONS.values()) <= set(ROLES)


def test_reporters_and_operators_may_not_read_incidents():
    for role in (auth.REPORTER, auth.OPERATOR, auth.ANALYST, auth.POLICE_LIAISON):
        with pytest.raises(Forbidden):
            authorize(Principal("GM0687", role, "0a1b2c3d4e5f", "x"), "incident:read")


def test_principal_actor_for_the_audit_log():
    principal = Principal("GM0687", auth.STAFF, "0a1b2c3d4e5f", "balie Middelburg")

    assert principal.actor == "apikey:0a1b2c3d4e5f (balie Middelburg, staff)"


# ---------------------------------------------------------------- authenticate, with a fake case store

class FakeRegion:
    def __init__(self, *codes):
        self.codes = codes

    def knows(self, code):
        return code in self.codes


class FakeStores:
    """Keys per municipality, as hub.api_keys rows; records which store was opened."""

    def __init__(self, rows_by_code):
        self.rows_by_code = rows_by_code
        self.opened = []

    @contextlib.contextmanager
    def __call__(self, code):
        self.opened.append(code)
        rows = self.rows_by_code.get(code, {})
        yield type("Uow", (), {"fetchone": lambda _self, sql, params: rows.get(params[0])})()


def stored(key, role=auth.INTAKE_CHANNEL, revoked_at=None):
    return {"label": "website Middelburg", "role": role, "key_hash": memoryview(hash_key(key)),
            "revoked_at": revoked_at}


def test_authenticate_finds_the_key_in_its_municipality():
    stores = FakeStores({"GM0687": {"0a1b2c3d4e5f": stored(KEY)}})

    principal = authenticate(f"Bearer {KEY}", FakeRegion("GM0687", "GM0718"), stores)

    assert principal == Principal("GM0687", auth.INTAKE_CHANNEL, "0a1b2c3d4e5f", "website Middelburg")
    assert stores.opened == ["GM0687"]


def test_authenticate_refuses_municipality_outside_the_region():
    stores = FakeStores({})

    with pytest.raises(Unauthorized):
        authenticate(f"Bearer {KEY.replace('GM0687', 'GM0363')}", FakeRegion("GM0687"), stores)
    assert stores.opened == []


def test_key_of_one_municipality_does_not_open_another():
    # the same key id and secret stored in Vlissingen's case store do not help a Middelburg key
    stores = FakeStores({"GM0718": {"0a1b2c3d4e5f": stored(KEY.replace("GM0687", "GM0718"))}})

    with pytest.raises(Unauthorized):
        authenticate(f"Bearer {KEY}", FakeRegion("GM0687", "GM0718"), stores)
    assert stores.opened == ["GM0687"]


@pytest.mark.parametrize("rows", [
    {},                                                                   # unknown key id
    {"0a1b2c3d4e5f": stored(KEY[:-1] + "X")},                             # wrong secret
    {"0a1b2c3d4e5f": stored(KEY, revoked_at=datetime(2026, 1, 1, tzinfo=timezone.utc))},
])
def test_authenticate_refuses_unknown_wrong_or_revoked_keys(rows):
    with pytest.raises(Unauthorized, match="unknown API key"):
        authenticate(f"Bearer {KEY}", FakeRegion("GM0687"), FakeStores({"GM0687": rows}))


def test_presented_hash_is_the_keys_hash_and_none_for_anything_else():
    assert auth.presented_hash(f"Bearer {KEY}") == hash_key(KEY)
    assert auth.presented_hash(f"bearer  {KEY} ") == hash_key(KEY)
    for header in (None, "", "Basic abc", "Bearer not-a-key", "Bearer eyJhbGciOi.x.y"):
        assert auth.presented_hash(header) is None


def test_verified_keys_remember_forget_and_keep_at_most_max_keys():
    keys = auth.VerifiedKeys(max_keys=2)
    principals = [Principal("GM0687", "staff", f"{n:012x}", f"key {n}") for n in range(3)]
    keys.remember(b"a", principals[0])
    keys.remember(b"b", principals[1])
    assert keys.get(b"a") is principals[0]  # used last: b is now the oldest
    keys.remember(b"c", principals[2])
    assert (keys.get(b"a"), keys.get(b"b"), keys.get(b"c")) == (principals[0], None, principals[2])
    keys.forget(b"a")
    assert keys.get(b"a") is None and keys.get(None) is None and len(keys) == 1
