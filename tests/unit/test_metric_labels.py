"""Metrics keep their labels bounded (issue 21, item 8): every label of every hub metric — shared/metrics.py's
and the services' own — is named in metrics.LABEL_VALUES with its allowed values (codes, never a case id or
a person's value). The values a running hub exposes are checked in tests/integration/test_metrics_port.py."""
from prometheus_client import REGISTRY

from hub.registry import service_class
from shared import metrics
from shared.names import SERVICES


def hub_metrics():
    for name in SERVICES:
        service_class(name)  # imports the service and so registers its own metrics
    collectors = {id(c): c for c in REGISTRY._names_to_collectors.values()}.values()
    return {c._name: tuple(c._labelnames) for c in collectors
            if getattr(c, "_name", "").startswith("meldpunt_")}


def test_every_label_of_every_hub_metric_has_its_allowed_values_declared():
    found = hub_metrics()
    assert len(found) >= 15  # shared/metrics.py's and the services' own (triage, signals)
    undeclared = {(name, label) for name, labels in found.items() for label in labels
                  if label not in metrics.LABEL_VALUES}
    assert not undeclared


def test_no_label_could_carry_a_case_id_or_a_person():
    for label in ("case_id", "receipt_code", "key_id", "name", "email", "sub", "person", "path", "url"):
        assert label not in metrics.LABEL_VALUES
    from hub.registry import load_region

    region = load_region()
    case_id = "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"
    assert not any(metrics.allowed(label, case_id, region) for label in metrics.LABEL_VALUES)
    assert not metrics.allowed("route", f"/api/v1/incidents/{case_id}")
    assert metrics.allowed("route", "/api/v1/incidents/<case_id>")
    assert not metrics.allowed("municipality", "Sanne Jansen") and metrics.allowed("municipality", "GM0687")
