"""shared/config.py: the region file and the MELDPUNT_* environment, with one-line errors."""
from __future__ import annotations

import pytest
import yaml

from shared.config import DEFAULT_PORTS, DEFAULT_REGION_FILE, ConfigError
from hub.registry import load_region, load_settings


# ---------------------------------------------------------------- the real demo region

def test_demo_region_is_four_municipalities_of_zeeland():
    region = load_region(DEFAULT_REGION_FILE, environ={})

    assert (region.code, region.name) == ("VR19", "Veiligheidsregio Zeeland")
    assert region.codes == ["GM0687", "GM0718", "GM0664", "GM0715"]
    assert [m.name for m in region.municipalities] == ["Middelburg", "Vlissingen", "Goes", "Terneuzen"]
    assert region.source == str(DEFAULT_REGION_FILE)


def test_demo_region_gives_every_municipality_its_own_database_and_a_police_unit():
    region = load_region(DEFAULT_REGION_FILE, environ={})

    dsns = [m.case_store_dsn for m in region.municipalities]
    assert len(set(dsns)) == 4
    assert region.statistics_dsn not in dsns
    assert region.municipality("GM0687").case_store_dsn == "postgresql://postgres@127.0.0.1:5432/meldpunt_gm0687"
    assert {m.code: m.police_unit for m in region.municipalities} == {
        "GM0687": "zwb-walcheren", "GM0718": "zwb-walcheren",
        "GM0664": "zwb-de-bevelanden", "GM0715": "zwb-zeeuws-vlaanderen"}


def test_region_lookup_by_code():
    region = load_region(DEFAULT_REGION_FILE, environ={})

    assert region.knows("GM0715") and not region.knows("GM0363")
    with pytest.raises(KeyError):
        region.municipality("GM0363")  # Amsterdam is not in Zeeland


def test_env_default_is_used_when_the_variable_is_unset():
    region = load_region(DEFAULT_REGION_FILE, environ={})

    assert region.statistics_dsn == "postgresql://postgres@127.0.0.1:5432/meldpunt_vr19_statistics"


def test_env_variable_replaces_the_default_when_set():
    environ = {"MELDPUNT_PGHOST": "postgres", "MELDPUNT_PGPORT": "6543", "MELDPUNT_PGUSER": "hub"}
    region = load_region(DEFAULT_REGION_FILE, environ=environ)

    assert region.municipality("GM0664").case_store_dsn == "postgresql://hub@postgres:6543/meldpunt_gm0664"
    assert region.statistics_dsn == "postgresql://hub@postgres:6543/meldpunt_vr19_statistics"


def test_region_file_comes_from_meldpunt_region_when_no_path_given(tmp_path):
    path = write_region(tmp_path, region_doc())

    assert load_region(environ={"MELDPUNT_REGION": str(path)}).source == str(path)


# ---------------------------------------------------------------- broken region files

def region_doc() -> dict:
    return {
        "region": {"code": "VR19", "name": "Veiligheidsregio Zeeland"},
        "statistics_dsn": "postgresql://postgres@db:5432/stats",
        "municipalities": [
            {"code": "GM0687", "name": "Middelburg", "case_store_dsn": "postgresql://postgres@db:5432/gm0687",
             "police_unit": "zwb-walcheren"},
            {"code": "GM0718", "name": "Vlissingen", "case_store_dsn": "postgresql://postgres@db:5432/gm0718",
             "police_unit": "zwb-walcheren"},
            {"code": "GM0664", "name": "Goes", "case_store_dsn": "postgresql://postgres@db:5432/gm0664",
             "police_unit": "zwb-de-bevelanden"},
        ],
    }


