"""Writes the Kustomize base's manifests of the hub's services (deploy/kubernetes/base/services/),
one file per service, from the table below: every service gets the same shape, so a change to
probes, resources or security is made once here. Run `python deploy/kubernetes/render.py` after
changing it; tests/unit/test_kubernetes.py fails while the files and this table disagree.

The rest of the base (the RabbitMQ and PostgreSQL clusters, the set-up job, the shared
configuration) is plain YAML beside it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

BASE = Path(__file__).resolve().parent / "base"
IMAGE = "meldpunt-hub"

# port, whether it consumes events (a queue consumer: scaled by the HPA), which secrets it gets
# (the master key only where it encrypts or decrypts: hub/registry's needs_master_key; the region
# secret where person assertions are checked or keyed hashes made — every service but statistics,
# which gets only its own key derived from it: shared/keyed.py), its CPU request. Every service
# connects to PostgreSQL as its own role meldpunt_<service> (shared/db/roles.py), never as the owner.
# `calls`: it calls the other services' APIs (the workbench, on a person's behalf), each at its Service's name
# (MELDPUNT_<SERVICE>_URL; its default, 127.0.0.1, is the pod itself).
SERVICES = {
    "intake": dict(port=8001, consumer=False, master_key=True, region_secret=True, cpu="250m"),
    "triage": dict(port=8002, consumer=True, master_key=True, region_secret=True, cpu="250m"),
    "police_liaison": dict(port=8003, consumer=True, master_key=True, region_secret=True, cpu="150m"),
    "aftercare": dict(port=8004, consumer=True, master_key=True, region_secret=True, cpu="150m"),
    "statistics": dict(port=8005, consumer=True, master_key=False, region_secret=False, statistics_key=True,
                       cpu="150m"),
    "workbench": dict(port=8006, consumer=False, master_key=False, region_secret=True, calls=True, cpu="100m"),
    "signals": dict(port=8007, consumer=True, master_key=True, region_secret=True, cpu="100m"),
    # each case a zaak in its municipality's zaaksysteem (idle where none is enabled); it takes no person's
    # call, so no region secret. The zaaksysteem's client secrets (zaaksysteem.municipalities.<code>.secret)
    # are the region's own: add them to its Secret, or mount a file, as the region file names them.
    "zaaksysteem": dict(port=8008, consumer=True, master_key=False, region_secret=False, cpu="100m"),
}
REPLICAS = 2          # every service: one may go (PodDisruptionBudget), the other serves
MAX_REPLICAS = 6      # consumers under the HPA: competing consumers on the same queues
LABELS = {"app.kubernetes.io/part-of": "meldpunt-hub"}


def dns_name(service: str) -> str:
    return "meldpunt-" + service.replace("_", "-")


def manifests(service: str, spec: dict) -> list[dict]:
    name = dns_name(service)
    labels = {**LABELS, "app.kubernetes.io/name": name, "app.kubernetes.io/component": service}
    selector = {"app.kubernetes.io/name": name}
    port = spec["port"]
    probe = {"httpGet": {"path": "/health", "port": "http"}}
    container = {
        "name": service.replace("_", "-"),
        "image": IMAGE,
        "command": ["python", "-m", "hub.runner", service],
        # the public API and form on `http`; GET /metrics only on `operator` (port + 1000), for Prometheus
        "ports": [{"name": "http", "containerPort": port}, {"name": "operator", "containerPort": port + 1000}],
        "envFrom": [{"configMapRef": {"name": "meldpunt-config"}},
                    # this service's own broker user, its own PostgreSQL role (never the owner's password:
                    # only the set-up job has that) and only the keys it needs
                    {"secretRef": {"name": name}}],
        "env": [{"name": f"MELDPUNT_{service.upper()}_PORT", "value": str(port)},
                {"name": f"MELDPUNT_{service.upper()}_OPERATOR_PORT", "value": str(port + 1000)}]
               + [{"name": f"MELDPUNT_{other.upper()}_URL",
                   "value": f"http://{dns_name(other)}:{SERVICES[other]['port']}"}
                  for other in SERVICES if spec.get("calls") and other != service],
        # ready: broker and databases answer (200 also while only some municipalities' stores
        # are down: /health says which, and the others' work goes on)
        "readinessProbe": {**probe, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
        # alive: the process serves; a broker or database outage is ridden out, not restarted away
        "livenessProbe": {"httpGet": {"path": "/health?probe=live", "port": "http"}, "periodSeconds": 20,
                          "timeoutSeconds": 5, "failureThreshold": 3},
        "startupProbe": {"httpGet": {"path": "/health?probe=live", "port": "http"}, "periodSeconds": 2,
                         "failureThreshold": 60},
        "resources": {"requests": {"cpu": spec["cpu"], "memory": "192Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    # the runner stops nameko gracefully within 20 s before it gives up
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                   "whenUnsatisfiable": "ScheduleAnyway",
                                                   "labelSelector": {"matchLabels": selector}}],
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }
    documents = [
        deployment,
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels},
         "spec": {"selector": selector, "ports": [{"name": "http", "port": port, "targetPort": "http"},
                                                  {"name": "operator", "port": port + 1000,
                                                   "targetPort": "operator"}]}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "labels": labels},
         "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}}},
    ]
    if spec["consumer"]:
        documents.append({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "labels": labels},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": REPLICAS, "maxReplicas": MAX_REPLICAS,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 70}}}],
                     # add consumers quickly under a backlog, remove them slowly
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}},
        })
    return documents


def secret_keys(service: str) -> list[str]:
    """The keys of a service's own Secret `meldpunt-<service>` (the overlay makes it)."""
    spec, upper = SERVICES[service], service.upper()
    return ([f"MELDPUNT_AMQP_USER_{upper}", f"MELDPUNT_AMQP_PASSWORD_{upper}",
             f"MELDPUNT_PGUSER_{upper}", f"MELDPUNT_PGPASSWORD_{upper}"]
            + ["MELDPUNT_MASTER_KEY"] * spec["master_key"] + ["MELDPUNT_REGION_SECRET"] * spec["region_secret"]
            + ["MELDPUNT_STATISTICS_KEY"] * spec.get("statistics_key", False))


