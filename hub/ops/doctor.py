"""`meldpunt doctor`: every dependency of the hub checked in one go, one line per check with what to do.

Checks, in order: each case store and the statistics database (reachable, migrated); per PostgreSQL server
its clock against ours, the free disk of its data directory and its TLS certificate; the broker (reachable,
its TLS certificate, every queue the hub declares with the arguments it declares, no policy that drops or
expires hub messages, its disk and clock); the key files (there, readable only by their owner) and whether
the master key opens each municipality's data keys; the unused case keys made ahead in the key store, per
municipality; the backups' age. `ok`, `warn` (worth a look, not
wrong) or `FAIL` (something is wrong: exit code 1).
"""
from __future__ import annotations

import email.utils
import os
import shutil
import socket
import ssl
import stat
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
from psycopg2.extensions import parse_dsn

OK, WARN, FAIL = "ok", "warn", "FAIL"

SKEW_LIMIT_SECONDS = 2.0        # the hub's deadlines and the outbox's grace period assume clocks within this
MIN_FREE_FRACTION = 0.10        # less free disk than this on a database or broker: FAIL
CERT_FAIL_DAYS = 7              # a certificate expiring within this many days: FAIL; within CERT_WARN_DAYS: warn
CERT_WARN_DAYS = 30
# Policy keys that make RabbitMQ drop, expire or refuse hub messages: a hub queue must keep every message.
DROPPING_POLICY_KEYS = ("max-length", "max-length-bytes", "message-ttl", "expires", "overflow")


@dataclass(frozen=True)
class Finding:
    level: str
    check: str
    text: str

    def line(self) -> str:
        return f"{self.level:<5} {self.check:<24} {self.text}"


@dataclass
class Limits:
    skew_seconds: float = SKEW_LIMIT_SECONDS
    min_free_fraction: float = MIN_FREE_FRACTION
    cert_fail_days: int = CERT_FAIL_DAYS
    cert_warn_days: int = CERT_WARN_DAYS


def doctor(settings, environ=None, clock=time.time, limits: Limits | None = None) -> list[Finding]:
    environ = os.environ if environ is None else environ
    limits = limits or Limits()
    findings = [Finding(OK, "region", f"{settings.region.code} ({settings.region.name}): "
                                      f"{len(settings.region.municipalities)} municipalities, {settings.region.source}")]
    findings += databases(settings)
    findings += servers(settings, clock, limits)
    findings += broker(settings, clock, limits)
    findings += key_files(settings, environ)
    findings += master_key_opens_data_keys(settings)
    findings += unused_keys_made_ahead(settings)
    findings += backups(settings, clock)
    return findings


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _where(dsn: str) -> str:
    params = parse_dsn(dsn)
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}/{params.get('dbname')}"


# ------------------------------------------------------------------------------ databases

def databases(settings) -> list[Finding]:
    from shared.db.migrate import MigrationError, pending, targets_of

    found = []
    for label, dsn, components in targets_of(settings.region):
        check = f"db {label}"
        field = "statistics_dsn" if label == "statistics" else f"case_store_dsn of {label}"
        try:
            left = pending(dsn, components)
        except psycopg2.OperationalError as exc:
            if "does not exist" in str(exc):
                found.append(Finding(FAIL, check, f"{_where(dsn)}: the database does not exist: run `meldpunt migrate` "
                                                  f"(it creates it), or fix {field} in the region file"))
            else:
                found.append(Finding(FAIL, check, f"cannot connect to {_where(dsn)} ({_first_line(exc)}): start "
                                                  f"PostgreSQL there or fix {field} in the region file"))
            continue
        except (psycopg2.Error, MigrationError) as exc:
            found.append(Finding(FAIL, check, f"{_where(dsn)}: {_first_line(exc)}"))
            continue
        if left:
            names = ", ".join(m.label for m in left[:3]) + (", …" if len(left) > 3 else "")
            found.append(Finding(FAIL, check, f"{_where(dsn)} is not migrated: {len(left)} migration(s) pending "
                                              f"({names}): run `meldpunt migrate`"))
        else:
            total = sum(1 for c in components for _ in _migrations(c))
            found.append(Finding(OK, check, f"{_where(dsn)} reachable, migrated ({total} migrations)"))
    return found


def _migrations(component):
    from shared.db.migrate import migrations_of

    return migrations_of(component)