def write_region(tmp_path, doc, name="region.yaml"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def config_error(path, environ=None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_region(path, environ={} if environ is None else environ)
    message = str(caught.value)
    assert "\n" not in message, "the operator gets one line"
    assert message.startswith(f"{path}: ")
    return message


def test_the_test_region_itself_loads(tmp_path):
    assert load_region(write_region(tmp_path, region_doc()), environ={}).codes == ["GM0687", "GM0718", "GM0664"]


def test_missing_region_file(tmp_path):
    assert config_error(tmp_path / "nowhere.yaml").endswith("region file not found")


def test_invalid_yaml_names_the_line(tmp_path):
    path = write_region(tmp_path, "region:\n  code: VR19\nmunicipalities: [\n  - code: GM0687\n")

    assert "not valid YAML at line" in config_error(path)


def test_yaml_that_is_not_a_mapping(tmp_path):
    assert "must be a mapping" in config_error(write_region(tmp_path, "- GM0687\n- GM0718\n"))


def test_missing_case_store_dsn_names_municipality_and_field(tmp_path):
    doc = region_doc()
    del doc["municipalities"][1]["case_store_dsn"]

    message = config_error(write_region(tmp_path, doc))

    assert "municipality GM0718: case_store_dsn: Missing data for required field." in message


def test_bad_municipality_code(tmp_path):
    doc = region_doc()
    doc["municipalities"][2]["code"] = "GM68"

    message = config_error(write_region(tmp_path, doc))

    assert "municipality GM68: code: must be a CBS gemeentecode such as GM0687" in message


def test_municipality_without_code_is_named_by_position(tmp_path):
    doc = region_doc()
    del doc["municipalities"][2]["code"]

    assert "municipality #3: code: Missing data for required field." in config_error(write_region(tmp_path, doc))


def test_duplicate_municipality_code(tmp_path):
    doc = region_doc()
    doc["municipalities"][2]["code"] = "GM0687"

    assert "municipality GM0687: code: listed twice" in config_error(write_region(tmp_path, doc))


def test_two_municipalities_sharing_a_database(tmp_path):
    doc = region_doc()
    doc["municipalities"][1]["case_store_dsn"] = doc["municipalities"][0]["case_store_dsn"]

    message = config_error(write_region(tmp_path, doc))

    assert "municipality GM0718: case_store_dsn: same database as GM0687" in message


@pytest.mark.parametrize("first, second", [
    ("postgresql://postgres@db:5432/gm0687", "postgresql://postgres@db/gm0687"),
    ("postgresql://postgres@db:5432/gm0687", "postgres://postgres@db:5432/gm0687"),
])
def test_same_database_written_differently_is_still_shared(tmp_path, first, second):
    doc = region_doc()
    doc["municipalities"][0]["case_store_dsn"] = first
    doc["municipalities"][1]["case_store_dsn"] = second

    assert "municipality GM0718: case_store_dsn: same database as GM0687" in config_error(write_region(tmp_path, doc))


def test_municipality_sharing_the_statistics_database(tmp_path):
    doc = region_doc()
    doc["municipalities"][2]["case_store_dsn"] = doc["statistics_dsn"]

    message = config_error(write_region(tmp_path, doc))

    assert "municipality GM0664: case_store_dsn: same database as statistics_dsn" in message


def test_dsn_that_is_not_postgresql(tmp_path):
    doc = region_doc()
    doc["municipalities"][0]["case_store_dsn"] = "mysql://root@db/gm0687"

    message = config_error(write_region(tmp_path, doc))

    assert "municipality GM0687: case_store_dsn: must be a postgresql:// connection string" in message


def test_bad_police_unit(tmp_path):
    doc = region_doc()
    doc["municipalities"][1]["police_unit"] = "Basisteam Walcheren"

    assert "municipality GM0718: police_unit: must be a basisteam code" in config_error(write_region(tmp_path, doc))


def test_region_without_municipalities(tmp_path):
    doc = region_doc()
    doc["municipalities"] = []

    assert "municipalities: lists no municipality" in config_error(write_region(tmp_path, doc))


def test_missing_statistics_dsn(tmp_path):
    doc = region_doc()
    del doc["statistics_dsn"]

    assert "statistics_dsn: Missing data for required field." in config_error(write_region(tmp_path, doc))


def unset_variable_doc():
    doc = region_doc()
    doc["municipalities"][2]["case_store_dsn"] = "postgresql://postgres@${MH_UNIT_TEST_UNSET_HOST}/gm0664"
    return doc


def test_unset_variable_without_default_is_refused(tmp_path):
    message = config_error(write_region(tmp_path, unset_variable_doc()))

    assert "environment variable MH_UNIT_TEST_UNSET_HOST is not set" in message


def test_unset_variable_names_municipality_and_field(tmp_path):
    message = config_error(write_region(tmp_path, unset_variable_doc()))

    assert "municipality GM0664" in message and "case_store_dsn" in message


def test_variable_with_empty_default(tmp_path):
    doc = region_doc()
    doc["region"]["name"] = "Veiligheidsregio Zeeland${MH_UNIT_TEST_SUFFIX:}"

    assert load_region(write_region(tmp_path, doc), environ={}).name == "Veiligheidsregio Zeeland"
    assert load_region(write_region(tmp_path, doc), environ={"MH_UNIT_TEST_SUFFIX": " (test)"}).name == \
        "Veiligheidsregio Zeeland (test)"


# ---------------------------------------------------------------- settings from the environment

def test_settings_defaults():
    settings = load_settings(environ={})

    assert settings.region.codes == ["GM0687", "GM0718", "GM0664", "GM0715"]
    assert settings.amqp_uri == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.retry_delays == (1.0, 5.0, 30.0, 120.0, 600.0)
    assert settings.ports == DEFAULT_PORTS
    assert settings.db_max_connections == 12
    assert settings.db_idle_seconds == 30.0
    assert settings.max_workers == 10
    assert settings.log_level == "INFO"
    assert settings.max_body_bytes == 256 * 1024


def test_settings_ignore_unrelated_environment():
    assert load_settings(environ={"PATH": "/usr/bin", "HOME": "/root"}).log_level == "INFO"


def test_settings_read_region_from_path(tmp_path):
    path = write_region(tmp_path, region_doc())

    assert load_settings(environ={}, region_path=path).region.codes == ["GM0687", "GM0718", "GM0664"]


def test_broken_region_fails_load_settings_too(tmp_path):
    with pytest.raises(ConfigError, match="region file not found"):
        load_settings(environ={"MELDPUNT_REGION": str(tmp_path / "missing.yaml")})


@pytest.mark.parametrize("value, expected", [
    ("2,10,60", (2.0, 10.0, 60.0)),
    ("0.5", (0.5,)),
    (" 1, 5 ,30,", (1.0, 5.0, 30.0)),
])
def test_retry_delays_parsing(value, expected):
    assert load_settings(environ={"MELDPUNT_RETRY_DELAYS": value}).retry_delays == expected


@pytest.mark.parametrize("value, reason", [
    ("0,x", "must be a comma-separated list of seconds such as 1,5,30"),
    ("1,five", "must be a comma-separated list of seconds such as 1,5,30"),
    ("0,5", "must list at least one positive, finite number of seconds"),
    ("-1", "must list at least one positive, finite number of seconds"),
    (",", "must list at least one positive, finite number of seconds"),
])
def test_retry_delays_rejected(value, reason):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"MELDPUNT_RETRY_DELAYS": value})

    assert str(caught.value) == f"environment: MELDPUNT_RETRY_DELAYS: {reason}"


