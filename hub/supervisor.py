"""Starts and stops the whole hub on one machine: one process per service.

`meldpunt run` keeps them in the foreground (Ctrl-C stops all); `--detach` leaves them
running with logs under var/log/ and pid files under var/run/, returning once every
/health answers 200. Before starting it checks that RabbitMQ and PostgreSQL answer, and
says which one does not, where it looked and how to start it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import requests
from psycopg2.extensions import parse_dsn

from shared.config import REPO_ROOT, ConfigError, Settings
from shared.dependencies import missing_key_message, needs_master_key
from shared.messaging.nodes import connect, node_addresses
from shared.names import SERVICES

from hub.registry import service_class


def preflight(settings: Settings) -> list[str]:
    """What is missing before the hub can start, one line each (empty when all is well)."""
    problems = []
    try:
        with connect(settings.amqp_uri, connect_timeout=3):
            pass
    except Exception as exc:
        problems.append(
            f"RabbitMQ is not reachable at {' or '.join(node_addresses(settings.amqp_uri))} (MELDPUNT_AMQP_URI): "
            f"{type(exc).__name__}. Start it (Debian: `rabbitmq-server -detached`) "
            f"or point MELDPUNT_AMQP_URI at a running broker.")
    servers = {}
    for dsn in [m.case_store_dsn for m in settings.region.municipalities] + [settings.region.statistics_dsn]:
        p = parse_dsn(dsn)
        servers.setdefault((p.get("host", "localhost"), p.get("port", "5432")), p)
    for (host, port), params in servers.items():
        try:
            psycopg2.connect(**dict(params, dbname="postgres"), connect_timeout=3).close()
        except psycopg2.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            problems.append(
                f"PostgreSQL is not reachable at {host}:{port} (case_store_dsn in {settings.region.source}): "
                f"{reason}. Start it (Debian: `pg_ctlcluster $(ls /etc/postgresql) main start`) "
                f"or point the DSNs in the region file at a running server.")
    if settings.master_key is None:
        encrypting = [name for name in SERVICES if needs_master_key(service_class(name))]
        problems.append(missing_key_message(" and ".join(encrypting) or "the hub"))
    problems += _service_settings_problems(settings)
    return problems


def _service_settings_problems(settings: Settings) -> list[str]:
    """Settings a service needs only for itself (its `check_settings`), e.g. triage's region secret."""
    problems = []
    for service in SERVICES:
        check = getattr(service_class(service), "check_settings", None)
        try:
            if check:
                check(settings)
        except ConfigError as exc:
            problems.append(f"{service}: {exc}")
    return problems


def _spawn(service: str, log_file=None) -> subprocess.Popen:
    out = open(log_file, "ab") if log_file else None
    return subprocess.Popen([sys.executable, "-m", "hub.runner", service], cwd=REPO_ROOT,
                            stdout=out, stderr=subprocess.STDOUT if out else None,
                            start_new_session=bool(log_file))


def wait_healthy(settings: Settings, services, procs=None, timeout: float | None = None, report=print) -> bool:
    """Waits until every service answers /health (MELDPUNT_START_TIMEOUT_SECONDS unless `timeout`)."""
    pending = list(services)
    timeout = settings.start_timeout_seconds if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for service in list(pending):
            proc = (procs or {}).get(service)
            if proc is not None and proc.poll() is not None:
                report(f"{service} exited with code {proc.returncode} before it was ready")
                return False
            url = f"http://{_reachable(settings.http_host)}:{settings.ports[service]}"
            try:
                # the first /health of a large region looks at every database: give it time
                if requests.get(f"{url}/health", timeout=20).status_code == 200:
                    operator = f"http://{_reachable(settings.operator_host or settings.http_host)}:" \
                               f"{settings.operator_ports[service]}"
                    report(f"{service:<15} ready  {url}  (health {url}/health, metrics {operator}/metrics)")
                    pending.remove(service)
            except requests.RequestException:
                pass
        time.sleep(0.3)
    for service in pending:
        report(f"{service} did not become healthy within {timeout:.0f}s")
    return not pending


def _reachable(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def run_foreground(settings: Settings, services=SERVICES, report=print) -> int:
    procs = {s: _spawn(s) for s in services}
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if wait_healthy(settings, services, procs, report=report):
        report("the hub is running; press Ctrl-C to stop it")
    else:
        stopping.append("unhealthy")
    while not stopping and all(p.poll() is None for p in procs.values()):
        time.sleep(0.3)
    for service, proc in procs.items():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    code = 0
    for service, proc in procs.items():
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = 1
        if not stopping:
            report(f"{service} stopped unexpectedly (exit {proc.returncode})")
            code = 1
    report("the hub has stopped")
    return code if stopping != ["unhealthy"] else 1


def run_detached(settings: Settings, services=SERVICES, report=print) -> int:
    var = settings.var_dir
    (var / "log").mkdir(parents=True, exist_ok=True)
    (var / "run").mkdir(parents=True, exist_ok=True)
    procs = {}
    for service in services:
        pid_file = var / "run" / f"{service}.pid"
        if _alive(pid_file):
            report(f"{service} already runs (pid {pid_file.read_text().strip()})")
            continue
        procs[service] = _spawn(service, var / "log" / f"{service}.log")
        pid_file.write_text(str(procs[service].pid))
    ok = wait_healthy(settings, services, procs or None, report=report)
    if not ok:
        report(f"see the logs in {var / 'log'}")
    return 0 if ok else 1


def stop_detached(settings: Settings, services=SERVICES, report=print) -> int:
    for service in services:
        pid_file = settings.var_dir / "run" / f"{service}.pid"
        if not _alive(pid_file):
            pid_file.unlink(missing_ok=True)
            continue
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not _pid_alive(pid):
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
        report(f"{service} stopped")
    return 0


def _alive(pid_file: Path) -> bool:
    try:
        return _pid_alive(int(pid_file.read_text()))
    except (FileNotFoundError, ValueError):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a killed service whose parent is gone may linger as a zombie: that is not running
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, IndexError):
        return True