def _servers(settings) -> dict:
    """(host, port) -> the DSN of one of the hub's databases on it."""
    found = {}
    for dsn in [m.case_store_dsn for m in settings.region.municipalities] + [settings.region.statistics_dsn]:
        params = parse_dsn(dsn)
        found.setdefault((params.get("host") or "localhost", int(params.get("port") or 5432)), dsn)
    return found


def servers(settings, clock, limits: Limits) -> list[Finding]:
    found = []
    for (host, port), dsn in _servers(settings).items():
        where = f"{host}:{port}"
        try:  # the server's own database: the hub's may not have been created yet
            conn = psycopg2.connect(dsn, dbname="postgres", connect_timeout=5, application_name="meldpunt-doctor")
        except psycopg2.OperationalError:
            continue  # the database lines above already say so
        try:
            with conn.cursor() as cur:
                sent = clock()
                cur.execute("SELECT extract(epoch FROM clock_timestamp())")
                theirs = float(cur.fetchone()[0])
                received = clock()
                try:
                    cur.execute("SELECT current_setting('data_directory')")
                    data_directory = cur.fetchone()[0]
                except psycopg2.Error:
                    conn.rollback()
                    data_directory = None
        finally:
            conn.close()
        found.append(_skew(f"clock postgres {where}", theirs - (sent + received) / 2, received - sent, limits,
                           "PostgreSQL's server"))
        found.append(_disk(f"disk postgres {where}", data_directory, limits,
                           "the database server" if data_directory else None))
        if not host.startswith("/"):
            found += _postgres_certificate(host, port, clock, limits)
    return found


def _skew(check: str, skew: float, rtt: float, limits: Limits, whose: str) -> Finding:
    text = f"{skew:+.2f} s against this machine (round trip {rtt * 1000:.0f} ms)"
    if abs(skew) - rtt / 2 > limits.skew_seconds:
        return Finding(FAIL, check, f"{text}: more than {limits.skew_seconds:g} s; deadlines and the outbox's "
                                    f"timing go wrong: synchronise both clocks with NTP (chrony, systemd-timesyncd)")
    return Finding(OK, check, text)


def _disk(check: str, path: str | None, limits: Limits, elsewhere: str | None) -> Finding:
    if not path:
        return Finding(WARN, check, "data directory not readable (not a superuser): check its disk by hand")
    if not Path(path).exists():
        return Finding(WARN, check, f"{path} is not on this machine: check its free disk on {elsewhere}")
    usage = shutil.disk_usage(path)
    return _free(check, path, usage.free, usage.total, limits)


def _free(check: str, what: str, free: int, total: int, limits: Limits, limit: int | None = None) -> Finding:
    fraction = free / total if total else 0.0
    text = f"{what}: {free / 2**30:.1f} GiB free of {total / 2**30:.1f} GiB ({fraction:.0%})"
    if fraction < limits.min_free_fraction or (limit is not None and free < 2 * limit):
        return Finding(FAIL, check, f"{text}: make room (old logs, the WAL archive's disk) or grow the disk "
                                    "before the database or broker stops taking writes")
    return Finding(OK, check, text)


def _postgres_certificate(host: str, port: int, clock, limits: Limits) -> list[Finding]:
    """When the server speaks TLS (it answers PostgreSQL's SSLRequest with 'S'), how long its certificate lasts."""
    try:
        with socket.create_connection((host, port), timeout=5) as raw:
            raw.sendall(struct.pack("!ii", 8, 80877103))  # SSLRequest
            if raw.recv(1) != b"S":
                return []  # TLS is not configured on this server
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # read the certificate, whoever signed it
            with context.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
    except OSError:
        return []
    return [_certificate(f"tls postgres {host}:{port}", der, clock, limits)]


def _certificate(check: str, der: bytes, clock, limits: Limits) -> Finding:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    expires = cert.not_valid_after_utc
    days = (expires.timestamp() - clock()) / 86400
    text = f"certificate {cert.subject.rfc4514_string()} valid until {expires:%Y-%m-%d}"
    if days < 0:
        return Finding(FAIL, check, f"{text}: expired {-days:.0f} days ago: renew it and reload the server")
    if days < limits.cert_fail_days:
        return Finding(FAIL, check, f"{text}: expires in {days:.0f} days: renew it and reload the server")
    if days < limits.cert_warn_days:
        return Finding(WARN, check, f"{text}: expires in {days:.0f} days: plan its renewal")
    return Finding(OK, check, text)


