"""`meldpunt doctor` against a healthy hub, and with each dependency broken — a case store that does not answer
or is not migrated, the broker away, its queues not declared, a policy that drops messages, a key file others
may read, another master key, skewed clocks, full disks, an expiring certificate, an old backup — each named
in one line, with a non-zero exit. What is broken is ours: the test's region file, vhost, policy and files,
and a PostgreSQL server of the test run's own; never the system's servers."""
from __future__ import annotations

import datetime
import re
import time
import uuid

import psycopg2
import pytest
import yaml

from hub.ops import doctor
from hub.ops.pgserver import give_to
from hub.registry import load_settings
from shared.crypto import new_master_key
from shared.messaging.management import ManagementApi, q, vhost_of
from tests.support import case_store_uow, cli, free_port, wait_for


def lines_of(output: str) -> dict:
    """check -> (level, line) of `meldpunt doctor`'s output."""
    found = {}
    for line in output.splitlines():
        level, _, rest = line.partition(" ")
        if level.strip() in ("ok", "warn", "FAIL"):
            check = rest.strip().split("  ")[0].strip()
            found[check] = (level.strip(), line)
    return found


def failed(findings, check_prefix: str) -> list:
    return [f for f in findings if f.check.startswith(check_prefix) and f.level == doctor.FAIL]


def test_a_healthy_hub_passes_every_check(hub_env, declared):
    checked = cli(hub_env, "doctor")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    found = lines_of(checked.stdout)
    for check in ("region", "db GM0687", "db statistics", "broker", "broker queues", "broker policies",
                  "key master", "key region secret", "key master opens data", "key unused made ahead"):
        assert found[check][0] == "ok", found.get(check)
    assert any(c.startswith("clock postgres") for c in found) and any(c.startswith("disk postgres") for c in found)
    assert found["backup"][0] == "warn" and "not configured" in found["backup"][1]
    assert all(level != "FAIL" for level, _ in found.values())
    assert checked.stdout.strip().splitlines()[-1].endswith("0 failed, 1 to look at")


def test_unused_case_keys_made_ahead_are_counted_per_store(hub_env, own_region):
    """Intake makes the keys of a municipality's next 16 cases in one statement (Keyring.new_case_id): one goes to
    the case that asked, 15 stay unused in the key store (docs/encryption.md#case-keys). Codes and counts only."""
    from services.intake import handlers
    from services.intake.schemas import IncidentReportSchema
    from tests.support import incident_body

    settings = load_settings({**hub_env, "MELDPUNT_REGION": str(own_region)})
    [before] = doctor.unused_keys_made_ahead(settings)
    assert before.level == doctor.OK and before.text.startswith("0 (none) of ")

    report = IncidentReportSchema().load(incident_body())
    for _ in range(2):  # the first makes the municipality's data key in its transaction: no keys ahead of it
        with case_store_uow(settings, "GM0687") as uow:
            handlers.report_incident(report, "api", uow, "test")

    [found] = doctor.unused_keys_made_ahead(settings)
    assert found.level == doctor.OK
    assert found.text == f"15 (GM0687 15) of {len(settings.region.municipalities)} store(s)"
    assert found.line().startswith("ok    key unused made ahead")


@pytest.fixture
def empty_database(private_region):
    name = f"doctor_empty_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(private_region.server.dsn())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield private_region.server.dsn(name)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture
def dropping_policy(declared):
    api = ManagementApi(declared.rabbit_api_uri)
    vhost = vhost_of(declared.amqp_uri)
    api.call("PUT", f"policies/{q(vhost)}/doctor-ttl", json={"pattern": "^evt-", "apply-to": "queues",
                                                              "definition": {"message-ttl": 60000}})
    yield
    api.call("DELETE", f"policies/{q(vhost)}/doctor-ttl", ok=(204, 404))


def test_broken_stores_a_readable_key_file_and_a_dropping_policy_are_each_named(hub_env, region_file, tmp_path,
                                                                             empty_database, dropping_policy):
    region = yaml.safe_load(region_file.read_text())
    for m in region["municipalities"]:
        if m["code"] == "GM0718":
            m["case_store_dsn"] = f"postgresql://postgres@127.0.0.1:{free_port()}/nobody_here"
        if m["code"] == "GM0664":
            m["case_store_dsn"] = empty_database
    broken = tmp_path / "region.yaml"
    broken.write_text(yaml.safe_dump(region, sort_keys=False))
    key = tmp_path / "master.key"
    key.write_text(hub_env["MELDPUNT_MASTER_KEY"] + "\n")
    key.chmod(0o644)
    env = {**hub_env, "MELDPUNT_REGION": str(broken), "MELDPUNT_MASTER_KEY": "", "MELDPUNT_MASTER_KEY_FILE": str(key)}

    checked = cli(env, "doctor")

    assert checked.returncode == 1, checked.stdout + checked.stderr
    found = lines_of(checked.stdout)
    assert found["db GM0687"][0] == "ok"
    level, line = found["db GM0718"]
    assert level == "FAIL" and "cannot connect" in line and "fix case_store_dsn of GM0718" in line
    level, line = found["db GM0664"]
    assert level == "FAIL" and "is not migrated" in line and "run `meldpunt migrate`" in line
    level, line = found["key master"]
    assert level == "FAIL" and "mode 0644" in line and f"chmod 600 {key}" in line
    level, line = found["broker policies"]
    assert level == "FAIL" and "doctor-ttl (message-ttl)" in line
    assert checked.stdout.strip().splitlines()[-1].startswith(f"{len(found)} checks: 4 failed")


