"""The hub end to end: incidents posted to the partner API until their referral reaches an
outside pika subscriber and statistics has counted them.

Runs a throwaway hub (`meldpunt run --detach`) on a copy of the demo region with fresh
databases and its own RabbitMQ vhost, so nothing of a running demo is touched, and
removes all of it afterwards. Prints one line per figure.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pika
import psycopg2
import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from shared.config import DEFAULT_REGION_FILE  # noqa: E402
from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, STATISTICS, TRIAGE  # noqa: E402

# The incident's flow: the five services the bench runs and measures (not the workbench nor signals,
# which the framework flow has no counterpart of).
SERVICES = (INTAKE, TRIAGE, POLICE_LIAISON, AFTERCARE, STATISTICS)

from hub.registry import load_settings  # noqa: E402

SOCKET_DIR = "/var/run/postgresql"
# PostgreSQL on this machine is reached through its Unix socket, as a local deployment would be
# (round trips over both are measured beside the hub: docs/benchmarks.md).
PG = os.environ.get("MELDPUNT_BENCH_PG") or (
    f"postgresql://postgres@{quote(SOCKET_DIR, safe='')}" if Path(SOCKET_DIR, ".s.PGSQL.5432").exists()
    else "postgresql://postgres@127.0.0.1:5432")
API = "http://guest:guest@127.0.0.1:15672/api"
# The bench hub's first HTTP port (intake; the other services follow it): MELDPUNT_BENCH_PORT_BASE moves it, so
# that two benches on one machine do not take each other's ports (a hub whose port is taken loses a service).
PORT_BASE = int(os.environ.get("MELDPUNT_BENCH_PORT_BASE") or 18101)


def bench_ports(services, first: int) -> dict:
    """The services' public ports from `first` on, and their operator ports (/metrics) 1000 above each (not
    the defaults 9001 and on, which a running hub or another bench may hold)."""
    env = {}
    for n, service in enumerate(services):
        env[f"MELDPUNT_{service.upper()}_PORT"] = str(first + n)
        env[f"MELDPUNT_{service.upper()}_OPERATOR_PORT"] = str(first + n + 1000)
    return env


def rabbitmqctl(*args) -> str:
    """The local node's rabbitmqctl, where its management API does not answer (a broker without the plugin)."""
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def create_vhost(vhost: str) -> None:
    """A RabbitMQ vhost of a bench's own, so that nothing of a running hub is touched."""
    try:
        requests.put(f"{API}/vhosts/{quote(vhost, safe='')}", timeout=10).raise_for_status()
    except requests.ConnectionError:
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        return
    requests.put(f"{API}/permissions/{quote(vhost, safe='')}/guest",
                 json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()


def queues_of(vhost: str) -> list[dict]:
    """The vhost's queues with their `name` and `consumers`, from the management API or else rabbitmqctl."""
    try:
        return requests.get(f"{API}/queues/{quote(vhost, safe='')}", timeout=5).json()
    except requests.ConnectionError:
        lines = rabbitmqctl("list_queues", "-p", vhost, "--no-table-headers", "name", "consumers").splitlines()
        return [{"name": name, "consumers": int(count)} for name, count in (line.split() for line in lines if line)]


def delete_vhost(vhost: str) -> None:
    """Delete the bench's vhost; a failure is reported, not raised (what follows must still be cleaned up)."""
    try:
        try:
            requests.delete(f"{API}/vhosts/{quote(vhost, safe='')}", timeout=10)
        except requests.ConnectionError:
            rabbitmqctl("delete_vhost", vhost)
    except (requests.RequestException, OSError, subprocess.SubprocessError) as exc:
        print(f"# could not delete vhost {vhost}: {type(exc).__name__}", file=sys.stderr)


def others_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy, less this process's own (the bench's HTTP
    clients and subscriber): the hub, its broker and its database, and what little else runs."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    own = os.times()
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK") - (own.user + own.system)


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system, all its threads) one process has spent so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids(database_prefix: str) -> list[int]:
    """The PostgreSQL backends serving the databases whose names start with `database_prefix`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database_prefix}" in title:
                pids.append(int(entry.name))
    return pids


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


class BenchHub:
    """A hub in subprocesses on fresh databases and a fresh vhost."""

    def __init__(self, workdir: Path, extra_env=None, municipalities: list[dict] | None = None,
                 amqp_uri: str | None = None):
        """`municipalities`: the region's list instead of the demo's four (DSNs are set here).
        `amqp_uri`: a broker of the bench's own (a private cluster, tests/engines.py) instead of a
        fresh vhost on this machine's RabbitMQ."""
        self.run_id = uuid.uuid4().hex[:8]
        self.vhost = None if amqp_uri else f"meldpunt-bench-{self.run_id}"
        self.workdir = workdir
        region = yaml.safe_load(DEFAULT_REGION_FILE.read_text())
        if municipalities is not None:
            region["municipalities"] = municipalities
            # what the demo's file says of its own four municipalities does not apply
            region["triage"]["contacts"] = []
            providers = region["workbench"]["identity_providers"]
            region["workbench"]["identity_providers"] = {k: v for k, v in providers.items() if k == "region"}
            region.get("signals", {}).pop("addresses", None)
        self.databases = []
        for m in region["municipalities"]:
            m["case_store_dsn"] = f"{PG}/mh_bench_{self.run_id}_{m['code'].lower()}"
            self.databases.append(m["case_store_dsn"].rsplit("/", 1)[1])
        region["statistics_dsn"] = f"{PG}/mh_bench_{self.run_id}_statistics"
        self.databases.append(f"mh_bench_{self.run_id}_statistics")
        if region.get("key_store_dsn"):  # the region's key store: the bench's own, not the demo's
            region["key_store_dsn"] = f"{PG}/mh_bench_{self.run_id}_keys"
            self.databases.append(f"mh_bench_{self.run_id}_keys")
        # the bench runs no workbench (SERVICES), but the region file must still hold (its own database)
        region["workbench"]["database_dsn"] = f"{PG}/mh_bench_{self.run_id}_workbench"
        self.databases.append(f"mh_bench_{self.run_id}_workbench")
        region["triage"]["index_dsn"] = f"{PG}/mh_bench_{self.run_id}_repeat_index"
        self.databases.append(f"mh_bench_{self.run_id}_repeat_index")
        self.region_file = workdir / "region.yaml"
        self.region_file.write_text(yaml.safe_dump(region))
        self.amqp_url = amqp_uri or f"amqp://guest:guest@127.0.0.1:5672/{quote(self.vhost, safe='')}"
        self.env = {**os.environ, "MELDPUNT_REGION": str(self.region_file), "MELDPUNT_AMQP_URI": self.amqp_url,
                    "MELDPUNT_VAR_DIR": str(workdir / "var"), "MELDPUNT_LOG_LEVEL": "WARNING",
                    "MELDPUNT_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
                    "MELDPUNT_REGION_SECRET": os.urandom(32).hex(),
                    "MELDPUNT_OIDC_SECRET_FILE": str(self._secret_file(workdir)),
                    # the bench measures throughput with one key per municipality, not the rate limit
                    "MELDPUNT_API_RATE_PER_MINUTE": "10000000", "MELDPUNT_API_BURST": "100000",
                    # 342 stores' first /health took over 60 s on a slow hour (make bench 2026-12-08 00:25)
                    "MELDPUNT_START_TIMEOUT_SECONDS": "900",
                    **bench_ports(("intake", "triage", "police_liaison", "aftercare", "statistics"), PORT_BASE),
                    **(extra_env or {})}
        self.settings = load_settings(self.env)

    @staticmethod
    def _secret_file(workdir: Path) -> Path:
        """The workbench's client secret the region file names (the bench runs no workbench)."""
        path = workdir / "oidc-client.secret"
        path.write_text(os.urandom(16).hex())
        path.chmod(0o600)
        return path

    def cli(self, *args):
        done = subprocess.run([sys.executable, "-m", "hub.cli", *args], cwd=REPO, env=self.env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"meldpunt {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done

    def start(self):
        if self.vhost:
            create_vhost(self.vhost)
        self.cli("migrate")
        self.cli("declare")
        self.cli("run", "--detach", "--services", *SERVICES)

    def stop(self):
        subprocess.run([sys.executable, "-m", "hub.cli", "stop"], cwd=REPO, env=self.env, capture_output=True)
        if self.vhost:
            delete_vhost(self.vhost)  # the databases below must go whatever happens there
        conn = psycopg2.connect(f"{PG}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            for name in self.databases:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()

    def service_pids(self) -> dict[str, int]:
        """The hub's service processes by name, from the pid files `meldpunt run --detach` wrote."""
        return {s: int((self.workdir / "var" / "run" / f"{s}.pid").read_text()) for s in SERVICES}

    def key(self, code):
        return self.cli("apikey", "create", code, "--label", "bench").stdout.strip().splitlines()[-1]

    def url(self, service, path):
        ports = self.settings.operator_ports if path.startswith("/metrics") else self.settings.ports  # operator port
        return f"http://127.0.0.1:{ports[service]}{path}"

    def counted(self) -> int:
        with psycopg2.connect(self.settings.region.statistics_dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM statistics.incident_facts WHERE aftercare_planned AND referred")
            return cur.fetchone()[0]

    def handled_events(self) -> float:
        total = 0.0
        for service in ("triage", "police_liaison", "aftercare", "statistics"):
            for line in requests.get(self.url(service, "/metrics"), timeout=5).text.splitlines():
                if line.startswith("meldpunt_events_handled_total{"):
                    total += float(line.rsplit(" ", 1)[1])
        return total


class ReferralSubscriber(threading.Thread):
    """An outside police subscriber in plain pika, noting when each case's referral arrives."""

    def __init__(self, amqp_url):
        super().__init__(daemon=True)
        self.amqp_url = amqp_url
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.stopping = False

    def run(self):
        conn = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        ch = conn.channel()
        queue = ch.queue_declare("", exclusive=True).method.queue
        ch.queue_bind(queue, "police_liaison.events", routing_key="referral_created")
        ch.basic_qos(prefetch_count=500)
        self.ready.set()
        for method, _, body in ch.consume(queue, inactivity_timeout=0.2):
            if self.stopping:
                break
            if method is None:
                continue
            self.seen[json.loads(body)["case_id"]] = time.perf_counter()
            ch.basic_ack(method.delivery_tag)
        conn.close()


def drive(hub: BenchHub, keys: dict, rate: float | None, duration: float, workers: int, body: dict):
    """Post incidents for `duration` seconds, at `rate` per second (None: as fast as the hub takes them)."""
    accepted: dict[str, float] = {}
    errors = []
    lock = threading.Lock()
    codes = list(keys)
    start = time.perf_counter()
    counter = iter(range(10**9))

    url = urlsplit(hub.url("intake", "/api/v1/incidents"))
    payload = json.dumps(body).encode()

    def worker():
        # plain http.client on a kept-alive connection: the clients share the machine with the
        # hub, and `requests` would cost them several times the CPU per POST
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            while True:
                n = next(counter)
                due = start + (n / rate if rate else 0)
                if due > start + duration or time.perf_counter() > start + duration:
                    return
                if rate:
                    time.sleep(max(0.0, due - time.perf_counter()))
                code = codes[n % len(codes)]
                try:
                    conn.request("POST", url.path, payload, {"Authorization": f"Bearer {keys[code]}",
                                                             "Content-Type": "application/json"})
                    response = conn.getresponse()
                    answer = response.read()
                except (http.client.HTTPException, OSError) as exc:  # counted; the next request reconnects
                    conn.close()
                    errors.append(type(exc).__name__)
                    continue
                if response.status == 201:
                    with lock:
                        accepted[json.loads(answer)["case_id"]] = time.perf_counter()
                else:
                    errors.append(response.status)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return accepted, errors, time.perf_counter() - start


INCIDENT = {
    "occurred_at": "2026-11-20T14:05:00+01:00",
    "description": "Bezoeker dreigde aan de balie de medewerker thuis op te zoeken.",
    "location_type": "balie", "target_role": "ambtenaar", "categories": ["bedreiging"],
    "reporter": {"name": "Bench Melder", "email": "melder@example.nl"},
    "consent": {"contact": True, "police_referral": True},
}


def transactions(run_id: str) -> int:
    """Transactions committed and rolled back so far in the bench's databases (pg_stat_database)."""
    with psycopg2.connect(f"{PG}/postgres") as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute("SELECT coalesce(sum(xact_commit + xact_rollback), 0) FROM pg_stat_database "
                    "WHERE datname LIKE %s", (f"mh_bench_{run_id}%",))
        return int(cur.fetchone()[0])


LAST_SQL: dict = {}  # the last run's counts per service, with each statement's (for --sql)


def sql_counting_env(folder: Path) -> dict:
    """The environment that makes a bench hub's processes count their SQL (bench/profiling/sql_count.py)."""
    folder.mkdir(exist_ok=True)
    path = [str(REPO / "bench" / "profiling"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"MELDPUNT_SQL_COUNT_DIR": str(folder), "PYTHONPATH": os.pathsep.join(path)}


def _signal_counters(hub, signum) -> None:
    for pid in hub.service_pids().values():
        os.kill(pid, signum)


def sql_counts(hub) -> dict:
    """Statements and transactions per service since the last reset, as the services counted them."""
    folder = Path(hub.env["MELDPUNT_SQL_COUNT_DIR"])
    for old in folder.glob("*.sql.json"):
        old.unlink()
    pids = hub.service_pids()
    _signal_counters(hub, signal.SIGRTMIN + 1)
    deadline = time.monotonic() + 30
    while len(list(folder.glob("*.sql.json"))) < len(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    counts = {}
    for service, pid in pids.items():
        path = folder / f"{pid}-{service}.sql.json"
        if path.exists():
            data = json.loads(path.read_text())
            counts[service] = {
                "statements": sum(n for shapes in data["statements"].values() for n in shapes.values()),
                "transactions": sum(data["transactions"].values()),
                "shapes": {f"{app} {text}": n for app, shapes in data["statements"].items()
                           for text, n in shapes.items()}}
    return counts


def load_and_drain(hub, keys: dict, body: dict, rate: float | None, duration: float, workers: int,
                   completed) -> dict:
    """Drive incidents into `hub` and wait until every accepted one has its referral at an outside
    subscriber and `completed()` counts it; the figures every such run reports."""
    subscriber = ReferralSubscriber(hub.amqp_url.split(";")[0])  # a cluster's first node
    subscriber.start()
    subscriber.ready.wait(10)
    polls = [0]

    def counted():
        polls[0] += 1  # each look is a transaction of the bench's own, taken off the hub's count below
        return completed()
    run_id = getattr(hub, "run_id", None)
    xacts_before = transactions(run_id) if run_id else None
    counting = "MELDPUNT_SQL_COUNT_DIR" in getattr(hub, "env", {})
    if counting:
        _signal_counters(hub, signal.SIGRTMIN)
    service_pids = hub.service_pids() if hasattr(hub, "service_pids") else {}
    pg_prefix = f"mh_bench_{run_id}" if run_id else None
    cpu_before = others_cpu_seconds()
    services_before = {s: process_cpu_seconds(pid) for s, pid in service_pids.items()}
    pg_before = {pid: process_cpu_seconds(pid) for pid in backend_pids(pg_prefix)} if pg_prefix else {}
    accepted, errors, elapsed = drive(hub, keys, rate, duration, workers, body)
    drain_start = time.perf_counter()
    deadline = drain_start + max(120.0, duration * 3)
    while time.perf_counter() < deadline and (len(subscriber.seen) < len(accepted) or counted() < len(accepted)):
        time.sleep(0.2)
    total_time = elapsed + (time.perf_counter() - drain_start)
    cpu = others_cpu_seconds() - cpu_before
    services_cpu = {s: process_cpu_seconds(pid) - services_before[s] for s, pid in service_pids.items()}
    # backends that ended meanwhile are missed; those that began are counted whole
    pg_cpu = sum(process_cpu_seconds(pid) - pg_before.get(pid, 0.0) for pid in backend_pids(pg_prefix)) \
        if pg_prefix else float("nan")
    time.sleep(1.5)  # PostgreSQL reports a backend's counts once it has been idle a second
    xacts = (transactions(run_id) - xacts_before - polls[0]) if run_id else float("nan")
    counted_sql = sql_counts(hub) if counting else {}
    LAST_SQL.clear()
    LAST_SQL.update(counted_sql, incidents=len(accepted))
    subscriber.stopping = True
    latencies = [subscriber.seen[c] - t for c, t in accepted.items() if c in subscriber.seen]
    return {
        "accepted": len(accepted), "rejected": len(errors), "post_seconds": elapsed,
        "accepted_per_s": len(accepted) / elapsed,
        "completed_per_s": len(accepted) / total_time,
        "referrals_seen": len(subscriber.seen), "completed": completed(),
        "latency_p50_ms": percentile(latencies, 50) * 1000,
        "latency_p95_ms": percentile(latencies, 95) * 1000,
        "latency_p99_ms": percentile(latencies, 99) * 1000,
        # from the first POST until the last incident is through: what each one cost the machine
        "cpu_ms_per_incident": cpu * 1000 / max(1, len(accepted)),
        # each service process's own CPU time and the PostgreSQL backends of the bench's databases: on a
        # machine shared with other work these hold still where the machine's total does not
        **{f"cpu_ms_per_incident_{s}": seconds * 1000 / max(1, len(accepted)) for s, seconds in services_cpu.items()},
        **({"cpu_ms_per_incident_postgresql": pg_cpu * 1000 / max(1, len(accepted))} if pg_prefix else {}),
        # the hub's transactions in its databases per incident, with the relay's marking and the
        # scans that fell in the run (pg_stat_database, the bench's own looks taken off)
        "transactions_per_incident": xacts / max(1, len(accepted)),
        **({"statements_per_incident": sum(c["statements"] for c in counted_sql.values()) / max(1, len(accepted)),
            "counted_transactions_per_incident":
                sum(c["transactions"] for c in counted_sql.values()) / max(1, len(accepted)),
            **{f"statements_per_incident_{service}": c["statements"] / max(1, len(accepted))
               for service, c in counted_sql.items()},
            **{f"transactions_per_incident_{service}": c["transactions"] / max(1, len(accepted))
               for service, c in counted_sql.items()}} if counting else {}),
        "seconds": total_time,
    }


def run(rate: float | None, duration: float, workers: int, report=print, count_sql: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        # every process counts its SQL statements (a few microseconds each, not measurable beside the rest)
        hub = BenchHub(Path(tmp), extra_env=sql_counting_env(Path(tmp) / "sql") if count_sql else None)
        try:
            hub.start()
            keys = {code: hub.key(code) for code in hub.settings.region.codes}
            events_before = hub.handled_events()
            figures = load_and_drain(hub, keys, INCIDENT, rate, duration, workers, hub.counted)
            figures["handled_events_per_s"] = (hub.handled_events() - events_before) / figures["seconds"]
            return figures
        finally:
            hub.stop()


def print_figures(figures: dict) -> None:
    for name, value in figures.items():
        print(f"{name:<28} {value:>10.1f}" if isinstance(value, float) else f"{name:<28} {value:>10}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=None, help="incidents per second (default: as fast as taken)")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--sql", action="store_true", help="also each statement's count per incident")
    args = parser.parse_args()
    print_figures(run(args.rate, args.duration, args.workers, count_sql=True))
    if args.sql:
        incidents = max(1, LAST_SQL.pop("incidents", 1))
        for service, counted in LAST_SQL.items():
            print(f"{service}: {counted['statements'] / incidents:.2f} statements, "
                  f"{counted['transactions'] / incidents:.2f} transactions per incident")
            for text, n in sorted(counted["shapes"].items(), key=lambda kv: -kv[1]):
                print(f"  {n / incidents:6.2f}  {text}")


if __name__ == "__main__":
    main()
