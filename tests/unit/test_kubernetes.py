"""deploy/kubernetes: the Kustomize base and its demo overlay, checked without a cluster.

Every standard resource is validated against the Kubernetes JSON schemas (kubernetes-validate,
strict: an unknown field fails) of the oldest and newest Kubernetes versions we claim. The demo
overlay is rendered with `kubectl kustomize` (kustomize is part of kubectl) and validated whole;
without kubectl the base files are validated one by one and the rendering is skipped, saying so.

The two custom resources — the RabbitMQ Cluster Operator's `RabbitmqCluster` and CloudNativePG's
`Cluster` — have no schema in the registries this project installs from, so they are NOT
validated against their CRDs: the test checks their apiVersion, kind and the fields the hub relies
on (three nodes, the Services and Secrets the services name), as written in the operators' docs.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from hub.registry import service_class
from shared.dependencies import needs_master_key
from shared.names import SERVICES

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
sys.path.insert(0, str(KUBE))
import render  # noqa: E402  (deploy/kubernetes/render.py)

VERSIONS = ("1.28.0", "1.32.0")  # the oldest and newest Kubernetes the manifests are checked for
CUSTOM = {("rabbitmq.com/v1beta1", "RabbitmqCluster"), ("postgresql.cnpg.io/v1", "Cluster")}


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def base_documents() -> list[dict]:
    return [d for path in sorted((KUBE / "base").rglob("*.yaml")) if path.name != "kustomization.yaml"
            for d in documents(path)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> list[dict] | None:
    """The demo overlay rendered by `kubectl kustomize`, with throwaway secrets (None without kubectl)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    copy = tmp_path_factory.mktemp("kubernetes") / "kubernetes"
    shutil.copytree(KUBE, copy, ignore=shutil.ignore_patterns("keys"))
    render.write_demo_keys(copy / "overlays" / "demo" / "keys")
    built = subprocess.run([kubectl, "kustomize", str(copy / "overlays" / "demo")], capture_output=True, text=True,
                           timeout=120)
    assert built.returncode == 0, built.stderr
    return [d for d in yaml.safe_load_all(built.stdout) if d]


def test_the_base_is_what_render_py_writes():
    for path, text in render.rendered().items():
        assert path.exists() and path.read_text() == text, \
            f"{path.relative_to(ROOT)} differs from its table: run python deploy/kubernetes/render.py"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_standard_resource_passes_the_kubernetes_schema(version, demo):
    resources = demo if demo is not None else base_documents()
    checked = 0
    for resource in resources:
        if (resource["apiVersion"], resource["kind"]) in CUSTOM:
            continue
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{resource['kind']}/{resource['metadata']['name']} against {version}: {exc.message} "
                        f"at {'/'.join(map(str, exc.path))}")
        checked += 1
    assert checked >= 30 if demo is not None else checked >= 22


def test_the_demo_overlay_renders(demo):
    if demo is None:
        pytest.skip("kubectl (with its kustomize) is not installed: the overlay was not rendered")
    kinds = {}
    for resource in demo:
        kinds.setdefault(resource["kind"], []).append(resource["metadata"]["name"])
    assert {r["metadata"].get("namespace") for r in demo if r["kind"] != "Namespace"} == {"meldpunt-demo"}
    assert len(kinds["Deployment"]) == len(render.SERVICES) and len(kinds["Secret"]) == len(render.SERVICES)
    # the generated secrets' hashed names reached every reference
    secrets = set(kinds["Secret"])
    for resource in demo:
        if resource["kind"] in ("Deployment", "Job"):
            spec = resource["spec"]["template"]["spec"]
            for container in spec["containers"]:
                for source in container.get("envFrom", []):
                    if "secretRef" in source:
                        assert source["secretRef"]["name"] in secrets, source
    images = {c["image"] for r in demo if r["kind"] == "Deployment" for c in r["spec"]["template"]["spec"]["containers"]}
    assert images == {"meldpunt-hub:0.1.0"}


def test_each_service_has_probes_resources_a_budget_and_consumers_an_autoscaler():
    by_kind: dict[str, dict] = {}
    for resource in base_documents():
        by_kind.setdefault(resource["kind"], {})[resource["metadata"]["name"]] = resource
    for service, spec in render.SERVICES.items():
        name = render.dns_name(service)
        [container] = by_kind["Deployment"][name]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", "hub.runner", service]
        # GET /metrics only on the operator port (issue 21, item 8)
        assert container["ports"] == [{"name": "http", "containerPort": spec["port"]},
                                      {"name": "operator", "containerPort": spec["port"] + 1000}]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert container["livenessProbe"]["httpGet"]["path"].startswith("/health")
        assert set(container["resources"]["requests"]) == {"cpu", "memory"}
        assert by_kind["PodDisruptionBudget"][name]["spec"]["minAvailable"] == 1
        assert (name in by_kind["HorizontalPodAutoscaler"]) == spec["consumer"], service
        assert {"secretRef": {"name": name}} in container["envFrom"]
    assert [render.SERVICES[s]["port"] for s in render.SERVICES] == list(range(8001, 8009))