def write_demo_keys(folder: Path) -> None:
    """The demo overlay's secrets, made on the spot and never committed (keys/ is ignored by git):
    a master key, a region secret, statistics' key derived from it, and a broker and a database password
    per service. Existing files are kept."""
    import base64
    import secrets

    from shared.keyed import statistics_key

    folder.mkdir(parents=True, exist_ok=True)
    wanted = {"master.env": lambda: f"MELDPUNT_MASTER_KEY={base64.b64encode(secrets.token_bytes(32)).decode()}",
              "region.env": lambda: f"MELDPUNT_REGION_SECRET={secrets.token_hex(32)}",
              # after region.env: derived from the secret written there
              "statistics-key.env": lambda: "MELDPUNT_STATISTICS_KEY=" + statistics_key(
                  (folder / "region.env").read_text().strip().split("=", 1)[1].encode()).hex(),
              **{f"{service}.env": (lambda upper=service.upper():
                                    f"MELDPUNT_AMQP_PASSWORD_{upper}={secrets.token_urlsafe(24)}\n"
                                    f"MELDPUNT_PGPASSWORD_{upper}={secrets.token_urlsafe(24)}")
                 for service in SERVICES}}
    for name, line in wanted.items():
        path = folder / name
        if not path.exists():
            path.write_text(line() + "\n")
            path.chmod(0o600)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # plain YAML for people: no &anchors
        return True


def rendered() -> dict[Path, str]:
    """{path: text} of every file this script writes."""
    files = {}
    for service, spec in SERVICES.items():
        header = (f"# {service}: written by deploy/kubernetes/render.py from its table; change it there.\n")
        files[BASE / "services" / f"{service}.yaml"] = header + yaml.dump_all(
            manifests(service, spec), Dumper=_Dumper, sort_keys=False, width=120)
    files[BASE / "services" / "kustomization.yaml"] = (
        "# written by deploy/kubernetes/render.py\n"
        + yaml.safe_dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                          "resources": [f"{service}.yaml" for service in SERVICES]}, sort_keys=False))
    return files


def main() -> int:
    if sys.argv[1:] == ["--demo-keys"]:
        write_demo_keys(BASE.parent / "overlays" / "demo" / "keys")
        print("demo secrets in deploy/kubernetes/overlays/demo/keys/ (kept out of git)")
        return 0
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(BASE.parent.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
