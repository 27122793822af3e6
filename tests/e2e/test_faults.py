"""Faults under load, on the hub as operators run it: a service killed with SIGKILL in the
middle of work, then started again. Every accepted incident must come out exactly once."""
import os
import signal
import threading
import time
import uuid

import pytest

from tests import support
from tests.engines import _alive
from tests.support import Hub, incident_body, meldpunt, verify_exactly_once, wait_for

# a hub of service processes: up to 30 connections at once (tests/parallel.py, whole_hub)
pytestmark = pytest.mark.whole_hub


@pytest.fixture
def own_region_env(rabbit_config, tmp_path):
    """A region with databases of its own: the checks count every case in the stores, so cases
    other tests of the run left there must not be in them, whatever order the tests run in."""
    path = tmp_path / "fault-region.yaml"
    databases = support.write_test_region(path, uuid.uuid4().hex[:8])
    support.migrate(path)
    yield support.hub_environment(path, rabbit_config["AMQP_URI"])
    support.drop_databases(databases)


def test_kill_9_of_each_service_loses_and_doubles_nothing(own_region_env, tmp_path):
    from hub.registry import load_settings

    env = {**own_region_env, "MELDPUNT_VAR_DIR": str(tmp_path)}
    settings = load_settings(env)
    assert meldpunt(env, "declare").returncode == 0
    up = meldpunt(env, "run", "--detach", timeout=180)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        check_faults(env, settings, tmp_path)
    finally:
        meldpunt(env, "stop", timeout=180)


def check_faults(env, settings, tmp_path):
    hub = Hub(settings)
    keys = {code: hub.key(code) for code in settings.region.codes}
    accepted, stop = [], threading.Event()
    allowed = [0]  # how many incidents the driver may have accepted by now: the workload is a count, not a time

    def load():
        n = 0
        while not stop.is_set():
            if len(accepted) >= allowed[0]:
                time.sleep(0.05)
                continue
            code = settings.region.codes[n % len(keys)]
            # intake may be down for a moment: the client tries again with the same Idempotency-Key
            response = hub.report_until_answered(keys[code], incident_body())
            if response.status_code == 201:
                accepted.append((code, uuid.UUID(response.json()["case_id"])))
            n += 1
            time.sleep(0.01)

    def more_accepted(before: str, n: int = 10):
        """Work under way, however fast the machine: n more incidents accepted (not a second's worth),
        and n more still allowed, so that incidents keep coming in while a service is killed. On a
        machine at load 30 an unbounded driver accepted so many during the slow restarts that
        checking them all overran the test's time."""
        seen = len(accepted)
        allowed[0] = seen + 2 * n
        wait_for(lambda: len(accepted) >= seen + n or not driver.is_alive(), what=f"{n} more incidents {before}")

    driver = threading.Thread(target=load)
    driver.start()
    try:
        for service in ("intake", "triage", "police_liaison", "aftercare", "statistics"):
            more_accepted(f"before {service} is killed")
            pid = int((tmp_path / "run" / f"{service}.pid").read_text())
            os.kill(pid, signal.SIGKILL)
            print(f"killed {service} (pid {pid}) with SIGKILL while incidents kept coming in")
            wait_for(lambda: not _alive(pid), what=f"{service} (pid {pid}) gone")
            again = meldpunt(env, "run", "--detach", timeout=180)  # starts what is not running
            assert again.returncode == 0, again.stdout + again.stderr
        more_accepted("after the last restart")
    finally:
        stop.set()
        driver.join()
    assert len(accepted) >= 60
    print(verify_exactly_once(settings, accepted))
