"""The statistics dashboard in a real headless browser (Debian's chromium driven by Playwright, in its
own process as for the public form): enter a key, see the charts as inline SVG, take a screenshot
and read what it shows (hidden as x with its footnote, never a bound; quick links of today),
filter on a municipality and a year."""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from services.statistics.domain import day
from services.statistics.figures import period_containing
from shared.clock import Clock
from tests.support import incident_body, wait_for

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path(__file__).with_name("browser_driver.py")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="run `make browser` first (Debian's chromium)")


def test_dashboard_shows_its_charts(hub, tmp_path):
    code = hub.region.codes[0]
    for n in range(3):
        body = incident_body(perpetrators=[{"name": f"Dashboard Pleger{n}", "birth_date": "1970-01-01"}])
        case_id = uuid.UUID(hub.report(hub.key(code), body).json()["case_id"])
        wait_for(lambda: (f := hub.facts(code, case_id)) and f["triaged_on"], what="triaged")
    screenshot = Path(os.environ.get("MELDPUNT_SCREENSHOT_DIR", tmp_path)) / "dashboard.png"

    result = subprocess.run([sys.executable, str(DRIVER), "statistics_dashboard", hub.url("statistics", ""),
                             hub.key(code, "coordinator"), str(screenshot), code],
                            capture_output=True, text=True, timeout=100)

    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["charts"] == 12  # incidents per municipality + the eleven tables
    assert seen["bars"] >= 4 and seen["first_chart_size"][0] > 600
    assert {"Incidenten per gemeente", "Incidenten per categorie", "Nazorg: eerste contact"} <= set(seen["headings"])
    assert seen["tiles"] and "Veiligheidsregio" in seen["title"]
    assert seen["filtered_charts"] == 11 and code in seen["filtered_title"]
    assert "period=2026" in seen["filtered_url"] and f"municipality={code}" in seen["filtered_url"]
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000

    # read the page as the screenshot shows it: a hidden number is x, explained, never a bound
    for text in (seen["text"], seen["filtered_text"], " ".join(seen["chart_texts"])):
        assert "<" not in text
    assert "x = verborgen" in " ".join(seen["text"].split())
    today = day(Clock().now())
    expected = [f"{text} ({period_containing(kind, today).label})" for kind, text in
                (("week", "deze week"), ("month", "deze maand"), ("quarter", "dit kwartaal"), ("year", "dit jaar"))]
    assert seen["quick_links"][:4] == expected
    assert len(seen["description"]) > 40 and seen["icon_href"] == "/favicon.ico" and seen["favicon"] == 200
