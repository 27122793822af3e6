"""The rules file is validated when loaded, with one clear line naming file and field."""
from __future__ import annotations

import pytest
import yaml

from services.triage.rules import DEFAULT_RULES_FILE, RulesError, load_rules, parse_rules
from shared.config import ConfigError
from hub.registry import load_region


def raw():
    return yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))


def test_default_rules_load_with_version():
    rules = load_rules(DEFAULT_RULES_FILE)
    assert rules.version == "vr19-2026.16" and "overig" in rules.categories


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("version"), "version: Missing data"),
    (lambda r: r.update(version="met spatie"), "version: must be 1-40"),
    (lambda r: r["urgency"][0].update(urgency="spoed"), "urgency.0.urgency"),
    (lambda r: r["decisions"][0].update(decision="bel_de_krant"), "decisions.0.decision"),
    (lambda r: r["decisions"][0]["when"].update(categorie=["x"]), "decisions.0.when.categorie"),
    (lambda r: r.update(categories=["bedreiging"]), "categories: must include 'overig'"),
    (lambda r: r["aftercare_intensity"].pop("laag"), "aftercare_intensity: misses laag"),
    (lambda r: r.update(categories=["overig", "bedreiging"]), "keywords.2.category"),
    (lambda r: r["deadlines"].update(acute_minutes=0), "deadlines.acute_minutes"),
])
def test_invalid_rules_are_refused_with_the_field(change, message):
    data = raw()
    change(data)
    with pytest.raises(RulesError, match="vr19-triage.yaml: " + message.split(":")[0]) as err:
        parse_rules(data, "vr19-triage.yaml")
    assert message.split(": ")[-1] in str(err.value)


def test_region_file_names_a_missing_rules_file(tmp_path):
    region = yaml.safe_load(open(load_region().source))
    region["triage"] = {"rules_file": str(tmp_path / "nope.yaml")}
    path = tmp_path / "region.yaml"
    path.write_text(yaml.safe_dump(region))

    with pytest.raises(ConfigError, match=r"triage\.rules_file: .*nope\.yaml: triage rules file not found"):
        load_region(path)


def test_region_specific_categories(tmp_path):
    data = raw()
    data["categories"] = [c for c in data["categories"] if c != "discriminatie"]
    data["keywords"] = [k for k in data["keywords"] if k["category"] != "discriminatie"]
    rules = parse_rules(data)
    from services.triage.domain import triage
    from tests.unit.samples import incident

    result = triage(incident(reported_categories=["discriminatie"]), rules)
    assert result.categories == ["overig"] and any("niet gebruikt" in r for r in result.reasons)