# ------------------------------------------------------------------------------ broker

def broker(settings, clock, limits: Limits) -> list[Finding]:
    from kombu import Connection

    from shared.messaging.management import ManagementApi, ManagementError, vhost_of

    parts = urlsplit(settings.amqp_uri)
    where = f"{parts.hostname}:{parts.port or (5671 if parts.scheme.endswith('s') else 5672)}{parts.path or '/'}"
    try:
        with Connection(settings.amqp_uri, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)  # no retries: say it at once
    except Exception as exc:
        return [Finding(FAIL, "broker", f"cannot connect to RabbitMQ at {where} ({type(exc).__name__}): start "
                                        "RabbitMQ or fix MELDPUNT_AMQP_URI")]
    found = [Finding(OK, "broker", f"RabbitMQ at {where} reachable")]
    if parts.scheme.endswith("amqps"):
        found += _tls_certificate("tls broker", parts.hostname, parts.port or 5671, clock, limits)
    api = ManagementApi(settings.rabbit_api_uri, timeout=5)
    vhost = vhost_of(settings.amqp_uri)
    try:
        queues = api.call("GET", f"queues/{_q(vhost)}?columns=name,arguments").json()
        policies = api.call("GET", f"policies/{_q(vhost)}").json()
        sent = clock()
        answer = api.call("GET", "nodes?columns=name,disk_free,disk_free_limit,disk_free_alarm,mem_alarm")
        received = clock()
        nodes, date = answer.json(), answer.headers.get("Date")
    except ManagementError as exc:
        return found + [Finding(WARN, "broker queues", f"{exc}: queues, policies and the broker's disk not "
                                                        "checked (set MELDPUNT_RABBIT_API_URI)")]
    found += _queues(settings, queues)
    found += _policies(policies)
    for node in nodes:
        name = node.get("name", "?")
        if node.get("disk_free_alarm") or node.get("mem_alarm"):
            alarm = "disk" if node.get("disk_free_alarm") else "memory"
            found.append(Finding(FAIL, f"disk rabbitmq {name}", f"{alarm} alarm: RabbitMQ blocks every publisher "
                                                                 "until it clears: free disk or memory on that node"))
            continue
        free, limit = node.get("disk_free"), node.get("disk_free_limit")
        if free is None:
            continue
        total = _disk_total(free)
        found.append(_free(f"disk rabbitmq {name}", "its data directory's disk", free, total, limits, limit))
    if date:
        # the Date header has whole seconds: the broker's clock read somewhere in [date, date + 1) while ours read
        # [sent, received]; the skew is the gap between the two intervals (0 when they overlap)
        theirs = email.utils.parsedate_to_datetime(date).timestamp()
        gap = max(0.0, theirs - received, sent - (theirs + 1))
        skew = gap if theirs - received > 0 else -gap
        found.append(_skew("clock rabbitmq", skew + 0.0, received - sent, limits, "RabbitMQ's server"))
    return found


def _disk_total(free: int) -> int:
    """RabbitMQ reports the free bytes only; on the same machine the disk's size is known, else free counts as half."""
    try:
        usage = shutil.disk_usage("/var/lib/rabbitmq")
        if abs(usage.free - free) < 2**30:
            return usage.total
    except OSError:
        pass
    return free * 2


def _q(value: str) -> str:
    from shared.messaging.management import q

    return q(value)


def _queues(settings, queues: list) -> list[Finding]:
    from hub.ops.upgrade import changing_queues, expected_queues

    expected = expected_queues(len(settings.retry_delays))
    present = {q["name"] for q in queues}
    missing = sorted(set(expected) - present)
    if missing:
        return [Finding(FAIL, "broker queues", f"{len(missing)} of {len(expected)} queue(s) missing (e.g. "
                                               f"{missing[0]}): run `meldpunt declare`")]
    changing = changing_queues(settings, queues)
    if changing:
        name, (now, wanted, _) = sorted(changing.items())[0]
        consumers = sorted({service for _, _, service in changing.values() if service})
        return [Finding(FAIL, "broker queues", f"{len(changing)} queue(s) of an older definition (e.g. {name}: {now} "
                                               f"instead of {wanted}): stop {', '.join(consumers) or 'their readers'} "
                                               "and run `meldpunt declare`, which moves their messages into the new "
                                               "ones")]
    return [Finding(OK, "broker queues", f"all {len(expected)} queues declared as the hub declares them")]