def test_a_broker_that_does_not_answer(hub_env):
    checked = cli({**hub_env, "MELDPUNT_AMQP_URI": f"amqp://guest:guest@127.0.0.1:{free_port()}/"}, "doctor")
    assert checked.returncode == 1
    level, line = lines_of(checked.stdout)["broker"]
    assert level == "FAIL" and "cannot connect to RabbitMQ" in line and "MELDPUNT_AMQP_URI" in line


def test_queues_that_were_never_declared(settings):
    [finding] = [f for f in doctor.broker(settings, time.time, doctor.Limits()) if f.check == "broker queues"]
    assert finding.level == doctor.FAIL and "missing" in finding.text and "run `meldpunt declare`" in finding.text


def test_another_master_key_than_the_data_keys_were_made_with(hub_env, settings):
    with case_store_uow(settings, "GM0687") as uow:
        uow.keyring.current(uow)  # GM0687's data key, made with the run's master key if there is none yet
    settings = load_settings({**hub_env, "MELDPUNT_MASTER_KEY": new_master_key()})
    [finding] = doctor.master_key_opens_data_keys(settings)
    assert finding.level == doctor.FAIL and "does not open the data keys of GM0687" in finding.text


def test_clocks_an_hour_apart(declared):
    an_hour_ahead = lambda: time.time() + 3600  # noqa: E731 — this machine's clock, wrong by an hour
    findings = doctor.servers(declared, an_hour_ahead, doctor.Limits()) + \
        doctor.broker(declared, an_hour_ahead, doctor.Limits())
    postgres, rabbit = failed(findings, "clock postgres"), failed(findings, "clock rabbitmq")
    assert postgres and rabbit
    # the skew is measured over a round trip (half of it either way), so about an hour: -3599.99 on a busy machine
    skew = float(re.match(r"(-?[\d.]+) s against", postgres[0].text).group(1))
    assert abs(skew + 3600) < 5 and "synchronise both clocks" in postgres[0].text, postgres[0].text


def test_disks_fuller_than_allowed(declared):
    nearly_all = doctor.Limits(min_free_fraction=0.999)
    findings = doctor.servers(declared, time.time, nearly_all) + doctor.broker(declared, time.time, nearly_all)
    assert failed(findings, "disk postgres") and failed(findings, "disk rabbitmq")
    assert "make room" in failed(findings, "disk postgres")[0].text


@pytest.fixture
def expiring_tls(private_region):
    """TLS on the test run's own server, with a certificate that expires in three days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = private_region.server.folder
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "db.private.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3, hours=12)).sign(key, hashes.SHA256()))
    (folder / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    (folder / "server.key").chmod(0o600)
    give_to(private_region.server.os_user, folder / "server.crt", folder / "server.key")

    def configure(*statements):
        conn = psycopg2.connect(private_region.server.dsn())
        conn.autocommit = True
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
            cur.execute("SELECT pg_reload_conf()")
        conn.close()

    configure(f"ALTER SYSTEM SET ssl_cert_file = '{folder / 'server.crt'}'",
              f"ALTER SYSTEM SET ssl_key_file = '{folder / 'server.key'}'", "ALTER SYSTEM SET ssl = on")
    wait_for(lambda: _setting(private_region.server.dsn(), "ssl") == "on",  # reread after the signal
             what="the server to read its new TLS configuration")
    yield
    configure("ALTER SYSTEM RESET ssl", "ALTER SYSTEM RESET ssl_cert_file", "ALTER SYSTEM RESET ssl_key_file")


def test_a_certificate_about_to_expire(private_region, expiring_tls):
    findings = doctor.servers(private_region.settings, time.time, doctor.Limits())
    [tls] = [f for f in findings if f.check.startswith("tls postgres")]
    assert tls.level == doctor.FAIL, tls
    assert "CN=db.private.example" in tls.text and "expires in 3 days: renew it" in tls.text


def test_backups_fresh_and_too_old(private_region):
    settings = private_region.settings
    fresh = doctor.backups(settings, time.time)
    assert {f"backup {private_region.code}", "backup statistics"} <= {f.check for f in fresh}
    assert all(f.level == doctor.OK for f in fresh), fresh
    two_days_on = doctor.backups(settings, lambda: time.time() + 2 * 86400)
    assert all(f.level == doctor.FAIL and "older than 26 h" in f.text and "run `meldpunt backup run`" in f.text
               for f in two_days_on), two_days_on
    assert [f.level for f in doctor.key_files(settings, {}) if f.check == "key backup"] == [doctor.OK]


def _setting(dsn, name):
    """A setting as a new session of the server sees it (a reload reaches new sessions first)."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_setting(%s)", (name,))
            return cur.fetchone()[0]
    finally:
        conn.close()
