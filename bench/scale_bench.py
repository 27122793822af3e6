"""Every Dutch municipality on one hub: 342 case stores, every service production runs.

Starts a throwaway hub whose region has 342 municipalities, each with its own database
(copied from one migrated template, then `meldpunt migrate` checks them all), and measures
the PostgreSQL connections the services hold and the resident memory of all service
processes together: idle, then while incidents come in round the whole region; then how
long triage takes for an incident naming a perpetrator, whom it looks up in every other
store. Prints one line per figure; the idle CPU also per process (bench/idle_cpu.py).

It runs every service of shared/names.py (the incident's five, and signals, zaaksysteem and the
workbench, as production does: their periodic work is part of an idle hub's cost); `--flow-only`
runs only the incident's five, as bench/hub_bench.py does. `--mail` gives signals a mail server
(one that takes no connection: the mailer's look at the stores is what costs, not the sending), as
a region that sends mail has; the demo region has none.

`--idle-only --windows N` measures only the idle hub, N windows of --idle/2 s each (about four
minutes to create 342 databases first); MELDPUNT_BENCH_PG points it at another PostgreSQL server,
MELDPUNT_BENCH_PORT_BASE its services at other HTTP ports (bench/hub_bench.py).

Each phase (idle, load, drain, probe, to rest, probe at rest) also prints its CPU seconds per service
process, and, when MELDPUNT_BENCH_PG_LOG names that server's log with `log_connections` on, its new
connections per service (by `application_name`): what each service did in it, beside other work on the machine.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg2
import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import hub_bench  # noqa: E402
from hub_bench import API, INCIDENT, PG, BenchHub, drive, others_cpu_seconds  # noqa: E402
from idle_cpu import ProcessCpu, broker_pid, postmaster_pid, sample_for  # noqa: E402

from shared.config import DEFAULT_REGION_FILE  # noqa: E402
from shared.names import SERVICES  # noqa: E402

MUNICIPALITIES = 342
LOAD_CLIENTS = 8


def region_of(count: int) -> list[dict]:
    units = [m["police_unit"] for m in yaml.safe_load(DEFAULT_REGION_FILE.read_text())["municipalities"]]
    return [{"code": f"GM{1000 + n:04d}", "name": f"Gemeente {n + 1}", "police_unit": units[n % len(units)],
             "case_store_dsn": "set-by-benchhub"} for n in range(count)]


# the incident's flow (hub_bench.SERVICES) and the services the flow has no counterpart of
ALL_SERVICES = (*hub_bench.SERVICES, *(s for s in SERVICES if s not in hub_bench.SERVICES))


def closed_port() -> int:
    """A local port nobody listens on (a mail server that is down: mail waits, never lost)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScaleHub(BenchHub):
    def __init__(self, workdir: Path, municipalities: list[dict], services=ALL_SERVICES, mail: bool = False):
        self.services = tuple(services)
        # the extra services' ports beside the five hub_bench sets (not the defaults a running hub may hold)
        extra_env = hub_bench.bench_ports(ALL_SERVICES[len(hub_bench.SERVICES):], hub_bench.PORT_BASE + 5)
        super().__init__(workdir, extra_env=extra_env, municipalities=municipalities)
        if mail:
            region = yaml.safe_load(self.region_file.read_text())
            region.setdefault("signals", {})["mail"] = {"host": "127.0.0.1", "port": closed_port(),
                                                        "starttls": False, "sender": "bench@meldpunt.example"}
            self.region_file.write_text(yaml.safe_dump(region))
            self.settings = hub_bench.load_settings(self.env)

    def start(self):
        if self.vhost:
            hub_bench.create_vhost(self.vhost)
        self.cli("migrate")
        self.cli("declare")
        self.cli("run", "--detach", "--services", *self.services)

    def service_pids(self) -> dict[str, int]:
        return {s: int((self.workdir / "var" / "run" / f"{s}.pid").read_text()) for s in self.services}

    def migrate_quickly(self):
        """Create every store from a migrated template, then let `meldpunt migrate` confirm them."""
        template = f"mh_bench_{self.run_id}_template"
        self.databases.append(template)
        conn = psycopg2.connect(f"{PG}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{template}"')
        conn.close()
        from shared.db.migrate import CASE_STORE_COMPONENTS, apply
        apply(f"{PG}/{template}", CASE_STORE_COMPONENTS)
        conn = psycopg2.connect(f"{PG}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            for name in self.databases:
                if name != template and not name.endswith(("_statistics", "_repeat_index", "_keys", "_workbench")):
                    cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        conn.close()


def resident_mib(pids) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pids) -> float:
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / 100


DEPLOY_POSTGRES = REPO / "deploy" / "kubernetes" / "base" / "postgres.yaml"


def deploy_parameters() -> dict:
    """The PostgreSQL parameters deploy ships (the CloudNativePG cluster's; docker-compose.yml sets the same)."""
    cluster = next(d for d in yaml.safe_load_all(DEPLOY_POSTGRES.read_text()) if d and d.get("kind") == "Cluster")
    return {name: str(value) for name, value in cluster["spec"]["postgresql"]["parameters"].items()}


@contextlib.contextmanager
def deploy_postgres(report=print):
    """A PostgreSQL server of the bench's own, configured as deploy ships it (autovacuum on, with deploy's
    naptime: what PostgreSQL does on its own for 342 databases is part of the idle hub's cost, and this
    machine's shared server runs without autovacuum); every module here then uses it. Removed afterwards."""
    from hub.ops.pgserver import LocalServer

    global PG
    root = Path(tempfile.mkdtemp(prefix="mh-bench-postgres-"))
    os.chmod(root, 0o711)  # the server's user reaches its folder inside
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = LocalServer(root / "pg", port)
    before = PG
    try:
        server.init()
        parameters = deploy_parameters()
        server.start(parameters)
        PG = hub_bench.PG = server.dsn().rsplit("/", 1)[0]
        report(f"# PostgreSQL: a server of the bench's own with deploy's parameters "
               f"({', '.join(f'{k}={v}' for k, v in parameters.items())}; the rest PostgreSQL's defaults)")
        yield PG
    finally:
        PG = hub_bench.PG = before
        server.remove()
        shutil.rmtree(root, ignore_errors=True)


class Looks:
    """The bench's own looks at PostgreSQL's views, on one connection kept open: a connection per
    look would fork a backend every second, which the idle machine's figure would count as the hub's."""

    def __init__(self):
        self.conn = psycopg2.connect(f"{PG}/postgres", application_name="bench-looks")
        self.conn.autocommit = True  # each look its own snapshot of the statistics views
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.backend = cur.fetchone()[0]

    def connections(self, run_id: str) -> int:
        with self.conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'meldpunt-%%' "
                        "AND datname LIKE %s", (f"mh_bench_{run_id}%",))
            return cur.fetchone()[0]

    def opened_sessions(self, run_id: str) -> int:
        with self.conn.cursor() as cur:
            cur.execute("SELECT coalesce(sum(sessions), 0) FROM pg_stat_database WHERE datname LIKE %s",
                        (f"mh_bench_{run_id}%",))
            return int(cur.fetchone()[0])

    def close(self):
        self.conn.close()


