"""HTTP limits (issue 21, item 9) against a real running intake, with raw slow sockets: a client trickling its
headers or its body (slowloris) is cut off with 408, more connections than the cap are answered 503 at once,
twelve slow `complete` requests hold no database connection, lock or worker, and a row lock held elsewhere
ends in 503 after lock_timeout instead of a request that hangs."""
from __future__ import annotations

import dataclasses
import socket
import threading
import time

import psycopg2
import pytest
import requests

from tests.support import Hub, incident_body, query, wait_for


@pytest.fixture
def strict(settings, start_services):
    """Intake with short deadlines (1 s for headers and for a body), a cap of 6 connections and a lock_timeout
    of 300 ms."""
    limited = dataclasses.replace(settings, http_header_seconds=1.0, http_body_seconds=1.0, http_idle_seconds=1.0,
                                  http_max_connections=6, db_lock_timeout_ms=300)
    start_services("intake", settings=limited)
    return Hub(limited)


def _connect(hub) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", hub.settings.ports["intake"]), timeout=30)
    return sock


def _trickle(sock, chunks, pause=0.2):
    """Send each chunk after a pause, until the server closes (the sending then fails)."""
    def run():
        for chunk in chunks:
            time.sleep(pause)
            try:
                sock.sendall(chunk)
            except OSError:
                return
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _answer(sock) -> bytes:
    """Everything the server sends until it closes the connection (at most 30 s)."""
    data = b""
    while True:
        try:
            part = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not part:
            return data
        data += part


def test_a_client_trickling_its_headers_is_cut_off_with_408(strict):
    sock = _connect(strict)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: intake\r\n")
    _trickle(sock, [f"X-Slow-{i}: a\r\n".encode() for i in range(150)])  # 30 s of headers, never finished
    answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    sock.close()


def test_a_client_trickling_its_body_is_cut_off_with_408(strict):
    key = strict.key(strict.region.codes[0], "staff")
    sock = _connect(strict)
    sock.sendall(f"POST /api/v1/incidents HTTP/1.1\r\nHost: intake\r\nAuthorization: Bearer {key}\r\n"
                 "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{".encode())
    _trickle(sock, [b" "] * 150)
    answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"application/problem+json" in answer
    sock.close()


def test_connections_past_the_cap_get_503_at_once_and_the_idle_ones_are_closed(strict):
    idle = [_connect(strict) for _ in range(6)]  # the cap: connected, sending nothing
    try:
        wait_for(lambda: _status(strict) == 503, timeout=10, what="a connection past the cap to be refused")
        # connections that never sent a byte are closed quietly after the idle timeout; the service answers again
        for sock in idle:
            assert _answer(sock) == b""
        wait_for(lambda: _status(strict) == 200, timeout=15, what="the service to answer again")
    finally:
        for sock in idle:
            sock.close()


def _status(hub) -> int:
    try:
        return requests.get(hub.url("intake", "/health?probe=live"), timeout=5).status_code
    except requests.RequestException:
        return 0


@pytest.fixture
def patient(settings, start_services):
    """Intake whose body deadline is long enough to keep twelve slow requests open while the test looks."""
    limited = dataclasses.replace(settings, http_body_seconds=60.0)
    start_services("intake", settings=limited)
    return Hub(limited)


def test_twelve_slow_complete_requests_hold_no_lock_connection_or_worker(patient):
    code = patient.region.codes[0]
    staff = patient.key(code, "staff")
    case_id = patient.report(staff, incident_body(channel="balie")).json()["case_id"]
    slow = []
    try:
        for _ in range(12):
            sock = _connect(patient)
            sock.sendall(f"POST /api/v1/incidents/{case_id}/complete HTTP/1.1\r\nHost: intake\r\n"
                         f"Authorization: Bearer {staff}\r\nContent-Type: application/json\r\n"
                         "Content-Length: 5000\r\n\r\n{\"description\": \"".encode())
            slow.append(sock)
        # every worker of the old service was stuck reading a body under a row lock; now the body is read first
        drafts = requests.get(patient.url("intake", "/api/v1/drafts"), headers={"Authorization": f"Bearer {staff}"},
                              timeout=10)
        assert drafts.status_code == 200
        # A transaction may be idle between two statements for a moment (the outbox relay waits for the broker's
        # confirm inside one); a slow request holding one stays in that state with the same transaction for as long
        # as its client trickles. So: the same transaction idle in two looks a second apart is a held one.
        dsn = patient.region.municipality(code).case_store_dsn
        first = _idle_transactions(dsn)
        time.sleep(1.0)  # the observation window, not a wait for the hub
        second = _idle_transactions(dsn)
        assert first & second == set()
    finally:
        for sock in slow:
            sock.close()


def _idle_transactions(dsn) -> set:
    rows = query(dsn, "SELECT pid, xact_start FROM pg_stat_activity WHERE application_name = 'meldpunt-intake' "
                      "AND state = 'idle in transaction'")
    return {(row["pid"], row["xact_start"]) for row in rows}


def test_a_row_locked_elsewhere_answers_503_after_lock_timeout_instead_of_hanging(strict):
    code = strict.region.codes[0]
    staff = strict.key(code, "staff")
    case_id = strict.report(staff, incident_body(channel="balie")).json()["case_id"]
    conn = psycopg2.connect(strict.region.municipality(code).case_store_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM intake.incidents WHERE case_id = %s FOR UPDATE", (case_id,))
            answer = requests.post(strict.url("intake", f"/api/v1/incidents/{case_id}/complete"),
                                   json=incident_body(), headers={"Authorization": f"Bearer {staff}"}, timeout=20)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "2"
        assert answer.headers["Content-Type"] == "application/problem+json"
    finally:
        conn.rollback()
        conn.close()


def test_service_connections_carry_the_session_limits(settings):
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    limited = dataclasses.replace(settings, db_lock_timeout_ms=1234, db_statement_timeout_ms=23456,
                                  db_idle_in_transaction_ms=34567)
    pool = ConnectionPool(1, session_options=limited.db_session_options)
    try:
        with Stores(limited, pool, "test").case_store(limited.region.codes[0]) as uow:
            shown = uow.fetchone("SELECT current_setting('lock_timeout') AS l, current_setting('statement_timeout') "
                                 "AS s, current_setting('idle_in_transaction_session_timeout') AS i")
    finally:
        pool.close()
    assert (shown["l"], shown["s"], shown["i"]) == ("1234ms", "23456ms", "34567ms")