def test_the_workbench_calls_each_service_at_its_kubernetes_service():
    """Its default, 127.0.0.1, is the workbench's own pod: it calls each service at the Service in front of it, on
    the port the Service serves (MELDPUNT_<SERVICE>_URL)."""
    from hub.registry import load_settings

    by_kind: dict[str, dict] = {}
    for resource in base_documents():
        by_kind.setdefault(resource["kind"], {})[resource["metadata"]["name"]] = resource
    [container] = by_kind["Deployment"]["meldpunt-workbench"]["spec"]["template"]["spec"]["containers"]
    settings = load_settings(environ={e["name"]: e["value"] for e in container["env"] if e["name"].endswith("_URL")})
    for service in SERVICES:
        if service == "workbench":
            continue
        host, port = settings.service_url(service).removeprefix("http://").split(":")
        ports = {p["name"]: p["port"] for p in by_kind["Service"][host]["spec"]["ports"]}
        assert host == render.dns_name(service) and int(port) == ports["http"], service


def test_a_service_gets_the_master_key_only_where_it_encrypts():
    """The per-service Secrets of the overlay carry exactly what render.py's table says, and the
    table agrees with the code for every service that exists (workbench and signals are coming)."""
    overlay = yaml.safe_load((KUBE / "overlays" / "demo" / "kustomization.yaml").read_text())
    generated = {g["name"]: g for g in overlay["secretGenerator"]}
    for service in render.SERVICES:
        entry = generated[render.dns_name(service)]
        keys = [literal.split("=", 1)[0] for literal in entry.get("literals", [])]
        for env in entry.get("envs", []):
            keys += {"master.env": ["MELDPUNT_MASTER_KEY"], "region.env": ["MELDPUNT_REGION_SECRET"],
                     "statistics-key.env": ["MELDPUNT_STATISTICS_KEY"]}.get(
                env.split("/")[-1], [f"MELDPUNT_AMQP_PASSWORD_{service.upper()}",
                                     f"MELDPUNT_PGPASSWORD_{service.upper()}"])
        assert sorted(keys) == sorted(render.secret_keys(service)), service
    for service in SERVICES:
        if service in render.SERVICES:
            assert render.SERVICES[service]["master_key"] == needs_master_key(service_class(service)), service


def test_the_operators_resources_name_what_the_services_use():
    """Not validated against their CRDs (no schema in the registries): the fields the hub relies on."""
    custom = {(d["apiVersion"], d["kind"]): d for d in base_documents() if (d["apiVersion"], d["kind"]) in CUSTOM}
    assert set(custom) == CUSTOM
    rabbit = custom[("rabbitmq.com/v1beta1", "RabbitmqCluster")]
    assert rabbit["metadata"]["name"] == "meldpunt-rabbitmq" and rabbit["spec"]["replicas"] == 3
    postgres = custom[("postgresql.cnpg.io/v1", "Cluster")]
    assert postgres["metadata"]["name"] == "meldpunt-postgres" and postgres["spec"]["instances"] == 3
    assert postgres["spec"]["enableSuperuserAccess"] is True
    config = {d["metadata"]["name"]: d for d in base_documents() if d["kind"] == "ConfigMap"}["meldpunt-config"]
    # the operators' Services: <RabbitmqCluster> for clients, <Cluster>-rw for the primary
    assert config["data"]["MELDPUNT_AMQP_URI"].startswith("amqp://meldpunt-rabbitmq:5672/")
    assert config["data"]["MELDPUNT_PGHOST"] == "meldpunt-postgres-rw"


def test_postgres_ships_the_same_autovacuum_naptime_on_kubernetes_and_compose():
    """A database per municipality: the autovacuum launcher's round over them is set, alike in both (docs/scaling.md)."""
    postgres = [d for d in base_documents() if d["kind"] == "Cluster"][0]
    naptime = postgres["spec"]["postgresql"]["parameters"]["autovacuum_naptime"]
    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    assert f"autovacuum_naptime={naptime}" in compose["services"]["postgres"]["command"]
    assert naptime == "10min"
