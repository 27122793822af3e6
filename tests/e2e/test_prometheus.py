"""A real Prometheus (Debian's package) scraping a running hub with the shipped alert rules: it sees the hub's
metrics, every hub metric the Grafana dashboard draws, and alerts go pending — a dead letter, a service down.
One test, because starting Prometheus and the services is most of its cost."""
from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
import requests
import yaml

from shared.config import REPO_ROOT
from tests.ops_support import require_tool
from tests.support import Hub, free_port, publish_raw, wait_for
from tests.unit.test_monitoring_config import dashboard_expressions, metric_names

ALERTS = REPO_ROOT / "deploy" / "prometheus" / "alerts.yml"


@pytest.fixture
def prometheus(settings, start_services, tmp_path):
    """intake and triage running; Prometheus on a free port scraping them every second, and a `statistics`
    target where nothing answers."""
    binary = require_tool("prometheus", "prometheus")
    start_services("intake", "triage")
    port, nobody = free_port(), free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {"job_name": "intake", "static_configs": [{"targets": [f"127.0.0.1:{settings.operator_ports['intake']}"]}]},
            {"job_name": "triage", "static_configs": [{"targets": [f"127.0.0.1:{settings.operator_ports['triage']}"]}]},
            {"job_name": "statistics", "static_configs": [{"targets": [f"127.0.0.1:{nobody}"]}]},
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen([binary, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{url}/-/ready") is not None or proc.poll() is not None,
                 what="Prometheus to be ready")
        assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _get(url, **params):
    try:
        response = requests.get(url, params=params, timeout=2)
    except requests.RequestException:
        return None
    return response if response.status_code == 200 else None


def api(url: str, path: str, **params):
    response = _get(f"{url}/api/v1/{path}", **params)
    return response.json()["data"] if response is not None else None


def alert_states(url: str) -> dict:
    return {(a["labels"]["alertname"], a["labels"].get("service") or a["labels"].get("job")): a["state"]
            for a in (api(url, "alerts") or {"alerts": []})["alerts"]}


def test_prometheus_scrapes_the_hub_and_its_alerts_go_pending(prometheus, settings):
    hub = Hub(settings)
    answer = hub.report(hub.key(settings.region.codes[0]))
    assert answer.status_code == 201, answer.text
    # a message that breaks the contract: triage parks it in triage.dlq at once
    publish_raw(settings.amqp_uri, "intake.events", "incident_reported", b"not json")

    def targets_up():
        found = api(prometheus, "targets")
        health = {t["labels"]["job"]: t["health"] for t in (found or {"activeTargets": []})["activeTargets"]}
        return health if health.get("intake") == health.get("triage") == "up" else None

    health = wait_for(targets_up, what="Prometheus to scrape intake and triage")
    assert health["statistics"] in ("down", "unknown")

    requests_seen = wait_for(lambda: (api(prometheus, "query", query='meldpunt_http_requests_total{job="intake", '
                                                                     'route="/api/v1/incidents", status="201"}')
                                      or {}).get("result"), timeout=30, what="the hub's request counter in Prometheus")
    assert float(requests_seen[0]["value"][1]) >= 1

    states = wait_for(lambda: (s := alert_states(prometheus)).get(("MeldpuntDeadLetterQueueNotEmpty", "triage"))
                      and s.get(("MeldpuntServiceDown", "statistics")) and s, timeout=30,
                      what="the dead-letter and service-down alerts")
    assert states[("MeldpuntDeadLetterQueueNotEmpty", "triage")] == "pending"  # for: 5m
    assert states[("MeldpuntServiceDown", "statistics")] == "pending"          # for: 2m
    assert ("MeldpuntDeadLetterQueueNotEmpty", "intake") not in states

    # every hub metric the Grafana dashboard draws is one the running services expose: beside the static check
    # (tests/unit/test_monitoring_config.py), Prometheus's own record of their HELP and TYPE lines
    def exposed():
        found = api(prometheus, "targets/metadata", match_target='{job=~"intake|triage"}') or []
        return {m["metric"] for m in found} or None

    families = wait_for(exposed, what="metadata of the scraped targets")
    drawn = {name for _, expr in dashboard_expressions() for name in metric_names(expr) if name.startswith("meldpunt_")}
    base = {re.sub(r"_(bucket|sum|count|total|created)$", "", name) for name in drawn}
    missing = {name for name in base if name not in families and f"{name}_total" not in families}
    assert not missing, f"the dashboard draws {sorted(missing)}, which the running hub does not expose"
