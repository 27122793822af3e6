"""The one door to a hub database: a unit of work per transaction, with outbox, inbox and audit.

A state change, the events it causes (outbox), the record that an incoming event was
handled (inbox) and the audit entry of a read of personal data all commit together or
not at all. Services never commit themselves: leaving the `with` block commits, an
exception rolls back.
"""
from __future__ import annotations

import contextlib
import json
import logging
import uuid

import psycopg2.extras

from shared.config import Settings
from shared.db.pool import ConnectionPool
from shared.events import Event, dump_event, new_event

log = logging.getLogger(__name__)


class WrittenEnvelope(dict):
    """An envelope as a unit of work wrote it to the outbox, with that JSON (`json`, bytes): the relay publishes
    those bytes (shared/outbox.py), so an event is serialised once on its way out (issue 25)."""
    __slots__ = ("json",)

    def __init__(self, envelope: dict, text: str):
        super().__init__(envelope)
        self.json = text.encode()


class UnknownMunicipality(LookupError):
    """The code names no municipality of this region."""


class UnitOfWork:
    def __init__(self, conn, service: str, municipality: str | None, consumer: str | None = None,
                 keyring=None, deferred_outbox: bool = False):
        """`deferred_outbox`: recorded events are written to the outbox together by `flush`, which
        whoever commits must call first (Stores does); otherwise each is written at once."""
        self.conn = conn
        self._keyring = keyring
        self.service = service
        self.municipality = municipality
        self.consumer = consumer
        self.outbox_rows: list[tuple[int, dict, int]] = []  # (row id, envelope, priority) once written
        self._deferred = deferred_outbox
        self._unwritten: list[tuple[Event, dict, int]] = []
        self._unwritten_audit: list[tuple] = []  # audit rows `flush` writes with the outbox rows
        self.wakes: list[tuple[str, object]] = []  # (periodic task, when) told after the commit
        self.recorded: list[Event] = []  # every event recorded here (signals offers them to partner subscribers)
        self.published: list[int] = []  # outbox rows the relay published, marked by `flush` (Stores)
        self._later: list[tuple[str, tuple]] = []  # writes made just before the next statement (`execute_later`)

    def wake(self, task: str, at) -> None:
        """This transaction writes work for a periodic task that falls due at `at`: once it commits,
        the process's due-time index of that task learns it (shared/scan.py), so no scan has to find it."""
        if at is not None:
            self.wakes.append((task, at))

    def cursor(self):
        if self._later:  # what was written later is written before anything else reads or writes
            self._write_later()
        return self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)

    def execute_later(self, query: str, params=()) -> None:
        """A write whose outcome nobody reads (no RETURNING, no row count), made just before this unit of
        work's next statement: in the one statement of `flush` when that comes next (a CTE, issue 25: a
        round trip fewer), else on its own before the statement that does. Every statement of the
        transaction sees it as if it had been executed here; a failure shows at that next statement."""
        self._later.append((query, params))
        if not self._deferred:
            self._write_later()

    def _write_later(self) -> None:
        later, self._later = self._later, []
        with self.conn.cursor() as cur:
            for query, params in later:
                cur.execute(query, params)

    def execute(self, query, params=None):
        cur = self.cursor()
        cur.execute(query, params)
        return cur

    def fetchone(self, query, params=None):
        with self.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchone()

    def fetchall(self, query, params=None):
        with self.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    # ------------------------------------------------------------- outbox
    def record(self, event_type: str, case_id, payload: dict, correlation_id=None,
               priority: int = 0) -> Event:
        """Put an event in the outbox; it is published only if this unit of work commits."""
        if self.municipality is None:
            raise RuntimeError("events belong to a municipality; this unit of work has none")
        event = new_event(event_type, self.municipality, case_id, payload, correlation_id)
        self.recorded.append(event)
        self._unwritten.append((event, dump_event(event), priority))
        if not self._deferred:
            self.flush()
        return event

    def flush(self) -> None:
        """Write the events recorded so far to the outbox, the audit entries to the audit log and what waits
        to be written later (`execute_later`), in one statement (issue 25: a round trip each)."""
        audits, self._unwritten_audit = self._unwritten_audit, []
        later, self._later = self._later, []
        if not self._unwritten and not later:
            if audits:
                with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                    psycopg2.extras.execute_values(
                        cur, "INSERT INTO hub.audit_log (actor, action, case_id, subject, reason) VALUES %s",
                        audits, page_size=len(audits))
            return
        unwritten, self._unwritten = self._unwritten, []
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            ctes = [cur.mogrify(f"later{n} AS ({query})", params).decode() for n, (query, params) in enumerate(later)]
            if audits:
                ctes.append(cur.mogrify(
                    "audit AS (INSERT INTO hub.audit_log (actor, action, case_id, subject, reason) VALUES {})".format(
                        ", ".join(["(%s, %s, %s, %s, %s)"] * len(audits))),
                    [value for row in audits for value in row]).decode())
            if not unwritten:  # nothing for the outbox: the writes alone
                cur.execute(f"WITH {', '.join(ctes)} SELECT 1")  # no parameters: nothing is formatted again
                return
            if self.published:  # rows the relay published earlier, marked in this statement (issue 25)
                ctes.append(cur.mogrify("published AS (UPDATE hub.outbox SET published_at = now() "
                                        "WHERE id = ANY(%s) AND published_at IS NULL)", (self.published,)).decode())
            # the writes, audit rows and marks ride on the insert
            riding = f"WITH {', '.join(ctes)} " if ctes else ""
            texts = [json.dumps(envelope) for _, envelope, _ in unwritten]
            rows = psycopg2.extras.execute_values(
                cur, riding.replace("%", "%%") + "INSERT INTO hub.outbox (service, event_id, event_type, priority, "
                "envelope) VALUES %s RETURNING id, event_id",
                [(self.service, event.event_id, event.event_type, priority, text)
                 for (event, _, priority), text in zip(unwritten, texts)], page_size=len(unwritten), fetch=True)
        ids = {str(row["event_id"]): row["id"] for row in rows}
        self.outbox_rows += [(ids[str(event.event_id)], WrittenEnvelope(envelope, text), priority)
                             for (event, envelope, priority), text in zip(unwritten, texts)]

    @property
    def writes_outbox(self) -> bool:
        """Whether `flush` has outbox rows to write (a statement other work can ride along)."""
        return bool(self._unwritten)

    # -------------------------------------------------------------- inbox
    def first_delivery(self, event: Event) -> bool:
        """Record that this consumer handled `event`; False if it already had (a redelivery)."""
        return bool(self.first_deliveries([event]))

    def inbox_claim(self, event: Event) -> tuple[str, tuple]:
        """`first_delivery` as SQL for a handler's first statement to hold as a CTE (`DecisionState.take_decision`):
        an INSERT … RETURNING event_id that returns no row for a redelivery, and its parameters. One round
        trip fewer per event (issue 25); the claim commits with the handler's effects as before."""
        if not self.consumer:
            raise RuntimeError("only an event handler's unit of work has an inbox")
        return ("INSERT INTO hub.inbox (consumer, event_id, event_type) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING event_id", (self.consumer, event.event_id, event.event_type))

    def first_deliveries(self, events: list[Event]) -> list[Event]:
        """`first_delivery` for a batch in one statement: the events this consumer had not handled
        before, each once, in the order given."""
        if not self.consumer:
            raise RuntimeError("only an event handler's unit of work has an inbox")
        unique = list({event.event_id: event for event in events}.values())
        if not unique:
            return []
        with self.cursor() as cur:
            rows = psycopg2.extras.execute_values(
                cur, "INSERT INTO hub.inbox (consumer, event_id, event_type) VALUES %s "
                     "ON CONFLICT DO NOTHING RETURNING event_id",
                [(self.consumer, event.event_id, event.event_type) for event in unique],
                page_size=len(unique), fetch=True)
        new = {str(row["event_id"]) for row in rows}
        return [event for event in unique if str(event.event_id) in new]

    # --------------------------------------------------------- encryption
    @property
    def keyring(self):
        """The process's keyring (shared/crypto.py); MasterKeyMissing when the hub has no master key."""
        if self._keyring is None:
            from shared.crypto import MasterKeyMissing

            raise MasterKeyMissing("no master key: set MELDPUNT_MASTER_KEY or MELDPUNT_MASTER_KEY_FILE")
        return self._keyring

    def seal(self, table: str, column: str, row_id, value, raw: bool = False, case_id=None,
             new_case: bool = False) -> bytes:
        """`value` (JSON, or bytes when raw) encrypted, bound to table, column and row id: with the case's own
        key when it belongs to a case (`case_id`: erasure destroys that key), else with this municipality's
        current data key. `new_case`: this transaction makes the case (its key is made without a look first)."""
        if raw:
            return self.keyring.encrypt(self, table, column, row_id, bytes(value), case_id=case_id, new_case=new_case)
        return self.keyring.seal_json(self, table, column, row_id, value, case_id=case_id, new_case=new_case)

    def new_case_id(self) -> uuid.UUID:
        """The id of a case this unit of work makes (Keyring.new_case_id: its key made ahead with others')."""
        return self._keyring.new_case_id(self) if self._keyring is not None else uuid.uuid4()

    def unseal(self, table: str, column: str, row_id, sealed, raw: bool = False):
        """The value of a sealed column; None stays None (erased, or never given)."""
        if sealed is None:
            return None
        if raw:
            return self.keyring.decrypt(self, table, column, row_id, sealed)
        return self.keyring.open_json(self, table, column, row_id, sealed)

    # -------------------------------------------------------------- audit
    def audit(self, actor: str, action: str, subject: str, case_id=None, reason: str | None = None):
        """Write who did what with which personal data to the municipality's audit log: in a unit of work
        that defers its outbox, together with the outbox rows when it commits (`flush`), else at once."""
        self._unwritten_audit.append((actor, action, case_id, subject, reason))
        if not self._deferred:
            self.flush()

    # ---------------------------------------------------- disclosure ledger
    def disclose(self, disclosure, at=None, later: bool = False) -> int | None:
        """One row in the disclosure ledger (shared/disclosures.py): personal data of a case left, or is
        handed over to leave, in this transaction; its id. `later`: written with the next statement (with the
        outbox rows of the event it discloses: `execute_later`), no id."""
        from shared import disclosures

        return disclosures.record(self, disclosure, at=at, later=later)

    def disclosed(self, case_id) -> list[dict]:
        """The case's disclosure ledger, each row with its status now."""
        from shared import disclosures

        return disclosures.of_case(self, case_id)


