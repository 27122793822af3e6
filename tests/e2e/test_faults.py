"""Faults under load, on the hub as operators run it: a service killed with SIGKILL in the
middle of work, then started again. Every accepted incident must come out exactly once."""
import os
import signal
import threading
import time
import uuid

import requests

from tests.support import Hub, incident_body, meldpunt, query, wait_for


def test_kill_9_of_each_service_loses_and_doubles_nothing(hub_env, settings, tmp_path):
    env = {**hub_env, "MELDPUNT_VAR_DIR": str(tmp_path)}
    assert meldpunt(env, "declare").returncode == 0
    up = meldpunt(env, "run", "--detach", timeout=90)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        check_faults(env, settings, tmp_path)
    finally:
        meldpunt(env, "stop", timeout=90)


def check_faults(env, settings, tmp_path):
    hub = Hub(settings)
    keys = {code: hub.key(code) for code in settings.region.codes}
    accepted, stop = [], threading.Event()

    def load():
        n = 0
        while not stop.is_set():
            code = settings.region.codes[n % len(keys)]
            try:
                response = hub.report(keys[code], incident_body())
            except requests.ConnectionError:  # intake is being restarted; the client tries again
                time.sleep(0.1)
                continue
            if response.status_code == 201:
                accepted.append((code, uuid.UUID(response.json()["case_id"])))
            n += 1
            time.sleep(0.01)

    driver = threading.Thread(target=load)
    driver.start()
    try:
        for service in ("intake", "triage", "police_liaison", "aftercare", "statistics"):
            time.sleep(1.0)
            pid = int((tmp_path / "run" / f"{service}.pid").read_text())
            os.kill(pid, signal.SIGKILL)
            print(f"killed {service} (pid {pid}) with SIGKILL while incidents kept coming in")
            time.sleep(0.5)
            again = meldpunt(env, "run", "--detach", timeout=90)  # starts what is not running
            assert again.returncode == 0, again.stdout + again.stderr
        time.sleep(1.0)
    finally:
        stop.set()
        driver.join()
    assert len(accepted) > 50
    for code, case_id in accepted:
        wait_for(lambda: (f := hub.facts(code, case_id)) and f["referred"] and f["aftercare_planned"],
                 timeout=60, what=f"case {case_id} of {code} to complete after the kills")
    for code in settings.region.codes:
        cases = [str(c) for m, c in accepted if m == code]
        dsn = hub.case_store(code)
        for table in ("intake.incidents", "triage.results", "police_liaison.referrals", "aftercare.care_plans"):
            rows = query(dsn, f"SELECT case_id::text, count(*) AS n FROM {table} "
                              "WHERE case_id::text = ANY(%s) GROUP BY case_id", (cases,))
            assert len(rows) == len(cases) and all(r["n"] == 1 for r in rows), table
        events = query(dsn, "SELECT event_type, count(*) AS n FROM hub.outbox WHERE envelope->>'case_id' = ANY(%s) "
                            "GROUP BY event_type", (cases,))
        counts = {r["event_type"]: r["n"] for r in events}
        for event_type in ("incident_reported", "incident_triaged", "referral_created", "aftercare_planned"):
            assert counts[event_type] == len(cases), event_type
        assert counts.get("aftercare_contact_due", 0) <= len(cases)  # at most one first-contact reminder each
    counted = query(settings.region.statistics_dsn, "SELECT count(*) AS n FROM statistics.incident_facts "
                                                    "WHERE referred AND aftercare_planned")[0]["n"]
    assert counted >= len(accepted)
    print(f"verified: {len(accepted)} accepted incidents, each with one case, one triage result, one referral, "
          "one care plan and one statistics row")
