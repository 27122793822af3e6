"""Secrets per service (issue 21, items 1 and 2), in docker-compose.yml and the Kubernetes demo overlay alike:

- the master key only where a service encrypts or decrypts (hub/registry's needs_master_key);
- the region secret where person assertions are checked or keyed hashes made (not zaaksysteem, which takes no
  person's call); statistics gets only its own key derived from it (MELDPUNT_STATISTICS_KEY, shared/keyed.py) and
  still works with it alone;
- each service connects to PostgreSQL as its own role (MELDPUNT_PGUSER_<SERVICE> and its password), and only the
  set-up container has the databases' owner's password;
- every service of shared/names.py runs under compose, the workbench too: its sign-in settings from the environment
  and a secret file, the other services at their compose host names.
"""
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from joserfc import jwt

from hub.registry import load_settings, service_class
from shared import assertion, auth
from shared.config import ConfigError, region_secret
from shared.dependencies import needs_master_key
from shared.keyed import statistics_key, statistics_key_of
from shared.names import PORTS, SERVICES, WORKBENCH
from tests.ops_support import require_tool

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
OVERLAY = ROOT / "deploy" / "kubernetes" / "overlays" / "demo" / "kustomization.yaml"
SECRET = "a-region-secret-of-at-least-32-characters-" + "0" * 8


def _services():
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    for name, spec in compose["services"].items():
        command = spec.get("command") or []
        if command[:3] == ["python", "-m", "hub.runner"]:
            yield command[3], spec.get("environment") or {}


def test_compose_gives_the_master_key_only_where_a_service_encrypts_and_never_for_statistics():
    seen = dict(_services())
    assert set(seen) == set(SERVICES)
    for service, env in seen.items():
        assert ("MELDPUNT_MASTER_KEY" in env) == needs_master_key(service_class(service)), service
    assert "MELDPUNT_MASTER_KEY" not in seen["statistics"]


def _render():
    sys.path.insert(0, str(ROOT / "deploy" / "kubernetes"))
    import render

    return render


def test_compose_gives_the_region_secret_where_kubernetes_does_and_statistics_only_its_own_key():
    """Where person assertions are checked (every service a person reaches through the workbench) or keyed hashes
    made (triage): the same table for both deployments (deploy/kubernetes/render.py)."""
    table = _render().SERVICES
    assert not table["statistics"]["region_secret"] and not table["zaaksysteem"]["region_secret"]
    for service, env in _services():
        assert ("MELDPUNT_REGION_SECRET" in env) == table[service]["region_secret"], service
        assert ("MELDPUNT_STATISTICS_KEY" in env) == (service == "statistics"), service


def test_compose_connects_each_service_as_its_own_database_role_and_only_setup_as_the_owner():
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    for service, env in _services():
        upper = service.upper()
        assert env[f"MELDPUNT_PGUSER_{upper}"] == f"meldpunt_{service}", service
        assert env[f"MELDPUNT_PGPASSWORD_{upper}"], service
        assert "PGPASSWORD" not in env, service  # the owner's password
        others = {k for k in env if k.startswith("MELDPUNT_PGPASSWORD_") or k.startswith("MELDPUNT_PGUSER_")}
        assert others == {f"MELDPUNT_PGUSER_{upper}", f"MELDPUNT_PGPASSWORD_{upper}"}, service
    setup = compose["services"]["setup"]["environment"]
    assert setup["PGPASSWORD"]
    for service, _ in _services():  # migrate gives each role the password its service connects with
        assert f"MELDPUNT_PGPASSWORD_{service.upper()}" in setup


