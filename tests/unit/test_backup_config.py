"""The region file's backup section and what `meldpunt backup` makes of it, without a server: stanzas per
server, pgBackRest's configuration, the statement an operator runs to archive WAL, the status lines."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
import yaml

from hub.ops import backup
from hub.ops.backup import Backup, MunicipalityBackup, ServerFacts
from hub.registry import load_region
from shared.config import DEFAULT_REGION_FILE, REPO_ROOT, ConfigError


def region_with(tmp_path, backup_section, **changes):
    region = yaml.safe_load(DEFAULT_REGION_FILE.read_text())
    if backup_section is not None:
        region["backup"] = backup_section
    for code, dsn in changes.items():
        for m in region["municipalities"]:
            if m["code"] == code:
                m["case_store_dsn"] = dsn
    path = tmp_path / "region.yaml"
    path.write_text(yaml.safe_dump(region))
    return load_region(path, environ={})


def test_without_a_section_backups_are_not_configured(tmp_path):
    assert region_with(tmp_path, None).backup is None


def test_the_section_has_defaults_and_relative_paths_are_the_repositorys(tmp_path):
    options = region_with(tmp_path, {"repository": "var/backup/repo", "cipher_key_file": "/etc/meldpunt/backup.key"}).backup
    assert options["repository"] == str(REPO_ROOT / "var/backup/repo")
    assert options["cipher_key_file"] == "/etc/meldpunt/backup.key"
    assert (options["config_file"], options["os_user"], options["full_every_days"], options["retention_days"],
            options["max_age_hours"], options["metrics_file"]) == \
        ("/etc/pgbackrest/pgbackrest.conf", "postgres", 7, 28, 26.0, None)


@pytest.mark.parametrize("section, message", [
    ({"cipher_key_file": "/k"}, "backup.repository: Missing data for required field."),
    ({"repository": "/r", "cipher_key_file": "/k", "retention_days": 365}, "backup.retention_days"),
    ({"repository": "/r", "cipher_key_file": "/k", "compress": "zstd"}, "backup.compress: Unknown field."),
    ({"repository": "/r", "cipher_key_file": ""}, "backup.cipher_key_file"),
])
def test_a_bad_section_is_one_line(tmp_path, section, message):
    with pytest.raises(ConfigError) as refused:
        region_with(tmp_path, section)
    assert message in str(refused.value)


def test_databases_are_grouped_by_the_server_they_live_on(tmp_path):
    region = region_with(tmp_path, {"repository": "/r", "cipher_key_file": "/k"},
                         GM0715="postgresql://postgres@db2.zeeland.example:5433/meldpunt_gm0715")
    servers = backup.servers_of(region)
    assert [(s.stanza, [label for label, _ in s.databases]) for s in servers] == [
        ("vr19-127-0-0-1-5432", ["keys", "GM0687", "GM0718", "GM0664", "statistics", "workbench", "repeat_index"]),
        ("vr19-db2-zeeland-example-5433", ["GM0715"])]
    assert backup.server_of(region, "GM0715")[1] == "meldpunt_gm0715"
    with pytest.raises(backup.BackupError):
        backup.server_of(region, "GM9999")


def test_the_configuration_encrypts_the_repository_and_keeps_backups_by_time(tmp_path):
    region = region_with(tmp_path, {"repository": "/srv/backup", "cipher_key_file": "/k", "retention_days": 35})
    [server] = backup.servers_of(region)
    facts = ServerFacts("/var/lib/postgresql/15/main", "/var/run/postgresql", "on", "", "replica", "60s", 150000)
    text = backup.render_config(region.backup, [(server, facts)], "the-key")
    assert "repo1-path=/srv/backup\n" in text and "repo1-cipher-type=aes-256-cbc\n" in text
    assert "repo1-cipher-pass=the-key\n" in text
    assert "repo1-retention-full-type=time\nrepo1-retention-full=35\n" in text
    assert f"[{server.stanza}]\n" in text and "pg1-path=/var/lib/postgresql/15/main\n" in text


def test_a_server_that_does_not_archive_yet_gets_the_statements_to_run(tmp_path):
    region = region_with(tmp_path, {"repository": "/srv/backup", "cipher_key_file": "/k"})
    [server] = backup.servers_of(region)
    off = ServerFacts(str(tmp_path), "/run/postgresql", "off", "(disabled)", "replica", "0", 150000)
    problem = backup.archiving_problem(region.backup, server, off)
    assert "ALTER SYSTEM SET archive_mode = 'on'" in problem
    assert (f"ALTER SYSTEM SET archive_command = 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf "
            f"--stanza={server.stanza} archive-push %p'") in problem
    assert "restart PostgreSQL and run `meldpunt backup setup` again" in problem
    on = ServerFacts(str(tmp_path), "/run/postgresql", "on", backup.archive_command(region.backup, server.stanza),
                     "replica", "60s", 150000)
    assert backup.archiving_problem(region.backup, server, on) is None
    elsewhere = ServerFacts("/not/on/this/machine", "/run/postgresql", "on", "", "replica", "60s", 150000)
    assert "run `meldpunt backup setup` on the database server" in backup.archiving_problem(region.backup, server,
                                                                                            elsewhere)


def test_status_lines_say_how_old_the_newest_good_backup_is():
    stopped = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)
    entry = MunicipalityBackup("GM0687", "vr19-x-5432", Backup("20261206-020001F", "full", stopped, stopped, 1, 1))
    good, line = backup.describe(entry, 26, now=stopped.timestamp() + 7 * 3600 + 720)
    assert good and line == "GM0687: newest good backup 20261206-020001F (full) 7 h 12 min old (vr19-x-5432)"
    good, line = backup.describe(entry, 26, now=stopped.timestamp() + 3 * 86400)
    assert not good and "3 days 0 h old, older than 26 h" in line
    good, line = backup.describe(MunicipalityBackup("GM0718", "vr19-x-5432", None, "no stanza"), 26, now=time.time())
    assert not good and line == "GM0718: no good backup (vr19-x-5432); no stanza"


def test_the_metrics_say_zero_when_there_is_no_backup(tmp_path):
    path = tmp_path / "backup.prom"
    backup.write_metrics(str(path), [MunicipalityBackup("GM0718", "s", None)], 26)
    text = path.read_text()
    assert 'meldpunt_backup_last_success_timestamp_seconds{municipality="GM0718",stanza="s"} 0.0' in text
    assert 'meldpunt_backup_max_age_seconds{municipality="GM0718",stanza="s"} 93600.0' in text
