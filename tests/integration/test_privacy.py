"""Privacy over the real broker and case stores (issue #8): no personal data in plaintext in any
case store (also after migrating rows stored before encryption), key rotation while the hub
serves, every read and change audited, and erasure (one case, or by retention) that leaves the
statistics as they were."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import psycopg2
import requests

from services.intake import store as intake_store
from shared.db.migrate import migrate_region
from shared.personal_data import rotate, values_not_on
from tests.support import case_store_uow, cli, incident, incident_body, query, wait_for

MIDDELBURG, VLISSINGEN = "GM0687", "GM0718"

CANARIES = {
    "description": "KANARIE-omschrijving-51c2 hij schopte tegen de balie",
    "own_kind": "KANARIE-eigen-woorden-88aa",
    "location_detail": "KANARIE-plek-balie-3-9d01",
    "reporter": "KANARIE Melder Vos",
    "reporter_email": "kanarie.melder@example.nl",
    "reporter_phone": "0611223344",
    "perpetrator": "KANARIE Dader Wolf",
    "handle": "kanarie_wolf_online",
    "perp_phone": "0655443322",
    "vehicle": "KANARIE groene bestelbus",
    "plate": "KN-123-RY",
    "witness": "KANARIE Getuige Uil",
    "statement": "KANARIE-verklaring-7b7b",
    "injuries": "KANARIE-letsel-pols-1f1f",
    "damage": "KANARIE-schade-bril-2e2e",
    "department": "KANARIE-afdeling-4c4c",
    "evidence": "KANARIE-bewijs-inhoud-6d6d",
    "filename": "KANARIE-foto-wolf",
    "addition": "KANARIE-aanvulling-0a0a",
    "police_reason": "KANARIE-afwijzing-reden-5e5e",
    "health": "KANARIE-slaapt-slecht-9c9c",
}


def canary_report() -> dict:
    c = CANARIES
    return incident_body(
        description=c["description"], own_kind=c["own_kind"], location_detail=c["location_detail"],
        reporter={"name": c["reporter"], "email": c["reporter_email"], "phone": c["reporter_phone"]},
        perpetrators=[{"name": c["perpetrator"], "online_handle": c["handle"], "phone": c["perp_phone"],
                       "vehicle": c["vehicle"], "licence_plate": c["plate"], "description": c["perpetrator"]}],
        witnesses=[{"name": c["witness"], "contact": c["reporter_email"], "statement": c["statement"]}],
        injuries=c["injuries"], damage=c["damage"], target={"department": c["department"]},
        categories=["bedreiging", "fysiek_geweld"])


def plaintext_hits(dsn: str, needles) -> list[str]:
    """Every table.column of the database where one of `needles` appears readable: text, varchar,
    json(b) and arrays as text, bytea as raw bytes."""
    needles = [n for n in needles if n]
    hits = []
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND data_type IN "
                        "('text', 'character varying', 'bytea', 'jsonb', 'json', 'ARRAY')")
            columns = cur.fetchall()
            for schema, table, column, data_type in columns:
                cur.execute(f'SELECT "{column}"{"" if data_type == "bytea" else "::text"} FROM "{schema}"."{table}" '
                            f'WHERE "{column}" IS NOT NULL')
                for (value,) in cur.fetchall():
                    raw = bytes(value) if data_type == "bytea" else value.encode()
                    found = [n for n in needles if n.encode() in raw or n.lower().encode() in raw.lower()]
                    if found:
                        hits.append(f"{schema}.{table}.{column}: {found}")
    finally:
        conn.rollback()
        conn.close()
    return hits


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def full_case(hub, code=MIDDELBURG) -> dict:
    """A case with personal data in every place a case store keeps it: the report, evidence, a
    follow-up addition, a police rejection with its reason and an aftercare contact with notes."""
    response = hub.report(hub.key(code), canary_report())
    assert response.status_code == 201, response.text
    case_id = uuid.UUID(response.json()["case_id"])
    with case_store_uow(hub.settings, code) as uow:
        intake_store.add_evidence(uow, uuid.uuid4(), case_id, CANARIES["filename"] + ".txt", "text/plain",
                                  CANARIES["evidence"].encode(), "melder")
        intake_store.add_text(uow, case_id, "formulier", "melder", CANARIES["addition"])
    plan = wait_for(lambda: query(hub.case_store(code), "SELECT plan_id FROM aftercare.care_plans WHERE case_id = %s",
                                  (case_id,)), what="care plan")[0]
    contact = requests.post(hub.url("aftercare", f"/api/v1/aftercare/plans/{plan['plan_id']}/contacts"), json={
        "contacted_at": datetime.now(timezone.utc).isoformat(), "contacted_by": "nazorg-1", "method": "phone",
        "outcome": "reached", "notes": CANARIES["health"]}, headers=auth(hub.key(code, "aftercare_worker")), timeout=10)
    assert contact.status_code == 201, contact.text
    referral = wait_for(lambda: query(hub.case_store(code), "SELECT referral_id FROM police_liaison.referrals "
                                      "WHERE case_id = %s", (case_id,)), what="referral")[0]
    rejected = requests.post(hub.url("police_liaison", f"/api/v1/referrals/{referral['referral_id']}/steps"),
                             json={"status": "afgewezen", "reason": CANARIES["police_reason"]},
                             headers=auth(hub.key(code, "police_liaison")), timeout=10)
    assert rejected.status_code == 200, rejected.text
    return {"case_id": case_id, "plan_id": plan["plan_id"], "referral_id": referral["referral_id"]}


# --------------------------------------------------------------------------- encryption at rest

def test_no_personal_data_in_plaintext_anywhere_in_the_case_store(hub):
    case = full_case(hub)
    assert plaintext_hits(hub.case_store(MIDDELBURG), CANARIES.values()) == []
    assert plaintext_hits(hub.region.statistics_dsn, CANARIES.values()) == []

    # and every service reads it back decrypted, each read audited
    read = requests.get(hub.url("intake", f"/api/v1/incidents/{case['case_id']}"),
                        headers=auth(hub.key(MIDDELBURG, "staff")), timeout=10).json()
    assert read["description"] == CANARIES["description"] and read["own_kind"] == CANARIES["own_kind"]
    assert read["perpetrators"][0]["vehicle"] == CANARIES["vehicle"] and read["erased"] is False
    assert read["witnesses"][0]["statement"] == CANARIES["statement"]
    liaison = auth(hub.key(MIDDELBURG, "police_liaison"))
    view = requests.get(hub.url("police_liaison", f"/api/v1/referrals/{case['referral_id']}"), headers=liaison,
                        timeout=10).json()
    assert view["reason"] == CANARIES["police_reason"] and CANARIES["police_reason"] in str(view["steps"])
    with case_store_uow(hub.settings, MIDDELBURG) as uow:
        [evidence] = intake_store.list_evidence(uow, case["case_id"])
        assert evidence["filename"].startswith(CANARIES["filename"])
        assert intake_store.evidence_content(uow, evidence["evidence_id"]) == CANARIES["evidence"].encode()
        assert intake_store.list_additions(uow, case["case_id"])[0]["text"] == CANARIES["addition"]


def test_migrate_encrypts_rows_stored_in_plaintext_before(hub):
    """Rows written the old way (plaintext columns) are encrypted by `meldpunt migrate` (its
    encryption step), and read the same afterwards."""
    dsn = hub.case_store(VLISSINGEN)
    case_id, evidence_id, referral_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    old = "KANARIE-oud-onversleuteld-3a3a"
    query(dsn, "INSERT INTO intake.incidents (case_id, channel, received_by, occurred_at, description, location_type, "
               "target_role, reporter, perpetrators, witnesses, consent, injuries) VALUES (%s, 'api', 'test', now(), "
               "%s, 'balie', 'ambtenaar', %s, %s, '[]', '{}', %s)",
          (case_id, old + " omschrijving", '{"name": "KANARIE Oud Melder"}', '[{"name": "KANARIE Oud Dader"}]',
           old + " letsel"))
    query(dsn, "INSERT INTO intake.evidence (evidence_id, case_id, filename, media_type, size_bytes, sha256, content, "
               "added_by) VALUES (%s, %s, 'KANARIE-oud.txt', 'text/plain', 10, 'x', %s, 'melder')",
          (evidence_id, case_id, psycopg2.Binary((old + " bestand").encode())))
    query(dsn, "INSERT INTO intake.additions (case_id, channel, added_by, text) VALUES (%s, 'formulier', 'melder', %s)",
          (case_id, old + " aanvulling"))
    query(dsn, "INSERT INTO police_liaison.referrals (referral_id, case_id, police_unit, status, categories, urgency, "
               "reason) VALUES (%s, %s, 'zwb-walcheren', 'afgewezen', '{}', 'normaal', %s)",
          (referral_id, case_id, old + " reden"))
    query(dsn, "INSERT INTO police_liaison.referral_steps (referral_id, status, actor, detail) "
               "VALUES (%s, 'afgewezen', 'test', %s)", (referral_id, old + " stap"))
    assert plaintext_hits(dsn, ["KANARIE"])

    lines = []
    migrate_region(hub.region, report=lines.append, master_key=hub.settings.master_key)

    assert any(f"{VLISSINGEN}:" in line and "encrypted 6 personal data value(s)" in line for line in lines), lines
    assert plaintext_hits(dsn, ["KANARIE", old]) == []
    row = incident(hub.settings, VLISSINGEN, case_id)
    assert row["description"] == old + " omschrijving" and row["perpetrators"] == [{"name": "KANARIE Oud Dader"}]
    assert row["reporter"] == {"name": "KANARIE Oud Melder"} and row["injuries"] == old + " letsel"
    with case_store_uow(hub.settings, VLISSINGEN) as uow:
        assert intake_store.evidence_content(uow, evidence_id) == (old + " bestand").encode()
        assert intake_store.list_evidence(uow, case_id)[0]["filename"] == "KANARIE-oud.txt"
        assert intake_store.list_additions(uow, case_id)[0]["text"] == old + " aanvulling"
    view = requests.get(hub.url("police_liaison", f"/api/v1/referrals/{referral_id}"),
                        headers=auth(hub.key(VLISSINGEN, "coordinator")), timeout=10)
    assert view.status_code == 200 and view.json()["reason"] == old + " reden", view.text
    # a second migrate has nothing left to do
    again = []
    migrate_region(hub.region, report=again.append, master_key=hub.settings.master_key)
    assert not any("encrypted" in line for line in again)


# ------------------------------------------------------------------------------- key rotation

def test_rotation_while_the_hub_serves_reads_and_writes(hub, hub_env):
    code = "GM0664"
    key = hub.key(code)
    cases = []
    for n in range(12):
        response = hub.report(key, incident_body(description=f"Rotatie-melding {n}: schelden aan de balie."))
        assert response.status_code == 201, response.text
        cases.append(response.json()["case_id"])
    written_during, reads, failures = [], [], []
    progress = threading.Condition()
    stop = threading.Event()

    def serve():
        """A client that keeps reading every case and writing new ones while rotation runs."""
        n = 0
        while not stop.is_set():
            case_id = cases[n % len(cases)]
            read = requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}"), headers=auth(key), timeout=10)
            if read.status_code != 200 or not read.json()["description"].startswith("Rotatie-melding"):
                failures.append((case_id, read.status_code, read.text[:200]))
            if n % 4 == 0:
                written = hub.report(key, incident_body(description=f"Tijdens rotatie {n}."))
                if written.status_code != 201:
                    failures.append(("write", written.status_code, written.text[:200]))
                else:
                    written_during.append(written.json()["case_id"])
            n += 1
            with progress:
                reads.append(case_id)
                progress.notify_all()

    def wait_for_a_read(moved):
        """After each batch, let the client read at least once more: rotation and reads interleave."""
        seen = len(reads)
        with progress:
            progress.wait_for(lambda: len(reads) > seen or stop.is_set(), timeout=30)

    client = threading.Thread(target=serve, daemon=True)
    client.start()
    with case_store_uow(hub.settings, code) as uow:
        before = uow.keyring.current(uow)[0]
    try:
        from shared.db.pool import ConnectionPool
        from shared.db.unit_of_work import Stores

        pool = ConnectionPool(2)
        stores = Stores(hub.settings, pool, "test")
        result = rotate(lambda: stores.case_store(code), "test", batch_size=3, after_batch=wait_for_a_read)
    finally:
        stop.set()
        client.join(timeout=30)
        pool.close()

    assert failures == []
    assert result["version"] == before + 1 and before in result["retired"]
    assert result["moved"] >= len(cases) and len(reads) > result["moved"] // 3
    with case_store_uow(hub.settings, code) as uow:
        assert values_not_on(uow, result["version"]) == 0
        versions = uow.fetchall("SELECT version, retired_at FROM hub.data_keys ORDER BY version")
    # only the new version is in use; every older one is retired
    assert all((v["retired_at"] is None) == (v["version"] == result["version"]) for v in versions)
    for case_id in cases + written_during:
        assert incident(hub.settings, code, case_id)["description"]

    # the operators' command does the same, and says what it did
    done = cli(hub_env, "keys", "rotate", code, "--batch", "50")
    assert done.returncode == 0, done.stderr
    assert f"retired v{result['version']}" in done.stdout
    status = cli(hub_env, "keys", "status")
    assert f"{code}  values not on v{result['version'] + 1}: 0" in status.stdout, status.stdout
    audit = cli(hub_env, "audit", code)
    assert "rotate data key" in audit.stdout


# ------------------------------------------------------------------------------------ audit

def test_reads_and_changes_of_personal_data_are_audited(hub, hub_env):
    case = full_case(hub)
    liaison = auth(hub.key(MIDDELBURG, "police_liaison"))
    requests.get(hub.url("police_liaison", f"/api/v1/referrals/{case['referral_id']}/details"), headers=liaison,
                 timeout=10).raise_for_status()
    requests.get(hub.url("intake", f"/api/v1/incidents/{case['case_id']}"), headers=auth(hub.key(MIDDELBURG, "staff")),
                 timeout=10).raise_for_status()
    entries = query(hub.case_store(MIDDELBURG), "SELECT actor, action, subject, reason FROM hub.audit_log "
                                                "WHERE case_id = %s ORDER BY id", (case["case_id"],))
    done = {(e["action"], e["subject"]) for e in entries}
    assert ("create", "incident") in done                                  # the report itself
    assert ("read", "incident (description, identifiers) for triage") in done  # the service's own read
    assert ("create", "aftercare contact (health data)") in done           # a change of health data
    assert any(a == "update" and s.startswith("police referral (") for a, s in done)  # the police's change
    assert ("read", "incident details (police referral)") in done
    assert ("read", "incident") in done
    assert all(e["actor"] for e in entries)

    shown = cli(hub_env, "audit", MIDDELBURG, "--case", str(case["case_id"]))
    assert shown.returncode == 0, shown.stderr
    assert "update police referral" in shown.stdout and "read incident details" in shown.stdout
    assert CANARIES["police_reason"] not in shown.stdout  # the log says what was touched, not its content


# ------------------------------------------------------------------------- erasure and retention

def statistics_caught_up(hub, code, case_id) -> bool:
    """Every event of the case that statistics listens to has been handled by statistics."""
    from services.statistics.service import StatisticsService

    heard = [name[3:] for name in dir(StatisticsService) if name.startswith("on_")]
    sent = {r["event_id"] for r in query(hub.case_store(code), "SELECT event_id FROM hub.outbox WHERE "
                                         "envelope->>'case_id' = %s AND event_type = ANY(%s)", (str(case_id), heard))}
    handled = {r["event_id"] for r in query(hub.region.statistics_dsn, "SELECT event_id FROM hub.inbox "
                                            "WHERE event_id = ANY(%s::uuid[])", ([str(e) for e in sent],))}
    return bool(sent) and sent == handled


def summary(hub, key):
    response = requests.get(hub.url("statistics", "/api/v1/statistics/summary"), headers=auth(key), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_erasure_of_one_case_keeps_the_statistics(hub, hub_env):
    case = full_case(hub)
    case_id = case["case_id"]
    staff = hub.key(MIDDELBURG, "staff")
    wait_for(lambda: (f := hub.facts(MIDDELBURG, case_id)) and f["referral_rejected"] and f["aftercare_contacts"],
             what="the case in the statistics")
    wait_for(lambda: statistics_caught_up(hub, MIDDELBURG, case_id), what="statistics caught up")
    before, facts_before = summary(hub, staff), hub.facts(MIDDELBURG, case_id)
    # a repeat check of the case parked in triage.dlq: a replay after the erasure must find nothing to settle
    query(hub.case_store(MIDDELBURG), "INSERT INTO triage.repeat_checks (event_id, case_id, linked, priority) "
                                      "VALUES (%s, %s, 1, 0)", (str(uuid.uuid4()), case_id))

    erased = cli(hub_env, "erase", MIDDELBURG, "--case", str(case_id),
                      "--reason", "verzoek betrokkene art. 17 AVG")
    assert erased.returncode == 0, erased.stderr
    assert "erased" in erased.stdout

    assert summary(hub, staff) == before and hub.facts(MIDDELBURG, case_id) == facts_before
    assert plaintext_hits(hub.case_store(MIDDELBURG), CANARIES.values()) == []
    view = requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}"), headers=auth(hub.key(MIDDELBURG, "staff")),
                        timeout=10).json()
    assert view["erased"] is True and view["erased_at"] and view["description"] is None
    assert view["reporter"] is None and view["perpetrators"] is None and view["status"]
    assert view["categories"] == ["bedreiging", "fysiek_geweld"] and view["occurred_at"]  # codes and dates stay
    rows = query(hub.case_store(MIDDELBURG), "SELECT (SELECT count(*) FROM intake.evidence WHERE case_id = %s) AS e, "
                 "(SELECT count(*) FROM triage.identity_keys WHERE case_id = %s) AS k, "
                 "(SELECT count(*) FROM triage.repeat_checks WHERE case_id = %s) AS r, "
                 "(SELECT count(*) FROM aftercare.contacts WHERE plan_id = %s AND health IS NOT NULL) AS h",
                 (case_id, case_id, case_id, case["plan_id"]))[0]
    assert rows == {"e": 0, "k": 0, "r": 0, "h": 0}
    details = requests.get(hub.url("police_liaison", f"/api/v1/referrals/{case['referral_id']}/details"),
                           headers=auth(hub.key(MIDDELBURG, "police_liaison")), timeout=10).json()
    assert details["erased"] is True and details["description"] is None
    audit = cli(hub_env, "audit", MIDDELBURG, "--case", str(case_id)).stdout
    assert "erase personal data of the case (verzoek betrokkene art. 17 AVG)" in audit

    again = cli(hub_env, "erase", MIDDELBURG, "--case", str(case_id), "--reason", "nogmaals")
    assert again.returncode == 0 and "already erased" in again.stdout
    unknown = cli(hub_env, "erase", MIDDELBURG, "--case", str(uuid.uuid4()), "--reason", "x")
    assert unknown.returncode == 2 and "has no case" in unknown.stderr


def test_retention_erases_closed_cases_past_their_period_only(hub, hub_env):
    """A case closes when its work is done (docs/security.md#retention-and-erasure-avg); the
    period runs from the last step that closed it. Open cases stay, however old."""
    code = "GM0715"
    key = hub.key(code)
    old, recent, open_case = (uuid.UUID(hub.report(key, incident_body(description=f"Retentie {n}.")).json()["case_id"])
                              for n in range(3))
    for case_id in (old, recent):
        hub.finish_case(code, case_id)
    for case_id in (old, recent, open_case):
        wait_for(lambda: statistics_caught_up(hub, code, case_id) and hub.facts(code, case_id)["aftercare_planned"],
                 what="statistics caught up")
    # the old case's steps, and the open case itself, lie more than five years back
    long_ago = datetime.now(timezone.utc) - timedelta(days=5 * 366 + 1)
    store = hub.case_store(code)
    query(store, "UPDATE triage.results SET decided_at = %s WHERE case_id = %s", (long_ago, old))
    query(store, "UPDATE police_liaison.referrals SET updated_at = %s WHERE case_id = %s", (long_ago, old))
    query(store, "UPDATE aftercare.care_plans SET closed_at = %s WHERE case_id = %s", (long_ago, old))
    query(store, "UPDATE intake.incidents SET received_at = %s WHERE case_id = %s", (long_ago, open_case))
    before = summary(hub, hub.key(code, "staff"))

    run = cli(hub_env, "retention", "run", code)
    assert run.returncode == 0, run.stderr
    assert f"{code}: erased the personal data of 1 case(s) closed more than 5 year(s) ago" in run.stdout

    assert incident(hub.settings, code, old)["erased"] is True
    assert incident(hub.settings, code, recent)["description"] == "Retentie 1."
    assert incident(hub.settings, code, open_case)["description"] == "Retentie 2."
    assert summary(hub, hub.key(code, "staff")) == before
    audit = cli(hub_env, "audit", code, "--case", str(old)).stdout
    assert "erase personal data of the case (retention: 5 years after closure)" in audit
    # a second run finds nothing more to do
    assert "erased the personal data of 0 case(s)" in cli(hub_env, "retention", "run", code).stdout


def test_the_commands_refuse_bad_input_with_one_line(hub_env):
    without_key = {**hub_env, "MELDPUNT_MASTER_KEY": "", "MELDPUNT_MASTER_KEY_FILE": ""}
    for env, args, expected in (
            (without_key, ("keys", "rotate", MIDDELBURG), "needs the master key"),
            (hub_env, ("keys", "rotate", "GM9999"), "is not a municipality"),
            (hub_env, ("erase", MIDDELBURG, "--case", "not-a-case", "--reason", "x"), "--case must be a case id"),
            (hub_env, ("erase", MIDDELBURG, "--case", str(uuid.uuid4()), "--reason", " "), "--reason must not be"),
            (hub_env, ("erase", MIDDELBURG, "--case", str(uuid.uuid4())), "--reason"),
            (hub_env, ("retention", "run", "GM9999"), "is not a municipality")):
        result = cli(env, *args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and expected in lines[0], (args, result.stderr)
