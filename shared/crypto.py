"""Envelope encryption of personal data at rest: a data key per municipality, wrapped by the master key.

Each municipality's case store holds its own AES-256-GCM data keys in `hub.data_keys`,
each wrapped (AES-256-GCM) by the hub's master key, which never touches a database. A
value is encrypted with the municipality's newest data key and carries that key's
version, so that rotation (`meldpunt keys rotate`, issue 8) can add a version and
re-encrypt old values later. Associated data binds each ciphertext to municipality,
table, column and row id: a value copied to another row, column or municipality no
longer decrypts.

Ciphertext layout (bytes): b"MH" | format 0x01 | key version (4 bytes, big-endian) |
nonce (12) | AES-GCM ciphertext and tag.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import struct
import threading
import time
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"MH"
FORMAT = 1
_HEADER = struct.Struct(">2sBI")  # magic, format, key version
NONCE_BYTES = 12
KEY_BYTES = 32
# Writers hold this advisory lock shared while they encrypt; adding a key version takes it
# exclusively, so no transaction that chose the old version can commit after the rotation
# started re-encrypting (which would leave a row behind on a version about to be retired).
KEY_VERSION_LOCK = 0x6D6B6579  # "mkey"


class CryptoError(Exception):
    """Encryption is not possible (no or bad master key) or a value does not decrypt."""


class MasterKeyMissing(CryptoError):
    pass


def parse_master_key(value: str | bytes, source: str) -> bytes:
    """A base64 master key as 32 raw bytes; CryptoError naming `source` otherwise."""
    try:
        raw = base64.b64decode(value.strip() if isinstance(value, (str, bytes)) else value, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError(f"{source}: master key is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise CryptoError(f"{source}: master key must be {KEY_BYTES} bytes (base64 of 32 random bytes), "
                          f"got {len(raw)}")
    return raw


def load_master_key(key: str | None, key_file: str | None) -> bytes | None:
    """The master key from MELDPUNT_MASTER_KEY (base64) or MELDPUNT_MASTER_KEY_FILE; None if neither."""
    if key:
        return parse_master_key(key, "MELDPUNT_MASTER_KEY")
    if key_file:
        path = Path(key_file)
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise CryptoError(f"MELDPUNT_MASTER_KEY_FILE: {path} does not exist (run `meldpunt keys init`)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CryptoError(f"MELDPUNT_MASTER_KEY_FILE: cannot read {path}: {type(exc).__name__}") from None
        return parse_master_key(text, f"MELDPUNT_MASTER_KEY_FILE {path}")
    return None


def new_master_key() -> str:
    """A fresh master key, base64, for `meldpunt keys init` and tests."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def write_master_key_file(path: Path) -> bool:
    """Create `path` with a new key, readable by its owner only; False if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(new_master_key() + "\n")
    return True


def associated_data(municipality: str, table: str, column: str, row_id) -> bytes:
    return f"meldpunt|{municipality}|{table}|{column}|{row_id}".encode()


def _wrap_ad(municipality: str, version: int) -> bytes:
    return f"meldpunt-data-key|{municipality}|v{version}".encode()


def seal(data_key: bytes, version: int, plaintext: bytes, ad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return _HEADER.pack(MAGIC, FORMAT, version) + nonce + AESGCM(data_key).encrypt(nonce, plaintext, ad)


def key_version(ciphertext: bytes) -> int:
    """The data-key version a ciphertext was made with (what rotation looks at)."""
    ciphertext = bytes(ciphertext)
    if len(ciphertext) < _HEADER.size + NONCE_BYTES + 16:
        raise CryptoError("not a hub ciphertext: too short")
    magic, fmt, version = _HEADER.unpack_from(ciphertext)
    if magic != MAGIC or fmt != FORMAT:
        raise CryptoError("not a hub ciphertext: unknown format")
    return version


def open_sealed(data_key: bytes, ciphertext: bytes, ad: bytes) -> bytes:
    ciphertext = bytes(ciphertext)
    key_version(ciphertext)
    start = _HEADER.size
    nonce = ciphertext[start:start + NONCE_BYTES]
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext[start + NONCE_BYTES:], ad)
    except InvalidTag:
        raise CryptoError("value does not decrypt: wrong key or moved to another row, column "
                          "or municipality") from None


class Keyring:
    """The hub's master key and the municipalities' unwrapped data keys (cached in memory).

    One keyring per process (shared by a container's workers). Data keys are read
    through the caller's unit of work, so key creation commits with the data it protects.
    """

    def __init__(self, master_key: bytes):
        if master_key is None:
            raise MasterKeyMissing("no master key: set MELDPUNT_MASTER_KEY or MELDPUNT_MASTER_KEY_FILE")
        self._master = AESGCM(master_key)
        self._keys: dict[tuple[str, int], bytes] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ data keys
    def _unwrap(self, municipality: str, version: int, wrapped: bytes) -> bytes:
        wrapped = bytes(wrapped)
        try:
            return self._master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:],
                                        _wrap_ad(municipality, version))
        except InvalidTag:
            raise CryptoError(f"data key v{version} of {municipality} does not unwrap: "
                              "wrong master key") from None

    def _wrap(self, municipality: str, version: int, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, data_key, _wrap_ad(municipality, version))

    def data_key(self, uow, version: int, cache: bool = True) -> bytes:
        cached = self._keys.get((uow.municipality, version))
        if cached is not None:
            return cached
        row = uow.fetchone("SELECT wrapped_key FROM hub.data_keys WHERE version = %s", (version,))
        if row is None:
            raise CryptoError(f"{uow.municipality} has no data key v{version}")
        key = self._unwrap(uow.municipality, version, row["wrapped_key"])
        if cache:
            with self._lock:
                self._keys[(uow.municipality, version)] = key
        return key

    def current(self, uow) -> tuple[int, bytes]:
        """The municipality's newest data key, made (version 1) on first use."""
        uow.execute("SELECT pg_advisory_xact_lock_shared(%s)", (KEY_VERSION_LOCK,)).close()
        row = uow.fetchone("SELECT version FROM hub.data_keys WHERE retired_at IS NULL "
                           "ORDER BY version DESC LIMIT 1")
        if row is None:
            # Two processes may race to make the first key: the primary key lets one win,
            # and both then use the stored one.
            cur = uow.execute("INSERT INTO hub.data_keys (version, wrapped_key) VALUES (1, %s) "
                              "ON CONFLICT (version) DO NOTHING",
                              (self._wrap(uow.municipality, 1, os.urandom(KEY_BYTES)),))
            made_here = cur.rowcount == 1
            cur.close()
            # A key made in this transaction is not cached: if the transaction rolls back,
            # the key is gone and a cached copy would encrypt what nothing can decrypt.
            return 1, self.data_key(uow, 1, cache=not made_here)
        return row["version"], self.data_key(uow, row["version"])

    def add_version(self, uow, wait_seconds: float = 60.0) -> int:
        """A new data key version for this municipality (the start of a rotation).

        Waits for every transaction that is encrypting with the current version to finish;
        from this transaction's commit on, every new value uses the new version. The lock is
        tried, not queued for: a queued exclusive request would make every new writer wait
        behind it, and a service process whose writer blocks in libpq stalls all its green
        threads, including the one holding the shared lock.
        """
        deadline = time.monotonic() + wait_seconds
        while not uow.fetchone("SELECT pg_try_advisory_xact_lock(%s) AS got", (KEY_VERSION_LOCK,))["got"]:
            if time.monotonic() > deadline:
                raise CryptoError(f"{uow.municipality}: writers kept encrypting for {wait_seconds:.0f}s; "
                                  "no new key version made, try again")
            time.sleep(0.02)
        row = uow.fetchone("SELECT coalesce(max(version), 0) + 1 AS version FROM hub.data_keys")
        version = row["version"]
        uow.execute("INSERT INTO hub.data_keys (version, wrapped_key) VALUES (%s, %s)",
                    (version, self._wrap(uow.municipality, version, os.urandom(KEY_BYTES)))).close()
        return version

    # ---------------------------------------------------------------- values
    def encrypt(self, uow, table: str, column: str, row_id, plaintext: bytes) -> bytes:
        version, key = self.current(uow)
        return seal(key, version, plaintext, associated_data(uow.municipality, table, column, row_id))

    def decrypt(self, uow, table: str, column: str, row_id, ciphertext: bytes) -> bytes:
        key = self.data_key(uow, key_version(ciphertext))
        return open_sealed(key, ciphertext, associated_data(uow.municipality, table, column, row_id))

    def seal_json(self, uow, table: str, column: str, row_id, value) -> bytes:
        """A JSON value (dates as ISO text) encrypted for its place."""
        return self.encrypt(uow, table, column, row_id, json.dumps(value, default=str).encode())

    def open_json(self, uow, table: str, column: str, row_id, ciphertext):
        """The JSON value of a sealed column; None stays None (an erased or empty value)."""
        if ciphertext is None:
            return None
        return json.loads(self.decrypt(uow, table, column, row_id, ciphertext))

    def retire_older(self, uow, version: int) -> list[int]:
        """Mark every version older than `version` retired (after a rotation moved all values)."""
        rows = uow.fetchall("UPDATE hub.data_keys SET retired_at = now() WHERE version < %s AND retired_at IS NULL "
                            "RETURNING version", (version,))
        return sorted(r["version"] for r in rows)
