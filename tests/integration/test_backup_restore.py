"""Backups and point-in-time restore on a small store of a server of our own (pgBackRest, WAL archiving):
the restore to a marked moment holds every case, outbox row and audit row as they were then; cases erased
before it stay erased; and after the store went back in time the outbox relay sends again exactly what was
unpublished at that moment, which subscribers whose inbox did not go back recognise and drop."""
from __future__ import annotations

import json
import tempfile
import types
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from hub.ops import drill
from hub.ops.drill_demo import erase, import_incidents
from shared.db.pool import ConnectionPool
from shared.db.unit_of_work import Stores
from shared.events import load_event
from shared.messaging.publisher import Outcome
from tests.support import cli, meldpunt, query

IN_STORE = "triage.on_incident_reported"      # a consumer whose inbox lives in the case store
OUTSIDE = "statistics.on_incident_reported"   # one whose inbox lives in the statistics database


class RecordingPublisher:
    """The relay's publisher, recording what it was asked to publish; the broker confirms everything."""

    def __init__(self):
        self.published = []

    def __call__(self, rows):
        self.published += [envelope for _, envelope, _ in rows]
        return Outcome(confirmed=[row_id for row_id, _, _ in rows])

    def close(self):
        pass


def relay_once(dsn: str, label: str) -> list[dict]:
    """One sweep of intake's outbox relay over `dsn`: the envelopes it publishes (and marks published)."""
    from shared import outbox

    publisher = RecordingPublisher()
    pool = ConnectionPool(1, application_name="meldpunt-test")
    try:
        relay = outbox.OutboxRelay("intake", types.SimpleNamespace(pool=pool), publisher)
        relay.relay(label, dsn)
        return publisher.published
    finally:
        pool.close()


def deliver(settings, dsn: str, municipality, consumer: str, envelopes) -> list[str]:
    """Hand events to a consumer the way the hub's consumers take them: once per event id (inbox).
    Returns the event ids it had not handled before."""
    pool = ConnectionPool(1, application_name="meldpunt-test")
    try:
        with Stores(settings, pool, consumer.split(".")[0]).unit_of_work(dsn, municipality, consumer) as uow:
            return [str(e.event_id) for e in uow.first_deliveries([load_event(body) for body in envelopes])]
    finally:
        pool.close()


@pytest.fixture(scope="module")
def restored(private_region, monkeypatch_module):
    """Cases before and after a mark, events published before and after it, the store restored to the mark."""
    from shared import outbox

    monkeypatch_module.setattr(outbox, "FRESH_GRACE_SECONDS", 0.0)  # the relay may take rows of this very moment
    region, settings = private_region, private_region.settings
    code, live, stats = region.code, region.store_dsn, settings.region.statistics_dsn

    before = import_incidents(settings, code, 6, f"before-{uuid.uuid4().hex[:6]}")
    erase(settings, code, [before[0]])
    published_before = relay_once(live, code)
    deliver(settings, live, code, IN_STORE, published_before)
    deliver(settings, stats, None, OUTSIDE, published_before)
    [in_flight] = import_incidents(settings, code, 1, f"in-flight-{uuid.uuid4().hex[:6]}")  # recorded, not yet sent

    mark = drill.take_mark(live)

    published_after = relay_once(live, code)            # the event in flight goes out after the mark
    gone = import_incidents(settings, code, 3, f"after-{uuid.uuid4().hex[:6]}")
    published_after += relay_once(live, code)
    deliver(settings, live, code, IN_STORE, published_after)
    deliver(settings, stats, None, OUTSIDE, published_after)
    erase(settings, code, [before[1]])                   # erased after the mark

    drill.archive_wal(region.server.dsn())
    scratch = drill.restore_scratch(settings, code, mark, Path(tempfile.mkdtemp(dir=region.root)),
                                    report=lambda line: None)
    try:
        yield types.SimpleNamespace(settings=settings, code=code, mark=mark, dsn=scratch.dsn(f"store_{code.lower()}"),
                                    stats=stats, before=before, in_flight=in_flight, gone=gone,
                                    published_before=published_before, published_after=published_after)
    finally:
        scratch.remove()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def case_ids(dsn) -> set:
    return {r["case_id"] for r in query(dsn, "SELECT case_id::text FROM intake.incidents")}


