"""Crypto-shredding (issue 21, item 4): every case has its own data key, wrapped by the municipality's data key and
kept in the region's key store, apart from the case store. Erasure destroys it, so a dump of the case store taken
before the erasure, restored, yields no plaintext of the erased case; the master key rotates by re-wrapping the
data keys only, while writers go on; data key rotation re-wraps case keys without touching the data; `meldpunt
migrate` moves values from before case keys onto them."""
from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import uuid

import psycopg2
import pytest

from services.intake import store as intake
from shared.crypto import CaseKeyDestroyed, CryptoError, Keyring, case_of, master_key_id
from shared.db import migrate
from shared.db.case_keys import CaseKeyStore
from shared.db.unit_of_work import UnitOfWork
from shared.personal_data import SEALED, erase_case, rotate
from tests import support

CODE = "GM0687"


def _canary(tag: str) -> str:
    return f"KANARIE-{tag}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def stores():
    """A case store and a key store of their own (migrated like the region's), dropped after the test."""
    run = uuid.uuid4().hex[:8]
    names = {"case": f"mh_test_{run}_shred_gm0687", "keys": f"mh_test_{run}_shred_keys"}
    dsns = {kind: f"{support.PG}/{name}" for kind, name in names.items()}
    try:
        for kind, components in (("case", migrate.CASE_STORE_COMPONENTS), ("keys", migrate.KEY_STORE_COMPONENTS)):
            migrate.ensure_database(dsns[kind])
            migrate.apply(dsns[kind], components)
        yield dsns
    finally:
        support.drop_databases([*names.values(), f"{names['case']}_restored"])


def _keyring(dsns, master, previous=None):
    return Keyring(master, previous, case_keys=CaseKeyStore(dsns["keys"]))


@contextlib.contextmanager
def _uow(dsn, keyring):
    conn = psycopg2.connect(dsn)
    try:
        with conn:
            yield UnitOfWork(conn, "test", CODE, keyring=keyring)
    finally:
        conn.close()


def _report_case(dsn, keyring, description: str, addition: str | None = None):
    case_id = uuid.uuid4()
    with _uow(dsn, keyring) as uow:
        intake.insert_incident(uow, case_id, support.incident_body(description=description), "api", "test")
        if addition:
            intake.add_text(uow, case_id, "api", "test", addition)
    return case_id


def _sealed_values(dsn, case_id) -> list[tuple]:
    """(table, column, row id, ciphertext) of every encrypted value the case has in the store at `dsn`."""
    found = []
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            for entry in SEALED:
                if entry.case_rows is None:
                    continue
                cur.execute(f"SELECT {entry.id_column}, {entry.column} FROM {entry.table} "
                            f"WHERE ({entry.case_rows}) AND {entry.column} IS NOT NULL", (case_id,))
                found += [(entry.table, entry.column, row_id, bytes(value)) for row_id, value in cur.fetchall()]
    finally:
        conn.close()
    return found


def _pg(*args):
    subprocess.run(args, check=True, capture_output=True, timeout=120)


def test_a_dump_from_before_the_erasure_restored_yields_nothing_of_the_erased_case(stores, tmp_path):
    master = os.urandom(32)
    keyring = _keyring(stores, master)
    erased_text, erased_addition, kept_text = _canary("gewist"), _canary("aanvulling"), _canary("blijft")
    erased = _report_case(stores["case"], keyring, erased_text, erased_addition)
    kept = _report_case(stores["case"], keyring, kept_text)
    assert {case_of(value) for *_, value in _sealed_values(stores["case"], erased)} == {erased}

    dump = tmp_path / "before-erasure.dump"
    _pg("pg_dump", "-Fc", "-f", str(dump), stores["case"])
    assert erased_text.encode() not in dump.read_bytes()

    with _uow(stores["case"], keyring) as uow:
        assert erase_case(uow, erased, "cli:test", "verzoek betrokkene") == "erased"

    restored = f"{stores['case'].rsplit('/', 1)[1]}_restored"
    server = psycopg2.extensions.parse_dsn(f"{support.PG}/postgres")  # the tests' server (MELDPUNT_TEST_PG)
    where = ("-h", server.get("host", "127.0.0.1"), "-p", server.get("port", "5432"), "-U", server.get("user", "postgres"))
    _pg("createdb", *where, restored)
    _pg("pg_restore", "--no-owner", *where, "-d", restored, str(dump))
    restored_dsn = f"{support.PG}/{restored}"

    # the restored copy still holds the erased case's ciphertext: the incident and its addition
    values = _sealed_values(restored_dsn, erased)
    assert len(values) == 2
    # a process that has never seen the case: the master key, the municipality's data keys (in the dump), the key
    # store as it is now
    fresh = _keyring(stores, master)
    with _uow(restored_dsn, fresh) as uow:
        for table, column, row_id, value in values:
            with pytest.raises(CaseKeyDestroyed):
                uow.unseal(table, column, row_id, value)
        with pytest.raises(CaseKeyDestroyed):
            intake.get_incident(uow, erased)
        assert intake.get_incident(uow, kept)["description"] == kept_text
    # and no key is ever made again for it
    with _uow(stores["case"], fresh) as uow, pytest.raises(CaseKeyDestroyed):
        uow.seal(intake.ADDITIONS, "personal", 1, {"text": "later"}, case_id=erased)