class Stores:
    """The databases one service process uses: each municipality's case store, and statistics."""

    def __init__(self, settings: Settings, pool: ConnectionPool, service: str):
        self.settings = settings
        self.region = settings.region
        self.pool = pool
        self.service = service
        self._commit_listeners = []
        self._wake_listeners = []
        self._marks = None
        self.keyring = None
        if settings.master_key is not None:
            from shared.db.case_keys import keyring_for

            self.keyring = keyring_for(settings)

    def on_commit(self, listener):
        """Call `listener(dsn, outbox_rows)` after a unit of work that recorded events commits:
        (row id, envelope, priority) of each, so that the relay can publish them without a query."""
        self._commit_listeners.append(listener)

    def on_wake(self, listener):
        """Call `listener(task, municipality, at)` for each `UnitOfWork.wake` once its unit of work commits."""
        self._wake_listeners.append(listener)

    def dsn_of(self, municipality: str) -> str:
        try:
            return self.region.municipality(municipality).case_store_dsn
        except KeyError:
            raise UnknownMunicipality(municipality) from None

    def marks_for(self, relay) -> None:
        """Let units of work that write outbox rows also mark what `relay` published on their store
        (`OutboxRelay.take_unmarked`)."""
        self._marks = relay

    @contextlib.contextmanager
    def unit_of_work(self, dsn: str, municipality: str | None = None, consumer: str | None = None):
        with self.pool.connection(dsn) as conn:
            uow = UnitOfWork(conn, self.service, municipality, consumer, keyring=self.keyring, deferred_outbox=True)
            try:
                yield uow
                if uow.writes_outbox and self._marks is not None:
                    uow.published = self._marks.take_unmarked(dsn)
                uow.flush()
                conn.commit()
            except BaseException:
                if uow.published:  # not marked after all: the relay marks them
                    self._marks.give_back(dsn, uow.published)
                if not conn.closed:
                    conn.rollback()
                raise
        if uow.wakes and municipality is not None:
            for listener in self._wake_listeners:
                for task, at in uow.wakes:
                    listener(task, municipality, at)
        if uow.outbox_rows:
            for listener in self._commit_listeners:
                try:
                    listener(dsn, uow.outbox_rows)
                except Exception:  # the outbox sweep catches up; a listener must not fail the commit
                    log.exception("commit listener failed")

    def case_store(self, municipality: str, consumer: str | None = None):
        """A unit of work on one municipality's own case store (and no other)."""
        return self.unit_of_work(self.dsn_of(municipality), municipality, consumer)

    @contextlib.contextmanager
    def reading(self, municipality: str):
        """A unit of work on a case store for one read, in autocommit: the statement reads what is committed,
        as it would inside a transaction, in one round trip where BEGIN, the read and COMMIT were three (the key
        check of every request, issue 25). For reads only: nothing written here would wait for a commit."""
        with self.pool.connection(self.dsn_of(municipality)) as conn:
            conn.autocommit = True
            try:
                yield UnitOfWork(conn, self.service, municipality, keyring=self.keyring)
            finally:
                if not conn.closed:
                    conn.autocommit = False  # as the pool hands connections out

    def statistics(self, consumer: str | None = None):
        return self.unit_of_work(self.region.statistics_dsn, None, consumer)

    def case_store_targets(self) -> list[tuple[str, str]]:
        return [(m.code, m.case_store_dsn) for m in self.region.municipalities]

    def ping(self, dsn: str) -> None:
        with self.pool.connection(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            conn.rollback()


def new_id() -> uuid.UUID:
    return uuid.uuid4()
