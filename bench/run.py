"""`make bench`: every benchmark in one run, one printed line per figure, and the table in
docs/benchmarks.md rewritten with the machine it ran on.

Ratios are against the raw broker and database measured in the same run, so a slow or
busy machine shows up in both. Nothing here asserts a time; it measures and reports.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import cluster_scale  # noqa: E402
import framework_ceiling  # noqa: E402
import hub_bench  # noqa: E402
import raw_ceilings  # noqa: E402
import scale_bench  # noqa: E402
import statistics_bench  # noqa: E402

TARGETS = {
    "hub_sustained_incidents_per_s": ">= 200",
    # issue 25's table: ratios in one run, figures of this machine
    "ratio_hub_to_framework_flow": ">= 0.7",
    "hub_cpu_ms_per_incident": "<= 12",
    "hub_transactions_per_incident": "<= 4",
    "hub_statements_per_incident": "<= 20",
    "hub_counted_transactions_per_incident": "<= 4",
    "hub_latency_p99_ms_at_50_per_s": "<= 100",
    "scale_342_machine_cpu_idle_percent": "<= 3",
    # the same bound beside the machine's figure for the hub's own share of it (the target is the machine's)
    "scale_342_hub_cpu_idle_percent": "<= 3",
    "scale_342_pg_connects_per_s_idle": "<= 1",
    "scale_342_repeat_check_seconds_naming_a_perpetrator_p50": "<= 0.05",
    "scale_342_repeat_check_seconds_naming_a_perpetrator_max": "<= 0.25",
    "scale_342_triage_seconds_naming_a_perpetrator_max": "<= 0.05",
    "acute_referral_seconds_behind_10000": "<= 1",
    "scale_342_pg_connections_idle_max": "<= 80",
    "scale_342_pg_connections_load_max": "<= 80",
    "scale_342_rss_mib_idle": "<= 1536",
    "scale_342_rss_mib_load_max": "<= 1536",
    **{f"statistics_{kind}_{part}_p95_ms": "<= 100" for kind in ("week", "month", "quarter", "year")
       for part in ("queries", "figures")},
}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except Exception:
            return "unknown"

    rabbit = version(["rabbitmqctl", "-q", "version"])
    postgres = version(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres", "-c", "SHOW server_version"])
    transport = "its Unix socket" if "%2F" in hub_bench.PG else "TCP"
    return (f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB, Python {platform.python_version()}, "
            f"RabbitMQ {rabbit}, PostgreSQL {postgres} (reached through {transport})")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per hub run")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--statistics-incidents", type=int, default=1_000_000,
                        help="incident facts in the statistics benchmark")
    args = parser.parse_args()

    figures = {}

    def report(name, value, unit=""):
        figures[name] = value
        target = f"  (target {TARGETS[name]})" if name in TARGETS else ""
        print(f"{name:<45} {_fmt(value):>10} {unit}{target}".rstrip(), flush=True)

    # the database ceilings on the connection the hub in this run uses (hub_bench.PG)
    raw = raw_ceilings.measure("amqp://guest:guest@127.0.0.1:5672/%2F", f"{hub_bench.PG}/postgres", 20000,
                               tcp_dsn="postgresql://postgres@127.0.0.1:5432/postgres")
    for name, value in raw.items():
        report(name, value, "/s")

    # the hub's flow in plain nameko with no work in it: what the framework alone allows here
    framework = framework_ceiling.run(rate=None, duration=args.duration, workers=16)
    report("framework_flow_incidents_per_s", framework["completed_per_s"], "/s")
    report("framework_flow_cpu_ms_per_incident", framework["cpu_ms_per_incident"], "ms")

    sustained = hub_bench.run(rate=None, duration=args.duration, workers=16, count_sql=True)
    report("hub_sustained_incidents_per_s", sustained["completed_per_s"], "/s")
    report("ratio_hub_to_framework_flow", sustained["completed_per_s"] / framework["completed_per_s"])
    report("hub_cpu_ms_per_incident", sustained["cpu_ms_per_incident"], "ms")
    report("hub_transactions_per_incident", sustained["transactions_per_incident"])
    # counted by the services themselves (bench/profiling/sql_count.py): load does not change a count
    report("hub_statements_per_incident", sustained["statements_per_incident"])
    report("hub_counted_transactions_per_incident", sustained["counted_transactions_per_incident"])
    for service in hub_bench.SERVICES:
        report(f"hub_statements_per_incident_{service}", sustained[f"statements_per_incident_{service}"])
    for service in (*hub_bench.SERVICES, "postgresql"):  # each process's own CPU time (/proc/<pid>/stat)
        if f"cpu_ms_per_incident_{service}" in sustained:
            report(f"hub_cpu_ms_per_incident_{service}", sustained[f"cpu_ms_per_incident_{service}"], "ms")
    report("hub_handled_events_per_s", sustained["handled_events_per_s"], "/s")
    report("ratio_hub_events_to_raw_broker_publish",
           sustained["handled_events_per_s"] / raw["raw_broker_publish_confirmed_msgs_per_s"])

    paced = hub_bench.run(rate=50, duration=args.duration, workers=16)
    report("hub_accepted_per_s_at_50_per_s", paced["accepted_per_s"], "/s")
    for q in ("p50", "p95", "p99"):
        report(f"hub_latency_{q}_ms_at_50_per_s", paced[f"latency_{q}_ms"], "ms")

    # where the latency target holds on this machine: the same at 30 incidents/s
    calm = hub_bench.run(rate=30, duration=args.duration, workers=16)
    report("hub_accepted_per_s_at_30_per_s", calm["accepted_per_s"], "/s")
    for q in ("p50", "p95", "p99"):
        report(f"hub_latency_{q}_ms_at_30_per_s", calm[f"latency_{q}_ms"], "ms")

    for name, value in acute_lane().items():
        report(name, value, "s" if name.endswith("seconds_behind_10000") else "")

    # on a PostgreSQL server of the bench's own configured as deploy ships it: this machine's shared server
    # runs without autovacuum, whose round over 342 databases production pays (docs/scaling.md)
    scale = scale_bench.run(scale_bench.MUNICIPALITIES, idle_seconds=120, load_seconds=args.duration / 2, rate=20,
                            report=lambda line: print(line, flush=True), postgres="deploy")
    for name, value in scale.items():
        if name != "municipalities":
            report(f"scale_342_{name}", value)

    # past one machine: a three-node RabbitMQ cluster of the bench's own, one and two replicas of each
    # consuming service, beside the single-node figures above (docs/scaling.md)
    cluster_scale.run(args.duration / 2, report=lambda name, value: report(name, value))
    report("ratio_cluster3_replicas1_to_single_node",
           figures["cluster3_replicas1_incidents_per_s"] / figures["hub_sustained_incidents_per_s"])
    report("ratio_cluster3_replicas2_to_replicas1",
           figures["cluster3_replicas2_incidents_per_s"] / figures["cluster3_replicas1_incidents_per_s"])

    statistics_bench.run(args.statistics_incidents, runs=100,
                         report=report)

    if not args.no_write:
        write_table(figures)


def acute_lane() -> dict:
    """bench/test_acute_lane.py runs on the test fixtures (in-process services); it leaves its figures in a file."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "acute.json"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout", "600",
                        str(REPO / "bench" / "test_acute_lane.py")], cwd=REPO, check=True,
                       env={**os.environ, "MELDPUNT_BENCH_FIGURES": str(out)})
        return json.loads(out.read_text())


