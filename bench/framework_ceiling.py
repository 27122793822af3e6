"""The framework's ceiling for the hub's flow: plain nameko services with no work in them.

bench/framework_services.py runs the hub's flow (one HTTP POST, four events, seven
deliveries, and the referral to an outside pika subscriber) in five nameko processes on a
fresh vhost, driven by the same 16 HTTP clients as bench/hub_bench.py. No database, no
validation, no outbox: what is left is nameko, eventlet, kombu and RabbitMQ. Incidents per
second here bound what the hub can reach on this machine with this stack, whatever its own
code does; the hub's figure divided by this one is the share its real work leaves.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from hub_bench import create_vhost, delete_vhost, load_and_drain, print_figures, queues_of  # noqa: E402

SERVICES = {"intake": "Intake", "triage": "Triage", "police_liaison": "PoliceLiaison",
            "aftercare": "Aftercare", "statistics": "Statistics"}
PORTS = {"intake": 18301, "statistics": 18305}
CONSUMER_QUEUES = 7  # incident_reported ×2, incident_triaged ×3, referral_created, aftercare_planned


class FlowHub:
    def __init__(self, workdir: Path):
        self.vhost = f"meldpunt-framework-{uuid.uuid4().hex[:8]}"
        self.amqp_url = f"amqp://guest:guest@127.0.0.1:5672/{quote(self.vhost, safe='')}"
        self.workdir = workdir
        self.processes = []

    def url(self, service, path):
        return f"http://127.0.0.1:{PORTS[service]}{path}"

    def start(self):
        create_vhost(self.vhost)
        for service, cls in SERVICES.items():
            config = self.workdir / f"{service}.yaml"
            config.write_text(yaml.safe_dump({
                "AMQP_URI": self.amqp_url, "max_workers": 10,
                "WEB_SERVER_ADDRESS": f"127.0.0.1:{PORTS.get(service, 0)}"}))
            log = open(self.workdir / f"{service}.log", "w")
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "bench.framework_services", str(config), cls],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(REPO)}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            queues = queues_of(self.vhost)
            if sum(1 for q in queues if q.get("consumers", 0) > 0 and q["name"].startswith("evt-")) >= CONSUMER_QUEUES:
                try:
                    requests.get(self.url("statistics", "/complete"), timeout=2).raise_for_status()
                    requests.get(self.url("intake", "/"), timeout=2)
                    return
                except requests.RequestException:
                    pass
            time.sleep(0.3)
        raise RuntimeError(f"the framework flow did not start; see {self.workdir}/*.log")

    def complete(self) -> int:
        return int(requests.get(self.url("statistics", "/complete"), timeout=10).text)

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        delete_vhost(self.vhost)


def run(rate: float | None, duration: float, workers: int = 16) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        hub = FlowHub(Path(tmp))
        try:
            hub.start()
            return load_and_drain(hub, {"any": "no key"}, {}, rate, duration, workers, hub.complete)
        finally:
            hub.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=None, help="incidents per second (default: as fast as taken)")
    parser.add_argument("--duration", type=float, default=60)
    args = parser.parse_args()
    print_figures(run(args.rate, args.duration))


if __name__ == "__main__":
    main()
