"""Backups and point-in-time restore of the region's PostgreSQL servers with pgBackRest.

pgBackRest backs up a whole PostgreSQL server (a *stanza*) and archives its WAL, so the region's case
stores and statistics database are grouped by the server they live on; a municipality's backup is its
server's. `setup` writes pgBackRest's configuration from the region file's `backup:` section (repository,
its own encryption key, time-based retention), checks that each server archives its WAL to it and
creates the stanzas; `run` takes a full or incremental backup; `status` reads `pgbackrest info` and says
per municipality how old the newest good backup is (and writes it for Prometheus); `restore` puts a
server's state at a moment into a new data directory, never over a running one.
"""
from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psycopg2
from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from psycopg2.extensions import parse_dsn

from hub.ops.pgserver import give_to, run_as

PGBACKREST = "pgbackrest"


class BackupError(Exception):
    """A problem with backups the operator can fix; one line."""


@dataclass(frozen=True)
class Server:
    """One PostgreSQL server of the region and the hub's databases on it."""
    stanza: str
    host: str
    port: int
    user: str
    databases: tuple  # (label, database name): municipality codes and "statistics"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{_host_for_uri(self.host)}:{self.port}/{dbname}"


@dataclass
class ServerFacts:
    """What `setup` needs to know of a running server."""
    data_directory: str
    socket_directory: str
    archive_mode: str
    archive_command: str
    wal_level: str
    archive_timeout: str
    version: int


@dataclass
class Backup:
    label: str
    kind: str                 # full, diff, incr
    started: datetime
    stopped: datetime
    size: int                 # bytes of the database at backup time
    repo_size: int            # bytes stored in the repository (compressed)


@dataclass
class StanzaStatus:
    stanza: str
    ok: bool                  # pgBackRest reports the stanza healthy
    message: str
    backups: list = field(default_factory=list)  # good backups, oldest first
    wal_newest: str | None = None

    @property
    def newest(self) -> Backup | None:
        return self.backups[-1] if self.backups else None


@dataclass(frozen=True)
class MunicipalityBackup:
    label: str                # municipality code, or "statistics"
    stanza: str
    newest: Backup | None
    message: str = ""

    def age_seconds(self, now: float | None = None) -> float | None:
        if self.newest is None:
            return None
        return (now if now is not None else time.time()) - self.newest.stopped.timestamp()


def options_of(region) -> dict:
    if not region.backup:
        raise BackupError(f"{region.source}: no backup section: backups are not configured "
                          "(docs/operations.md#backups)")
    return region.backup


def stanza_name(region_code: str, host: str, port: int) -> str:
    """A stanza per server: the region's code, the host and the port, in the letters pgBackRest takes."""
    host_part = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "local"
    return f"{region_code.lower()}-{host_part}-{port}"


def servers_of(region) -> list[Server]:
    """The region's servers, each with the databases of the hub on it (municipalities, statistics, any other a
    service keeps: every database `meldpunt migrate` makes)."""
    from shared.db.migrate import targets_of

    grouped: dict[tuple, list] = {}
    users: dict[tuple, str] = {}
    for label, dsn, _ in targets_of(region):
        params = parse_dsn(dsn)
        key = (params.get("host") or "localhost", int(params.get("port") or 5432))
        grouped.setdefault(key, []).append((label, params["dbname"]))
        users.setdefault(key, params.get("user") or "postgres")
    return [Server(stanza_name(region.code, host, port), host, port, users[(host, port)], tuple(databases))
            for (host, port), databases in grouped.items()]


def server_of(region, label: str) -> tuple[Server, str]:
    """The server a municipality's case store (or "statistics") lives on, and its database name."""
    for server in servers_of(region):
        for known, dbname in server.databases:
            if known == label:
                return server, dbname
    raise BackupError(f"{label} is not a municipality of region {region.code} ({', '.join(region.codes)})")


def _host_for_uri(host: str) -> str:
    return host.replace("/", "%2F") if host.startswith("/") else host


# ------------------------------------------------------------------------------ configuration

def archive_command(options: dict, stanza: str) -> str:
    return f"{PGBACKREST} --config={options['config_file']} --stanza={stanza} archive-push %p"


