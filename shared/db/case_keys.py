"""Where case keys live (crypto-shredding, issue 21 item 4): `hub.case_keys` of the region's key store, a database
of its own (region file `key_store_dsn`), so that no dump or backup of a case store holds a case's key; or, in a
region without one, of each case store itself (then erasure does not reach into older backups of that store).

A key made in the key store commits at once, before the data it protects: a transaction that then rolls back
leaves an unused key, never data without its key. Destroying commits at once too, before the erasure's own
transaction, so that an erasure that fails half-way leaves the case unreadable rather than readable.
"""
from __future__ import annotations

import contextlib
import threading
import uuid

import psycopg2.extras

_COLUMNS = "case_id, data_key_version, wrapped_key"


class CaseKeyStore:
    def __init__(self, dsn: str | None, pool=None):
        """`dsn`: the region's key store, with a `pool` of its own (a unit of work already holds a connection of
        the service's pool: taking a second from the same pool could wait for itself at the cap); None: the
        case store of each unit of work."""
        self.dsn = dsn
        self.pool = pool
        if dsn is not None and pool is None:
            from shared.db.pool import ConnectionPool

            self.pool = ConnectionPool(2, idle_seconds=10.0, application_name="meldpunt-keys")

    @property
    def separate(self) -> bool:
        return self.dsn is not None

    @contextlib.contextmanager
    def _cursor(self, uow):
        if not self.separate:
            with uow.cursor() as cur:
                yield cur
            return
        with self.pool.connection(self.dsn) as conn:
            # Every statement here stands on its own (a key is made, read, re-wrapped or destroyed in one; `create`'s
            # read after a conflict reads what another writer committed), so each commits by itself: one round trip
            # where BEGIN, the statement and COMMIT were three (issue 25). Committed at once, as the module says.
            conn.autocommit = True
            try:
                with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                    yield cur
            finally:
                if not conn.closed:
                    conn.autocommit = False  # as the pool hands connections out
        self.pool.close_idle()  # nobody else reaps this small pool

    def get(self, uow, case_id) -> dict | None:
        with self._cursor(uow) as cur:
            cur.execute(f"SELECT {_COLUMNS} FROM hub.case_keys WHERE municipality = %s AND case_id = %s",
                        (uow.municipality, case_id))
            return cur.fetchone()

    def get_made_with(self, uow, case_id) -> list[dict]:
        """The case's key row (if any) and those made in the same statement with it (`create_many`), in one query:
        a service that reads one new case's key has the next ones' at hand (issue 25)."""
        if not self.separate:
            row = self.get(uow, case_id)
            return [row] if row is not None else []
        with self._cursor(uow) as cur:
            cur.execute(f"SELECT {_COLUMNS} FROM hub.case_keys WHERE municipality = %(m)s AND (case_id = %(c)s "
                        "OR made_with = (SELECT made_with FROM hub.case_keys WHERE municipality = %(m)s "
                        "AND case_id = %(c)s))", {"m": uow.municipality, "c": case_id})
            return cur.fetchall()

    def create(self, uow, case_id, version: int, wrapped: bytes, only_new: bool = False) -> tuple[dict | None, bool]:
        """The stored key of the case (the one made here, or the one a concurrent writer made first), and whether
        it was made in the unit of work's own transaction (then not to be cached: it may still roll back).
        `only_new`: (None, False) when the case had a key already, instead of reading it."""
        with self._cursor(uow) as cur:
            cur.execute("INSERT INTO hub.case_keys (municipality, case_id, data_key_version, wrapped_key) "
                        f"VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
                        (uow.municipality, case_id, version, psycopg2.Binary(wrapped)))
            made = cur.fetchone()
            if made is not None:  # the usual case: no second round trip (issue 25)
                return made, not self.separate
            if only_new:
                return None, False
            cur.execute(f"SELECT {_COLUMNS} FROM hub.case_keys WHERE municipality = %s AND case_id = %s",
                        (uow.municipality, case_id))
            return cur.fetchone(), False

    def create_many(self, uow, version: int, keys: list[tuple]) -> set:
        """New cases' keys [(case id, wrapped key)] under data key `version`, in one statement (only with a key
        store of its own, where it commits at once: Keyring.new_case_id); the case ids stored (a case id that
        had a key already keeps it and is left out)."""
        if not self.separate:
            raise RuntimeError("keys made ahead of their cases need a key store of their own")
        made_with = uuid.uuid4()  # the statement's keys, read together by `get_made_with`
        with self._cursor(uow) as cur:
            rows = psycopg2.extras.execute_values(
                cur, "INSERT INTO hub.case_keys (municipality, case_id, data_key_version, wrapped_key, made_with) "
                     "VALUES %s ON CONFLICT DO NOTHING RETURNING case_id",
                [(uow.municipality, case_id, version, psycopg2.Binary(wrapped), made_with)
                 for case_id, wrapped in keys], page_size=len(keys), fetch=True)
        return {row["case_id"] if isinstance(row["case_id"], uuid.UUID) else uuid.UUID(str(row["case_id"]))
                for row in rows}

    def destroy(self, uow, case_id) -> None:
        """No key for this case, ever again (a row marked destroyed stays, so none is made later)."""
        with self._cursor(uow) as cur:
            cur.execute("INSERT INTO hub.case_keys (municipality, case_id, data_key_version, wrapped_key, destroyed_at) "
                        "VALUES (%s, %s, 0, NULL, now()) ON CONFLICT (municipality, case_id) DO UPDATE "
                        "SET wrapped_key = NULL, destroyed_at = coalesce(hub.case_keys.destroyed_at, now())",
                        (uow.municipality, case_id))

    def not_on(self, uow, version: int, limit: int) -> list[dict]:
        with self._cursor(uow) as cur:
            cur.execute(f"SELECT {_COLUMNS} FROM hub.case_keys WHERE municipality = %s AND wrapped_key IS NOT NULL "
                        "AND data_key_version <> %s LIMIT %s", (uow.municipality, version, limit))
            return cur.fetchall()

    def count_not_on(self, uow, version: int) -> int:
        with self._cursor(uow) as cur:
            cur.execute("SELECT count(*) AS n FROM hub.case_keys WHERE municipality = %s AND wrapped_key IS NOT NULL "
                        "AND data_key_version <> %s", (uow.municipality, version))
            return cur.fetchone()["n"]

    def rewrap(self, uow, case_id, old_version: int, version: int, wrapped: bytes) -> int:
        """Store a case key re-wrapped with data key `version`, unless it changed meanwhile (destroyed)."""
        with self._cursor(uow) as cur:
            cur.execute("UPDATE hub.case_keys SET data_key_version = %s, wrapped_key = %s WHERE municipality = %s "
                        "AND case_id = %s AND data_key_version = %s AND wrapped_key IS NOT NULL",
                        (version, psycopg2.Binary(wrapped), uow.municipality, case_id, old_version))
            return cur.rowcount

    def drop_orphan(self, uow, case_id, version: int) -> None:
        """Forget a key wrapped by a municipality key that does not exist (its transaction rolled back)."""
        with self._cursor(uow) as cur:
            cur.execute("DELETE FROM hub.case_keys WHERE municipality = %s AND case_id = %s AND data_key_version = %s "
                        "AND wrapped_key IS NOT NULL", (uow.municipality, case_id, version))


_KEYRINGS: dict = {}
_KEYRINGS_LOCK = threading.Lock()


def keyring_for(settings):
    """The keyring of a process with these settings: master key (and the previous one during a rotation), case
    keys in the region's key store. One per process and configuration, so that the services of one process
    share its memory of keys and its two connections to the key store."""
    from shared.crypto import Keyring

    region = settings.region
    previous = getattr(settings, "previous_master_key", None)
    slot = (settings.master_key, previous, region.key_store_dsn,
            tuple((m.code, m.case_store_dsn) for m in region.municipalities))
    with _KEYRINGS_LOCK:
        if slot not in _KEYRINGS:
            _KEYRINGS[slot] = Keyring(settings.master_key, previous, case_keys=CaseKeyStore(region.key_store_dsn))
        return _KEYRINGS[slot]
