"""Counts the SQL statements and transactions a process sends to PostgreSQL, by who sends them.

Counts, unlike times, do not depend on how busy the machine is: issue 25's "statements /
transactions per incident" is read from here (bench/sql_count.py for a hub in subprocesses,
tests/integration/test_statements_per_incident.py for one in the test process). `install()`
replaces `psycopg2.connect` with one whose connections count: every `execute`, each row of an
`executemany`, `callproc` and COPY is one statement (a round trip); a transaction is what a
commit or rollback ends after at least one statement (or each statement, in autocommit), so the
implicit BEGIN and the COMMIT are not counted as statements. Keys are the connection's
`application_name` (meldpunt-<service>, meldpunt-keys) and the statement's text with its
literal lists folded, so that a batch of one or ten reads the same.
"""
from __future__ import annotations

import re
import threading
from collections import Counter

import psycopg2
import psycopg2.extensions

_lock = threading.Lock()
statements: Counter = Counter()  # (application_name, statement text) -> statements
transactions: Counter = Counter()  # application_name -> transactions
_installed = None
_cursor_classes: dict = {}
_SPACES = re.compile(r"\s+")
_LITERALS = re.compile(r"(?:E?'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b|\b(?:true|false|NULL)\b)(?:::[a-z_\[\]]+)?")
_LISTS = re.compile(r"VALUES \((?:[^()]|\([^()]*\))*\)(?:\s*,\s*\((?:[^()]|\([^()]*\))*\))*")


def shape(query, conn=None) -> str:
    """The statement without its values: literals as ?, whitespace collapsed, a list of rows as one."""
    if hasattr(query, "as_string"):  # psycopg2.sql
        query = query.as_string(conn)
    text = query.decode() if isinstance(query, bytes) else str(query)
    text = _LITERALS.sub("?", _SPACES.sub(" ", text).strip())
    return _LISTS.sub("VALUES (…)", text)[:160]


# reset() and snapshot() take no lock: sitecustomize calls them from signal handlers, which run between two
# bytecodes of the main thread, possibly inside _count holding the lock (a process signalled while busy hung
# there, docs/benchmarks.md). clear() and a dict copy are one C call each, whole under the GIL.

def reset() -> None:
    statements.clear()
    transactions.clear()


def snapshot() -> dict:
    """{'statements': {app: {text: n}}, 'transactions': {app: n}}"""
    by_app: dict = {}
    for (app, text), n in dict(statements).items():
        by_app.setdefault(app, {})[text] = n
    return {"statements": by_app, "transactions": dict(transactions)}


def _count(conn, query, n=1):
    with _lock:
        statements[(conn.counted_as, shape(query, conn))] += n
        if conn.autocommit:
            transactions[conn.counted_as] += n
        else:
            conn.in_transaction = True


def _counting(cursor_class):
    counted = _cursor_classes.get(cursor_class)
    if counted is None:
        class counted(cursor_class):  # noqa: N801 — a cursor class, named as psycopg2 names its own
            def execute(self, query, vars=None):
                _count(self.connection, query)
                return super().execute(query, vars)

            def executemany(self, query, vars_list):
                vars_list = list(vars_list)
                _count(self.connection, query, len(vars_list))
                return super().executemany(query, vars_list)

            def callproc(self, procname, parameters=None):
                _count(self.connection, f"CALL {procname}")
                return super().callproc(procname, parameters)

            def copy_expert(self, sql, file, size=8192):
                _count(self.connection, sql)
                return super().copy_expert(sql, file, size)

        _cursor_classes[cursor_class] = counted
    return counted


class CountingConnection(psycopg2.extensions.connection):
    counted_as = "?"
    in_transaction = False

    def cursor(self, *args, **kwargs):
        factory = kwargs.pop("cursor_factory", None) or self.cursor_factory or psycopg2.extensions.cursor
        return super().cursor(*args, cursor_factory=_counting(factory), **kwargs)

    def _ended(self):
        if self.in_transaction:
            self.in_transaction = False
            with _lock:
                transactions[self.counted_as] += 1

    def commit(self):
        self._ended()
        return super().commit()

    def rollback(self):
        self._ended()
        return super().rollback()

    def __exit__(self, kind, value, traceback):
        self._ended()
        return super().__exit__(kind, value, traceback)


def install() -> None:
    """From now on every `psycopg2.connect` in this process gives a counting connection."""
    global _installed
    if _installed is not None:
        return
    _installed = original = psycopg2.connect

    def connect(dsn=None, connection_factory=None, cursor_factory=None, **kwargs):
        conn = original(dsn, connection_factory=connection_factory or CountingConnection,
                        cursor_factory=cursor_factory, **kwargs)
        if isinstance(conn, CountingConnection):
            conn.counted_as = kwargs.get("application_name") or "?"
        return conn

    psycopg2.connect = connect


def uninstall() -> None:
    global _installed
    if _installed is not None:
        psycopg2.connect, _installed = _installed, None