def test_compose_gives_each_service_its_own_rabbitmq_user_which_setup_creates_with_the_same_password():
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    setup = compose["services"]["setup"]["environment"]
    for service, env in _services():
        upper = service.upper()
        mine = {k: v for k, v in env.items() if k.startswith("MELDPUNT_AMQP_USER_") or k.startswith("MELDPUNT_AMQP_PASS")}
        assert mine == {f"MELDPUNT_AMQP_USER_{upper}": f"meldpunt-{service}",
                        f"MELDPUNT_AMQP_PASSWORD_{upper}": setup[f"MELDPUNT_AMQP_PASSWORD_{upper}"]}, service
        assert setup[f"MELDPUNT_AMQP_USER_{upper}"] == f"meldpunt-{service}", service
        assert env[f"MELDPUNT_PGPASSWORD_{upper}"] == setup[f"MELDPUNT_PGPASSWORD_{upper}"], service


def test_compose_runs_the_workbench_with_its_sign_in_from_outside_and_the_services_at_their_host_names():
    """The issuer from the environment (no default: compose runs no provider), the client secret as a file mounted
    where the region file reads it, the region secret for person assertions and no master key; it calls each
    service at the compose host name (or alias) and port it serves on, never at 127.0.0.1 (its own container)."""
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    spec = compose["services"][WORKBENCH]
    env = spec["environment"]
    assert env["MELDPUNT_OIDC_ISSUER"] == "${MELDPUNT_OIDC_ISSUER:-}"
    assert spec["secrets"] == ["oidc-client"]
    assert env["MELDPUNT_OIDC_SECRET_FILE"] == "/run/secrets/oidc-client"
    assert compose["secrets"]["oidc-client"]["file"].startswith("${MELDPUNT_OIDC_SECRET_FILE:-")
    demo = (ROOT / "deploy" / "regions" / "demo.yaml").read_text(encoding="utf-8")
    assert "issuer: ${MELDPUNT_OIDC_ISSUER:" in demo and "client_secret_file: ${MELDPUNT_OIDC_SECRET_FILE:" in demo
    assert env["MELDPUNT_REGION_SECRET"] and "MELDPUNT_MASTER_KEY" not in env
    assert spec["ports"] == [f"127.0.0.1:{PORTS[WORKBENCH]}:{PORTS[WORKBENCH]}"]
    assert f"{PORTS[WORKBENCH]}/health" in " ".join(spec["healthcheck"]["test"])
    assert spec["depends_on"] == {"setup": {"condition": "service_completed_successfully"}}

    hosts = {}
    for name, other in compose["services"].items():
        aliases = ((other.get("networks") or {}).get("default") or {}).get("aliases", [])
        hosts.update({host: name for host in [name, *aliases]})
    settings = load_settings(environ={k: v for k, v in env.items() if k.endswith("_URL")})
    for service in SERVICES:
        if service == WORKBENCH:
            continue
        url = settings.service_url(service)
        host, port = url.removeprefix("http://").split(":")
        assert hosts.get(host) == service and int(port) == PORTS[service], url
        assert "_" not in host, url  # a host name with an underscore is not a valid one


def test_compose_file_is_valid_for_docker_compose(tmp_path):
    """`docker-compose config` (Debian's docker-compose; no engine needed) reads the file with every variable
    interpolated, the secret's file included."""
    tool = require_tool("docker-compose", "docker-compose")
    secret = tmp_path / "oidc-client.secret"
    secret.write_text("not-a-real-secret\n")
    answer = subprocess.run([tool, "-f", str(COMPOSE), "config"], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "MELDPUNT_OIDC_ISSUER": "https://login.example.nl",
                                 "MELDPUNT_OIDC_SECRET_FILE": str(secret)})
    assert answer.returncode == 0, answer.stderr
    resolved = yaml.safe_load(answer.stdout)
    assert resolved["secrets"]["oidc-client"]["file"] == str(secret)
    assert resolved["services"][WORKBENCH]["environment"]["MELDPUNT_OIDC_ISSUER"] == "https://login.example.nl"


def _overlay_secrets():
    overlay = yaml.safe_load(OVERLAY.read_text(encoding="utf-8"))
    return {g["name"]: g for g in overlay["secretGenerator"]}