@pytest.mark.parametrize("value", ["nan", "1,inf"])
def test_retry_delays_must_be_finite(value):
    with pytest.raises(ConfigError):
        load_settings(environ={"MELDPUNT_RETRY_DELAYS": value})


def test_ports_per_service():
    settings = load_settings(environ={"MELDPUNT_TRIAGE_PORT": "9102", "MELDPUNT_STATISTICS_PORT": "9105",
                                      "MELDPUNT_HTTP_HOST": "0.0.0.0"})

    assert settings.ports == {**DEFAULT_PORTS, "triage": 9102, "statistics": 9105}
    assert settings.http_address("triage") == "0.0.0.0:9102"
    assert settings.http_address("intake") == "0.0.0.0:8001"
    assert settings.nameko_config("statistics")["WEB_SERVER_ADDRESS"] == "0.0.0.0:9105"


@pytest.mark.parametrize("value", ["0", "65536", "http"])
def test_bad_port(value):
    with pytest.raises(ConfigError, match=r"^environment: MELDPUNT_POLICE_LIAISON_PORT: "):
        load_settings(environ={"MELDPUNT_POLICE_LIAISON_PORT": value})


@pytest.mark.parametrize("uri", ["amqp://hub:secret@rabbit:5672/meldpunt", "amqps://rabbit/", "pyamqp://rabbit//",
                                 "amqp://a:5672/v;amqp://b:5673/v;amqp://c:5674/v"])
def test_amqp_uri_accepted(uri):
    settings = load_settings(environ={"MELDPUNT_AMQP_URI": uri})

    assert settings.amqp_uri == uri
    assert settings.nameko_config()["AMQP_URI"] == uri