def _fmt(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 1 else f"{value:,.1f}"


STATEMENTS_PER_INCIDENT = 45  # counted in PostgreSQL's statement log on 2026-11-29, when this run counted none
# Everything below this line of docs/benchmarks.md is written by hand (analysis of a run, what changed) and
# kept when make bench rewrites the file above it.
KEPT_MARKER = "<!-- make bench rewrites everything above this line and keeps what is below it -->"
SWEEP_NOTE = """Before (2026-11-29), every
store was visited every minute or so: 24.3 % busy and 25.7 connections a second. Until 16:10 UTC that day every
service's outbox relay also looked at every store every 34 s (four services: 40 connections a
second); now it looks again only where its own events did not go out, and at every store as a
net every 171 s (8 a second). Measured one after the other with `bench/scale_bench.py --idle
60` at 15:55 UTC: idle 80.7 → 63.6 connections a second, the machine 69.3 → 46.4 % busy (that
minute still held the services' first outbox prune, since moved to ten minutes after start)."""


def _limits(figures: dict, figure, share) -> str:
    """Why 200/s is or is not within reach in this run: the CPU budget per incident against
    what the empty framework and the hub's SQL round trips alone cost, from this run's figures."""
    budget = 2 * 1000 / 200
    needed = ("framework_flow_cpu_ms_per_incident", "hub_cpu_ms_per_incident", "raw_postgres_round_trips_per_s")
    if any(name not in figures for name in needed):
        return "Known limits: not measured in this run."
    framework, hub = figures["framework_flow_cpu_ms_per_incident"], figures["hub_cpu_ms_per_incident"]
    statements = figures.get("hub_statements_per_incident", STATEMENTS_PER_INCIDENT)
    sql = statements / figures["raw_postgres_round_trips_per_s"] * 1000
    room, own = budget - framework, hub - framework
    if room <= 0:
        verdict = ("The empty framework alone takes the whole budget:\nthe 200/s target cannot be met on this "
                   "machine with this stack, whatever the hub does.")
    elif own > room:
        verdict = (f"The hub's own work costs\n{own:.1f} ms per incident beyond the framework's, {own / room:.1f} times "
                   f"the {room:.1f} ms the budget leaves it:\nthe 200/s target is out of reach on this machine "
                   "with this stack.")
    else:
        verdict = f"The hub's own work ({own:.1f} ms per incident) fits in the {room:.1f} ms the budget leaves it."
    return f"""Known limits. 200 incidents/s on two cores leaves {budget:.0f} ms of CPU per incident for the hub,
RabbitMQ and PostgreSQL together (2 × 1000 ms / 200). The hub's flow in plain nameko, doing
nothing at all, costs {framework:.1f} ms of it in the run above and tops out at
{figure("framework_flow_incidents_per_s")}/s (`framework_flow_*`): what nameko, eventlet, kombu and RabbitMQ take before any
database write, validation or encryption. The hub, doing its real work, costs {hub:.1f} ms per
incident and reaches {figure("hub_sustained_incidents_per_s")}/s, {share} of the empty framework's rate
(`ratio_hub_to_framework_flow`); its about {statements:.0f} SQL statements per incident take
{sql:.1f} ms at the round-trip rate PostgreSQL answered one client with in the same run
(`raw_postgres_round_trips_per_s`). {verdict}"""


def write_table(figures: dict):
    rows = "\n".join(f"| `{name}` | {_fmt(value)} | {TARGETS.get(name, '')} |" for name, value in figures.items())

    def figure(name, digits=1):
        return f"{figures[name]:,.{digits}f}" if name in figures else "(not measured)"

    fw_rate, hub_rate = figure("framework_flow_incidents_per_s"), figure("hub_sustained_incidents_per_s")
    share = (f"{figures['ratio_hub_to_framework_flow']:.0%}" if "ratio_hub_to_framework_flow" in figures
             else "(not measured)")
    scale = [figures.get(f"scale_342_{k}") for k in ("pg_connects_per_s_load", "pg_connects_per_s_idle",
                                                      "incidents_accepted_per_s")]
    connects_per_incident = (f"about {(scale[0] - scale[1]) / scale[2]:.1f}" if None not in scale and scale[2]
                             else "(not measured)")
    limits = _limits(figures, figure, share)
    text = f"""# Benchmarks

Written by `make bench` (bench/run.py) on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.

Machine: {machine()}.

| figure | value | target |
|---|---|---|
{rows}

How each figure is made:
- `raw_*`: bench/raw_ceilings.py — pika publishing persistent messages with publisher
  confirms (500 outstanding), consuming with manual acks, and PostgreSQL inserts into an
  outbox-like table committed one by one and in batches of 100. `raw_python_loop_*` is a bare
  Python loop: how fast this shared machine's CPU is in this hour (it changes; compare runs by it).
- `framework_flow_*`: bench/framework_ceiling.py — the hub's flow for one incident (an HTTP
  POST; incident_reported to triage and statistics; incident_triaged to police liaison,
  aftercare and statistics; referral_created and aftercare_planned to statistics; the referral
  also to an outside pika subscriber) in five plain nameko processes, with nameko's own
  EventDispatcher (persistent, confirmed) and event_handler and no work at all: no database, no
  validation, no outbox. The same 16 HTTP clients drive it. What nameko, eventlet, kombu and
  RabbitMQ alone allow on this machine: no hub built on them can go faster here.
- `*_cpu_ms_per_incident`: the machine's busy CPU time (/proc/stat) less the bench process's
  own (its HTTP clients and subscriber), from the first POST until the last incident is
  through, per incident — the hub, RabbitMQ and PostgreSQL together. `hub_cpu_ms_per_incident_<service>`:
  the same span's CPU time of each service process alone, and `_postgresql` that of the PostgreSQL
  backends serving the bench's databases (/proc/<pid>/stat), which other work on the machine does not move.
- `hub_sustained_*`: bench/hub_bench.py — a throwaway hub (`meldpunt run --detach`, fresh
  databases and vhost) taking incidents from 16 HTTP clients as fast as it answers, for the
  run's duration; an incident counts once its `referral_created` reached an outside pika
  subscriber and statistics counted it with its care plan. Every step is durable (outbox,
  persistent messages, confirms, inbox).
- `hub_latency_*`: the same at a paced 50 incidents/s (the target's rate) and 30 incidents/s,
  from the 201 of the POST to the arrival of `referral_created` at the outside subscriber.
- `ratio_hub_events_*`: events handled by the four consuming services per second, divided by
  the raw broker's confirmed publishes per second. `ratio_hub_to_framework_flow`: the hub's
  sustained incidents per second divided by the framework flow's.
- `acute_*`: bench/test_acute_lane.py — 10,000 normal reports posted through intake's API while
  triage is stopped, then one acute one (marked acute by intake's own check); the time from
  triage's start to the acute case's referral, and how many normal reports were triaged before it.
- `scale_342_*`: bench/scale_bench.py — a hub whose region has 342 municipalities, each with
  its own database on a PostgreSQL server of the bench's own, configured as deploy ships it
  (deploy/kubernetes/base/postgres.yaml's parameters, autovacuum on; this machine's shared server
  runs without autovacuum): the connections the five services hold and their
  resident memory together, idle and while eight paced clients offer 20 incidents/s round
  the region (`incidents_accepted_per_s` is the rate it took); the services' CPU, the
  machine's, and the new PostgreSQL connections per second idle (the periodic scans over every
  store, see [scaling.md](scaling.md#hundreds-of-municipalities-on-one-hub); over the hub's
  second minute, after the start's round over every store; the nets' hourly rounds are spread
  over the hour) and under that load; then ten
  incidents naming one perpetrator, one after the other round the region: seconds until
  triage's result (`triage_seconds_*`, what the referral waits for) and until the repeat
  check is settled (`repeat_check_seconds_*`: triage asked the region's repeat index, and each
  municipality it named), and how many found the perpetrator known elsewhere (all but the first
  should); `pg_connects_per_s_probe` is what else the hub did meanwhile (new PostgreSQL connections a
  second: right after the load, the relays still mark published rows store by store). The targets are on
  this probe. Then `seconds_to_rest_after_probe` (until no new connection for 3 s) and the same ten
  reports again with another perpetrator, `*_at_rest`: triage's own path on a hub with nothing else to do.
  `machine_cpu_idle_percent` is the whole machine's busy time: on a machine shared with
  other work it counts that work too; `service_cpu_idle_percent` is the hub's services alone.
  `idle_cpu_percent_*` break the idle figure down by process (bench/idle_cpu.py, /proc/<pid>/stat
  over the same window): the services; PostgreSQL's background processes (checkpointer, writers,
  autovacuum launcher, postmaster), the backends of the hub's databases, its children that exited
  within the window (autovacuum workers, which live too briefly to be sampled) and its other backends;
  the RabbitMQ node. The server and the broker serve whatever else runs on them too; the bench
  prints the full breakdown (with the busiest other processes) on a `# idle` line.
  `hub_cpu_idle_percent` is the hub's own share of `machine_cpu_idle_percent`: its services, its
  PostgreSQL server's background processes, backends and exited children, and the RabbitMQ node;
  `machine_cpu_idle_percent_not_hub` the rest (this machine's other processes, the bench's looks).
  Issue 25's target (<= 3 %) is on the machine's figure; the hub's share is held to the same bound beside it.
- `hub_statements_per_incident`, `hub_counted_transactions_per_incident`, `hub_statements_per_incident_<service>`:
  counted inside each service process of the sustained run (bench/profiling/sql_count.py: every
  `execute` is a statement, the implicit BEGIN and the COMMIT are not; a transaction is what a
  commit or rollback ends), from the first POST until the last incident is through, per incident;
  the key store's statements count for the service that asks. `bench/hub_bench.py --sql` prints
  each statement's share; tests/integration/test_statements_per_incident.py counts one incident at
  a time.
- `hub_transactions_per_incident`: the transactions in the bench hub's databases
  (pg_stat_database) during the sustained run, less the bench's own looks, per incident.
- `statistics_*`: bench/statistics_bench.py — 1,000,000 incident facts over three years in 25
  municipalities, written with COPY into a throwaway statistics database (`copy_facts_per_s`),
  the daily and monthly counts built from them (`rollup_build_s`, what `meldpunt stats rebuild`
  also does), then 100 runs per period kind of a random period in the last two years as a random
  viewer (a municipality or the analyst) sees the region: `queries` is the two SQL sums (the
  period and the one before it), `figures` adds the suppression and every figure of the page.
  `refresh_day` is one recount of a marked day and its month (the timer's unit of work).

{limits}

Where the hub's own share goes. Each incident costs one HTTP request (key check, and a
signature check for signing keys), five events in this bench (reported, triaged, referral,
care plan, and — as the bench's reporter reports again and again — a repeat signal; the
framework flow has the first four), eight deliveries, the encryption of its personal data,
and every step durable (outbox, persistent messages, confirms, inbox). Counted in
PostgreSQL's statement log (by `application_name`, at 45 incidents/s, 2026-11-29): about {STATEMENTS_PER_INCIDENT}
statements in 6.6 transactions per incident — intake 11.8, triage 10.8, statistics 7.9,
police liaison 7.5, aftercare 6.7. Sampled from /proc at 25 incidents/s on 2026-11-29 12:25
UTC (a slow hour): PostgreSQL 34 % of the machine's 200 %, statistics 28 %, RabbitMQ 24 %,
triage 22 %, intake 21 %, police liaison 18 %, aftercare 15 %; the empty framework flow at the
same rate: RabbitMQ 20 %, statistics 12 %, intake 10 %, the other three 7 % each.

Inside the services (`make profile`, bench/profile_hub.py: each service under cProfile on
CPU time while 30 s of load run, a C function's time counted for the library calling it; on
2026-11-29 16:28 UTC): marshmallow takes 19–27 % of each service's CPU (validating every
event it receives and sends, and intake's request bodies), eventlet 19–27 %, kombu and
py-amqp 15–22 % in the four consuming services (5 % in intake), psycopg2 6–10 %, werkzeug
10 % in intake, and the hub's own code 7–14 %; the rest is Python itself. So the hub's own
Python is not where the time goes: the libraries every event passes through are. cProfile's
own cost per Python call weighs many small calls (the rules' reading) several times over; `make
profile SAMPLER=py-spy` samples the services from outside with py-spy instead, only while a
service holds the GIL (`--gil`, since 2026-12-07: without it the `epoll` wait and psycopg2's
waits for the server counted as activity, 44–53 % of the samples), so its shares are of CPU time.

What was done against it, each step measured with `bench/hub_bench.py`: the relay publishes
a batch and waits once for its confirms; the connection pool waits briefly for a busy
connection to the same store instead of opening a new one; schema instances are reused;
statistics recounts marked days on a timer instead of per event (26 → 46 incidents/s);
batch handlers (group commit, see
[architecture.md](architecture.md#batch-handlers-group-commit)) take the events waiting in a
queue in one worker and one transaction, and triage counts linked cases in the database
instead of fetching them (46 → 58 incidents/s, p99 at 50/s 3.5 → 1.9 s); the relay publishes
what its own process commits straight from memory and marks it published once every half
second, a transaction writes its events to the outbox in one statement, intake reads a key
and its signing secret in one transaction, and triage, aftercare and police liaison lost a
statement each (58 → 70 incidents/s; p99 at 50/s 1.9 s → 0.25–1.0 s over several runs); the
relay publishes from a thread of its own that never waits for a database (interleaved runs
at 50/s: p99 271–342 ms against 435–453 ms; at full load about 13 % fewer incidents/s, as
publish batches are smaller). Last, the reporter's status is read from the services' own
tables when asked instead of intake following three events per incident
([intake.md](intake.md#status)): counted the same way as above, 50.3 → 45 statements and
8.0 → 6.6 transactions per incident, three fewer deliveries, and in interleaved runs at
40/s about 8 % less machine CPU per incident (whole runs, set-up included: 49–55 against
56.5–56.7 ms).

Later the same day statistics folded a batch of one event type in one upsert, triage compiled
its rules' words once, and the bench's HTTP clients moved from `requests` to plain
`http.client`, so they take less of the machine the hub runs on.

Beyond this machine the services scale out as competing consumers onto more cores and
PostgreSQL servers ([scaling.md](scaling.md)). On it, what is left is small: fewer
statements per handler (intake's key check and its insert share no transaction; each
encryption takes a shared lock and reads the key version) and less Python per event —
each worth a few per cent, far from the cut in the hub's own cost that 200/s would need.

Latency depends on the distance to the machine's ceiling. In the run above the hub's
ceiling was {hub_rate}/s and the p99 at 50/s {figure("hub_latency_p99_ms_at_50_per_s")} ms. Where 50/s lies well below the
ceiling the p99 target holds (on 2026-11-29 also 220 ms at 11:20 UTC and 248 ms at 08:33).
Where the machine is slow enough that 50/s is at or past its ceiling, incidents queue and the
tail grows to seconds: at 09:38, 10:47 and 11:10 that day (p99 1.24 s at 10:47, 1.36 s at
11:10), and at 14:19, when the hub's ceiling was 38.4/s, so that 50/s could not even be
posted (p99 8.6 s; 711 ms at 30/s). Statistics marks the incident's day for each event it
folds and recounts marked days once a second (`statistics_refresh_day_*` is one such
recount); its figure reads also slow down with the machine (the week's p95 at
{figure("statistics_week_figures_p95_ms")} ms in the run above, 70 ms at 11:20 and 119 ms at 14:19).

This shared machine's speed changes from hour to hour: compare the hub's figures with the
raw ceilings and the framework flow of the same run. On 2026-11-29 PostgreSQL round trips
measured beside the hub were 14,399/s at 08:33 UTC (hub 70.2 incidents/s, p99 248 ms at
50/s), 10,315/s at 09:38 (49.5 incidents/s), 7,269/s at 10:47 (55.3 incidents/s; p99 1.24 s
at 50/s, 98 ms at 30/s) and 15,241/s at 11:20 (68.6 incidents/s, p99 220 ms at 50/s). The
runs at 12:45, 13:12, 13:48, 14:05 and 14:19 UTC had round trips as fast as at 11:20 or
faster but the broker at 59–66 % and the hub at about half its 11:20 rate (35.2, 34.8, 40.8,
38.4 incidents/s; the empty framework flow 99.5, 93.3, 125.5 and 106.0/s). The machine was
slower, not the hub: the code as it landed after the 11:20 run (96e4787), measured again at
12:19 with `bench/hub_bench.py`, gave 31.3 incidents/s. Since 14:05 the bare Python loop
(`raw_python_loop_*`) and the framework flow record the machine's speed beside every run:
14.0 million loop iterations/s at 14:19 (framework flow 106.0/s, hub 38.4/s), against
{figure("raw_python_loop_m_iterations_per_s")} million in the run above (framework flow {fw_rate}/s, hub {hub_rate}/s).

Many municipalities cost background work. In the run above the hub took {figure("scale_342_incidents_accepted_per_s")}
of the 20 incidents/s offered round the 342-municipality region (its ceiling with the demo's
four: {hub_rate}/s). Each incident opens {connects_per_incident} new PostgreSQL connections
({figure("scale_342_pg_connects_per_s_load")}/s under that load against {figure("scale_342_pg_connects_per_s_idle")}/s idle): a service's pool holds at most
12 of the 342 stores, so a store's first event in a while opens one (a forked PostgreSQL
process). Idle, the scans visit only the stores whose next deadline has come and each store once an
hour as a net (shared/scan.py, [scaling.md](scaling.md#hundreds-of-municipalities-on-one-hub)); the
342-municipality hub kept {figure("scale_342_machine_cpu_idle_percent")} % of the machine's 200 % busy (in % of one core,
from each process's own CPU time: its services {figure("scale_342_idle_cpu_percent_services", 2)}, PostgreSQL's background
processes {figure("scale_342_idle_cpu_percent_postgresql_background", 2)}, the backends of its databases
{figure("scale_342_idle_cpu_percent_postgresql_hub_backends", 2)}, autovacuum's workers and other children that exited
{figure("scale_342_idle_cpu_percent_postgresql_exited_children", 2)}, RabbitMQ {figure("scale_342_idle_cpu_percent_rabbitmq", 2)}:
the hub and its servers {figure("scale_342_hub_cpu_idle_percent", 2)} together; the other
{figure("scale_342_machine_cpu_idle_percent_not_hub", 2)} are not the hub's but this machine's own processes and the bench's
looks. Issue 25's target of 3 % is on the machine's figure, so whatever else runs on the machine counts
against it; both figures are printed with it) and opened
{figure("scale_342_pg_connects_per_s_idle")} new PostgreSQL connections a second. {SWEEP_NOTE} Past that, the case
stores go onto several PostgreSQL servers, each serving fewer municipalities
([scaling.md](scaling.md#postgresql-per-municipality)).

An incident that names a perpetrator once cost more with many municipalities: triage asked every
other store whether it knew the perpetrator's keyed hash (341 queries, 2.5 s median and 7.9 s worst
at 342 on 2026-11-29, before the decision). Triage now decides first and then asks the region's repeat
index once, and each municipality the index names
([triage.md](triage.md#repeat-detection-and-its-privacy-design)): in the run above its result came
after a median of {figure("scale_342_triage_seconds_naming_a_perpetrator_p50", 2)} s (at most {figure("scale_342_triage_seconds_naming_a_perpetrator_max", 2)} s), the repeat check after a
median of {figure("scale_342_repeat_check_seconds_naming_a_perpetrator_p50")} s (at most {figure("scale_342_repeat_check_seconds_naming_a_perpetrator_max")} s), both from the POST, through the outbox and a broker hop.
The probe's ten reports name one perpetrator round the region, so the n-th is known in n-1 other
municipalities and settles one transaction in each: the check grows with how many municipalities know
the perpetrator, not with the region's size.
"""
    kept = REPO / "docs" / "benchmarks.md"
    if kept.exists() and KEPT_MARKER in kept.read_text():  # the hand-written analysis below the marker stays
        text += "\n" + KEPT_MARKER + kept.read_text().split(KEPT_MARKER, 1)[1]
    (REPO / "docs" / "benchmarks.md").write_text(text)
    print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
