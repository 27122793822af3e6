"""The audit log as a hash chain (issue 21, item 3): whatever the owner of a case store does to its audit rows
(edit, delete, reorder, insert past the trigger, cut the end), `meldpunt audit verify` names the first broken
link and exits 1; an intact chain exits 0, also after concurrent writers."""
from __future__ import annotations

import threading
import uuid

import psycopg2
import pytest
import yaml

from shared.audit_chain import verify
from shared.db import migrate
from shared.db.unit_of_work import UnitOfWork
from tests import support

ROWS = 12


def _connect(name):
    return psycopg2.connect(f"{support.PG}/{name}")


def _audit(name, count, actor="staff:test"):
    conn = _connect(name)
    try:
        for i in range(count):
            with conn:
                UnitOfWork(conn, "test", "GM0687").audit(actor, "read", f"incident {i} ü∑", case_id=uuid.uuid4(),
                                                         reason="GET /api/v1/incidents/{case_id}" if i % 2 else None)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def chained_template():
    """A migrated case store holding ROWS chained audit rows, used as the template of each test's copy."""
    name = f"mh_test_{uuid.uuid4().hex[:8]}_auditchain"
    migrate.ensure_database(f"{support.PG}/{name}")
    try:
        migrate.apply(f"{support.PG}/{name}", migrate.CASE_STORE_COMPONENTS)
        _audit(name, ROWS)
        yield name
    finally:
        support.drop_databases([name])


@pytest.fixture
def store(chained_template):
    """A copy of the template (CREATE DATABASE … TEMPLATE: milliseconds), dropped after the test."""
    name = f"{chained_template}_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(f"{support.PG}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{chained_template}"')
    admin.close()
    try:
        yield name
    finally:
        support.drop_databases([name])


def _as_owner(name, *statements):
    """What someone holding the owner role can do: switch the append-only trigger off and change rows."""
    conn = _connect(name)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("ALTER TABLE hub.audit_log DISABLE TRIGGER audit_log_append_only")
            for statement in statements:
                cur.execute(statement)
            cur.execute("ALTER TABLE hub.audit_log ENABLE TRIGGER audit_log_append_only")
    finally:
        conn.close()


def _verify(name, anchor=None):
    conn = _connect(name)
    try:
        return verify(conn, anchor=anchor)
    finally:
        conn.close()


