"""Scale-out on a three-node RabbitMQ cluster: the hub with one, then two replicas of each
consuming service, beside the single-node figures `make bench` measures in the same run.

A three-node cluster of the bench's own (tests/engines.py: private node names, ports and
folders; the machine's RabbitMQ is not touched). Each run is a fresh hub (BenchHub) with its
own databases. The second replica of triage, police_liaison, aftercare and statistics is a
second `meldpunt run --detach` of those services with its own folder and HTTP ports: competing
consumers on the same quorum queues, as a second machine or a second Kubernetes pod would be.
Prints one line per figure; asserts nothing.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import hub_bench  # noqa: E402

CONSUMERS = ("triage", "police_liaison", "aftercare", "statistics")
REPLICA_PORT_OFFSET = 50


def start_replica(hub: hub_bench.BenchHub, workdir: Path) -> dict:
    """A second set of the consuming services on the same region, databases and broker."""
    env = {**hub.env, "MELDPUNT_VAR_DIR": str(workdir / "var-replica"),
           **{f"MELDPUNT_{s.upper()}_PORT": str(hub.settings.ports[s] + REPLICA_PORT_OFFSET) for s in CONSUMERS},
           # its /health and /metrics too: a port is one listener's alone, as on one host in production
           **{f"MELDPUNT_{s.upper()}_OPERATOR_PORT": str(hub.settings.operator_ports[s] + REPLICA_PORT_OFFSET)
              for s in CONSUMERS}}
    done = subprocess.run([sys.executable, "-m", "hub.cli", "run", "--detach", "--services", *CONSUMERS],
                          cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the replica did not start ({done.returncode}):\n{done.stdout}{done.stderr}")
    return env


def stop_replica(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "hub.cli", "stop", "--services", *CONSUMERS], cwd=REPO, env=env,
                   capture_output=True)


def one_run(cluster, replicas: int, rate: float | None, duration: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        hub = hub_bench.BenchHub(workdir, amqp_uri=cluster.amqp_uri)
        replica_env = None
        try:
            hub.start()
            if replicas == 2:
                replica_env = start_replica(hub, workdir)
            keys = {code: hub.key(code) for code in hub.settings.region.codes}
            return hub_bench.load_and_drain(hub, keys, hub_bench.INCIDENT, rate, duration, 16, hub.counted)
        finally:
            if replica_env is not None:
                stop_replica(replica_env)
            hub.stop()


def run(duration: float, report=print) -> dict:
    """Sustained throughput and p99 at 50/s with one and with two replicas, on one cluster."""
    from tests.engines import RabbitCluster

    cluster = RabbitCluster(f"mhscale{uuid.uuid4().hex[:4]}n", 3)
    figures = {}
    try:
        cluster.start()
        for replicas in (1, 2):
            sustained = one_run(cluster, replicas, None, duration)
            figures[f"cluster3_replicas{replicas}_incidents_per_s"] = sustained["completed_per_s"]
            figures[f"cluster3_replicas{replicas}_cpu_ms_per_incident"] = sustained["cpu_ms_per_incident"]
            paced = one_run(cluster, replicas, 50, duration)
            figures[f"cluster3_replicas{replicas}_latency_p99_ms_at_50_per_s"] = paced["latency_p99_ms"]
            for name in (f"cluster3_replicas{replicas}_incidents_per_s",
                         f"cluster3_replicas{replicas}_cpu_ms_per_incident",
                         f"cluster3_replicas{replicas}_latency_p99_ms_at_50_per_s"):
                report(name, figures[name])
    finally:
        cluster.remove()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=30, help="seconds of load per run")
    args = parser.parse_args()
    run(args.duration, report=lambda name, value: print(f"{name:<45} {value:>10.1f}", flush=True))


if __name__ == "__main__":
    main()