def inspect(server: Server) -> ServerFacts:
    try:
        conn = psycopg2.connect(server.dsn(), connect_timeout=5, application_name="meldpunt-backup")
    except psycopg2.OperationalError as exc:
        raise BackupError(f"{server.stanza}: cannot reach PostgreSQL at {server.address}: {_first_line(exc)}") \
            from None
    try:
        with conn.cursor() as cur:
            values = []
            for name in ("data_directory", "unix_socket_directories", "archive_mode", "archive_command",
                         "wal_level", "archive_timeout", "server_version_num"):
                cur.execute("SELECT current_setting(%s)", (name,))
                values.append(cur.fetchone()[0])
    except psycopg2.Error as exc:
        raise BackupError(f"{server.stanza}: cannot read the server's settings (pgBackRest needs a superuser): "
                          f"{_first_line(exc)}") from None
    finally:
        conn.close()
    data_directory, sockets, mode, command, level, timeout, version = values
    return ServerFacts(data_directory, sockets.split(",")[0].strip() or "/var/run/postgresql", mode, command,
                       level, timeout, int(version))


def render_config(options: dict, servers: list[tuple[Server, ServerFacts]], cipher_pass: str) -> str:
    """pgBackRest's configuration: one repository, encrypted with its own key, retention by time."""
    log_dir = Path(options["log_dir"])
    lines = [
        "# Written by `meldpunt backup setup` from the region file's backup section; run it again after",
        "# changing that section rather than editing this file. It holds the repository's key: mode 0600.",
        "[global]",
        f"repo1-path={options['repository']}",
        "repo1-cipher-type=aes-256-cbc",
        f"repo1-cipher-pass={cipher_pass}",
        # full backups (and the WAL that follows them) are kept while they are needed for a restore to
        # any moment of the last retention_days; older ones are expired after each backup
        "repo1-retention-full-type=time",
        f"repo1-retention-full={options['retention_days']}",
        "repo1-bundle=y",
        "compress-type=lz4",
        f"log-path={log_dir}",
        f"lock-path={log_dir / 'lock'}",
        "log-level-console=warn",
        "log-level-file=info",
        "start-fast=y",
        "",
    ]
    for server, facts in servers:
        lines += [f"[{server.stanza}]",
                  f"# {server.address}: " + ", ".join(label for label, _ in server.databases),
                  f"pg1-path={facts.data_directory}",
                  f"pg1-port={server.port}",
                  f"pg1-socket-path={facts.socket_directory}",
                  f"pg1-user={server.user}",
                  ""]
    return "\n".join(lines)


def ensure_cipher_key(options: dict, master_key_file: str | None, master_key: bytes | None, report) -> str:
    """The repository's key: read from cipher_key_file, made (0600) when the file does not exist yet.
    It must not be the master key: whoever holds the backups and one key must not hold both layers."""
    path = Path(options["cipher_key_file"])
    if master_key_file and path.exists() and path.resolve() == Path(master_key_file).resolve():
        raise BackupError(f"backup.cipher_key_file {path} is the master key file: the backups need a key of "
                          "their own")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        old = os.umask(0o077)
        try:
            path.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n", encoding="utf-8")
        finally:
            os.umask(old)
        report(f"created the backup key file {path} (mode 0600): keep a copy apart from the backups and from "
               "the master key; without it no backup can be restored")
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 32:
        raise BackupError(f"backup.cipher_key_file {path}: the key must be at least 32 characters")
    if path.stat().st_mode & 0o077:
        raise BackupError(f"backup.cipher_key_file {path}: readable by others (mode "
                          f"{path.stat().st_mode & 0o777:04o}); chmod 600 it")
    if master_key is not None and key.encode() in (master_key, base64.b64encode(master_key)):
        raise BackupError(f"backup.cipher_key_file {path} holds the master key: the backups need a key of their own")
    return key


def setup(settings, report=print) -> list[str]:
    """Write pgBackRest's configuration, check each server's WAL archiving, create the stanzas. Returns the
    problems left (each one line saying what to do); none means every server is backed up from now on."""
    region = settings.region
    options = options_of(region)
    key = ensure_cipher_key(options, os.environ.get("MELDPUNT_MASTER_KEY_FILE"), settings.master_key, report)
    servers = servers_of(region)
    facts = [(server, inspect(server)) for server in servers]
    write_config(options, render_config(options, facts, key))
    report(f"wrote {options['config_file']}: {len(servers)} stanza(s), repository {options['repository']}, "
           f"full backups kept {options['retention_days']} days")
    problems = []
    for server, fact in facts:
        problem = archiving_problem(options, server, fact)
        if problem:
            problems.append(problem)
            continue
        created = pgbackrest(options, "stanza-create", stanza=server.stanza)
        if created.returncode != 0:
            problems.append(f"{server.stanza}: pgbackrest stanza-create failed: {_error_of(created)}")
            continue
        checked = pgbackrest(options, "check", stanza=server.stanza, timeout=180)
        if checked.returncode != 0:
            problems.append(f"{server.stanza}: pgbackrest check failed (is WAL reaching the repository?): "
                            f"{_error_of(checked)}")
            continue
        report(f"{server.stanza} ({server.address}: {', '.join(label for label, _ in server.databases)}): "
               "ready; WAL is archived to the repository")
    return problems


