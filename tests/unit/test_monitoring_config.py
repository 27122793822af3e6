"""deploy/: Prometheus scrape jobs and alert rules, the Grafana dashboard and its provisioning, and the
compose file that runs them agree with each other and with the metrics the services export."""
from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

from shared.names import SERVICES

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "meldpunt-hub.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
COMPOSE = ROOT / "docker-compose.yml"


def exported_metric_names() -> set[str]:
    """Every sample name the hub's services can export (shared/metrics.py and the services' own)."""
    for service in SERVICES:
        importlib.import_module(f"services.{service}.service")
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names |= {f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_sum", "_count", "_created")}
    return names


def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    rules = yaml.safe_load(ALERTS.read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    return exprs


def test_every_hub_metric_used_in_deploy_is_exported():
    used = {name for expr in expressions() for name in re.findall(r"\bmeldpunt_[a-z_]+", expr)}
    assert used and used <= exported_metric_names(), used - exported_metric_names()


def test_alert_rules_cover_the_four_conditions():
    rules = {r["alert"]: r["expr"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    assert "meldpunt_dead_letters" in rules["MeldpuntDeadLetterQueueNotEmpty"]
    assert "deriv(meldpunt_outbox_backlog" in rules["MeldpuntOutboxBacklogGrowing"]
    assert "triage_overdue|referral_escalated|aftercare_overdue" in rules["MeldpuntDeadlinesBreached"]
    assert "up{" in rules["MeldpuntServiceDown"]


def test_prometheus_scrapes_every_service_and_the_queues():
    jobs = {j["job_name"]: j for j in yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]}
    assert set(SERVICES) <= set(jobs)
    assert jobs["rabbitmq_queues"]["params"] == {"family": ["queue_coarse_metrics"]}


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