@pytest.mark.parametrize("uri", ["http://rabbit:15672/", "rabbit:5672", " ", "amqp://a/;http://b/", "amqp://a/;"])
def test_bad_amqp_uri(uri):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"MELDPUNT_AMQP_URI": uri})

    assert str(caught.value) == ("environment: MELDPUNT_AMQP_URI: must start with amqp:// "
                                 "(several nodes: amqp://…;amqp://…)")


def test_a_cluster_s_node_addresses_each_get_the_service_s_own_user():
    settings = load_settings(environ={"MELDPUNT_AMQP_URI": "amqp://admin:x@a:5672/%2Fvr19;amqp://admin:x@b:5673/%2Fvr19",
                                      "MELDPUNT_AMQP_USER_TRIAGE": "meldpunt-triage",
                                      "MELDPUNT_AMQP_PASSWORD_TRIAGE": "p/w"})
    assert settings.amqp_uri_for("triage") == ("amqp://meldpunt-triage:p%2Fw@a:5672/%2Fvr19;"
                                               "amqp://meldpunt-triage:p%2Fw@b:5673/%2Fvr19")


def test_nameko_config_carries_the_settings():
    settings = load_settings(environ={"MELDPUNT_MAX_WORKERS": "4"})
    config = settings.nameko_config("intake")

    assert config["max_workers"] == 4
    assert config["serializer"] == "json"
    assert config["MELDPUNT_SETTINGS"] is settings
    assert "WEB_SERVER_ADDRESS" not in settings.nameko_config()


@pytest.mark.parametrize("name, value", [
    ("MELDPUNT_LOG_LEVEL", "TRACE"),
    ("MELDPUNT_DB_MAX_CONNECTIONS", "0"),
    ("MELDPUNT_MAX_BODY_BYTES", "100"),
    ("MELDPUNT_DB_IDLE_SECONDS", "soon"),
])
def test_other_bad_settings_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=rf"^environment: {name}: "):
        load_settings(environ={name: value})


def test_an_empty_variable_counts_as_unset():
    settings = load_settings(environ={"MELDPUNT_RETRY_DELAYS": "", "MELDPUNT_AMQP_URI": ""})
    assert settings.retry_delays == (1.0, 5.0, 30.0, 120.0, 600.0)
    assert settings.amqp_uri == "amqp://guest:guest@127.0.0.1:5672/"


def test_retention_years_default_to_five_and_can_be_set_per_municipality(tmp_path):
    doc = region_doc()
    doc["municipalities"][1]["retention_years"] = 7
    region = load_region(write_region(tmp_path, doc), environ={})
    assert [m.retention_years for m in region.municipalities][:2] == [5, 7]


@pytest.mark.parametrize("years", [0, 31, "vijf"])
def test_bad_retention_years(tmp_path, years):
    doc = region_doc()
    doc["municipalities"][0]["retention_years"] = years
    message = config_error(write_region(tmp_path, doc))
    assert "retention_years" in message and doc["municipalities"][0]["code"] in message


def test_the_workbench_reaches_each_service_at_its_url_or_on_this_host():
    """Under docker-compose and Kubernetes each service is a host of its own (MELDPUNT_<SERVICE>_URL); without it
    the workbench calls this host's port, as under `meldpunt run`."""
    settings = load_settings(environ={"MELDPUNT_HTTP_HOST": "0.0.0.0", "MELDPUNT_TRIAGE_PORT": "9102",
                                      "MELDPUNT_INTAKE_URL": "http://intake:8001/",
                                      "MELDPUNT_POLICE_LIAISON_URL": "https://police-liaison.internal"})
    assert settings.service_url("intake") == "http://intake:8001"
    assert settings.service_url("police_liaison") == "https://police-liaison.internal"
    assert settings.service_url("triage") == "http://127.0.0.1:9102"
    assert load_settings(environ={"MELDPUNT_HTTP_HOST": "10.0.0.4"}).service_url("signals") == "http://10.0.0.4:8007"
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"MELDPUNT_SIGNALS_URL": "signals:8007"})
    assert str(caught.value) == ("environment: MELDPUNT_SIGNALS_URL: must be an http:// or https:// URL such as "
                                 "http://intake:8001")