def _policies(policies: list) -> list[Finding]:
    import re

    from shared.messaging.topology import dead_letter_queue_name, retry_queue_name

    samples = ["evt-intake-incident_reported--triage.on_incident_reported", dead_letter_queue_name("triage"),
               retry_queue_name("triage", 1)]
    bad = []
    for policy in policies:
        if policy.get("apply-to") not in ("queues", "all", None):
            continue
        keys = [k for k in DROPPING_POLICY_KEYS if k in (policy.get("definition") or {})]
        if keys and any(re.search(policy.get("pattern", ""), name) for name in samples):
            bad.append(f"{policy['name']} ({', '.join(keys)})")
    if bad:
        return [Finding(FAIL, "broker policies", f"policy {bad[0]} applies to the hub's queues: RabbitMQ may drop or "
                                                 "expire events the hub needs: narrow its pattern or remove it")]
    return [Finding(OK, "broker policies", f"{len(policies)} polic{'y' if len(policies) == 1 else 'ies'} on the vhost, "
                                           "none that drops or expires hub messages")]


def _tls_certificate(check: str, host: str, port: int, clock, limits: Limits) -> list[Finding]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    except OSError as exc:
        return [Finding(FAIL, check, f"no TLS handshake with {host}:{port}: {type(exc).__name__}")]
    return [_certificate(check, der, clock, limits)]


# ------------------------------------------------------------------------------ keys

def _key_file(check: str, path: str | None, what: str, missing_text: str) -> Finding:
    if not path:
        return Finding(FAIL, check, missing_text)
    file = Path(path)
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
        file.read_bytes()
    except FileNotFoundError:
        return Finding(FAIL, check, f"{path} does not exist: {missing_text.split(': ', 1)[-1]}")
    except OSError as exc:
        return Finding(FAIL, check, f"{path}: cannot read it ({exc.strerror}): the hub's user must own it")
    if mode & 0o077:
        return Finding(FAIL, check, f"{path} has mode {mode:04o}: others may read {what}: chmod 600 {path}")
    return Finding(OK, check, f"{path} ({mode:04o})")


def key_files(settings, environ) -> list[Finding]:
    found = []
    if environ.get("MELDPUNT_MASTER_KEY"):
        found.append(Finding(OK, "key master", "MELDPUNT_MASTER_KEY is set (from the environment)"))
    else:
        found.append(_key_file("key master", environ.get("MELDPUNT_MASTER_KEY_FILE"), "the master key",
                               "no master key: intake, triage, police_liaison and aftercare refuse to start: set "
                               "MELDPUNT_MASTER_KEY_FILE (`meldpunt keys init` makes one)"))
    if settings.region_secret:
        found.append(Finding(OK, "key region secret", "MELDPUNT_REGION_SECRET is set (from the environment)"))
    else:
        path = settings.region.options.get("triage", {}).get("region_secret_file")
        found.append(_key_file("key region secret", path, "the region secret",
                               "no region secret: triage (and statistics without MELDPUNT_STATISTICS_KEY) refuse "
                               "to start: set MELDPUNT_REGION_SECRET or the region file's triage.region_secret_file"))
    if settings.region.backup:
        found.append(_key_file("key backup", settings.region.backup["cipher_key_file"], "the backups' key",
                               "no backup key: run `meldpunt backup setup`"))
    for name, value in sorted(environ.items()):
        if name.startswith("MELDPUNT_AMQP_PASSWORD_FILE_") and value:
            found.append(_key_file(f"key {name[len('MELDPUNT_AMQP_PASSWORD_FILE_'):].lower()} broker password",
                                   value, "a service's broker password", f"{name} names no file"))
    return found


