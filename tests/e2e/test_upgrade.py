"""An upgrade without stopping intake: the previous release's services (the last tag, installed from the
repository's history into a venv under var/releases/) run and take incidents; this checkout's `migrate --check`
finds every pending migration online-safe, its `migrate` and `declare` run under them, its services start beside
them, the old ones stop — incidents flowing all along, through the old intake, then both, then the new one.
None refused, none lost: every incident accepted completes its whole path exactly once."""
from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest
import requests
import yaml

from hub.ops.upgrade import changing_queues, hub_upgrade_waves
from hub.registry import declare, load_settings, service_class
from shared.db.migrate import migrate_region
from shared.messaging.dlq import DeadLetters
from shared.names import SERVICES
from tests import previous_release
from tests.support import PG, create_key, drop_databases, hub_environment, incident_body, meldpunt, verify_exactly_once

# two releases' service processes side by side: up to 30 connections at once (tests/parallel.py, whole_hub)
pytestmark = pytest.mark.whole_hub

CODES = ("GM0687", "GM0718")  # two municipalities keep it lean; the path is the same for all


@pytest.fixture
def release():
    found = previous_release.previous_release()
    if isinstance(found, str):
        pytest.skip(found)
    started = time.monotonic()
    installed = previous_release.install(found)
    return installed, time.monotonic() - started


@pytest.fixture
def upgrade_region(release, tmp_path):
    """The previous release's own demo region, on fresh databases of this test, with two municipalities."""
    installed, _ = release
    region = yaml.safe_load((installed.src / "deploy" / "regions" / "demo.yaml").read_text())
    run_id = uuid.uuid4().hex[:8]
    region["municipalities"] = [m for m in region["municipalities"] if m["code"] in CODES]
    names = []
    for m in region["municipalities"]:
        names.append(f"mh_test_{run_id}_up_{m['code'].lower()}")
        m["case_store_dsn"] = f"{PG}/{names[-1]}"
    names.append(f"mh_test_{run_id}_up_statistics")
    region["statistics_dsn"] = f"{PG}/{names[-1]}"
    region["triage"]["contacts"] = [c for c in region["triage"]["contacts"] if c["code"] in CODES]
    path = tmp_path / "region.yaml"
    path.write_text(yaml.safe_dump(region, sort_keys=False))
    yield path
    drop_databases(names)


class Load:
    """One careful client reporting round the region, about five incidents a second: the same Idempotency-Key
    again after a lost connection or a 5xx, until the hub answers for good. `targets` is where a balancer
    would send it."""

    def __init__(self, keys: dict, targets: list[str]):
        self.keys, self.targets = keys, targets
        self.accepted, self.refused, self.retries = [], [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=120)

    def wait_for(self, count: int, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count:
            assert time.monotonic() < deadline, f"only {len(self.accepted)} of {count} incidents accepted"
            assert not self.refused, self.refused
            time.sleep(0.05)

    def _run(self):
        n = 0
        while not self._stop.is_set():
            code = CODES[n % len(CODES)]
            key, idempotency = self.keys[code], str(uuid.uuid4())
            while True:
                url = self.targets[n % len(self.targets)]
                try:
                    answer = requests.post(f"{url}/api/v1/incidents", json=incident_body(), timeout=10,
                                           headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency})
                    if answer.status_code == 201:
                        self.accepted.append((code, uuid.UUID(answer.json()["case_id"])))
                        break
                    if answer.status_code < 500:
                        self.refused.append((code, answer.status_code, answer.text[:200]))
                        break
                except requests.RequestException:
                    pass
                self.retries += 1
                time.sleep(0.1)
            n += 1
            self._stop.wait(0.2)