def test_the_master_key_rotates_by_rewrapping_data_keys_only_while_writers_go_on(stores):
    old, new = os.urandom(32), os.urandom(32)
    before = [_report_case(stores["case"], _keyring(stores, old), _canary(f"voor-{i}")) for i in range(3)]
    ciphertexts = {case: _sealed_values(stores["case"], case) for case in before}

    # every service now runs with both keys (new current, old previous); one keeps writing during the rotation
    serving, written, failures, stop = _keyring(stores, new, old), [], [], threading.Event()

    def writer():
        while not stop.is_set() or len(written) < 5:
            try:
                text = _canary("tijdens")
                written.append((_report_case(stores["case"], serving, text), text))
            except Exception as exc:  # noqa: BLE001 - counted and shown below
                failures.append(repr(exc))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with _uow(stores["case"], serving) as uow:
            assert serving.rewrap_master(uow) == 1  # data key v1
    finally:
        stop.set()
        thread.join()
    assert not failures, failures[:3]

    only_new = _keyring(stores, new)
    with _uow(stores["case"], only_new) as uow:
        for case_id, text in written:
            assert intake.get_incident(uow, case_id)["description"] == text
        for case_id in before:
            assert intake.get_incident(uow, case_id)["description"].startswith("KANARIE-voor-")
        assert {r["master_key_id"] for r in uow.fetchall("SELECT master_key_id FROM hub.data_keys")} == \
            {master_key_id(new)}
    # no value of the data was decrypted or written again
    assert {case: _sealed_values(stores["case"], case) for case in before} == ciphertexts
    with _uow(stores["case"], _keyring(stores, old)) as uow, pytest.raises(CryptoError, match="wrong master key"):
        intake.get_incident(uow, before[0])


def test_a_data_key_rotation_rewraps_case_keys_and_leaves_the_data_as_it_was(stores):
    keyring = _keyring(stores, os.urandom(32))
    cases = [_report_case(stores["case"], keyring, _canary(f"rot-{i}"), _canary("add")) for i in range(4)]
    ciphertexts = {case: _sealed_values(stores["case"], case) for case in cases}
    outcome = rotate(lambda: _uow(stores["case"], keyring), "cli:test", batch_size=3)
    assert outcome["version"] == 2 and outcome["moved"] == 4 and outcome["retired"] == [1]
    assert {case: _sealed_values(stores["case"], case) for case in cases} == ciphertexts
    versions = support.query(stores["keys"], "SELECT DISTINCT data_key_version AS v FROM hub.case_keys")
    assert [r["v"] for r in versions] == [2]
    with _uow(stores["case"], keyring) as uow:
        assert all(intake.get_incident(uow, case)["description"].startswith("KANARIE-rot-") for case in cases)