def test_kubernetes_gives_statistics_no_region_secret_and_every_service_its_database_role():
    render = _render()
    generated = _overlay_secrets()
    for service in render.SERVICES:
        entry, upper = generated[render.dns_name(service)], service.upper()
        assert f"MELDPUNT_PGUSER_{upper}=meldpunt_{service}" in entry["literals"], service
        assert f"MELDPUNT_PGPASSWORD_{upper}" in render.secret_keys(service), service
        assert ("keys/region.env" in entry["envs"]) == render.SERVICES[service]["region_secret"], service
    assert "MELDPUNT_REGION_SECRET" not in render.secret_keys("statistics")
    assert "keys/statistics-key.env" in generated["meldpunt-statistics"]["envs"]
    for path in (ROOT / "deploy" / "kubernetes" / "base" / "services").glob("*.yaml"):
        assert "meldpunt-postgres-superuser" not in path.read_text(), path.name  # only the set-up job has it


def test_the_demo_keys_give_statistics_the_key_derived_from_the_region_secret(tmp_path):
    render = _render()
    render.write_demo_keys(tmp_path)
    secret = (tmp_path / "region.env").read_text().strip().split("=", 1)[1]
    key = (tmp_path / "statistics-key.env").read_text().strip().split("=", 1)[1]
    assert key == statistics_key(secret.encode()).hex()
    assert "MELDPUNT_PGPASSWORD_STATISTICS=" in (tmp_path / "statistics.env").read_text()


def test_statistics_works_with_its_own_key_alone():
    """No region secret in its environment: statistics starts, keys its case references as before, and accepts a
    person's assertion the workbench made for it; its key makes no assertion another service accepts."""
    from services.statistics import domain
    from services.statistics.service import StatisticsService

    key = statistics_key(SECRET.encode())
    settings = load_settings(environ={"MELDPUNT_STATISTICS_KEY": key.hex()})
    with pytest.raises(ConfigError):
        region_secret(settings)
    StatisticsService.check_settings(settings)
    assert statistics_key_of(settings) == key
    # the same reference as a hub that derives the key from the region secret (make run, meldpunt stats rebuild)
    with_secret = load_settings(environ={"MELDPUNT_REGION_SECRET": SECRET})
    case_id = uuid.uuid4()
    assert domain.case_ref(statistics_key_of(with_secret), case_id) == domain.case_ref(key, case_id)
    assert domain.case_ref(key, case_id) != domain.case_ref(SECRET.encode(), case_id)

    claims = dict(sub="GM0687/ana", name="Ana", municipality="GM0687", roles=["coordinator"], unit=None, session="s")
    check = auth.PersonCheck(None, "statistics", key=assertion.statistics_assertion_key(key))
    person = auth.person_principal(assertion.issue(SECRET.encode(), "statistics", **claims), settings.region, check)
    assert (person.municipality, person.role, person.identities) == ("GM0687", "coordinator", frozenset())
    # what statistics holds signs nothing for intake, and intake's key is not statistics'
    now = int(time.time())
    forged = jwt.encode({"alg": "HS256"}, {"iss": assertion.ISSUER, "aud": "intake", "iat": now, "exp": now + 30,
                                           **claims, "sid": "s"}, assertion.statistics_assertion_key(key))
    with pytest.raises(auth.Unauthorized):
        auth.person_principal(forged, settings.region, auth.PersonCheck(SECRET.encode(), "intake"))


def test_statistics_without_its_key_or_the_secret_refuses_to_start_in_one_line():
    from services.statistics.service import StatisticsService

    with pytest.raises(ConfigError, match="MELDPUNT_STATISTICS_KEY"):
        StatisticsService.check_settings(load_settings(environ={}))
    with pytest.raises(ConfigError, match="64 hexadecimal"):
        load_settings(environ={"MELDPUNT_STATISTICS_KEY": "abc"})
