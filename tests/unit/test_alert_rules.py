"""The alert rules proven by Prometheus's own tools: promtool checks and unit-tests every alert
(deploy/prometheus/alerts_test.yml), each alert has a runbook section in docs/operations.md, and the
example Alertmanager routing passes amtool and sends each alert where it should go."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ops_support import require_tool

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


def alert_rules() -> list[dict]:
    return [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"] if "alert" in r]


def run(*command) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_rules():
    promtool = require_tool("promtool", "prometheus")
    checked = run(promtool, "check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in checked.stdout


def test_promtool_unit_tests_of_every_alert_pass():
    promtool = require_tool("promtool", "prometheus")
    tested = run(promtool, "test", "rules", str(ALERT_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_is_tested_firing_and_quiet():
    """Each alert has a case where it fires and one where it stays quiet (an empty exp_alerts)."""
    fires, quiet = set(), set()
    for case in yaml.safe_load(ALERT_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {r["alert"] for r in alert_rules()}
    assert names - fires == set(), f"never shown firing: {sorted(names - fires)}"
    assert names - quiet == set(), f"never shown quiet: {sorted(names - quiet)}"


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to dashes."""
    anchors = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        title = line.lstrip("#").strip().lower()
        anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_every_alert_has_a_runbook_that_resolves_to_a_heading(rule):
    url = rule.get("annotations", {}).get("runbook_url")
    assert url, f"{rule['alert']} has no runbook_url annotation"
    path, _, anchor = url.partition("#")
    document = ROOT / path
    assert document.is_file(), f"{rule['alert']}: {path} does not exist"
    assert anchor == rule["alert"].lower(), f"{rule['alert']}: the runbook section is named after the alert"
    assert anchor in github_anchors(document.read_text()), f"{rule['alert']}: no heading #{anchor} in {path}"


def test_each_runbook_says_what_it_means_what_to_check_how_to_fix_and_when_to_escalate():
    text = (ROOT / "docs" / "operations.md").read_text()
    for rule in alert_rules():
        section = text.split(f"### {rule['alert']}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
        for part in ("**Means**", "**Check first**", "**Fix**", "**Escalate**"):
            assert part in section, f"the runbook of {rule['alert']} lacks {part}"
        assert "`meldpunt " in section, f"the runbook of {rule['alert']} names no meldpunt command to check with"


def test_amtool_accepts_the_alertmanager_example():
    amtool = require_tool("amtool", "prometheus-alertmanager")
    checked = run(amtool, "check-config", str(ALERTMANAGER))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


@pytest.mark.parametrize("labels, receivers", [
    ({"severity": "critical", "municipality": "GM0687"}, "gm0687-meldpunt,hub-ops-pager"),
    ({"severity": "warning", "municipality": "GM0718"}, "gm0718-meldpunt,hub-ops-mail"),
    ({"severity": "critical", "alertname": "MeldpuntServiceDown"}, "hub-ops-pager"),
    ({"severity": "warning", "alertname": "MeldpuntDeadLetterQueueNotEmpty"}, "hub-ops-mail"),
    ({"alertname": "SomethingElse"}, "hub-ops-mail"),
])
def test_alertmanager_routes_per_municipality_and_per_severity(labels, receivers):
    amtool = require_tool("amtool", "prometheus-alertmanager")
    routed = run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}",
                 *(f"{k}={v}" for k, v in labels.items()))
    assert routed.returncode == 0, routed.stderr
    assert routed.stdout.strip() == receivers


def test_every_municipality_of_the_demo_region_has_its_route():
    region = yaml.safe_load((ROOT / "deploy" / "regions" / "demo.yaml").read_text())
    config = yaml.safe_load(ALERTMANAGER.read_text())
    routed = {m: r["receiver"] for r in config["route"]["routes"] for m in r.get("matchers", [])
              if m.startswith("municipality=")}
    receivers = {r["name"] for r in config["receivers"]}
    for m in region["municipalities"]:
        receiver = routed.get(f'municipality="{m["code"]}"')
        assert receiver in receivers, f"{m['code']} has no route to a receiver of its own"


def test_alerts_carry_severity_the_routing_knows():
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