def test_migrate_moves_values_from_before_case_keys_onto_them(stores):
    master = os.urandom(32)
    keyring = _keyring(stores, master)
    text = _canary("oud")
    case_id = _report_case(stores["case"], keyring, text)
    with _uow(stores["case"], keyring) as uow:  # as the previous release stored it: the municipality's data key
        personal = intake.get_incident(uow, case_id)
        old = uow.seal(intake.INCIDENTS, "personal", case_id, {k: personal.get(k) for k in intake.INCIDENT_PERSONAL})
        uow.execute("UPDATE intake.incidents SET personal = %s WHERE case_id = %s", (old, case_id)).close()
    assert case_of(_sealed_values(stores["case"], case_id)[0][3]) is None

    assert migrate.encrypt_plaintext(stores["case"], CODE, master, stores["keys"]) == (0, 1, 0)
    assert case_of(_sealed_values(stores["case"], case_id)[0][3]) == case_id
    with _uow(stores["case"], keyring) as uow:
        assert intake.get_incident(uow, case_id)["description"] == text
        erase_case(uow, case_id, "cli:test", "verzoek")
    # without the master key migrate says what is left instead of failing
    assert migrate.encrypt_plaintext(stores["case"], CODE, None, stores["keys"]) == (0, 0, 0)


def test_new_cases_keys_are_made_ahead_together_and_read_by_any_process_after_a_rotation(stores):
    """Keyring.new_case_id: the keys of SPARE_CASE_KEYS new cases in one statement of the key store, never under
    a data key made in the same transaction; what is sealed with them reads back in another process (another
    keyring), also after a data key rotation re-wrapped the keys not yet used."""
    master = os.urandom(32)
    keyring = _keyring(stores, master)

    def keys():
        return support.query(stores["keys"], "SELECT count(*) AS n FROM hub.case_keys")[0]["n"]

    def report(text):
        with _uow(stores["case"], keyring) as uow:
            case_id = uow.new_case_id()
            intake.insert_incident(uow, case_id, support.incident_body(description=text), "api", "test")
        return case_id

    first = report(_canary("eerste"))  # the municipality's data key is made in this transaction: no keys ahead
    assert keys() == 1
    cases = [report(_canary(f"vooraf-{i}")) for i in range(3)]
    assert keys() == 1 + Keyring.SPARE_CASE_KEYS  # one statement made them all
    rotate(lambda: _uow(stores["case"], keyring), "cli:test", batch_size=100)
    cases.append(report(_canary("na-rotatie")))  # a key made before the rotation, re-wrapped by it
    assert keys() == 1 + Keyring.SPARE_CASE_KEYS
    versions = support.query(stores["keys"], "SELECT DISTINCT data_key_version AS v FROM hub.case_keys")
    assert [r["v"] for r in versions] == [2]
    from bench.profiling import sql_count

    sql_count.install()  # another process (nothing of this one's memory) reads the keys made together at once
    try:
        with _uow(stores["case"], _keyring(stores, master)) as uow:
            sql_count.reset()
            assert all(intake.get_incident(uow, case)["description"].startswith("KANARIE-") for case in cases)
            assert sum(sql_count.snapshot()["statements"].get("meldpunt-keys", {}).values()) == 1
            assert intake.get_incident(uow, first)["description"].startswith("KANARIE-eerste")
    finally:
        sql_count.uninstall()
    with _uow(stores["case"], _keyring(stores, master)) as uow:
        erase_case(uow, cases[0], "cli:test", "verzoek")
    [erased] = support.query(stores["keys"], "SELECT wrapped_key FROM hub.case_keys WHERE case_id = %s", (cases[0],))
    assert erased["wrapped_key"] is None


