"""shared/crypto.py: envelope encryption round trip, what must fail, and the versioned format."""
from __future__ import annotations

import base64
import os
import stat

import pytest

from shared import crypto
from shared.crypto import CryptoError, Keyring

ROW = "5b0c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4"


class FakeUow:
    """Just enough of a unit of work for the keyring: a data_keys table in a dict."""

    def __init__(self, municipality="GM0687", keys=None):
        self.municipality = municipality
        self.keys = {} if keys is None else keys

    def fetchone(self, query, params=None):
        if "pg_advisory_xact_lock_shared" in query:  # the writers' lock, taken before the version is read
            assert query.index("pg_advisory_xact_lock_shared") < query.index("ORDER BY version DESC")
            self.locks = getattr(self, "locks", []) + ["pg_advisory_xact_lock_shared"]
        if "pg_try_advisory" in query:
            self.locks = getattr(self, "locks", []) + ["pg_try_advisory_xact_lock"]
            return {"got": True}
        if "max(version)" in query:
            return {"version": max(self.keys, default=0) + 1}
        if "ORDER BY version DESC" in query:
            return {"version": max(self.keys)} if self.keys else None
        row = self.keys.get(params[0])
        return {"wrapped_key": row} if row is not None else None

    def execute(self, query, params=None):
        if "pg_advisory" in query:
            self.locks = getattr(self, "locks", []) + [query.split("(")[0].split()[-1]]
            return self
        version = 1 if "VALUES (1," in query else params[0]
        self.rowcount = int(version not in self.keys)
        self.keys.setdefault(version, params[-1])
        return self

    def close(self):
        pass


def master():
    return os.urandom(32)


def test_round_trip_and_associated_data():
    ring, uow = Keyring(master()), FakeUow()
    sealed = ring.encrypt(uow, "aftercare.contacts", "health", ROW, b"TSQ 7 van 10")

    assert b"TSQ" not in sealed
    assert ring.decrypt(uow, "aftercare.contacts", "health", ROW, sealed) == b"TSQ 7 van 10"
    for table, column, row in [("aftercare.referrals", "health", ROW), ("aftercare.contacts", "notes", ROW),
                               ("aftercare.contacts", "health", "another-row")]:
        with pytest.raises(CryptoError):
            ring.decrypt(uow, table, column, row, sealed)


def test_another_municipality_cannot_read_it():
    master_key = master()
    ring, uow = Keyring(master_key), FakeUow("GM0687")
    sealed = ring.encrypt(uow, "t", "c", ROW, b"geheim")
    # even with the same wrapped data key copied over, the associated data names GM0687
    other = FakeUow("GM0718", keys=uow.keys)
    with pytest.raises(CryptoError):
        Keyring(master_key).decrypt(other, "t", "c", ROW, sealed)


def test_wrong_master_key_does_not_unwrap():
    uow = FakeUow()
    sealed = Keyring(master()).encrypt(uow, "t", "c", ROW, b"geheim")
    with pytest.raises(CryptoError, match="wrong master key"):
        Keyring(master()).decrypt(uow, "t", "c", ROW, sealed)


def test_tampering_is_detected():
    ring, uow = Keyring(master()), FakeUow()
    sealed = bytearray(ring.encrypt(uow, "t", "c", ROW, b"geheim"))
    sealed[-1] ^= 1
    with pytest.raises(CryptoError):
        ring.decrypt(uow, "t", "c", ROW, bytes(sealed))


def test_format_carries_the_key_version_and_old_versions_still_decrypt():
    ring, uow = Keyring(master()), FakeUow()
    old = ring.encrypt(uow, "t", "c", ROW, b"eerst")
    assert old[:3] == b"MH\x01" and crypto.key_version(old) == 1

    assert ring.add_version(uow) == 2
    new = ring.encrypt(uow, "t", "c", ROW, b"daarna")
    assert crypto.key_version(new) == 2
    assert ring.decrypt(uow, "t", "c", ROW, old) == b"eerst"
    assert ring.decrypt(uow, "t", "c", ROW, new) == b"daarna"


def test_each_encryption_uses_a_fresh_nonce():
    ring, uow = Keyring(master()), FakeUow()
    assert ring.encrypt(uow, "t", "c", ROW, b"x") != ring.encrypt(uow, "t", "c", ROW, b"x")


@pytest.mark.parametrize("junk", [b"", b"MH", b"XX\x01" + bytes(40), b"MH\x02" + bytes(40)])
def test_foreign_bytes_are_refused(junk):
    with pytest.raises(CryptoError):
        crypto.key_version(junk)


def test_no_master_key_no_keyring():
    with pytest.raises(crypto.MasterKeyMissing):
        Keyring(None)


def test_master_key_from_environment_or_file(tmp_path):
    key = crypto.new_master_key()
    assert crypto.load_master_key(key, None) == base64.b64decode(key)
    assert crypto.load_master_key(None, None) is None

    path = tmp_path / "var" / "master.key"
    assert crypto.write_master_key_file(path) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    assert crypto.write_master_key_file(path) is False and path.read_text() == first
    assert len(crypto.load_master_key(None, str(path))) == 32


@pytest.mark.parametrize("value, message", [("not base64!", "base64"),
                                            (base64.b64encode(b"short").decode(), "32 bytes")])
def test_bad_master_keys_are_refused_in_one_line(value, message):
    with pytest.raises(CryptoError, match=message):
        crypto.load_master_key(value, None)


def test_missing_key_file_is_named(tmp_path):
    with pytest.raises(CryptoError, match="keys init"):
        crypto.load_master_key(None, str(tmp_path / "nope.key"))


def test_settings_read_the_master_key(tmp_path):
    from shared.config import ConfigError
    from hub.registry import load_settings

    key = crypto.new_master_key()
    assert load_settings({"MELDPUNT_MASTER_KEY": key}).master_key == base64.b64decode(key)
    assert load_settings({}).master_key is None
    with pytest.raises(ConfigError, match="MELDPUNT_MASTER_KEY_FILE"):
        load_settings({"MELDPUNT_MASTER_KEY_FILE": str(tmp_path / "missing")})


def test_a_key_made_in_a_rolled_back_transaction_is_not_used_later():
    ring, uow = Keyring(master()), FakeUow()
    ring.encrypt(uow, "t", "c", ROW, b"teruggedraaid")
    uow.keys.clear()  # the transaction that made the first data key rolled back

    sealed = ring.encrypt(uow, "t", "c", ROW, b"bewaard")
    fresh = Keyring.__new__(Keyring)
    fresh.__dict__.update(ring.__dict__, _keys={})  # a restarted process: same master key, empty cache
    assert fresh.decrypt(uow, "t", "c", ROW, sealed) == b"bewaard"


def test_writers_share_a_lock_that_a_new_key_version_takes_alone():
    """So that no value encrypted with the old version commits after a rotation started moving values."""
    ring, uow = Keyring(master()), FakeUow()
    ring.encrypt(uow, "t", "c", ROW, b"x")
    assert uow.locks == ["pg_advisory_xact_lock_shared"]
    uow.locks = []
    assert ring.add_version(uow) == 2
    assert uow.locks == ["pg_try_advisory_xact_lock"]
    sealed = ring.encrypt(uow, "t", "c", ROW, b"y")
    assert crypto.key_version(sealed) == 2