def archiving_problem(options: dict, server: Server, facts: ServerFacts) -> str | None:
    """None when the server archives its WAL to this repository; else what the operator must do."""
    if not Path(facts.data_directory).is_dir():
        return (f"{server.stanza}: the data directory {facts.data_directory} of {server.address} is not on this "
                "machine: run `meldpunt backup setup` on the database server")
    wanted = archive_command(options, server.stanza)
    if facts.archive_mode == "on" and facts.archive_command == wanted and facts.wal_level in ("replica", "logical"):
        return None
    return (f"{server.stanza}: {server.address} does not archive its WAL to the repository yet. As a superuser run "
            f"ALTER SYSTEM SET wal_level = 'replica'; ALTER SYSTEM SET archive_mode = 'on'; "
            f"ALTER SYSTEM SET archive_command = '{wanted}'; ALTER SYSTEM SET archive_timeout = '60s'; "
            "then restart PostgreSQL and run `meldpunt backup setup` again (docs/operations.md#backups)")


def write_config(options: dict, text: str) -> None:
    path = Path(options["config_file"])
    path.parent.mkdir(parents=True, exist_ok=True)
    old = os.umask(0o077)
    try:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        os.umask(old)
    for folder in (Path(options["repository"]), Path(options["log_dir"]), Path(options["log_dir"]) / "lock"):
        folder.mkdir(parents=True, exist_ok=True, mode=0o750)
        give_to(options["os_user"], folder)
    give_to(options["os_user"], path)


# ------------------------------------------------------------------------------ pgBackRest

def pgbackrest(options: dict, command: str, *args, stanza: str | None = None, timeout: float = 3600):
    """Run one pgBackRest command with the hub's configuration, as the databases' operating-system user."""
    if shutil.which(PGBACKREST) is None:
        raise BackupError("pgBackRest is not installed: apt-get install pgbackrest (`tools/prepare test` does, as root)")
    argv = [PGBACKREST, f"--config={options['config_file']}", *([f"--stanza={stanza}"] if stanza else []),
            *args, command]
    return run_as(options["os_user"], argv, capture_output=True, text=True, timeout=timeout)


