"""Envelope encryption of personal data at rest: a data key per municipality, wrapped by the master key.

Each municipality's case store holds its own AES-256-GCM data keys in `hub.data_keys`,
each wrapped (AES-256-GCM) by the hub's master key, which never touches a database. A
value is encrypted with the municipality's newest data key and carries that key's
version, so that rotation (`meldpunt keys rotate`, issue 8) can add a version and
re-encrypt old values later. Associated data binds each ciphertext to municipality,
table, column and row id: a value copied to another row, column or municipality no
longer decrypts.

A case's personal data is encrypted with the case's own key instead (crypto-shredding, issue 21 item 4): a
random key per case, wrapped by the municipality's data key and kept in the region's key store
(shared/db/case_keys.py), never in the case store's dumps. Erasure destroys it; what any copy of the case
store still holds of that case then decrypts with no key anywhere.

Ciphertext layout (bytes): b"MH" | format 0x01 | key version (4 bytes, big-endian) |
nonce (12) | AES-GCM ciphertext and tag; with a case key: b"MH" | format 0x02 | case id (16) |
nonce (12) | AES-GCM ciphertext and tag.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"MH"
FORMAT = 1
FORMAT_CASE = 2
_HEADER = struct.Struct(">2sBI")  # magic, format, key version
_CASE_HEADER = struct.Struct(">2sB16s")  # magic, format, case id
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


class CaseKeyDestroyed(CryptoError):
    """The case was erased: its key is gone, and with it every copy of its data."""


def master_key_id(master_key: bytes) -> str:
    """A fingerprint of a master key (not the key): which master wraps a data key."""
    return hashlib.sha256(b"meldpunt-master-key-id|" + master_key).hexdigest()[:16]


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


def load_master_key(key: str | None, key_file: str | None, name: str = "MELDPUNT_MASTER_KEY") -> bytes | None:
    """The master key from MELDPUNT_MASTER_KEY (base64) or MELDPUNT_MASTER_KEY_FILE; None if neither."""
    if key:
        return parse_master_key(key, name)
    if key_file:
        path = Path(key_file)
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise CryptoError(f"{name}_FILE: {path} does not exist (run `meldpunt keys init`)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CryptoError(f"{name}_FILE: cannot read {path}: {type(exc).__name__}") from None
        return parse_master_key(text, f"{name}_FILE {path}")
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


def _case_wrap_ad(municipality: str, case_id, version: int) -> bytes:
    return f"meldpunt-case-key|{municipality}|{case_id}|v{version}".encode()


def seal_for_case(case_key: bytes, case_id, plaintext: bytes, ad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    header = _CASE_HEADER.pack(MAGIC, FORMAT_CASE, uuid.UUID(str(case_id)).bytes)
    return header + nonce + AESGCM(case_key).encrypt(nonce, plaintext, ad)


def case_of(ciphertext: bytes) -> uuid.UUID | None:
    """The case whose key a ciphertext was made with; None for one made with a municipality key."""
    ciphertext = bytes(ciphertext)
    if len(ciphertext) >= 3 and ciphertext[:2] == MAGIC and ciphertext[2] == FORMAT_CASE:
        if len(ciphertext) < _CASE_HEADER.size + NONCE_BYTES + 16:
            raise CryptoError("not a hub ciphertext: too short")
        return uuid.UUID(bytes=ciphertext[3:_CASE_HEADER.size])
    return None


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
    `previous`: the master key before a rotation (`meldpunt keys rotate-master`), tried when the current
    one does not unwrap. `case_keys`: where case keys live (shared/db/case_keys.py; default: in the case
    store of the unit of work).
    """

    CASE_KEY_SECONDS = 300.0   # how long an unwrapped case key stays in memory
    CASE_KEY_CACHE = 10_000
    SPARE_CASE_KEYS = 16  # keys of new cases made together in the key store, per municipality (`new_case_id`)

    def __init__(self, master_key: bytes, previous: bytes | None = None, case_keys=None):
        if master_key is None:
            raise MasterKeyMissing("no master key: set MELDPUNT_MASTER_KEY or MELDPUNT_MASTER_KEY_FILE")
        self._master = AESGCM(master_key)
        self.master_id = master_key_id(master_key)
        self._masters = [(self.master_id, self._master)]
        if previous is not None and previous != master_key:
            self._masters.append((master_key_id(previous), AESGCM(previous)))
        self._keys: dict[tuple[str, int], bytes] = {}
        self._case_keys: OrderedDict = OrderedDict()  # (municipality, case id) -> (key, until)
        self._spare: dict[str, list[tuple[uuid.UUID, bytes]]] = {}  # municipality -> [(case id, key)] (`new_case_id`)
        self._lock = threading.Lock()
        if case_keys is None:
            from shared.db.case_keys import CaseKeyStore

            case_keys = CaseKeyStore(None)
        self.case_keys = case_keys

    # ------------------------------------------------------------ data keys
    def _unwrap(self, municipality: str, version: int, wrapped: bytes, masters=None) -> bytes:
        wrapped = bytes(wrapped)
        for _, master in masters or self._masters:
            try:
                return master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_ad(municipality, version))
            except InvalidTag:
                continue
        raise CryptoError(f"data key v{version} of {municipality} does not unwrap: wrong master key")

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

    def _insert_data_key(self, uow, version: int, conflict: str = "") -> int:
        cur = uow.execute("INSERT INTO hub.data_keys (version, master_key_id, wrapped_key) VALUES (%s, %s, %s) "
                          + conflict, (version, self.master_id,
                                       self._wrap(uow.municipality, version, os.urandom(KEY_BYTES))))
        count = cur.rowcount
        cur.close()
        return count

    def current(self, uow) -> tuple[int, bytes]:
        """The municipality's newest data key, made (version 1) on first use."""
        version, key, _ = self._current(uow)
        return version, key

    def _current(self, uow) -> tuple[int, bytes, bool]:
        """`current`, and whether the key was made in the unit of work's own transaction (it may roll back)."""
        # The lock and the read in one round trip (issue 25): two statements of one query, so that the read,
        # under READ COMMITTED, takes its snapshot after the lock is held and sees a rotation's new version
        # that committed while this waited (one statement would read with a snapshot from before the wait).
        row = uow.fetchone("SELECT pg_advisory_xact_lock_shared(%s); SELECT version FROM hub.data_keys "
                           "WHERE retired_at IS NULL ORDER BY version DESC LIMIT 1", (KEY_VERSION_LOCK,))
        if row is None:
            # Two processes may race to make the first key: the primary key lets one win,
            # and both then use the stored one.
            made_here = self._insert_data_key(uow, 1, "ON CONFLICT (version) DO NOTHING") == 1
            # A key made in this transaction is not cached: if the transaction rolls back,
            # the key is gone and a cached copy would encrypt what nothing can decrypt.
            return 1, self.data_key(uow, 1, cache=not made_here), made_here
        return row["version"], self.data_key(uow, row["version"]), False

    def rewrap_master(self, uow) -> int:
        """Re-wrap this municipality's data keys that another master key wraps with the current one (`meldpunt
        keys rotate-master`): only the data keys are unwrapped, never a value of the data. How many."""
        rows = uow.fetchall("SELECT version, wrapped_key, master_key_id FROM hub.data_keys "
                            "WHERE master_key_id IS DISTINCT FROM %s FOR UPDATE", (self.master_id,))
        moved = 0
        for row in rows:
            try:  # NULL: wrapped before the column existed, perhaps by the current key already
                self._unwrap(uow.municipality, row["version"], row["wrapped_key"], masters=self._masters[:1])
                wrapped = None
            except CryptoError:
                key = self._unwrap(uow.municipality, row["version"], row["wrapped_key"], masters=self._masters[1:])
                wrapped = self._wrap(uow.municipality, row["version"], key)
            uow.execute("UPDATE hub.data_keys SET wrapped_key = coalesce(%s, wrapped_key), master_key_id = %s "
                        "WHERE version = %s", (wrapped, self.master_id, row["version"])).close()
            moved += wrapped is not None
        return moved

    # ------------------------------------------------------------ case keys
    def case_key(self, uow, case_id, create: bool = False, new_case: bool = False) -> bytes:
        """The case's own key (made on first use when `create`); CaseKeyDestroyed once the case is erased.
        `new_case`: the caller makes the case now (intake storing a new incident), so its key is made without
        looking for one first (one statement and one transaction in the key store fewer, issue 25); should
        one exist after all, it is read and checked as any other."""
        case_id = uuid.UUID(str(case_id))
        slot = (uow.municipality, case_id)
        now = time.monotonic()
        with self._lock:
            cached = self._case_keys.get(slot)
            if cached is not None and cached[1] > now:
                self._case_keys.move_to_end(slot)
                return cached[0]
        made_in_transaction = False
        row = None
        if create and new_case:
            row, made_in_transaction = self._new_case_key(uow, case_id, only_new=True)
        made_now = row is not None
        if row is None and not create:
            # with the keys made together with it (`new_case_id`): the next new cases' keys are then in memory
            rows = self.case_keys.get_made_with(uow, case_id)
            row = next((r for r in rows if uuid.UUID(str(r["case_id"])) == case_id), None)
            self._keep_made_with(uow, [r for r in rows if r is not row], now)
        elif row is None:
            row = self.case_keys.get(uow, case_id)
        if not made_now and row is not None and row["wrapped_key"] is not None and create and uow.fetchone(
                "SELECT 1 AS present FROM hub.data_keys WHERE version = %s", (row["data_key_version"],)) is None:
            # wrapped by a municipality key made in a transaction that rolled back: nothing committed uses it
            self.case_keys.drop_orphan(uow, case_id, row["data_key_version"])
            row = None
        if row is None and create:
            row, made_in_transaction = self._new_case_key(uow, case_id)
        if row is None:
            raise CryptoError(f"{uow.municipality} has no key for case {case_id}")
        if row["wrapped_key"] is None:
            raise CaseKeyDestroyed(f"case {case_id} of {uow.municipality} was erased: its key is destroyed")
        key = self._unwrap_case_key(uow, case_id, row["data_key_version"], row["wrapped_key"])
        if not made_in_transaction:
            with self._lock:
                self._case_keys[slot] = (key, now + self.CASE_KEY_SECONDS)
                while len(self._case_keys) > self.CASE_KEY_CACHE:
                    self._case_keys.popitem(last=False)
        return key

    def _keep_made_with(self, uow, rows: list[dict], now: float) -> None:
        """Keep in memory the keys of cases made together with one just read (`case_key`), unwrapped; a
        destroyed one or one that does not unwrap (its data key rolled back) is left for its own read."""
        kept = []
        for row in rows:
            if row["wrapped_key"] is None:
                continue
            case_id = uuid.UUID(str(row["case_id"]))
            try:
                kept.append((case_id, self._unwrap_case_key(uow, case_id, row["data_key_version"], row["wrapped_key"])))
            except CryptoError:
                continue
        if kept:
            with self._lock:
                for case_id, key in kept:
                    self._case_keys[(uow.municipality, case_id)] = (key, now + self.CASE_KEY_SECONDS)
                while len(self._case_keys) > self.CASE_KEY_CACHE:
                    self._case_keys.popitem(last=False)

    def new_case_id(self, uow) -> uuid.UUID:
        """The id of a case the unit of work makes now. With the region's key store (`case_keys.separate`), one
        whose key is already stored there and held here, so that sealing the case's data reads and writes no
        key: the keys of SPARE_CASE_KEYS new cases of a municipality are made in one statement in the key store
        (committed at once, as every case key is: an id never used leaves an unused key, never data without
        its key) and handed out one by one (issue 25: the key store's statement and transaction, and the data
        key's lock, once per SPARE_CASE_KEYS new cases instead of once per case). Without a key store a fresh
        id: its key is made with the case's data, in its transaction."""
        if not self.case_keys.separate:
            return uuid.uuid4()
        with self._lock:
            spare = self._spare.get(uow.municipality)
            taken = spare.pop() if spare else None
        if taken is None:
            made = self._spare_case_keys(uow)
            if not made:  # the municipality's data key was made in this transaction: no keys ahead of it
                return uuid.uuid4()
            taken = made.pop()
            with self._lock:
                self._spare.setdefault(uow.municipality, []).extend(made)
        case_id, key = taken
        with self._lock:
            self._case_keys[(uow.municipality, case_id)] = (key, time.monotonic() + self.CASE_KEY_SECONDS)
            while len(self._case_keys) > self.CASE_KEY_CACHE:
                self._case_keys.popitem(last=False)
        return case_id

    def _spare_case_keys(self, uow) -> list[tuple[uuid.UUID, bytes]]:
        """SPARE_CASE_KEYS fresh case ids with their keys, stored in the key store under the municipality's
        current data key (its writers' lock held, as for every case key); none while that data key is made in
        the unit of work's own transaction (a rollback would leave the keys wrapped by a key that never was)."""
        version, municipality_key, made_here = self._current(uow)
        if made_here:
            return []
        made = []
        for _ in range(self.SPARE_CASE_KEYS):
            case_id, fresh, nonce = uuid.uuid4(), os.urandom(KEY_BYTES), os.urandom(NONCE_BYTES)
            wrapped = nonce + AESGCM(municipality_key).encrypt(nonce, fresh, _case_wrap_ad(uow.municipality, case_id,
                                                                                           version))
            made.append((case_id, fresh, wrapped))
        stored = self.case_keys.create_many(uow, version, [(case_id, wrapped) for case_id, _, wrapped in made])
        return [(case_id, fresh) for case_id, fresh, _ in made if case_id in stored]

    def _new_case_key(self, uow, case_id, only_new: bool = False) -> tuple[dict | None, bool]:
        """A fresh key for the case, wrapped with the municipality's current data key and stored: (the stored
        row, made in the unit of work's own transaction); with `only_new`, (None, False) when the case has
        a key already."""
        version, municipality_key = self.current(uow)
        fresh = os.urandom(KEY_BYTES)
        nonce = os.urandom(NONCE_BYTES)
        wrapped = nonce + AESGCM(municipality_key).encrypt(nonce, fresh, _case_wrap_ad(uow.municipality, case_id,
                                                                                       version))
        return self.case_keys.create(uow, case_id, version, wrapped, only_new=only_new)

    def _unwrap_case_key(self, uow, case_id, version: int, wrapped: bytes) -> bytes:
        wrapped = bytes(wrapped)
        try:
            return AESGCM(self.data_key(uow, version)).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _case_wrap_ad(uow.municipality, case_id, version))
        except InvalidTag:
            raise CryptoError(f"the key of case {case_id} does not unwrap with data key v{version}") from None

    def destroy_case_key(self, uow, case_id) -> None:
        """Crypto-shred a case: its key is gone from the key store (and from this process's memory)."""
        case_id = uuid.UUID(str(case_id))
        self.case_keys.destroy(uow, case_id)
        with self._lock:
            self._case_keys.pop((uow.municipality, case_id), None)

    def rewrap_case_keys(self, uow, version: int, batch_size: int) -> int:
        """Re-wrap up to `batch_size` case keys of this municipality on an older data key with data key `version`
        (a data key rotation): the case keys are unwrapped and wrapped again, the data is not touched."""
        target = self.data_key(uow, version)
        moved = 0
        for row in self.case_keys.not_on(uow, version, batch_size):
            key = self._unwrap_case_key(uow, row["case_id"], row["data_key_version"], row["wrapped_key"])
            nonce = os.urandom(NONCE_BYTES)
            wrapped = nonce + AESGCM(target).encrypt(nonce, key, _case_wrap_ad(uow.municipality, row["case_id"],
                                                                              version))
            moved += self.case_keys.rewrap(uow, row["case_id"], row["data_key_version"], version, wrapped)
        return moved

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
        self._insert_data_key(uow, version)
        return version

    # ---------------------------------------------------------------- values
    def encrypt(self, uow, table: str, column: str, row_id, plaintext: bytes, case_id=None,
                new_case: bool = False) -> bytes:
        """With `case_id`: under that case's own key (what erasure destroys; `new_case`: see `case_key`); else
        the municipality's data key."""
        ad = associated_data(uow.municipality, table, column, row_id)
        if case_id is not None:
            return seal_for_case(self.case_key(uow, case_id, create=True, new_case=new_case), case_id, plaintext, ad)
        version, key = self.current(uow)
        return seal(key, version, plaintext, ad)

    def decrypt(self, uow, table: str, column: str, row_id, ciphertext: bytes) -> bytes:
        ad = associated_data(uow.municipality, table, column, row_id)
        case_id = case_of(ciphertext)
        if case_id is not None:
            ciphertext = bytes(ciphertext)
            key = self.case_key(uow, case_id)
            start = _CASE_HEADER.size
            try:
                return AESGCM(key).decrypt(ciphertext[start:start + NONCE_BYTES], ciphertext[start + NONCE_BYTES:], ad)
            except InvalidTag:
                raise CryptoError("value does not decrypt: wrong key or moved to another row, column "
                                  "or municipality") from None
        key = self.data_key(uow, key_version(ciphertext))
        return open_sealed(key, ciphertext, ad)

    def seal_json(self, uow, table: str, column: str, row_id, value, case_id=None, new_case: bool = False) -> bytes:
        """A JSON value (dates as ISO text) encrypted for its place."""
        return self.encrypt(uow, table, column, row_id, json.dumps(value, default=str).encode(), case_id=case_id,
                            new_case=new_case)

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
