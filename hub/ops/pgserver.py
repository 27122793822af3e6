"""A PostgreSQL server of our own in a folder: the restore drill's scratch cluster, and the private servers
`make restore-drill` and the tests back up and break (never the system's server).

PostgreSQL refuses to run as root, so when the hub's command runs as root the server's programs run as
`os_user` (default `postgres`), who then owns the folder.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import psycopg2


class ServerError(Exception):
    """A local server that would not initialise, start or stop; one line."""


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl live: `pg_config --bindir`, else Debian's newest /usr/lib/postgresql/N/bin."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if found and (Path(found) / "initdb").exists():
            return Path(found)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not candidates:
        raise ServerError("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    return candidates[-1].parent


def run_as(os_user: str | None, command: list, **kwargs) -> subprocess.CompletedProcess:
    """Run `command` as `os_user` when we are root (PostgreSQL and pgBackRest must not run as root),
    else as ourselves."""
    if os.geteuid() == 0 and os_user:
        entry = pwd.getpwnam(os_user)
        kwargs.setdefault("env", {**os.environ, "HOME": entry.pw_dir, "USER": os_user, "LOGNAME": os_user})
        kwargs.setdefault("cwd", "/")
        return subprocess.run(command, user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], **kwargs)
    return subprocess.run(command, **kwargs)


def give_to(os_user: str | None, *paths: Path) -> None:
    """Make `paths` (folders, recursively) belong to `os_user` when we are root."""
    if os.geteuid() != 0 or not os_user:
        return
    entry = pwd.getpwnam(os_user)
    for path in paths:
        for root, dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in files:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
        os.chown(path, entry.pw_uid, entry.pw_gid)


class LocalServer:
    """One PostgreSQL server: data in `<folder>/data`, its socket in `<folder>`, its log `<folder>/server.log`."""

    def __init__(self, folder: Path, port: int, os_user: str | None = "postgres", data: Path | None = None,
                 socket_only: bool = False):
        """`socket_only`: no TCP at all, only the Unix socket in `folder` (0700): for a scratch copy of case
        stores that no one but the drill may read."""
        self.folder = Path(folder)
        self.port = port
        self.socket_only = socket_only
        self.os_user = os_user if os.geteuid() == 0 else None
        self.data = Path(data) if data else self.folder / "data"
        self.log = self.folder / "server.log"
        self.bindir = postgres_bindir()

    def dsn(self, dbname: str = "postgres") -> str:
        host = str(self.folder).replace("/", "%2F") if self.socket_only else "127.0.0.1"
        return f"postgresql://postgres@{host}:{self.port}/{dbname}"

    def _run(self, *command, timeout: float = 120) -> subprocess.CompletedProcess:
        done = run_as(self.os_user, [str(c) for c in command], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise ServerError(f"{Path(str(command[0])).name} failed: {lines[-1] if lines else done.returncode}")
        return done

    def init(self) -> None:
        """A new, empty cluster (trust authentication, user postgres); --no-sync: it is a scratch server."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        give_to(self.os_user, self.folder)
        self._run(self.bindir / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-sync")

    def start(self, settings: dict | None = None, wait: bool = True, timeout: float = 120) -> None:
        """Start it on 127.0.0.1:`port` with `settings` (-c name=value) added to its configuration."""
        give_to(self.os_user, self.folder)
        options = [f"-p {self.port}", f"-k {self.folder}",
                   "-c listen_addresses=''" if self.socket_only else "-c listen_addresses=127.0.0.1"]
        options += [f"-c {name}={value}" for name, value in (settings or {}).items()]
        self._run(self.bindir / "pg_ctl", "-D", self.data, "-o", " ".join(options), "-l", self.log,
                  *(["-w", "-t", str(int(timeout))] if wait else ["-W"]), "start", timeout=timeout + 10)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        """Stop it and delete its folder (a scratch copy of case stores is personal data: leave nothing)."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def wait_until_promoted(self, timeout: float = 120) -> None:
        """After a point-in-time recovery: wait until the server accepts writes (recovery done)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn = psycopg2.connect(self.dsn(), connect_timeout=3)
                try:
                    with conn.cursor() as cur:
                        cur.execute("SELECT pg_is_in_recovery()")
                        if not cur.fetchone()[0]:
                            return
                finally:
                    conn.close()
            except psycopg2.OperationalError:
                if not (self.data / "postmaster.pid").exists():
                    raise ServerError(f"the server in {self.data} stopped during recovery: {self.last_log_line()}")
            if time.monotonic() > deadline:
                raise ServerError(f"the server in {self.data} did not finish recovery in {timeout:.0f} s: "
                                  f"{self.last_log_line()}")
            time.sleep(0.1)

    def last_log_line(self) -> str:
        try:
            lines = [line for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            return "no log"
        return lines[-1] if lines else "empty log"