class Phases:
    """CPU seconds per service process and new PostgreSQL connections per `application_name` (from the
    server's log, MELDPUNT_BENCH_PG_LOG, with `log_connections` on) in each phase of a run, one `# phase` line
    each: per-process CPU and per-service connections hold still beside other work on a shared machine."""

    LOG = os.environ.get("MELDPUNT_BENCH_PG_LOG")

    def __init__(self, hub: ScaleHub, report):
        self.hub, self.report = hub, report
        self._cpu, self._offset, self._at = self._now()

    def _now(self):
        cpu = {s: hub_bench.process_cpu_seconds(pid) for s, pid in self.hub.service_pids().items()}
        offset = os.path.getsize(self.LOG) if self.LOG else 0
        return cpu, offset, time.monotonic()

    def _connections(self, start: int, end: int) -> Counter:
        counted: Counter = Counter()
        if not self.LOG:
            return counted
        with open(self.LOG, "rb") as log:
            log.seek(start)
            for line in log.read(end - start).decode(errors="replace").splitlines():
                if "connection authorized" in line and f"mh_bench_{self.hub.run_id}" in line:
                    name = line.partition("application_name=")[2].strip().removeprefix("meldpunt-")
                    counted[name or "bench"] += 1  # the bench's own looks name no application
        return counted

    def end(self, name: str) -> dict:
        """The phase that ends now; the next begins."""
        cpu, offset, at = self._now()
        seconds = at - self._at
        used = {s: cpu[s] - self._cpu.get(s, cpu[s]) for s in cpu}
        opened = self._connections(self._offset, offset)
        self.report(f"# phase {name} ({time.strftime('%H:%M:%S', time.gmtime())} UTC, {seconds:.1f} s): CPU s "
                    + ", ".join(f"{s} {v:.2f}" for s, v in used.items()) + f" (all {sum(used.values()):.2f})"
                    + (("; new connections " + ", ".join(f"{s} {n}" for s, n in opened.most_common())
                        + f" (all {sum(opened.values())})") if self.LOG else ""))
        self._cpu, self._offset, self._at = cpu, offset, at
        return {"seconds": seconds, "cpu": used, "connections": opened}