def test_an_untouched_chain_verifies_also_with_concurrent_writers(store):
    threads = [threading.Thread(target=_audit, args=(store, 15, f"staff:{i}")) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = _verify(store)
    assert verdict.ok, verdict.broken
    assert verdict.rows == ROWS + 60 and verdict.head_seq == ROWS + 60


def test_the_append_only_trigger_still_refuses_changes_and_the_chain_columns_too(store):
    conn = _connect(store)
    try:
        for statement in ("UPDATE hub.audit_log SET subject = 'x' WHERE seq = 3",
                          "UPDATE hub.audit_log SET seq = 99 WHERE seq = 3",
                          "DELETE FROM hub.audit_log WHERE seq = 3"):
            with pytest.raises(psycopg2.errors.RaiseException, match="append-only"):
                with conn, conn.cursor() as cur:
                    cur.execute(statement)
    finally:
        conn.close()


@pytest.mark.parametrize("statements, first_broken", [
    (["UPDATE hub.audit_log SET subject = 'nothing to see' WHERE seq = 5"], "link 5 .* the row was edited"),
    (["UPDATE hub.audit_log SET reason = NULL WHERE seq = 8"], "link 8 .* the row was edited"),
    (["UPDATE hub.audit_log SET at = at - interval '1 day' WHERE seq = 2"], "link 2 .* the row was edited"),
    (["DELETE FROM hub.audit_log WHERE seq = 5"], "link 5 is missing"),
    # deleted, and the later rows renumbered to close the gap
    (["DELETE FROM hub.audit_log WHERE seq = 5", "UPDATE hub.audit_log SET seq = seq - 1 WHERE seq > 5"],
     "link 5 .* does not follow link 4"),
    # reordered: two rows swap their places in the chain
    (["UPDATE hub.audit_log SET seq = -4 WHERE seq = 4", "UPDATE hub.audit_log SET seq = 4 WHERE seq = 5",
      "UPDATE hub.audit_log SET seq = 5 WHERE seq = -4"], "link 4 .* does not follow link 3"),
    # reordered: two rows swap their content, chain columns left in place
    (["UPDATE hub.audit_log a SET actor = b.actor, subject = b.subject, case_id = b.case_id, reason = b.reason "
      "FROM hub.audit_log b WHERE a.seq = 6 AND b.seq = 9"], "link 6 .* the row was edited"),
    (["DELETE FROM hub.audit_log WHERE seq = (SELECT max(seq) FROM hub.audit_log)"],
     f"ends at link {ROWS - 1} but its head says {ROWS}"),
    # a row slipped in past the chain's trigger
    (["SET LOCAL session_replication_role = replica",
      "INSERT INTO hub.audit_log (actor, action, subject) VALUES ('staff:x', 'read', 'incident')"],
     "1 row.* outside the chain"),
], ids=["edit-subject", "edit-reason", "edit-time", "delete", "delete-renumber", "reorder-places",
        "reorder-content", "delete-last", "insert-unlinked"])
def test_every_change_by_the_owner_is_caught_at_its_first_broken_link(store, statements, first_broken):
    assert _verify(store).ok
    _as_owner(store, *statements)
    verdict = _verify(store)
    assert not verdict.ok
    import re

    assert re.search(first_broken, verdict.broken), verdict.broken


def test_a_rewritten_end_with_its_head_is_caught_by_an_anchor_kept_outside(store):
    anchor = _verify(store).anchor
    # the owner deletes the last row and sets the head back to the row before: the chain itself is consistent
    _as_owner(store, f"DELETE FROM hub.audit_log WHERE seq = {ROWS}",
              f"UPDATE hub.audit_chain_head SET seq = {ROWS - 1}, "
              f"row_hash = (SELECT row_hash FROM hub.audit_log WHERE seq = {ROWS - 1})")
    assert _verify(store).ok
    verdict = _verify(store, anchor=anchor)
    assert not verdict.ok and "the anchor names link" in verdict.broken


def test_rows_from_before_the_chain_are_linked_by_migrate(store):
    # as a store of the previous release holds them: rows without a link
    _as_owner(store, "SET LOCAL session_replication_role = replica",
              *["INSERT INTO hub.audit_log (actor, action, subject) VALUES ('cli', 'read', 'old row')"] * 3)
    assert not _verify(store).ok
    assert migrate.link_audit_rows(f"{support.PG}/{store}") == 3
    verdict = _verify(store)
    assert verdict.ok and verdict.rows == ROWS + 3


def _region_env(store, tmp_path):
    demo = yaml.safe_load(support.DEFAULT_REGION_FILE.read_text())
    for m in demo["municipalities"]:  # only GM0687's store exists; the command reaches no other
        m["case_store_dsn"] = f"{support.PG}/{store}" if m["code"] == "GM0687" else f"{support.PG}/{store}_{m['code']}"
    demo["statistics_dsn"] = f"{support.PG}/{store}_statistics_unused"
    region = tmp_path / "region.yaml"
    region.write_text(yaml.safe_dump(demo, sort_keys=False))
    return {"MELDPUNT_REGION": str(region)}


def test_the_command_exits_0_when_intact_1_at_a_broken_link_2_on_bad_input(store, tmp_path):
    env = _region_env(store, tmp_path)
    intact = support.cli(env, "audit", "verify", "GM0687")
    assert intact.returncode == 0, intact.stderr
    assert f"{ROWS} link(s)" in intact.stdout
    anchor = intact.stdout.split("head ")[1].split()[0]
    assert support.cli(env, "audit", "verify", "GM0687", "--anchor", anchor).returncode == 0
    assert support.cli(env, "audit", "verify", "GM0687", "--anchor", "12:xyz").returncode == 2
    assert support.cli(env, "audit", "verify", "GM9999").returncode == 2
    _as_owner(store, "UPDATE hub.audit_log SET subject = 'nothing to see' WHERE seq = 3")
    broken = support.cli(env, "audit", "verify", "GM0687")
    assert broken.returncode == 1
    assert "BROKEN after 2 good link(s): link 3" in broken.stdout
    listing = support.cli(env, "audit", "GM0687", "--limit", "3")
    assert listing.returncode == 0 and listing.stdout.count("\n") == 3


@pytest.fixture(scope="module")
def verwerkingenlog():
    """VNG's Verwerkingenlogging (Bewerking) API as Prism serves it from the vendored document: every
    request validated against it."""
    from tests import prism

    missing = prism.available()
    if missing:
        pytest.skip(missing)
    server = prism.Prism(prism.VERWERKINGENLOGGING_API, support.free_port()).start()
    yield server
    server.stop()


def test_the_export_as_verwerkingenlogging_is_what_the_apis_own_document_accepts(store, tmp_path, verwerkingenlog):
    """Issue 24, item 6: `meldpunt audit export CODE --format verwerkingenlogging`, each action posted to a
    server that validates it against VNG's document; the export is itself audited; bad input exits 2."""
    import json

    import requests

    env = _region_env(store, tmp_path)
    done = support.cli(env, "audit", "export", "GM0687", "--format", "verwerkingenlogging",
                            "--oin", "00000001001234567000")
    assert done.returncode == 0, done.stderr
    actions = json.loads(done.stdout)
    assert len(actions) == ROWS
    assert {a["gebruiker"] for a in actions} == {"staff:test"}
    assert all(a["verwerkingId"] == a["verwerkteObjecten"][0]["objectId"] for a in actions)
    assert actions[0]["bewaartermijn"] == "P5Y" and actions[0]["vertrouwelijkheid"] == "vertrouwelijk"
    headers = {"Authorization": "Bearer e30.e30.x"}
    answers = [requests.post(f"{verwerkingenlog.url}/verwerkingsacties", json=a, headers=headers, timeout=30)
               for a in actions]
    assert [r.status_code for r in answers] == [201] * ROWS, answers[0].text
    broken = dict(actions[0], vertrouwelijkheid="geheim")  # the validator does look
    assert requests.post(f"{verwerkingenlog.url}/verwerkingsacties", json=broken, headers=headers,
                         timeout=30).status_code == 400
    again = json.loads(support.cli(env, "audit", "export", "GM0687", "--format", "verwerkingenlogging").stdout)
    assert again[-1]["actieNaam"] == f"export audit log as verwerkingenlogging ({ROWS} rows)"
    assert "verwerkingId" not in again[-1] and again[-1]["verwerkteObjecten"] == []
    assert support.cli(env, "audit", "export", "GM0687").returncode == 2
    assert support.cli(env, "audit", "export", "GM0687", "--format", "verwerkingenlogging",
                            "--since", "gisteren").returncode == 2