def test_the_previous_release_keeps_taking_incidents_while_this_one_migrates_and_replaces_it(
        release, upgrade_region, rabbit_config, container_factory, tmp_path):
    installed, install_seconds = release
    old_env = {**os.environ, **hub_environment(upgrade_region, rabbit_config["AMQP_URI"]),
               "MELDPUNT_VAR_DIR": str(tmp_path / "old"), "MELDPUNT_LOG_LEVEL": "WARNING"}
    new_env = {**hub_environment(upgrade_region, rabbit_config["AMQP_URI"]),
               "MELDPUNT_MASTER_KEY": old_env["MELDPUNT_MASTER_KEY"]}
    old_url = f"http://127.0.0.1:{old_env['MELDPUNT_INTAKE_PORT']}"
    new_url = f"http://127.0.0.1:{new_env['MELDPUNT_INTAKE_PORT']}"

    started = time.monotonic()
    # the previous release as it ran before the upgrade
    for step in (("migrate",), ("declare",)):
        done = installed.meldpunt(old_env, *step)
        assert done.returncode == 0, f"{installed.release.version} {step}: {done.stdout}{done.stderr}"
    up = installed.meldpunt(old_env, "run", "--detach", timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr + _logs(tmp_path / "old")
    settings = load_settings(new_env)
    load = None
    try:
        keys = {code: create_key(settings, code) for code in CODES}
        load = Load(keys, [old_url]).start()
        load.wait_for(10)

        # the upgrade, under load: check and apply the migrations and the topology under the old services ...
        checked = meldpunt(new_env, "migrate", "--check")
        assert checked.returncode == 0, f"not every pending migration is online-safe:\n{checked.stdout}{checked.stderr}"
        migrate_region(settings.region, master_key=settings.master_key)  # what `meldpunt migrate` runs
        load.wait_for(len(load.accepted) + 5)
        waves = hub_upgrade_waves()
        assert waves[-1] == ["intake"]
        changing = changing_queues(settings)
        if changing:
            # queues of an older definition (classic before quorum): `meldpunt declare` moves their messages into
            # the new ones only while nothing reads them, so their readers stop; intake keeps taking incidents
            readers = sorted({service for _, _, service in changing.values() if service})
            assert "intake" not in readers and f"stop {', '.join(readers)} (intake keeps taking incidents)" in \
                checked.stdout, checked.stdout
            _stop_together(tmp_path / "old", readers)
            load.wait_for(len(load.accepted) + 5)
            declare(settings.amqp_uri, len(settings.retry_delays))
            waves = [[name for name in readers], *[[n for n in wave if n not in readers] for wave in waves]]
            waves = [wave for wave in waves if wave]
            path = f"{len(changing)} queues migrated with {', '.join(readers)} stopped"
        else:
            declare(settings.amqp_uri, len(settings.retry_delays))
            path = "rolling, consumers before producers"
        # the services replaced: the new ones start beside the old ones, which then stop after finishing their
        # running work; intake last, both taking incidents for a while
        for wave in waves:
            for name in wave:
                container_factory(service_class(name), settings.nameko_config(name)).start()
            if wave == ["intake"]:
                load.targets = [old_url, new_url]
                load.wait_for(len(load.accepted) + 10)
                load.targets = [new_url]
            _stop_together(tmp_path / "old", [name for name in wave if (tmp_path / "old" / "run" / f"{name}.pid").exists()])
        load.wait_for(len(load.accepted) + 5)
    finally:
        if load is not None:
            load.stop()
        installed.meldpunt(old_env, "stop", timeout=180)

    assert not load.refused, f"refused: {load.refused}"
    print(f"{installed.release.version} ({installed.release.found_by}, installed in {install_seconds:.1f} s) to this "
          f"checkout ({path}) in {time.monotonic() - started:.1f} s: {len(load.accepted)} incidents accepted, "
          f"{load.retries} retried by the client")
    # the release's after-steps (CHANGELOG.md): since v0.1.0 triage's identity hashes and statistics' case references
    # are made with keys derived from the region secret, so what the old release stored is made anew
    for step in (("keys", "rehash-identities"), ("stats", "rebuild")):
        done = meldpunt(new_env, *step)
        assert done.returncode == 0, f"{step}: {done.stdout}{done.stderr}"
    verify_exactly_once(settings, load.accepted)
    parked = {name: len(DeadLetters(settings.amqp_uri).list(name)) for name in SERVICES}
    assert not any(parked.values()), f"dead letters parked: {parked}"


def _stop_together(var, services, timeout: float = 60) -> None:
    """What `meldpunt stop --services …` does, to all of them at once: SIGTERM (each finishes its running
    work and stops), then wait until they are gone."""
    pids = [int((var / "run" / f"{name}.pid").read_text()) for name in services]
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_running(pid) for pid in pids):
        assert time.monotonic() < deadline, f"{services} still run {timeout:.0f} s after SIGTERM"
        time.sleep(0.05)
    for name in services:
        (var / "run" / f"{name}.pid").unlink()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def _logs(var) -> str:
    return "".join(f"\n--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted((var / "log").glob("*.log")))
