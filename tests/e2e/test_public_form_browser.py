"""The public form in a real headless browser (Debian's chromium driven by Playwright): keyboard only, no
JavaScript on the page, fill in, submit, see the receipt, follow up with it; the 112 notice on every
page and "Is er nu direct gevaar?" answered yes.

The browser is driven from a separate process (browser_driver.py): this test process is
eventlet-monkey-patched for nameko, and Playwright's driver hangs under that.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import Hub, query

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path(__file__).with_name("browser_driver.py")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="run `make browser` first (Debian's chromium)")


@pytest.fixture
def intake(settings, start_services):
    start_services("intake")
    return Hub(settings)


def browse(intake, scenario, code) -> dict:
    result = subprocess.run([sys.executable, str(DRIVER), scenario, intake.url("intake", ""), code,
                             intake.region.municipality(code).name],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_fill_in_submit_receipt_and_follow_up(intake):
    code = intake.region.codes[0]
    seen = browse(intake, "submit_and_follow_up", code)
    assert seen["lang"] == "nl"
    assert re.fullmatch(r"MP-[A-Z2-9]{5}-[A-Z2-9]{5}", seen["receipt"])
    row = query(intake.case_store(code), "SELECT reporter, channel FROM intake.incidents WHERE receipt_code = %s",
                (seen["receipt"],))[0]
    assert row["reporter"] is None and row["channel"] == "formulier"
    assert seen["status"] == "ontvangen" and "toegevoegd" in seen["notice"]
    assert query(intake.case_store(code), "SELECT count(*) AS n FROM intake.additions a JOIN intake.incidents i "
                 "USING (case_id) WHERE i.receipt_code = %s", (seen["receipt"],))[0]["n"] == 1


def test_errors_are_tied_to_their_fields_and_keep_the_input_in_english(intake):
    seen = browse(intake, "errors_in_english", intake.region.codes[0])
    assert seen["lang"] == "en"
    assert seen["description_invalid"] == "true" and seen["description_error"] == "Please fill in this field."
    assert "err-reporter_email" in seen["email_describedby"]
    assert seen["email_value"] == "not-an-address" and seen["name_value"] == "Sanne Jansen"
    # The summary links to the fields, so a keyboard user can jump to each.
    assert seen["summary_links"] == 1


def test_direct_danger_shows_bel_112_without_javascript(intake):
    code = intake.region.codes[0]
    seen = browse(intake, "direct_danger", code)
    # a notice on every page of the form, JavaScript off
    assert seen["notice_112"] == {"picker": True, "form": True, "receipt": True, "follow": True}
    assert "Bel 112" in seen["notice_text"]
    # the call shows only while "Ja" is chosen, by CSS alone
    assert (seen["call_before"], seen["call_after_yes"], seen["call_after_no"]) == (False, True, False)
    assert seen["call_text"] == "Bel nu 112."
    assert seen["call_on_receipt"] is True
    store = intake.case_store(code)
    row = query(store, "SELECT case_id, direct_danger FROM intake.incidents WHERE receipt_code = %s",
                (seen["receipt"],))[0]
    assert row["direct_danger"] is True
    # intake's acute check: the report goes out at the acute priority from the first hop
    [event] = query(store, "SELECT priority, envelope FROM hub.outbox WHERE event_type = 'incident_reported' "
                           "AND envelope->>'case_id' = %s", (str(row["case_id"]),))
    assert event["priority"] == 9 and event["envelope"]["payload"]["direct_danger"] is True
