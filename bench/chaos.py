"""`make chaos`: faults under steady load, one at a time, on a throwaway hub.

Restarts RabbitMQ, kills each service with SIGKILL, restarts PostgreSQL, injects poison
messages and delivers events twice, while a partner keeps reporting incidents (retrying
with the same Idempotency-Key when the hub does not answer, as a careful client does).
Afterwards every accepted incident has exactly one case, one triage result, its referral
and care plan, statistics counts exactly the accepted incidents, and the dead-letter
queues hold exactly the poison messages. Each fault prints what it did and what it verified.

It restarts the machine's real RabbitMQ and PostgreSQL: run it on a machine of your own, not
beside other work. The faster checks run in `make test` (tests/e2e/test_faults.py,
tests/integration/test_reliability.py).

`--cluster` runs the hub on a three-node RabbitMQ cluster of its own instead (tests/engines.py:
private nodes with their own names, ports and folders, joined with `join_cluster`; the machine's
RabbitMQ is not touched), its services given every node's address, and loses each node in turn
under load (`cluster_node_loss`: `rabbitmqctl stop_app`, then kill -9 of the node's VM, then the
node starts again and rejoins), besides the faults that touch no system service. Each loss prints
its figures: how long the node was gone, the slowest report answered meanwhile, how long until
every incident accepted so far had completed. `make test` runs a lean variant
(tests/e2e/test_rabbit_cluster.py).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from hub_bench import API, BenchHub  # noqa: E402

from shared.events import dump_event, new_event  # noqa: E402
from shared.messaging.dlq import DeadLetters  # noqa: E402
from hub.registry import all_subscriptions  # noqa: E402
from shared.names import SERVICES  # noqa: E402
from tests.support import (CASE_TABLES, PATH_EVENTS, Hub, incident_body, publish_raw, query,  # noqa: E402
                           verify_exactly_once, wait_for)


class SteadyLoad(threading.Thread):
    """A municipality channel reporting `rate` incidents per second, round the region."""

    def __init__(self, hub: Hub, keys: dict, rate: float):
        super().__init__(daemon=True)
        self.hub, self.keys, self.rate = hub, keys, rate
        self.accepted: list[tuple[str, uuid.UUID]] = []
        self.refused: list[int] = []
        self.answered: list[tuple[float, float]] = []  # (asked at, seconds until a definite answer)
        self.stopping = threading.Event()

    def run(self):
        codes, n, started = list(self.keys), 0, time.monotonic()
        while not self.stopping.is_set():
            code = codes[n % len(codes)]
            asked = time.monotonic()
            response = self.hub.report_until_answered(self.keys[code], incident_body(), give_up_after=180)
            self.answered.append((asked, time.monotonic() - asked))
            if response.status_code == 201:
                self.accepted.append((code, uuid.UUID(response.json()["case_id"])))
            else:
                self.refused.append(response.status_code)
            n += 1
            self.stopping.wait(max(0.0, started + n / self.rate - time.monotonic()))

    def snapshot(self):
        return list(self.accepted)

    def slowest_since(self, moment: float) -> float:
        return max((took for asked, took in list(self.answered) if asked >= moment), default=0.0)


def say(text):
    print(text, flush=True)


def caught_up(hub: Hub, accepted, timeout=180.0):
    """Wait until every incident accepted so far has its referral and care plan in statistics."""
    pending = list(accepted)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = [(c, i) for c, i in pending
                   if not ((f := hub.facts(c, i)) and f["referred"] and f["aftercare_planned"])]
        if pending:
            time.sleep(0.5)
    assert not pending, (f"{len(pending)} accepted incidents did not complete within {timeout}s; "
                         f"where they stopped: {where_stuck(hub, pending)}")
    return len(accepted)


def where_stuck(hub: Hub, pending) -> dict:
    """For incidents that did not complete: how many lack each step, in the case stores (the
    outbox row published or not) and in statistics — so a failed run says which hop stopped."""
    missing: dict[str, int] = {}
    for code, case_id in pending:
        dsn = hub.case_store(code)
        for table, event_type in zip(CASE_TABLES, PATH_EVENTS):
            if not query(dsn, f"SELECT 1 FROM {table} WHERE case_id = %s", (str(case_id),)):
                step = f"no row in {table}"
            elif not query(dsn, "SELECT 1 FROM hub.outbox WHERE event_type = %s AND envelope->>'case_id' = %s "
                                "AND published_at IS NOT NULL", (event_type, str(case_id))):
                step = f"{event_type} not yet published"
            else:
                continue
            missing[step] = missing.get(step, 0) + 1
            break
        else:
            facts = hub.facts(code, case_id) or {}
            step = "statistics: " + ("no facts" if not facts else "not referred" if not facts["referred"]
                                     else "not planned")
            missing[step] = missing.get(step, 0) + 1
    return missing


def keep_evidence(bench: BenchHub, var: Path) -> Path:
    """Copy the services' logs and the vhost's queues (depth, unacked, consumers) out of the
    throwaway hub before it goes, so that a failed run can be understood afterwards."""
    kept = Path(tempfile.gettempdir()) / f"meldpunt-chaos-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
    if (var / "log").exists():
        shutil.copytree(var / "log", kept / "log")
    kept.mkdir(parents=True, exist_ok=True)
    try:
        if bench.vhost is None:
            raise requests.RequestException("the private cluster has no management API")
        queues = requests.get(f"{API}/queues/{quote(bench.vhost, safe='')}", timeout=10).json()
        lines = [f"{q['name']}\tready={q.get('messages_ready')}\tunacked={q.get('messages_unacknowledged')}"
                 f"\tconsumers={q.get('consumers')}" for q in queues]
        (kept / "queues.txt").write_text("\n".join(lines) + "\n")
    except (requests.RequestException, ValueError) as exc:
        (kept / "queues.txt").write_text(f"management API not answering: {exc}\n")
    return kept


# ------------------------------------------------------------------ the faults

def management_up() -> bool:
    try:
        return requests.get(f"{API}/overview", timeout=2).ok
    except requests.RequestException:
        return False


def cluster_node_loss(ctx):
    """Each node of the private cluster in turn: stop_app, a moment later kill -9 of its VM, then
    start it again and wait until it has rejoined; the load goes on throughout."""
    lines = []
    for victim in ctx.cluster.nodes:
        before = len(ctx.load.snapshot())
        started = time.monotonic()
        victim.stop_app()
        time.sleep(3.0)
        victim.kill()
        time.sleep(5.0)
        victim.launch()
        victim.await_startup()
        back = time.monotonic() - started
        wait_for(lambda: len(ctx.cluster.running()) == len(ctx.cluster.nodes), timeout=120, interval=0.5,
                 what=f"{victim.nodename} to rejoin")
        rejoined = time.monotonic() - started
        accepted = ctx.load.snapshot()
        caught_up(Hub(ctx.settings), accepted)
        complete = time.monotonic() - started
        slowest = ctx.load.slowest_since(started)
        lines.append(f"{victim.nodename}: gone {back:.1f}s (stop_app, kill -9, start), rejoined after "
                     f"{rejoined:.1f}s; {len(accepted) - before} incidents accepted meanwhile, slowest report "
                     f"answered in {slowest:.2f}s; all {len(accepted)} accepted so far complete "
                     f"{complete:.1f}s after the loss")
        time.sleep(2.0)
    return "lost each node in turn under load:\n    " + "\n    ".join(lines)


def restart_rabbitmq(ctx):
    started = time.monotonic()
    subprocess.run(["rabbitmqctl", "-q", "stop"], check=True, timeout=120)
    subprocess.run(["rabbitmq-server", "-detached"], check=True, timeout=60)
    # await_startup fails at once while the new node has not registered with epmd yet
    wait_for(lambda: subprocess.run(["rabbitmqctl", "-q", "await_startup"], capture_output=True,
                                    timeout=180).returncode == 0, timeout=180, interval=1.0, what="RabbitMQ to start")
    wait_for(management_up, timeout=60, interval=0.5, what="the management API")
    return f"stopped the RabbitMQ node and started it again ({time.monotonic() - started:.1f}s down)"


def kill_each_service(ctx):
    killed = []
    for service in SERVICES:
        pid = int((ctx.var / "run" / f"{service}.pid").read_text())
        subprocess.run(["kill", "-9", str(pid)], check=True)
        killed.append(f"{service} ({pid})")
        time.sleep(1.0)
        ctx.bench.cli("run", "--detach")  # starts what is not running
        time.sleep(1.0)
    return "kill -9 of " + ", ".join(killed) + ", each started again by `meldpunt run --detach`"


def restart_postgres(ctx):
    version = subprocess.run("ls /etc/postgresql", shell=True, capture_output=True, text=True).stdout.split()[0]
    started = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
                   check=True, timeout=120)
    return f"restarted PostgreSQL {version} (fast shutdown, {time.monotonic() - started:.1f}s)"


def poison(ctx):
    code = ctx.settings.region.codes[0]
    good = dump_event(new_event("incident_reported", code, uuid.uuid4(), {
        "channel": "api", "occurred_at": datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc), "location_type": "balie",
        "target_role": "ambtenaar", "reported_categories": ["bedreiging"], "anonymous": False,
        "perpetrator_count": 0, "consent": {"contact": False, "police_referral": False,
                                            "inform_manager": False, "employer_reports": False}}))
    broken = {**good, "event_id": str(uuid.uuid4()), "payload": {"channel": "api"}}
    stranger = {**good, "event_id": str(uuid.uuid4()), "municipality": "GM9999"}
    messages = [(b"this is not json {", str(uuid.uuid4())), (broken, broken["event_id"]),
                (stranger, stranger["event_id"])]
    for body, message_id in messages:
        publish_raw(ctx.bench.amqp_url, "intake.events", "incident_reported", body, message_id=message_id)
    ctx.poison_ids = {message_id for _, message_id in messages}
    return (f"published {len(messages)} poison messages as incident_reported: not JSON, a payload that breaks "
            "the contract, a municipality outside the region")


def deliver_twice(ctx):
    resent = 0
    for code in ctx.settings.region.codes:
        rows = query(ctx.settings.region.municipality(code).case_store_dsn,
                     "SELECT service, envelope FROM hub.outbox WHERE published_at IS NOT NULL "
                     "ORDER BY id DESC LIMIT 50")
        for row in rows:
            publish_raw(ctx.bench.amqp_url, f"{row['service']}.events", row["envelope"]["event_type"],
                        row["envelope"], message_id=row["envelope"]["event_id"])
            resent += 1
    return f"published {resent} already delivered events a second time"


FAULTS = [restart_rabbitmq, kill_each_service, restart_postgres, poison, deliver_twice, cluster_node_loss]
# on a private cluster: the faults that touch none of the machine's own services
CLUSTER_FAULTS = [cluster_node_loss, kill_each_service, poison, deliver_twice]


class Context:
    def __init__(self, bench: BenchHub, workdir: Path, cluster=None):
        self.bench, self.settings, self.var = bench, bench.settings, workdir / "var"
        self.poison_ids: set[str] = set()
        self.cluster = cluster
        self.load: SteadyLoad | None = None


def dead_letter_ids(amqp_uri) -> dict[str, set]:
    letters = DeadLetters(amqp_uri)
    return {service: {d.message_id for d in letters.list(service, limit=1000)} for service in SERVICES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10.0, help="incidents per second during the faults")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds of load before and after each fault")
    parser.add_argument("--faults", default=None,
                        help="comma-separated faults to inject, in this order (default: all; with --cluster "
                             f"{','.join(f.__name__ for f in CLUSTER_FAULTS)})")
    parser.add_argument("--cluster", action="store_true",
                        help="run the hub on a three-node RabbitMQ cluster of its own (the machine's RabbitMQ "
                             "is not touched)")
    args = parser.parse_args()
    by_name = {f.__name__: f for f in FAULTS}
    names = args.faults.split(",") if args.faults else [f.__name__ for f in (CLUSTER_FAULTS if args.cluster else FAULTS)]
    unknown = [name for name in names if name not in by_name]
    if unknown:
        print(f"chaos: unknown fault {', '.join(unknown)}; choose from {', '.join(by_name)}", file=sys.stderr)
        return 2
    if "cluster_node_loss" in names and not args.cluster:
        print("chaos: cluster_node_loss needs --cluster", file=sys.stderr)
        return 2
    if args.cluster and {"restart_rabbitmq"} & set(names):
        print("chaos: restart_rabbitmq restarts this machine's RabbitMQ, which the --cluster hub does not use",
              file=sys.stderr)
        return 2
    faults = [by_name[name] for name in names]

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cluster = None
        if args.cluster:
            from tests.engines import RabbitCluster

            cluster = RabbitCluster(f"mhchaos{uuid.uuid4().hex[:4]}n", 3)
            say("chaos: starting a three-node RabbitMQ cluster of its own")
            cluster.start()
        bench = BenchHub(workdir, extra_env={"MELDPUNT_LOG_LEVEL": "WARNING"},
                         amqp_uri=cluster.amqp_uri if cluster else None)
        ctx = Context(bench, workdir, cluster)
        hub = Hub(bench.settings)
        try:
            bench.start()
            keys = {code: bench.key(code) for code in bench.settings.region.codes}
            load = SteadyLoad(hub, keys, args.rate)
            ctx.load = load
            load.start()
            say(f"chaos: steady load of {args.rate:g} incidents/s across {len(keys)} municipalities")
            time.sleep(args.settle)
            for fault in faults:
                did = fault(ctx)
                say(f"fault {fault.__name__}: {did}")
                time.sleep(args.settle)
                done = caught_up(hub, load.snapshot())
                say(f"  verified: all {done} incidents accepted so far completed (referral, care plan, statistics)")
            load.stopping.set()
            load.join(timeout=200)
            say(f"load stopped: {len(load.accepted)} accepted, {len(load.refused)} refused {load.refused[:5]}")
            say(verify_exactly_once(bench.settings, load.accepted, timeout=180))
            dead = dead_letter_ids(bench.amqp_url)
            # every running service that consumes incident_reported parks the poison (triage and statistics, and
            # since wave 2 signals and zaaksysteem, which run once kill_each_service's `meldpunt run --detach` has
            # started every service): from the services' own subscriptions and pid files, not listed here
            ran = {service for service in SERVICES if (ctx.var / "run" / f"{service}.pid").exists()}
            poisoned = sorted({sub.service for sub in all_subscriptions()
                               if sub.event_type == "incident_reported" and sub.service in ran})
            expected = {service: (ctx.poison_ids if service in poisoned else set()) for service in SERVICES}
            assert dead == expected, f"dead-letter queues hold {dead}, expected {expected}"
            say(f"verified: the dead-letter queues of {', '.join(poisoned)} hold exactly the "
                f"{len(ctx.poison_ids)} poison messages; the other services' are empty")
            assert not load.refused, f"the hub refused {len(load.refused)} valid reports"
            say("chaos: PASSED")
            return 0
        except AssertionError as exc:
            say(f"chaos: FAILED — {exc}")
            say(f"  the services' logs and the queues are kept in {keep_evidence(bench, workdir / 'var')}")
            return 1
        finally:
            bench.stop()
            if cluster is not None:
                cluster.remove()


if __name__ == "__main__":
    sys.exit(main())