def keys_for(hub: ScaleHub) -> dict:
    from shared import auth
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    pool = ConnectionPool(2)
    try:
        stores = Stores(hub.settings, pool, "bench")
        keys = {}
        for code in hub.settings.region.codes:
            with stores.case_store(code) as uow:
                keys[code] = auth.create_key(uow, "bench", auth.INTAKE_CHANNEL)[1]
        return keys
    finally:
        pool.close()


PROBES = 10  # incidents naming one perpetrator, one after the other, round the region


def perpetrator_probe(hub, keys: dict, report, looks: Looks | None = None, perpetrator: str = "Bench Dader",
                      suffix: str = "") -> dict:
    """Incidents naming the same perpetrator in different municipalities, one at a time: the
    time from acceptance to triage's result (what the referral waits for), and until its
    repeat check is settled, for which triage asks the region's repeat index and links each
    municipality that knows the perpetrator's keyed hash (docs/triage.md); how many were found known
    elsewhere (all but the first should be); and the new PostgreSQL connections a second the hub
    opened meanwhile (what else it was doing: a link to a store it holds no connection to opens one).
    `suffix` names a second probe's figures."""
    codes = list(keys)[::max(1, len(keys) // PROBES)][:PROBES]
    body = {**INCIDENT, "perpetrators": [{"name": perpetrator, "birth_date": "1980-01-01"}]}
    decided, repeated, known_elsewhere = [], [], 0
    sessions, started = (looks.opened_sessions(hub.run_id) if looks else 0), time.monotonic()
    for code in codes:
        response = requests.post(hub.url("intake", "/api/v1/incidents"), json=body,
                                 headers={"Authorization": f"Bearer {keys[code]}"}, timeout=30)
        response.raise_for_status()
        accepted, case_id = time.monotonic(), response.json()["case_id"]
        conn = psycopg2.connect(hub.settings.region.municipality(code).case_store_dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for sql, seen in (("SELECT EXISTS (SELECT 1 FROM triage.results WHERE case_id = %s)", decided),
                                  ("SELECT NOT EXISTS (SELECT 1 FROM triage.repeat_checks WHERE case_id = %s)",
                                   repeated)):
                    while time.monotonic() - accepted < 120:
                        cur.execute(sql, (case_id,))
                        if cur.fetchone()[0]:
                            break
                        time.sleep(0.01)
                    seen.append(time.monotonic() - accepted)
                cur.execute("SELECT 1 FROM hub.outbox WHERE event_type = 'repeat_detected' AND "
                            "envelope->>'case_id' = %s AND (envelope->'payload'->>'other_municipalities')::int > 0",
                            (case_id,))
                known_elsewhere += cur.fetchone() is not None
        finally:
            conn.close()
    # less the probe's own connection per report
    connects = (looks.opened_sessions(hub.run_id) - sessions - len(codes)) / (time.monotonic() - started) \
        if looks else None
    report(f"# perpetrator probe{suffix.replace('_', ' ')}: {len(codes)} incidents; triage result after "
           f"{', '.join(f'{s:.2f}' for s in decided)} s; repeat check settled after "
           f"{', '.join(f'{s:.2f}' for s in repeated)} s"
           + (f"; the hub opened {connects:.1f} new PostgreSQL connections/s meanwhile" if looks else ""))
    decided.sort()
    repeated.sort()
    figures = {"triage_seconds_naming_a_perpetrator_p50": decided[len(decided) // 2],
               "triage_seconds_naming_a_perpetrator_max": decided[-1],
               "repeat_check_seconds_naming_a_perpetrator_p50": repeated[len(repeated) // 2],
               "repeat_check_seconds_naming_a_perpetrator_max": repeated[-1],
               "perpetrator_known_elsewhere": known_elsewhere}
    if looks:
        figures["pg_connects_per_s_probe"] = connects
    return {f"{name}{suffix}": value for name, value in figures.items()}


def seconds_to_rest(hub, looks: Looks, quiet: float = 3.0, limit: float = 180.0) -> float:
    """Wait until the hub opened no new PostgreSQL connection for `quiet` seconds (it has done what the
    load left it: the relays' marking of published rows store by store, signals' and zaaksysteem's
    deliveries); how long that took."""
    started = last_change = time.monotonic()
    seen = looks.opened_sessions(hub.run_id)
    while time.monotonic() - last_change < quiet and time.monotonic() - started < limit:
        time.sleep(0.25)
        now = looks.opened_sessions(hub.run_id)
        if now != seen:
            seen, last_change = now, time.monotonic()
    return last_change - started


# what the idle breakdown adds up (ProcessCpu's lines) into figures of their own
IDLE_PARTS = {"services": ("service ",), "postgresql_background": ("postgresql checkpointer",
              "postgresql background writer", "postgresql walwriter", "postgresql autovacuum",
              "postgresql logical", "postgresql postmaster", "postgresql archiver", "postgresql stats"),
              "postgresql_hub_backends": ("postgresql backends of the hub's databases",),
              "postgresql_exited_children": ("postgresql exited children",),
              "postgresql_other_backends": ("postgresql other backends",), "rabbitmq": ("rabbitmq",)}
# The hub's own share of the idle machine: its services and what its PostgreSQL server and RabbitMQ node do
# (on the bench's own server and, on a quiet machine, a broker nobody else uses, all of it is the hub's). The
# rest of the machine's figure is not the hub: this machine's own processes and the bench's looks.
HUB_PARTS = ("services", "postgresql_background", "postgresql_hub_backends", "postgresql_exited_children", "rabbitmq")


def hub_share(window: dict) -> dict:
    """The hub's own idle CPU and the rest of the machine's, from a window's parts (% of one core)."""
    hub = sum(window[f"idle_cpu_percent_{part}"] for part in HUB_PARTS)
    return {"hub_cpu_idle_percent": hub,
            "machine_cpu_idle_percent_not_hub": max(0.0, window["machine_cpu_idle_percent"] - hub)}


def idle_window(hub, pids, looks: Looks, seconds: float, report, engines: tuple) -> tuple[dict, list]:
    """One idle window: the services' CPU, the machine's, per process (bench/idle_cpu.py), new connections.
    `engines`: the pids of the postmaster and of the RabbitMQ node (None: not on this machine)."""
    cpu_before, sessions_before = cpu_seconds(pids), looks.opened_sessions(hub.run_id)
    machine_before = others_cpu_seconds()
    processes = ProcessCpu(hub.service_pids(), *engines, f"mh_bench_{hub.run_id}", own=(looks.backend,))
    samples = []
    sample_for(processes, seconds,
               each_second=lambda: samples.append((looks.connections(hub.run_id), resident_mib(pids))))
    window = {
        "service_cpu_idle_percent": (cpu_seconds(pids) - cpu_before) / seconds * 100,
        # the services and what they make PostgreSQL and RabbitMQ do (forked backends included)
        "machine_cpu_idle_percent": (others_cpu_seconds() - machine_before) / seconds * 100,
        "pg_connects_per_s_idle": (looks.opened_sessions(hub.run_id) - sessions_before) / seconds,
    }
    lines = processes.figures(seconds)
    report(f"# idle {seconds:.0f} s, {window['pg_connects_per_s_idle']:.2f} new PostgreSQL connections/s; CPU in % of "
           "one core: " + "; ".join(f"{k} {v:.2f}" for k, v in lines.items()))
    for part, prefixes in IDLE_PARTS.items():
        window[f"idle_cpu_percent_{part}"] = sum(v for k, v in lines.items() if k.startswith(prefixes))
    window.update(hub_share(window))
    report(f"# idle: the hub and its servers {window['hub_cpu_idle_percent']:.2f} % of one core (services, its "
           f"PostgreSQL, RabbitMQ), the rest of the machine {window['machine_cpu_idle_percent_not_hub']:.2f} % "
           "(not the hub: this machine's other processes, the bench's own looks)")
    return window, samples


def run(count: int, idle_seconds: float, load_seconds: float, rate: float, report=print,
        windows: int = 1, idle_only: bool = False, postgres: str = "shared", services=ALL_SERVICES,
        mail: bool = False) -> dict:
    """`windows` idle windows of `idle_seconds / 2` each after the first half (the figures are their
    median); `idle_only` stops after them (no load, no probe). `postgres`: "shared", the server
    MELDPUNT_BENCH_PG or this machine's; "deploy", a server of the bench's own as deploy ships it."""
    if postgres == "deploy":
        with deploy_postgres(report):
            return run(count, idle_seconds, load_seconds, rate, report, windows, idle_only, services=services,
                       mail=mail)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        hub = ScaleHub(workdir, municipalities=region_of(count), services=services, mail=mail)
        looks = None
        try:
            started = time.monotonic()
            hub.migrate_quickly()
            hub.start()
            report(f"# {count} municipalities up in {time.monotonic() - started:.0f}s; services "
                   f"{', '.join(hub.services)}{'; signals with a mail server (down)' if mail else ''}")
            pids = list(hub.service_pids().values())
            keys = keys_for(hub)
            looks = Looks()
            engines = postmaster_pid(f"{PG}/postgres"), broker_pid(API)
            phases = Phases(hub, report)
            time.sleep(idle_seconds / 2)
            measured, samples_idle = [], []
            for _ in range(windows):
                window, samples = idle_window(hub, pids, looks, idle_seconds / 2, report, engines)
                measured.append(window)
                samples_idle += samples
            idle = {name: sorted(w[name] for w in measured)[len(measured) // 2] for name in measured[0]}
            idle.update({"pg_connections_idle_max": max(c for c, _ in samples_idle),
                         "rss_mib_idle": max(m for _, m in samples_idle)})
            phases.end("idle")
            if idle_only:
                return {"municipalities": count, **idle}

            # paced clients side by side (as in bench/hub_bench.py), so that a slow answer from a
            # store the services hold no connection to does not lower the rate offered
            load: dict = {}
            driver = threading.Thread(target=lambda: load.update(zip(
                ("accepted", "errors", "seconds"), drive(hub, keys, rate, load_seconds, LOAD_CLIENTS, INCIDENT))))
            samples_load = []
            sessions_before = looks.opened_sessions(hub.run_id)
            driver.start()
            while driver.is_alive():
                samples_load.append((looks.connections(hub.run_id), resident_mib(pids)))
                driver.join(1)
            accepted = load["accepted"]
            load_connects = (looks.opened_sessions(hub.run_id) - sessions_before) / load["seconds"]
            phases.end("load")
            deadline = time.monotonic() + 120
            while hub.counted() < len(accepted) and time.monotonic() < deadline:
                time.sleep(0.5)
            completed = hub.counted()
            phases.end("drain")
            # right after the load, as before; then again once the hub is at rest (what the first one
            # waits on besides triage: the load's after-work, see docs/benchmarks.md)
            named = perpetrator_probe(hub, keys, report, looks)
            phases.end("probe")
            named["seconds_to_rest_after_probe"] = seconds_to_rest(hub, looks)
            phases.end("to rest")
            named.update(perpetrator_probe(hub, keys, report, looks, "Bench Dader Twee", suffix="_at_rest"))
            phases.end("probe at rest")
            return {
                "municipalities": count,
                "pg_connections_idle_max": idle["pg_connections_idle_max"],
                "pg_connections_load_max": max(c for c, _ in samples_load),
                "rss_mib_idle": idle["rss_mib_idle"],
                "rss_mib_load_max": max(m for _, m in samples_load),
                "service_cpu_idle_percent": idle["service_cpu_idle_percent"],
                "machine_cpu_idle_percent": idle["machine_cpu_idle_percent"],
                "hub_cpu_idle_percent": idle["hub_cpu_idle_percent"],
                "machine_cpu_idle_percent_not_hub": idle["machine_cpu_idle_percent_not_hub"],
                **{name: value for name, value in idle.items() if name.startswith("idle_cpu_percent_")},
                "pg_connects_per_s_idle": idle["pg_connects_per_s_idle"],
                "pg_connects_per_s_load": load_connects,
                "incidents_accepted": len(accepted),
                "incidents_accepted_per_s": len(accepted) / load["seconds"],
                "incidents_completed": completed,
                **named,
            }
        finally:
            if looks is not None:
                looks.close()
            hub.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--municipalities", type=int, default=MUNICIPALITIES)
    parser.add_argument("--idle", type=float, default=40, help="seconds idle before measuring (half) and measuring")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load")
    parser.add_argument("--rate", type=float, default=20, help="incidents per second during the load")
    parser.add_argument("--windows", type=int, default=1, help="idle windows of --idle/2 s each (figures: median)")
    parser.add_argument("--idle-only", action="store_true", help="stop after the idle windows")
    parser.add_argument("--postgres", choices=("shared", "deploy"), default="shared",
                        help="deploy: a PostgreSQL server of the bench's own with deploy's parameters")
    parser.add_argument("--flow-only", action="store_true",
                        help="run only the incident's five services (not signals, zaaksysteem, the workbench)")
    parser.add_argument("--mail", action="store_true", help="signals with a mail server configured (it is down)")
    args = parser.parse_args()
    for name, value in run(args.municipalities, args.idle, args.duration, args.rate, windows=args.windows,
                           idle_only=args.idle_only, postgres=args.postgres, mail=args.mail,
                           services=hub_bench.SERVICES if args.flow_only else ALL_SERVICES).items():
        print(f"{name:40s} {value:10.2f}")


if __name__ == "__main__":
    main()