def test_keys_made_ahead_are_never_handed_out_twice_and_held_after_an_erasure_only_within_their_5_minutes(stores):
    """Review of 7c858e6/e0a9672 (issue 25): two intake processes hand out disjoint case ids; erasure destroys the
    key in the key store and in the erasing process's memory, but a process that holds the key in memory (intake,
    which handed it out; triage, which read a key made together with it) keeps it until its CASE_KEY_SECONDS are
    over, counted from when it read the key or one of its siblings, and then reads CaseKeyDestroyed like a fresh
    process (docs/encryption.md#case-keys says so)."""
    master = os.urandom(32)
    intake_a, intake_b = _keyring(stores, master), _keyring(stores, master)

    def report(keyring, text):
        with _uow(stores["case"], keyring) as uow:
            case_id = uow.new_case_id()
            intake.insert_incident(uow, case_id, support.incident_body(description=text), "api", "test")
        return case_id

    report(intake_a, _canary("eerste"))  # the data key made: keys ahead from here on
    handed = [report(keyring, _canary("x")) for _ in range(12) for keyring in (intake_a, intake_b)]
    assert len(set(handed)) == len(handed)
    rows = support.query(stores["keys"], "SELECT made_with, count(*) AS n FROM hub.case_keys "
                                         "WHERE made_with IS NOT NULL GROUP BY made_with")
    assert sorted(r["n"] for r in rows) == [Keyring.SPARE_CASE_KEYS] * 2  # one statement per process
    read_first, erased = handed[0], handed[2]  # both intake_a's, made in one statement
    triage = _keyring(stores, master)
    with _uow(stores["case"], triage) as uow:
        assert intake.get_incident(uow, read_first)["description"].startswith("KANARIE-")
    sealed = _sealed_values(stores["case"], erased)
    assert sealed
    with _uow(stores["case"], _keyring(stores, master)) as uow:  # `meldpunt privacy erase`: a process of its own
        assert erase_case(uow, erased, "cli:test", "verzoek") == "erased"
    assert _sealed_values(stores["case"], erased) == []  # the live store holds nothing of it any more

    def opens(keyring):
        with _uow(stores["case"], keyring) as uow:
            for table, column, row_id, ciphertext in sealed:
                keyring.decrypt(uow, table, column, row_id, ciphertext)

    with pytest.raises(CaseKeyDestroyed):
        opens(_keyring(stores, master))  # a fresh process: no key anywhere
    opens(triage)  # read with its sibling, still in memory: within the 5 minutes
    opens(intake_a)  # handed out by it, still in memory
    for keyring in (triage, intake_a):  # the 5 minutes over
        keyring._case_keys = type(keyring._case_keys)(
            (slot, (key, 0.0)) for slot, (key, _until) in keyring._case_keys.items())
        with pytest.raises(CaseKeyDestroyed):
            opens(keyring)


def test_keys_made_ahead_for_one_municipality_never_serve_a_case_of_another(stores):
    """Review of 7c858e6 (issue 25): one intake process making cases of two municipalities in turn takes each case's
    key from its own municipality's keys made ahead (one statement each, rows of that municipality only), and a
    fresh process reads every case back with its own municipality's keys."""
    other, other_dsn = "GM0718", f"{support.PG}/mh_test_{uuid.uuid4().hex[:8]}_shred_gm0718"
    migrate.ensure_database(other_dsn)
    try:
        migrate.apply(other_dsn, migrate.CASE_STORE_COMPONENTS)
        master = os.urandom(32)
        keyring = _keyring(stores, master)
        dsns = {CODE: stores["case"], other: other_dsn}

        @contextlib.contextmanager
        def uow_of(code, ring):
            conn = psycopg2.connect(dsns[code])
            try:
                with conn:
                    yield UnitOfWork(conn, "test", code, keyring=ring)
            finally:
                conn.close()

        def report(code, text):
            with uow_of(code, keyring) as uow:
                case_id = uow.new_case_id()
                intake.insert_incident(uow, case_id, support.incident_body(description=text), "api", "test")
            return case_id

        made = {code: [report(code, _canary(code))] for code in dsns}  # each municipality's first data key
        for _ in range(5):
            for code in dsns:
                made[code].append(report(code, _canary(code)))
        rows = support.query(stores["keys"], "SELECT municipality, case_id::text AS case_id, made_with::text AS m "
                                             "FROM hub.case_keys")
        of = {r["case_id"]: r["municipality"] for r in rows}
        assert all(of[str(case_id)] == code for code, cases in made.items() for case_id in cases)
        groups = {}
        for r in rows:
            if r["m"] is not None:
                groups.setdefault(r["m"], set()).add(r["municipality"])
        assert sorted(map(sorted, groups.values())) == [[CODE], [other]]
        fresh = _keyring(stores, master)
        for code, cases in made.items():
            with uow_of(code, fresh) as uow:
                assert all(intake.get_incident(uow, c)["description"].startswith(f"KANARIE-{code}") for c in cases)
    finally:
        support.drop_databases([other_dsn.rsplit("/", 1)[1]])
