"""deploy/: Prometheus scrape jobs and alert rules, the Grafana dashboard and its provisioning, and the
compose file that runs them agree with each other and with the metrics the services export."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

from shared.names import SERVICES
from tests.ops_support import require_tool

from hub.registry import service_class

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "meldpunt-hub.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
COMPOSE = ROOT / "docker-compose.yml"


def exported_metric_names() -> set[str]:
    """Every sample name the hub can export: the services' /metrics (shared/metrics.py and the services'
    own) and the backup status file (`meldpunt backup status --metrics`, hub/ops/backup.py)."""
    from hub.ops.backup import metrics_registry

    for service in SERVICES:
        service_class(service)
    names = set()
    for registry in (REGISTRY, metrics_registry([], max_age_seconds=0)):
        for family in registry.collect():
            names.add(family.name)
            names |= {f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_sum", "_count", "_created")}
    return names


# Metrics the dashboard and the rules read from others than the hub, and who exports them.
EXTERNAL_METRICS = {
    "up": "Prometheus itself, one per scrape target",
    "rabbitmq_detailed_queue_messages": "RabbitMQ's rabbitmq_prometheus plugin, /metrics/detailed?family=queue_coarse_metrics "
                                        "(job rabbitmq_queues in deploy/prometheus/prometheus.yml)",
}
_PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset",
                    "bool", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: what is left once strings, label matchers, ranges,
    label lists, functions and keywords are taken out."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if e[match.end():].lstrip().startswith("(") or match.group(0) in _PROMQL_KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]


def expressions() -> list[str]:
    exprs = [expr for _, expr in dashboard_expressions()]
    rules = yaml.safe_load(ALERTS.read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    return exprs


def test_metric_names_are_found_in_promql():
    assert metric_names('sum by (le, service) (rate(meldpunt_handler_seconds_bucket{a="b{c}"}[5m]))') == \
        {"meldpunt_handler_seconds_bucket"}
    assert metric_names("time() - x_seconds > on(municipality) y offset 15m") == {"x_seconds", "y"}
    assert metric_names("histogram_quantile(0.95, sum(rate(z[1h]))) > 1e3") == {"z"}


def test_every_metric_a_panel_or_an_alert_uses_exists():
    """No panel and no alert on a metric that nobody exports: every name is the hub's own or a named
    exporter's (EXTERNAL_METRICS)."""
    exported = exported_metric_names()
    for expr in expressions():
        unknown = metric_names(expr) - exported - set(EXTERNAL_METRICS)
        assert not unknown, f"{sorted(unknown)} in {expr!r}: no such metric"
    panels = [expr for _, expr in dashboard_expressions()]
    assert all(metric_names(expr) for expr in panels)


def test_dashboard_queries_are_valid_promql(tmp_path):
    """promtool parses every panel's query (as a recording rule)."""
    promtool = require_tool("promtool", "prometheus")
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:panel_{index}", "expr": expr} for index, (_, expr) in enumerate(dashboard_expressions())]}]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    checked = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alert_rules_cover_the_four_conditions():
    rules = {r["alert"]: r["expr"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    assert "meldpunt_dead_letters" in rules["MeldpuntDeadLetterQueueNotEmpty"]
    assert "deriv(meldpunt_outbox_backlog" in rules["MeldpuntOutboxBacklogGrowing"]
    assert "triage_overdue|referral_escalated|aftercare_overdue" in rules["MeldpuntDeadlinesBreached"]
    assert "up{" in rules["MeldpuntServiceDown"]
    down = re.search(r'up\{job=~"([^"]+)"\}', rules["MeldpuntServiceDown"])
    assert set(down.group(1).split("|")) == set(SERVICES)  # every service's job, none forgotten


def test_prometheus_scrapes_every_service_and_the_queues():
    jobs = {j["job_name"]: j for j in yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]}
    assert set(SERVICES) <= set(jobs)
    assert jobs["rabbitmq_queues"]["params"] == {"family": ["queue_coarse_metrics"]}


def test_prometheus_finds_each_compose_service_on_its_operator_port():
    """Each service's job scrapes a host compose runs (its name or alias), on the service's port + 1000 where
    shared/config.py serves /metrics by default: a job without its service would only ever say down."""
    from shared.names import PORTS

    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    hosts = {}
    for name, spec in compose.items():
        aliases = ((spec.get("networks") or {}).get("default") or {}).get("aliases", [])
        hosts.update({host: name for host in [name, *aliases]})
    jobs = {j["job_name"]: j for j in yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]}
    for service in SERVICES:
        [target] = jobs[service]["static_configs"][0]["targets"]
        host, port = target.split(":")
        assert hosts.get(host) == service and int(port) == PORTS[service] + 1000, target
        assert compose[service]["command"] == ["python", "-m", "hub.runner", service]


def test_dashboard_shows_what_ops_needs():
    dashboard = json.loads(DASHBOARD.read_text())
    titles = " | ".join(p["title"].lower() for p in dashboard["panels"])
    for wanted in ("events handled", "handler latency", "queue depth", "outbox backlog", "deadline breaches"):
        assert wanted in titles, wanted
    source = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = source["datasources"][0]["uid"]
    assert {p["datasource"]["uid"] for p in dashboard["panels"] if "datasource" in p} == {uid}
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_compose_provisions_grafana_from_files_that_exist():
    compose = yaml.safe_load(COMPOSE.read_text())
    grafana = compose["services"]["grafana"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in grafana["volumes"] if m.startswith("./")}
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert mounts["/var/lib/grafana/dashboards"] == "./deploy/grafana/dashboards"
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/meldpunt.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for service in compose["services"].values():
        for mount in service.get("volumes", []):
            if mount.startswith("./"):
                assert (ROOT / mount.split(":")[0]).exists(), mount
    assert "grafana-data" in compose["volumes"]
