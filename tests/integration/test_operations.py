"""Health, metrics and the operators' CLI against the real broker and databases. What a command does is tested
in this process (support.cli); its one-line errors and exit codes also through `python -m hub.cli` (support.meldpunt)."""
import uuid

import requests
import yaml

from hub.registry import load_settings
from tests.support import PG, Hub, cli, meldpunt, wait_for


def test_health_is_200_when_broker_and_databases_answer(hub):
    for service in ("intake", "triage", "police_liaison", "aftercare", "statistics"):
        response = requests.get(hub.url(service, "/health"), timeout=10)
        assert response.status_code == 200, response.text
        checks = response.json()["checks"]
        assert checks["broker"] == "ok"
        assert all(v == "ok" for v in checks.values())
    assert set(requests.get(hub.url("intake", "/health"), timeout=10).json()["checks"]) == \
        {"broker"} | {f"db:{code}" for code in hub.region.codes}


def test_health_names_the_unreachable_case_store_and_the_service_stays_up(hub_env, region_file, tmp_path,
                                                                           start_services):
    """One municipality's store down holds back only that municipality: /health answers 200,
    `degraded`, naming it (a load balancer or Kubernetes keeps the service in rotation for the
    others); with no store answering it is 503."""
    region = yaml.safe_load(region_file.read_text())
    region["municipalities"].append({"code": "GM0677", "name": "Hulst", "police_unit": "zwb-zeeuws-vlaanderen",
                                     "case_store_dsn": f"{PG}/mh_does_not_exist"})
    broken = tmp_path / "broken-region.yaml"
    broken.write_text(yaml.safe_dump(region))
    settings = load_settings({**hub_env, "MELDPUNT_REGION": str(broken)})
    start_services("triage", settings=settings)
    response = requests.get(Hub(settings).url("triage", "/health"), timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["unreachable"] == ["GM0677"]
    assert body["checks"]["db:GM0677"].startswith("unreachable")
    assert body["checks"]["db:GM0687"] == "ok"
    live = requests.get(Hub(settings).url("triage", "/health?probe=live"), timeout=10)
    assert live.status_code == 200 and live.json()["status"] == "live"


def test_health_is_503_when_no_case_store_answers(hub_env, tmp_path, start_services):
    from shared.config import DEFAULT_REGION_FILE

    region = yaml.safe_load(DEFAULT_REGION_FILE.read_text())
    for m in region["municipalities"]:
        m["case_store_dsn"] = f"{PG}/mh_does_not_exist_{m['code'].lower()}"
    nowhere = tmp_path / "nowhere-region.yaml"
    nowhere.write_text(yaml.safe_dump(region))
    settings = load_settings({**hub_env, "MELDPUNT_REGION": str(nowhere)})
    start_services("aftercare", settings=settings)
    response = requests.get(Hub(settings).url("aftercare", "/health"), timeout=10)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert sorted(response.json()["unreachable"]) == sorted(settings.region.codes)


def test_metrics_count_handled_events_and_expose_dead_letters(hub):
    code = hub.region.codes[0]
    case_id = hub.report(hub.key(code)).json()["case_id"]
    wait_for(lambda: (f := hub.facts(code, uuid.UUID(case_id))) and f["aftercare_planned"], what="path")
    text = requests.get(hub.url("triage", "/metrics"), timeout=5).text
    assert 'meldpunt_events_handled_total{event_type="incident_reported",service="triage"}' in text
    assert 'meldpunt_handler_seconds_bucket' in text
    assert 'meldpunt_dead_letters{service="triage"} 0.0' in text
    assert "meldpunt_outbox_backlog" in text


def test_broken_region_file_is_one_clear_line_and_exit_2(hub_env, tmp_path):
    broken = tmp_path / "region.yaml"
    broken.write_text(yaml.safe_dump({
        "region": {"code": "VR19", "name": "Zeeland"},
        "statistics_dsn": "postgresql://postgres@127.0.0.1/stats",
        "municipalities": [{"code": "GM0687", "name": "Middelburg", "police_unit": "zwb-walcheren"}]}))
    result = meldpunt({**hub_env, "MELDPUNT_REGION": str(broken)}, "migrate")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(broken) in lines[0] and "municipality GM0687" in lines[0] and "case_store_dsn" in lines[0]


def test_bad_usage_and_unknown_municipality_are_exit_2(hub_env):
    for args in (["frobnicate"], ["apikey", "create", "GM0687"], ["dlq", "replay", "triage"],
                 ["apikey", "create", "GM9999", "--label", "x"],
                 ["apikey", "create", "GM0687", "--label", "x", "--role", "emperor"]):
        result = meldpunt(hub_env, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_unreachable_broker_is_named_with_where_and_how(hub_env):
    result = meldpunt({**hub_env, "MELDPUNT_AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}, "check")
    assert result.returncode == 2
    assert "RabbitMQ is not reachable at 127.0.0.1:1" in result.stderr and "rabbitmq-server" in result.stderr


def test_migrate_is_idempotent_and_apikey_commands_work(hub_env, settings):
    migrated = cli(hub_env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    from shared.db.migrate import targets_of

    assert migrated.stdout.count("up to date") == len(targets_of(settings.region))  # stores, statistics, workbench

    created = cli(hub_env, "apikey", "create", "GM0718", "--label", "Balie Vlissingen", "--role", "staff")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("GM0718.")
    key_id = key.split(".")[1]
    listed = cli(hub_env, "apikey", "list", "GM0718")
    assert key_id in listed.stdout and "staff" in listed.stdout and key not in listed.stdout
    assert cli(hub_env, "apikey", "revoke", "GM0718", key_id).returncode == 0
    again = cli(hub_env, "apikey", "revoke", "GM0718", key_id)
    assert again.returncode == 2 and "no active key" in again.stderr


def test_declare_and_outbox_status(hub_env):
    declared = cli(hub_env, "declare")
    assert declared.returncode == 0 and "consumer queues" in declared.stdout
    outbox = cli(hub_env, "outbox")
    assert outbox.returncode == 0 and "GM0687:" in outbox.stdout and "statistics:" in outbox.stdout


def test_declare_deletes_the_queues_of_retired_handlers(hub_env):
    """A handler that is gone must not leave a queue that fills up with no reader."""
    from kombu import Connection

    from shared.messaging.topology import RETIRED, consumer_queue, per_queue_retry_queue_name

    settings = load_settings(hub_env)
    retired = RETIRED[0]
    with Connection(settings.amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        consumer_queue(retired.source, retired.event_type, retired.service, retired.method)(channel).declare()
        channel.basic_publish(channel.prepare_message(b"{}"), exchange="", routing_key=retired.queue_name)
        channel.close()
    declared = cli(hub_env, "declare")
    assert declared.returncode == 0, declared.stderr
    assert "retired handlers (1 message(s) no one needs)" in declared.stdout
    with Connection(settings.amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        for name in (retired.queue_name, per_queue_retry_queue_name(retired.queue_name, 1)):
            try:
                channel.queue_declare(name, passive=True)
            except Exception as gone:  # 404 NOT_FOUND closes the channel
                assert "NOT_FOUND" in str(gone)
                channel = conn.channel()
            else:
                raise AssertionError(f"{name} is still there")


def test_audit_command_shows_who_read_a_case(hub, hub_env):
    code = hub.region.codes[2]
    key = hub.key(code)
    case_id = hub.report(key).json()["case_id"]
    requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}"),
                 headers={"Authorization": f"Bearer {key}"}, timeout=5).raise_for_status()
    shown = cli(hub_env, "audit", code, "--case", case_id)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.strip().splitlines()
    actor = f"apikey:{key.split('.')[1]}"
    mine = [line for line in lines if actor in line]  # (triage's own read may be there too)
    assert len(mine) == 2 and "create incident" in mine[0] and "read incident (GET" in mine[1]
    bad = cli(hub_env, "audit", code, "--case", "not-a-case")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_keys_init_makes_a_private_master_key_file_once(tmp_path):
    import stat

    from shared.crypto import load_master_key

    path = tmp_path / "var" / "master.key"
    first = cli({}, "keys", "init", "--file", str(path))
    assert first.returncode == 0 and "created" in first.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text()
    assert len(load_master_key(None, str(path))) == 32

    again = cli({"MELDPUNT_MASTER_KEY_FILE": str(path)}, "keys", "init")
    assert again.returncode == 0 and "left unchanged" in again.stdout and path.read_text() == key


def test_a_missing_master_key_file_is_one_clear_line(hub_env, tmp_path):
    env = {**hub_env, "MELDPUNT_MASTER_KEY": "", "MELDPUNT_MASTER_KEY_FILE": str(tmp_path / "nope.key")}
    result = meldpunt(env, "outbox")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "keys init" in result.stderr