def test_the_restore_holds_every_case_outbox_and_audit_row_as_marked(restored):
    assert drill.compare(restored.dsn, restored.mark) == []
    cases = case_ids(restored.dsn)
    assert {str(c) for c in restored.before} | {str(restored.in_flight)} <= cases
    assert not {str(c) for c in restored.gone} & cases, "cases stored after the mark came back"
    assert len(cases) == restored.mark.count("intake.incidents")


def test_cases_erased_before_the_mark_stay_erased(restored):
    erased, later = str(restored.before[0]), str(restored.before[1])
    assert erased in restored.mark.erased and later not in restored.mark.erased
    assert drill.erased_cases_stay_erased.__name__ in {c.__name__ for c in drill.CHECKS}
    [row] = query(restored.dsn, "SELECT personal, erased_at FROM intake.incidents WHERE case_id = %s", (erased,))
    assert row["personal"] is None and row["erased_at"] is not None
    # erased after the mark: the restore brings it back, so the erasure must be repeated (docs/operations.md#restore)
    [row] = query(restored.dsn, "SELECT personal, erased_at FROM intake.incidents WHERE case_id = %s", (later,))
    assert row["personal"] is not None and row["erased_at"] is None


def test_the_drill_notices_a_restore_that_differs(restored):
    mark = restored.mark
    tampered = replace(mark, rows={**mark.rows, "hub.outbox": mark.rows["hub.outbox"][1:],
                                   "hub.audit_log": mark.rows["hub.audit_log"] + ["0" * 32]},
                       erased=mark.erased + [str(restored.before[1])])
    problems = drill.compare(restored.dsn, tampered)
    assert any(p.startswith("hub.outbox:") and "1 not there at the mark" in p for p in problems), problems
    assert any(p.startswith("hub.audit_log:") and "1 missing" in p for p in problems), problems
    assert any(f"erased case {restored.before[1]} has personal data again" in p for p in problems), problems


def test_the_restored_audit_chain_holds_up_to_the_head_at_the_mark(restored):
    """Issue 21, item 3: the drill verifies the audit log's hash chain on the restored store against the head it
    read on the live store at the mark; a head that differs (a chain rewritten before the backup) is named."""
    mark = restored.mark
    assert mark.audit_anchor and drill.audit_chain_holds in drill.CHECKS
    assert drill.compare(restored.dsn, mark, checks=[drill.audit_chain_holds]) == []
    seq = mark.audit_anchor.split(":")[0]
    problems = drill.compare(restored.dsn, replace(mark, audit_anchor=f"{seq}:{'0' * 64}"),
                             checks=[drill.audit_chain_holds])
    assert problems and "differs from the anchor" in problems[0], problems


def test_cases_erased_before_the_mark_have_no_key_in_the_restored_store(restored):
    """Issue 21, item 4: crypto-shredding holds on the restored store (this region keeps case keys in its store)."""
    assert drill.shredded_cases_stay_unreadable in drill.CHECKS
    erased = str(restored.before[0])
    [row] = query(restored.dsn, "SELECT wrapped_key, destroyed_at FROM hub.case_keys WHERE case_id = %s", (erased,))
    assert row["wrapped_key"] is None and row["destroyed_at"] is not None
    assert drill.compare(restored.dsn, restored.mark, checks=[drill.shredded_cases_stay_unreadable]) == []


def test_after_the_restore_the_relay_sends_again_what_was_unpublished_at_the_mark_and_nothing_is_doubled(restored):
    """The outbox after a store went back in time (docs/operations.md#the-outbox-and-the-inboxes-after-a-restore)."""
    in_flight = [e for e in restored.published_after if e["case_id"] == str(restored.in_flight)]
    assert len(in_flight) == 1 and restored.mark.unpublished == 1
    again = relay_once(restored.dsn, restored.code)
    # exactly the event that was recorded but unpublished at the mark, with its own event id: nothing published
    # before the mark goes out twice, and nothing recorded after it (gone with the restore) comes back
    assert [e["event_id"] for e in again] == [in_flight[0]["event_id"]]
    assert relay_once(restored.dsn, restored.code) == []
    # a subscriber whose inbox did not go back in time already had it: dropped, not doubled
    assert deliver(restored.settings, restored.stats, None, OUTSIDE, again) == []
    # one whose inbox lives in the restored store lost its handling with the restore: it handles it once more
    assert deliver(restored.settings, restored.dsn, restored.code, IN_STORE, again) == [in_flight[0]["event_id"]]
    assert deliver(restored.settings, restored.dsn, restored.code, IN_STORE, again) == []
    # the events published after the mark are not lost for the subscriber outside the store
    outside = {r["event_id"] for r in query(restored.stats, "SELECT event_id::text FROM hub.inbox WHERE consumer = %s",
                                            (OUTSIDE,))}
    assert {e["event_id"] for e in restored.published_after} <= outside


