"""Triage through the real broker and case stores: staff override, re-triage, overdue once,
repeat perpetrators across municipalities without personal data crossing."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import requests
from nameko.testing.services import entrypoint_hook

from shared.clock import FixedClock
from shared.events import dump_event, new_event
from services.intake import store
from tests.support import case_store_uow, free_port, incident_body, publish_raw, query, wait_for


def triage_row(hub, code, case_id):
    rows = query(hub.case_store(code), "SELECT * FROM triage.results WHERE case_id = %s", (case_id,))
    return rows[0] if rows else None


def outbox(hub, code, event_type, case_id=None):
    sql = "SELECT envelope FROM hub.outbox WHERE event_type = %s"
    params = [event_type]
    if case_id:
        sql += " AND envelope->>'case_id' = %s"
        params.append(str(case_id))
    return [r["envelope"] for r in query(hub.case_store(code), sql + " ORDER BY id", params)]


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def report_and_triage(hub, code, body=None):
    case_id = uuid.UUID(hub.report(hub.key(code), body or incident_body()).json()["case_id"])
    wait_for(lambda: triage_row(hub, code, case_id), what="triage")
    return case_id


def test_staff_see_the_queue_and_override_with_a_reason(hub):
    code = hub.region.codes[1]
    body = incident_body(consent={"contact": True, "police_referral": False, "inform_manager": False,
                                  "employer_reports": False})
    case_id = report_and_triage(hub, code, body)
    staff = hub.key(code, "staff")

    assert requests.get(hub.url("triage", "/api/v1/triage/queue"), headers=auth(hub.key(code)),
                        timeout=5).status_code == 403
    queue = requests.get(hub.url("triage", "/api/v1/triage/queue"), headers=auth(staff), timeout=5).json()
    item = next(i for i in queue["items"] if i["case_id"] == str(case_id))
    assert item["urgency"] == "hoog" and item["rules_version"] == "vr19-2026.16" and item["reasons"]
    assert queue["total"] >= 1 and (queue["limit"], queue["offset"]) == (200, 0)
    first = requests.get(hub.url("triage", "/api/v1/triage/queue"), params={"limit": 1}, headers=auth(staff),
                         timeout=5).json()
    assert len(first["items"]) == 1 and first["total"] == queue["total"]
    beyond = requests.get(hub.url("triage", "/api/v1/triage/queue"), params={"offset": queue["total"]},
                          headers=auth(staff), timeout=5).json()
    assert beyond["items"] == [] and beyond["total"] == queue["total"]
    wrong = requests.get(hub.url("triage", "/api/v1/triage/queue"), params={"limit": 0}, headers=auth(staff), timeout=5)
    assert wrong.status_code == 422 and wrong.json()["invalid-params"][0]["name"] == "limit"

    url = hub.url("triage", f"/api/v1/triage/{case_id}/override")
    refused = requests.post(url, headers=auth(staff), timeout=5, json={
        "categories": ["bedreiging"], "urgency": "acuut", "decisions": ["police_referral"], "reason": "ernstig"})
    assert refused.status_code == 422 and refused.json()["invalid-params"][0]["name"] == "decisions"
    missing_reason = requests.post(url, headers=auth(staff), timeout=5, json={
        "categories": ["bedreiging"], "urgency": "acuut", "decisions": []})
    assert missing_reason.status_code == 422

    done = requests.post(url, headers=auth(staff), timeout=5, json={
        "categories": ["bedreiging", "intimidatie"], "urgency": "acuut", "decisions": ["aftercare", "safety_advice"],
        "reason": "Dader kent het huisadres; melder belde opnieuw."})
    assert done.status_code == 200, done.text

    row = triage_row(hub, code, case_id)
    assert (row["status"], row["urgency"], row["decisions"]) == ("overschreven", "acuut", ["aftercare", "safety_advice"])
    audit = query(hub.case_store(code), "SELECT * FROM hub.audit_log WHERE case_id = %s AND action = 'override'",
                  (case_id,))
    # issue 21, item 5: the audit keeps the codes; the staff's words are in the result, under the case's key
    assert len(audit) == 1 and "huisadres" not in audit[0]["reason"] and "was hoog" in audit[0]["reason"]
    view = requests.get(hub.url("triage", f"/api/v1/triage/{case_id}"), headers=auth(staff), timeout=5).json()
    assert view["reasons"][-1] == "Aangepast door medewerker: Dader kent het huisadres; melder belde opnieuw."
    assert row["reasons"] is None and row["personal"] is not None
    [event] = outbox(hub, code, "triage_overridden", case_id)
    assert event["payload"]["previous_urgency"] == "hoog" and event["payload"]["urgency"] == "acuut"
    assert "huisadres" not in str(event)
    queue = requests.get(hub.url("triage", "/api/v1/triage/queue"), headers=auth(staff), timeout=5).json()
    assert str(case_id) not in [i["case_id"] for i in queue["items"]]


def test_incident_updated_retriages(hub):
    code = hub.region.codes[2]
    case_id = report_and_triage(hub, code, incident_body(categories=[], description="Vervelend gesprek."))
    assert triage_row(hub, code, case_id)["urgency"] == "laag"  # unpleasant, no crime
    # intake changes the case (its own issue), then tells triage with incident_updated
    with case_store_uow(hub.settings, code) as uow:
        store.update_personal(uow, case_id, {"description": "Hij zei: ik weet waar je woont."})
        uow.execute("UPDATE intake.incidents SET location_type = 'woning' WHERE case_id = %s", (case_id,)).close()
    event = new_event("incident_updated", code, case_id, {
        "channel": "api", "occurred_at": datetime(2026, 11, 20, 13, 5, tzinfo=timezone.utc),
        "location_type": "woning", "target_role": "ambtenaar", "reported_categories": [], "anonymous": False,
        "perpetrator_count": 1, "consent": {"contact": True, "police_referral": True, "inform_manager": False,
                                            "employer_reports": False}})
    publish_raw(hub.settings.amqp_uri, "intake.events", "incident_updated", dump_event(event))

    row = wait_for(lambda: (r := triage_row(hub, code, case_id)) and r["urgency"] == "acuut" and r, what="re-triage")
    # the rules find the threat; the second opinion may add intimidatie beside it (docs/triage.md)
    assert "bedreiging" in row["categories"] and "safety_advice" in row["decisions"]
    assert row["status"] == "voorstel"
    assert row["due_at"] - row["received_at"] == timedelta(hours=1)  # the acute deadline now applies
    triaged = wait_for(lambda: len(e := outbox(hub, code, "incident_triaged", case_id)) == 2 and e, what="2nd event")
    assert [e["payload"]["urgency"] for e in triaged] == ["laag", "acuut"]


def test_overdue_is_reported_exactly_once_by_two_triage_instances(settings, start_services):
    clock = FixedClock(datetime.now(timezone.utc))
    first = start_services("triage", "intake", clock=clock)
    other_ports = {**settings.ports, "triage": free_port()}
    second = start_services("triage", settings=dataclasses.replace(settings, ports=other_ports), clock=clock)
    from tests.support import Hub
    hub = Hub(settings)
    code = hub.region.codes[0]
    cases = [report_and_triage(hub, code) for _ in range(3)]

    clock.advance(days=5)  # past one working day, whatever day this runs on
    scans = [eventlet.spawn(_scan, c) for c in (first["triage"], second["triage"], first["triage"])]
    [s.wait() for s in scans]

    for case_id in cases:
        assert len(outbox(hub, code, "triage_overdue", case_id)) == 1
        assert triage_row(hub, code, case_id)["overdue_reported_at"] is not None
    _scan(second["triage"])
    assert all(len(outbox(hub, code, "triage_overdue", c)) == 1 for c in cases)
    metrics = requests.get(hub.url("triage", "/metrics"), timeout=5).text
    assert f'meldpunt_triage_overdue_total{{municipality="{code}",urgency="hoog"}}' in metrics


def _scan(container):
    with entrypoint_hook(container, "scan_overdue") as scan:
        scan()


def _all_text(dsn) -> str:
    tables = query(dsn, "SELECT table_schema, table_name FROM information_schema.tables "
                        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'")
    return " ".join(r["t"] for t in tables
                    for r in query(dsn, f'SELECT t::text AS t FROM "{t["table_schema"]}"."{t["table_name"]}" t'))


def test_repeat_perpetrator_across_municipalities_without_sharing_personal_data(hub):
    a, b = hub.region.codes[0], hub.region.codes[1]
    run = uuid.uuid4().hex[:6]
    perpetrator = {"name": f"Dirk Verhoeven{run}", "birth_date": "1968-09-30", "online_handle": f"@zeeuw{run}"}
    in_a = report_and_triage(hub, a, incident_body(perpetrators=[perpetrator]))
    # B knows him by other spelling and by his handle only; B's reporter and story never leave B
    b_reporter = {"name": f"Femke Kloosterman{run}", "email": f"femke{run}@vlissingen.example"}
    b_body = incident_body(perpetrators=[{"name": f"VERHOEVEN{run.upper()}, dirk", "birth_date": "1968-09-30"}],
                           reporter=b_reporter, description=f"Stond bij het stadskantoor te wachten {run}.")
    first_b = report_and_triage(hub, b, b_body)
    second_b = report_and_triage(hub, b, incident_body(
        perpetrators=[{"online_handle": f"ZEEUW{run}"}, {"name": f"Dirk Verhoeven{run}", "birth_date": "1968-09-30"}],
        reporter=b_reporter, description=f"Tweede keer {run}."))

    staff = hub.key(b, "staff")

    def read_view():
        return requests.get(hub.url("triage", f"/api/v1/triage/{second_b}"), headers=auth(staff), timeout=5).json()

    # the region's answer is settled after the result itself (a second transaction)
    view = wait_for(lambda: (v := read_view())["repeats"]["other_municipalities"] and v, what="region's answer")
    assert view["repeats"]["perpetrator_cases"] == [str(first_b)]
    assert view["repeats"]["victim_cases"] == [str(first_b)]
    [elsewhere] = view["repeats"]["other_municipalities"]
    assert elsewhere["municipality"] == a and elsewhere["name"] == hub.region.municipality(a).name
    assert "Meldpunt" in elsewhere["contact"]
    assert str(in_a) not in str(view)

    # issue 21, item 14: A audited each question B's triage asked it (who asked, why, the answer; never the
    # identifier), and reading B's result again asks A nothing more
    def lookups():
        return query(hub.case_store(a), "SELECT actor, subject, reason, case_id FROM hub.audit_log "
                                        "WHERE action = 'lookup' AND subject = %s", (f"perpetrator look-up by {b}",))
    asked = lookups()
    assert "incident_reported; answered known" in {r["reason"] for r in asked}
    assert {r["reason"] for r in asked} <= {f"{e}; answered {k}" for e in ("incident_reported", "incident_updated")
                                            for k in ("known", "not known")}
    assert all(r["actor"] == "service:triage" and r["case_id"] is None for r in asked)
    for _ in range(3):
        assert read_view()["repeats"]["other_municipalities"] == view["repeats"]["other_municipalities"]
    assert len(lookups()) == len(asked)

    repeats = wait_for(lambda: outbox(hub, b, "repeat_detected", second_b), what="repeat_detected")
    assert {(e["payload"]["kind"], e["payload"]["other_municipalities"]) for e in repeats} == {
        ("perpetrator", 1), ("victim", 0)}

    # nothing of B's cases reached A's store, and no event anywhere names anyone
    text_a = _all_text(hub.case_store(a))
    for secret in (b_reporter["name"], b_reporter["email"], f"stadskantoor te wachten {run}", str(first_b),
                   str(second_b), f"VERHOEVEN{run.upper()}"):
        assert secret not in text_a
    envelopes = " ".join(str(e) for code in hub.region.codes
                         for e in [r["envelope"] for r in query(hub.case_store(code),
                                                                "SELECT envelope FROM hub.outbox")])
    for name in (f"Verhoeven{run}", f"VERHOEVEN{run.upper()}", f"zeeuw{run}", f"ZEEUW{run}", "1968-09-30",
                 f"Kloosterman{run}", f"femke{run}"):
        assert name.lower() not in envelopes.lower()
    assert "Verhoeven" not in _all_text(hub.region.statistics_dsn)

    # the region's index answered (one query, not one per store): each look-up logged without the hashes
    index = hub.region.options["triage"]["index_dsn"]
    logged = query(index, "SELECT actor, reason, hashes, found FROM triage_index.lookups WHERE asked_by = %s "
                          "ORDER BY id", (b,))
    assert logged and all(row["actor"] == "service:triage" and row["hashes"] >= 1 for row in logged)
    assert logged[-1]["found"] == [a]
    assert query(index, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'triage_index' "
                        "AND table_name = 'lookups' AND data_type = 'bytea'") == []
    assert "Verhoeven" not in _all_text(index) and str(in_a) not in _all_text(index)


def test_the_repeat_index_follows_an_erasure(hub, hub_env):
    """An erased case's perpetrator hashes leave the region's index with it (`meldpunt erase`), so the
    next report naming the perpetrator finds no repeat elsewhere."""
    from tests.support import cli

    a, b = hub.region.codes[2], hub.region.codes[3]
    index = hub.region.options["triage"]["index_dsn"]
    run = uuid.uuid4().hex[:6]
    body = incident_body(perpetrators=[{"online_handle": f"@wisbaar{run}"}])
    in_a = report_and_triage(hub, a, body)
    wait_for(lambda: not query(hub.case_store(a), "SELECT 1 FROM triage.repeat_checks WHERE case_id = %s",
                               (in_a,)), what="a's repeat check settled")
    known_in_a = query(index, "SELECT count(*) AS n FROM triage_index.perpetrator_keys WHERE municipality = %s",
                       (a,))[0]["n"]
    assert known_in_a >= 1

    erased = cli(hub_env, "erase", a, "--case", str(in_a), "--reason", "verzoek betrokkene")
    assert erased.returncode == 0, erased.stderr
    assert query(index, "SELECT count(*) AS n FROM triage_index.perpetrator_keys WHERE municipality = %s",
                 (a,))[0]["n"] == known_in_a - 1

    in_b = report_and_triage(hub, b, body)
    wait_for(lambda: not query(hub.case_store(b), "SELECT 1 FROM triage.repeat_checks WHERE case_id = %s",
                               (in_b,)), what="b's repeat check settled")
    # no perpetrator repeat: the only other case with them is erased
    assert [e for e in outbox(hub, b, "repeat_detected", in_b) if e["payload"]["kind"] == "perpetrator"] == []


def test_coordinator_confirms_and_the_result_leaves_the_queue(hub):
    code = hub.region.codes[3]
    case_id = report_and_triage(hub, code)
    coordinator = hub.key(code, "coordinator")
    url = hub.url("triage", f"/api/v1/triage/{case_id}/confirm")

    assert requests.post(url, headers=auth(hub.key(code, "police_liaison")), json={}, timeout=5).status_code == 403
    other = hub.region.codes[0]
    assert requests.post(url, headers=auth(hub.key(other, "staff")), json={}, timeout=5).status_code == 404
    response = requests.post(url, headers=auth(coordinator), json={"reason": "Klopt zo."}, timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "bevestigd"

    row = triage_row(hub, code, case_id)
    assert row["status"] == "bevestigd" and row["decided_by"].startswith("apikey:")
    # issue 21, item 5: the audit keeps the codes confirmed; the coordinator's words are in the result, sealed
    assert query(hub.case_store(code), "SELECT reason FROM hub.audit_log WHERE case_id = %s AND action = 'confirm'",
                 (case_id,)) == [{"reason": "hoog bedreiging [police_referral,aftercare]"}]
    view = requests.get(hub.url("triage", f"/api/v1/triage/{case_id}"), headers=auth(coordinator), timeout=5).json()
    assert view["reasons"][-1] == "Bevestigd door medewerker: Klopt zo."
    queue = requests.get(hub.url("triage", "/api/v1/triage/queue"), headers=auth(coordinator), timeout=5).json()
    assert str(case_id) not in [i["case_id"] for i in queue["items"]]


def test_the_decision_goes_out_while_another_municipality_cannot_answer(hub_env, region_file, tmp_path,
                                                                       declared, start_services):
    """A perpetrator is looked up in every other store only after the decision is committed: a
    store that does not answer holds back the repeat signal (retried, then parked), never the
    triage result and the referral it brings. Once the store answers, a replay settles the
    repeat exactly once."""
    import yaml

    from hub.registry import load_settings
    from shared.messaging.dlq import DeadLetters
    from tests.support import PG, Hub, cli, drop_databases

    late = f"mh_late_{uuid.uuid4().hex[:8]}"
    region = yaml.safe_load(region_file.read_text())
    del region["triage"]["index_dsn"]  # without the region's index every other store is asked
    region["municipalities"].append({"code": "GM0677", "name": "Hulst", "police_unit": "zwb-zeeuws-vlaanderen",
                                     "case_store_dsn": f"{PG}/{late}"})
    path = tmp_path / "region-with-a-store-not-there-yet.yaml"
    path.write_text(yaml.safe_dump(region))
    env = {**hub_env, "MELDPUNT_REGION": str(path)}
    start_services("intake")
    start_services("triage", settings=load_settings(env))
    hub = Hub(declared)
    a, b = "GM0718", "GM0687"
    body = incident_body(perpetrators=[{"name": f"Kees Onbereikbaar {late}", "birth_date": "1970-02-03"}],
                         reporter={"name": "Melder", "email": f"{late}@example.nl"})

    def perpetrator_repeats(code, case_id):
        return [e["payload"] for e in outbox(hub, code, "repeat_detected", case_id)
                if e["payload"]["kind"] == "perpetrator"]

    dead = DeadLetters(declared.amqp_uri)

    def parked(*case_ids) -> list:
        """This test's own dead letters: an earlier file in the same job may leave others in triage.dlq."""
        return [letter for letter in dead.list("triage") if letter.case_id in {str(c) for c in case_ids}]

    try:
        in_a = uuid.UUID(hub.report(hub.key(a), body).json()["case_id"])
        wait_for(lambda: len(parked(in_a)) == 1, what="a's repeat check parked")
        in_b = uuid.UUID(hub.report(hub.key(b), body).json()["case_id"])
        wait_for(lambda: len(parked(in_b)) == 1, what="b's repeat check parked")
        # the decisions went out; the repeat waits for the store that did not answer
        for code, case_id in ((a, in_a), (b, in_b)):
            assert len(outbox(hub, code, "incident_triaged", case_id)) == 1
            assert perpetrator_repeats(code, case_id) == []
            assert query(hub.case_store(code), "SELECT linked FROM triage.repeat_checks WHERE case_id = %s",
                         (case_id,)) == [{"linked": 0}]

        assert cli(env, "migrate").returncode == 0  # the store is there now
        for letter in parked(in_a, in_b):
            replayed = cli(env, "dlq", "replay", "triage", letter.message_id)
            assert replayed.returncode == 0, replayed.stderr

        repeat = wait_for(lambda: perpetrator_repeats(b, in_b), what="b's repeat")
        assert repeat == [{"kind": "perpetrator", "cases_in_municipality": 0, "other_municipalities": 1}]
        wait_for(lambda: perpetrator_repeats(a, in_a), what="a's repeat")
        # both replayed checks settled (the row goes in the transaction that records the repeat)
        # and nothing parked again: what is left to come would be a redelivery, which changes nothing
        wait_for(lambda: not any(query(hub.case_store(code), "SELECT 1 FROM triage.repeat_checks "
                                                              "WHERE case_id = %s", (case_id,))
                                 for code, case_id in ((a, in_a), (b, in_b))), what="both repeat checks settled")
        assert parked(in_a, in_b) == []
        for code, case_id in ((a, in_a), (b, in_b)):
            assert len(outbox(hub, code, "incident_triaged", case_id)) == 1
            assert len(perpetrator_repeats(code, case_id)) == 1
    finally:
        drop_databases([late])