def _error_of(done) -> str:
    lines = [line for line in (done.stderr or done.stdout or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit code {done.returncode}"


def info(options: dict, stanza: str | None = None) -> list[StanzaStatus]:
    done = pgbackrest(options, "info", "--output=json", stanza=stanza, timeout=120)
    if done.returncode != 0:
        raise BackupError(f"pgbackrest info failed: {_error_of(done)}")
    statuses = []
    for entry in json.loads(done.stdout or "[]"):
        status = entry.get("status", {})
        good = [b for b in entry.get("backup", []) if not b.get("error")]
        backups = [Backup(b["label"], b["type"], _moment(b["timestamp"]["start"]), _moment(b["timestamp"]["stop"]),
                          b.get("info", {}).get("size", 0), b.get("info", {}).get("repository", {}).get("size", 0))
                   for b in good]
        wal = [a.get("max") for a in entry.get("archive", []) if a.get("max")]
        statuses.append(StanzaStatus(entry["name"], status.get("code") == 0, status.get("message", ""),
                                     sorted(backups, key=lambda b: b.stopped), max(wal) if wal else None))
    return statuses


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def run(settings, kind: str = "auto", report=print) -> list[str]:
    """Back up every server of the region: `full`, `incr`, or `auto` (full when the newest full backup is
    older than full_every_days, else incremental). Returns the problems (one line each)."""
    options = options_of(settings.region)
    problems = []
    known = {s.stanza: s for s in _info_or_empty(options)}
    for server in servers_of(settings.region):
        chosen = kind
        if kind == "auto":
            fulls = [b for b in known.get(server.stanza, StanzaStatus(server.stanza, False, "")).backups
                     if b.kind == "full"]
            due = not fulls or time.time() - fulls[-1].stopped.timestamp() > options["full_every_days"] * 86400
            chosen = "full" if due else "incr"
        started = time.monotonic()
        done = pgbackrest(options, "backup", f"--type={chosen}", stanza=server.stanza)
        if done.returncode != 0:
            problems.append(f"{server.stanza}: {chosen} backup failed: {_error_of(done)}")
            continue
        report(f"{server.stanza}: {chosen} backup done in {time.monotonic() - started:.1f} s "
               f"({', '.join(label for label, _ in server.databases)})")
    write_metrics_if_configured(settings)
    return problems


def _info_or_empty(options) -> list[StanzaStatus]:
    try:
        return info(options)
    except BackupError:
        return []


def status(settings) -> list[MunicipalityBackup]:
    """Per municipality (and statistics): its server's stanza and the newest good backup."""
    options = options_of(settings.region)
    by_stanza = {s.stanza: s for s in info(options)}
    found = []
    for server in servers_of(settings.region):
        stanza = by_stanza.get(server.stanza)
        message = "" if stanza is None else ("" if stanza.ok else stanza.message)
        if stanza is None:
            message = "no stanza: run `meldpunt backup setup`"
        for label, _ in server.databases:
            found.append(MunicipalityBackup(label, server.stanza, stanza.newest if stanza else None, message))
    return found


def describe(entry: MunicipalityBackup, max_age_hours: float, now: float | None = None) -> tuple[bool, str]:
    """(good, one line) for `backup status` and `doctor`."""
    if entry.newest is None:
        return False, f"{entry.label}: no good backup ({entry.stanza}){'; ' + entry.message if entry.message else ''}"
    age = entry.age_seconds(now)
    too_old = age > max_age_hours * 3600
    line = (f"{entry.label}: newest good backup {entry.newest.label} ({entry.newest.kind}) "
            f"{_duration(age)} old{', older than ' + format(max_age_hours, 'g') + ' h' if too_old else ''} "
            f"({entry.stanza})")
    return not too_old, line


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days {seconds % 86400 // 3600} h"


# ------------------------------------------------------------------------------ metrics

def metrics_registry(entries: list[MunicipalityBackup], max_age_seconds: float) -> CollectorRegistry:
    """The backup status as Prometheus metrics (for node_exporter's textfile collector): the newest good
    backup's end per municipality (0 when there is none), and the maximum age the alert compares it with."""
    registry = CollectorRegistry()
    last = Gauge("meldpunt_backup_last_success_timestamp_seconds",
                 "When the newest good backup of the municipality's server ended (0: none)",
                 ["municipality", "stanza"], registry=registry)
    max_age = Gauge("meldpunt_backup_max_age_seconds", "The region's backup.max_age_hours, in seconds",
                    ["municipality", "stanza"], registry=registry)
    for entry in entries:
        last.labels(entry.label, entry.stanza).set(entry.newest.stopped.timestamp() if entry.newest else 0)
        max_age.labels(entry.label, entry.stanza).set(max_age_seconds)
    return registry


def write_metrics(path: str, entries: list[MunicipalityBackup], max_age_hours: float) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(path, metrics_registry(entries, max_age_hours * 3600))


def write_metrics_if_configured(settings) -> None:
    options = options_of(settings.region)
    if options.get("metrics_file"):
        write_metrics(options["metrics_file"], status(settings), options["max_age_hours"])


# ------------------------------------------------------------------------------ restore

def restore(settings, label: str, target: Path, *, to_time: str | None = None, to_name: str | None = None,
            databases: list[str] | None = None, report=print) -> Server:
    """Restore the server holding `label`'s database, as it was at `to_time` (or at the restore point
    `to_name`, or the newest state), into the empty folder `target`: a new data directory that is not
    started, whose WAL archiving is off (so it never writes into the production stanza). Only
    `databases` (default: `label`'s) are restored; the others of that server stay empty."""
    options = options_of(settings.region)
    server, dbname = server_of(settings.region, label)
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: restore only into a new folder")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    give_to(options["os_user"], target)
    args = [f"--pg1-path={target}", "--archive-mode=off", "--target-action=promote"]
    if to_time:
        args += ["--type=time", f"--target={to_time}"]
    elif to_name:
        args += ["--type=name", f"--target={to_name}"]
    args += [f"--db-include={name}" for name in (databases or [dbname])]
    started = time.monotonic()
    done = pgbackrest(options, "restore", *args, stanza=server.stanza)
    if done.returncode != 0:
        raise BackupError(f"{server.stanza}: restore failed: {_error_of(done)}")
    report(f"{server.stanza}: restored into {target} in {time.monotonic() - started:.1f} s "
           f"({'until ' + (to_time or to_name) if (to_time or to_name) else 'to the newest WAL'})")
    return server


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