def test_backup_status_per_municipality_and_its_metrics(private_region, tmp_path):
    metrics = tmp_path / "backup.prom"
    status = cli(private_region.env, "backup", "status", "--metrics", str(metrics))
    assert status.returncode == 0, status.stdout + status.stderr
    lines = status.stdout.splitlines()
    from shared.db.migrate import targets_of

    assert [line.split()[1] for line in lines] == [f"{label}:" for label, _, _ in targets_of(private_region.settings.region)]
    assert lines[0].split()[1] == f"{private_region.code}:" and "statistics:" in [line.split()[1] for line in lines]
    assert all(line.startswith("ok    ") and "newest good backup" in line and private_region.stanza in line
               for line in lines)
    text = metrics.read_text()
    assert (f'meldpunt_backup_last_success_timestamp_seconds{{municipality="{private_region.code}",'
            f'stanza="{private_region.stanza}"}}') in text
    assert f'meldpunt_backup_max_age_seconds{{municipality="{private_region.code}"' in text


def test_backup_drill_through_the_command(private_region):
    drilled = meldpunt(private_region.env, "backup", "drill", private_region.code, "--scratch",
                       str(private_region.root), timeout=300)
    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    assert "holds every case, outbox row and audit row as marked" in drilled.stdout
    assert not [p for p in private_region.root.iterdir() if p.name.startswith("meldpunt-drill-")], \
        "the scratch copy was left behind"


def test_backup_setup_refuses_the_master_key_as_the_backups_key(private_region, tmp_path):
    key = tmp_path / "master.key"
    key.write_text(private_region.env["MELDPUNT_MASTER_KEY"] + "\n")
    key.chmod(0o600)
    region = json.loads(json.dumps(__import__("yaml").safe_load(private_region.region_file.read_text())))
    region["backup"]["cipher_key_file"] = str(key)
    region_file = tmp_path / "region.yaml"
    region_file.write_text(__import__("yaml").safe_dump(region))
    refused = cli({**private_region.env, "MELDPUNT_REGION": str(region_file)}, "backup", "setup")
    assert refused.returncode == 2
    assert "holds the master key: the backups need a key of their own" in refused.stderr


def test_backup_status_without_a_backup_section_is_one_line(hub_env_without_broker):
    refused = cli(hub_env_without_broker, "backup", "status")
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("no backup section: backups are not configured "
                                           "(docs/operations.md#backups)")


@pytest.fixture
def hub_env_without_broker(region_file):
    return {"MELDPUNT_REGION": str(region_file)}


def test_setup_on_a_server_that_does_not_archive_says_how_and_changes_nothing(region_file, tmp_path):
    """The system's server (the demo's) does not archive its WAL: setup names the statements, never runs them."""
    import yaml

    region = yaml.safe_load(region_file.read_text())
    region["backup"] = {"repository": str(tmp_path / "repository"), "cipher_key_file": str(tmp_path / "backup.key"),
                        "config_file": str(tmp_path / "pgbackrest.conf"), "log_dir": str(tmp_path / "log")}
    path = tmp_path / "region.yaml"
    path.write_text(yaml.safe_dump(region))
    dsn = region["statistics_dsn"]
    before = query(dsn, "SELECT current_setting('archive_mode') AS mode, current_setting('archive_command') AS command")

    refused = cli({"MELDPUNT_REGION": str(path), "MELDPUNT_MASTER_KEY": ""}, "backup", "setup")

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "does not archive its WAL to the repository yet" in refused.stderr
    assert "ALTER SYSTEM SET archive_mode = 'on'" in refused.stderr and "restart PostgreSQL" in refused.stderr
    assert query(dsn, "SELECT current_setting('archive_mode') AS mode, "
                      "current_setting('archive_command') AS command") == before
    assert (tmp_path / "backup.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "pgbackrest.conf").stat().st_mode & 0o777 == 0o600
