"""The hub as an operator runs it: `meldpunt run` starts five processes; an incident per
municipality travels over HTTP and AMQP; Ctrl-C stops everything cleanly."""
import json
import signal
import subprocess
import sys
import time
import uuid

import pytest
import requests

from shared.config import REPO_ROOT
from shared.names import SERVICES
from tests.support import PATIENCE, Hub, _full_env, meldpunt, wait_for

# a hub of service processes: up to 30 connections at once (tests/parallel.py, whole_hub)
pytestmark = pytest.mark.whole_hub


def test_meldpunt_run_serves_every_municipality_and_stops_cleanly(hub_env, settings, tmp_path):
    env = {**hub_env, "MELDPUNT_VAR_DIR": str(tmp_path)}
    assert meldpunt(env, "declare").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "run"], cwd=REPO_ROOT, env=_full_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        deadline = time.monotonic() + PATIENCE
        while sum("ready" in line for line in lines) < len(SERVICES) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"hub exited early: {''.join(lines[-20:])}"
            lines.append(line)
        ready = [line for line in lines if " ready " in line]
        assert sorted(line.split()[0] for line in ready) == sorted(SERVICES)

        hub = Hub(settings)
        cases = {}
        for m in settings.region.municipalities:
            response = hub.report(hub.key(m.code))
            assert response.status_code == 201, response.text
            cases[m.code] = uuid.UUID(response.json()["case_id"])
        for code, case_id in cases.items():
            wait_for(lambda: (f := hub.facts(code, case_id)) and f["referred"] and f["aftercare_planned"],
                     what=f"the incident of {code} through the incident path")

        staff = hub.key(settings.region.codes[0], role="staff")
        summary = requests.get(hub.url("statistics", "/api/v1/statistics/summary"),
                               headers={"Authorization": f"Bearer {staff}"}, timeout=5).json()
        assert summary["referred"] >= 1 and summary["aftercare_planned"] >= 1
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        lines.append(out)
    assert proc.returncode == 0, "".join(lines)[-3000:]
    assert "the hub has stopped" in "".join(lines)
    for service in SERVICES:
        try:
            requests.get(hub.url(service, "/health"), timeout=1)
            raise AssertionError(f"{service} still answers after Ctrl-C")
        except requests.ConnectionError:
            pass


def test_up_and_down_run_the_hub_in_the_background(hub_env, settings, tmp_path):
    env = {**hub_env, "MELDPUNT_VAR_DIR": str(tmp_path), "MELDPUNT_LOG_LEVEL": "INFO"}
    assert meldpunt(env, "declare").returncode == 0
    up = meldpunt(env, "run", "--detach", timeout=90)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert up.stdout.count(" ready ") == len(SERVICES)
        assert sorted(p.name for p in (tmp_path / "run").iterdir()) == \
            sorted(f"{s}.pid" for s in SERVICES)
        hub = Hub(settings)
        assert requests.get(hub.url("aftercare", "/health"), timeout=5).status_code == 200
    finally:
        down = meldpunt(env, "stop", timeout=90)
    assert down.returncode == 0 and down.stdout.count("stopped") == len(SERVICES)
    assert list((tmp_path / "run").iterdir()) == []
    log = (tmp_path / "log" / "intake.log").read_text()
    lines = [json.loads(line) for line in log.splitlines()]  # structured: one JSON object a line
    assert all(line["service"] == "intake" and "correlation_id" in line for line in lines)
    assert any(line["message"] == "service started" and line["url"] == hub.url("intake", "") for line in lines)
    assert not any("killing" in line["message"] for line in lines)  # a clean stop
