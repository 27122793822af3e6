"""A coordinator's day in a real browser (Debian's chromium driven by Playwright from its own process,
tests/e2e/workbench_driver.py), keyboard only, through the real OpenID provider and the real services:
sign in, find the new acute case on top, read the reporter's addition and download its evidence,
confirm triage, assign the case, see the referral's ELA checklist, close a care moment, sign out. On
the way axe-core checks every workbench page (and the public form) for WCAG 2.1 A/AA violations:
none allowed. Then an aftercare worker sees whom to call, another municipality's coordinator gets 404,
a police liaison sees their unit's referrals, the regional coordinator the region."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support import incident_body, query, wait_for

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path(__file__).with_name("workbench_driver.py")
AXE = Path(__file__).resolve().parents[2] / "tools" / "node" / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists() or not AXE.exists(),
                                reason="run `make browser` and `make node-tools` first (chromium, axe-core)")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.timeout(300)  # five people sign in and axe reads 20 pages in chromium: ~75 s, more on a busy machine
def test_a_coordinators_day_by_keyboard_with_no_accessibility_violations(workbench_hub):
    hub, code = workbench_hub, "GM0687"
    key = hub.key(code)
    answer = hub.report(key, incident_body(direct_danger=True, description="Hij dreigde met een mes aan de balie.",
                                           reporter={"name": "Ans Pieters", "phone": "0611122233"}))
    case = answer.json()
    case_id = case["case_id"]
    assert requests.post(hub.url("intake", f"/api/v1/incidents/{case_id}/evidence"), data=PNG, timeout=10,
                         headers={"Authorization": f"Bearer {key}", "X-Filename": "foto.png"}).status_code == 201
    session = requests.Session()
    form = session.get(hub.url("intake", f"/meld/{code}/volg"), timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    assert session.post(hub.url("intake", f"/meld/{code}/volg"), timeout=10, data={
        "csrf_token": token, "receipt_code": case["receipt_code"], "secret": case["secret"], "action": "add",
        "addition": "Vanochtend stond hij er weer."}).status_code == 200
    store = hub.case_store(code)
    for table in ("triage.results", "police_liaison.referrals", "aftercare.care_plans"):
        wait_for(lambda t=table: query(store, f"SELECT 1 FROM {t} WHERE case_id = %s", (case_id,)), what=table)

    result = subprocess.run([sys.executable, str(DRIVER), hub.workbench, hub.url("intake", ""), case_id],
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    # on top: the acute cases (other tests' acute cases may share the region's databases), ours among them
    assert seen["landed"].endswith("/zaken") and seen["case_position"] is not None
    assert set(seen["urgencies_above"]) == {"Acuut"}
    assert seen["summary_focused"] == "summary" and seen["case_summary_focused"] == "summary"
    assert seen["addition"].endswith("Vanochtend stond hij er weer.")
    assert seen["download_name"].endswith(".png") and seen["download_bytes"] == PNG[:8].hex()
    assert seen["triage_status"] == "Bevestigd" and "Cora de Wit" in seen["assigned"]
    assert seen["ela"].startswith("ELA-checklist")  # with the version of the region's checklist, e.g. (ela-2026-12)
    assert seen["care_notice"] == "Het contactmoment is vastgelegd." and "Nog niet" not in seen["moments_done"]
    assert seen["signed_out"] == "U bent afgemeld"
    assert "Ans Pieters" in seen["worklist_text"] and "0611122233" in seen["worklist_text"]
    assert seen["other_municipality_status"] == 404
    assert seen["liaison_rows"] >= 1
    assert len(seen["checked"]) >= 18
    # the public form's privacy and accessibility statements, Dutch and English, under axe too (issue 21, item 15)
    assert {"privacy_statement", "accessibility_statement", "privacy_statement_en",
            "accessibility_statement_en"} <= set(seen["axe"])
    assert [link.split("?")[0] for link in seen["statement_links"]] == ["/meld/privacy", "/meld/toegankelijkheid"]
    violations = {page: found for page, found in seen["axe"].items() if found}
    assert violations == {}, json.dumps(violations, indent=1)[:4000]