def master_key_opens_data_keys(settings) -> list[Finding]:
    """The master key must unwrap every municipality's data keys: with another one the services start, but
    cannot read a single case."""
    from shared.crypto import CryptoError, Keyring
    from shared.db.unit_of_work import UnitOfWork

    if settings.master_key is None:
        return []
    keyring = Keyring(settings.master_key, settings.previous_master_key)
    opened, problems = 0, []
    for m in settings.region.municipalities:
        try:
            conn = psycopg2.connect(m.case_store_dsn, connect_timeout=5, application_name="meldpunt-doctor")
        except psycopg2.OperationalError:
            continue
        try:
            uow = UnitOfWork(conn, "doctor", m.code, keyring=keyring)
            if not uow.fetchone("SELECT to_regclass('hub.data_keys') IS NOT NULL AS present")["present"]:
                continue
            for row in uow.fetchall("SELECT version FROM hub.data_keys ORDER BY version"):
                try:
                    keyring.data_key(uow, row["version"], cache=False)
                    opened += 1
                except CryptoError:
                    problems.append(f"{m.code} v{row['version']}")
        finally:
            conn.rollback()
            conn.close()
    if problems:
        return [Finding(FAIL, "key master opens data", f"the master key does not open the data keys of "
                                                       f"{', '.join(problems)}: the services cannot read those cases: "
                                                       "start them with the master key the data keys were made with")]
    return [Finding(OK, "key master opens data", f"opens all {opened} data key(s) of the region")]


UNUSED_KEYS_BATCH = 5000  # key ids looked up in a case store per query


def unused_keys_made_ahead(settings) -> list[Finding]:
    """Case keys made ahead (Keyring.new_case_id) whose case is not in the municipality's case store: those a running
    intake still holds for its next cases, and those of a process that stopped before handing them out, which
    protect nothing and are never cleaned up (docs/encryption.md#case-keys). Codes and counts only; a store that
    does not answer is left out (its own `db` line names it)."""
    key_store = settings.region.key_store_dsn
    if not key_store:
        return []
    try:
        keys = psycopg2.connect(key_store, connect_timeout=5, application_name="meldpunt-doctor")
    except psycopg2.OperationalError:
        return []
    counts = {}
    try:
        for m in settings.region.municipalities:
            try:
                counts[m.code] = _unused_of(keys, m)
            except psycopg2.Error:
                keys.rollback()
    finally:
        keys.close()
    unused = {code: n for code, n in counts.items() if n}
    text = ", ".join(f"{code} {n}" for code, n in unused.items()) if unused else "none"
    return [Finding(OK, "key unused made ahead", f"{sum(unused.values())} ({text}) of {len(counts)} store(s)")]


def _unused_of(keys, municipality) -> int:
    """The municipality's live keys made ahead (`made_with` set) with no incident in its case store, batch by batch."""
    store = psycopg2.connect(municipality.case_store_dsn, connect_timeout=5, application_name="meldpunt-doctor")
    try:
        unused = 0
        with keys.cursor(name="made_ahead") as ids:  # a server-side cursor: a store's every case has such a key
            ids.itersize = UNUSED_KEYS_BATCH
            ids.execute("SELECT case_id::text FROM hub.case_keys WHERE municipality = %s AND made_with IS NOT NULL "
                        "AND wrapped_key IS NOT NULL", (municipality.code,))
            while batch := ids.fetchmany(UNUSED_KEYS_BATCH):
                with store.cursor() as cur:
                    cur.execute("SELECT count(*) FROM unnest(%s::uuid[]) AS k(id) WHERE NOT EXISTS "
                                "(SELECT 1 FROM intake.incidents i WHERE i.case_id = k.id)",
                                ([row[0] for row in batch],))
                    unused += cur.fetchone()[0]
        keys.rollback()
        return unused
    finally:
        store.rollback()
        store.close()


# ------------------------------------------------------------------------------ backups

def backups(settings, clock) -> list[Finding]:
    from hub.ops import backup

    if not settings.region.backup:
        return [Finding(WARN, "backup", "not configured: add a backup section to the region file and run "
                                        "`meldpunt backup setup` (docs/operations.md#backups)")]
    options = settings.region.backup
    try:
        entries = backup.status(settings)
    except backup.BackupError as exc:
        return [Finding(FAIL, "backup", f"{exc}")]
    found = []
    now = clock()
    for entry in entries:
        good, line = backup.describe(entry, options["max_age_hours"], now=now)
        text = line.split(": ", 1)[1]
        found.append(Finding(OK if good else FAIL, f"backup {entry.label}",
                             text if good else f"{text}: run `meldpunt backup run` and see why the last one failed"))
    return found


def report(findings: list[Finding], out=print) -> int:
    for finding in findings:
        out(finding.line())
    failed = [f for f in findings if f.level == FAIL]
    out(f"{len(findings)} checks: {len(failed)} failed, {sum(f.level == WARN for f in findings)} to look at"
        if failed or any(f.level == WARN for f in findings) else f"{len(findings)} checks: all ok")
    return 1 if failed else 0

