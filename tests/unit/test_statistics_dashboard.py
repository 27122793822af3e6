"""services/statistics/dashboard.py: the page as a plain function of the figures (templates and the
nl/en catalogues), the quick links from an injected today, the favicon."""
from __future__ import annotations

import re
import struct
from datetime import date
from html import unescape

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services.statistics import dashboard, figures
from services.statistics.figures import REGION, parse_period
from tests.unit.test_statistics_figures import CODES, SPEC, months_of, rows

NAMES = dict(zip(CODES, ["Middelburg", "Vlissingen", "Borsele", "Veere"]))
MARCH = parse_period("2026-03")


def page(viewer=None, scope=REGION, lang="nl", today=date(2026, 12, 6), period=MARCH, spec=SPEC):
    result = figures.figures(figures.Counts(rows(spec)), figures.Counts(), CODES, viewer, scope, 5, period,
                             months_of(spec))
    result = {"period": period.as_dict(), "previous_period": period.previous().as_dict(), **result}
    return result, dashboard.render_dashboard(result, period, region_name="Veiligheidsregio Zeeland",
                                              municipalities=NAMES, signed_in_as="GM0687 (analyst)", today=today,
                                              lang=lang)


def text_of(html):
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_the_page_prints_hidden_as_x_with_its_footnote_and_never_a_bound():
    _, html = page()
    text = text_of(html)

    assert "<5" not in text and "&lt;5" not in html
    assert 'id="hidden-notice"' in html and "x = verborgen" in " ".join(text.split())
    assert "Incidenten per gemeente" in text and "Veiligheidsregio Zeeland" in text


def test_the_page_says_why_the_regions_count_of_a_single_holder_is_hidden():
    spec = {**SPEC, "GM0715": {**SPEC["GM0715"], "target_role": {"ambtenaar": 2, "burgemeester": 1}}}
    text = " ".join(text_of(page(spec=spec)[1]).split())

    assert "burgemeester x" in text and "één burgemeester" in text


def test_every_number_of_the_figures_is_on_the_page_as_the_json_says():
    result, html = page("GM0718", REGION)
    text = text_of(html)
    police = result["tables"]["police"]
    assert f"Incidenten {police['total']}" in " ".join(text.split())
    for row in police["rows"]:
        shown = dashboard.fmt(row["total"])
        assert re.search(rf"{NAMES[row['municipality']]}\s+{re.escape(shown)}\b", text), row


def test_the_page_in_english():
    _, html = page(lang="en")

    assert '<html lang="en">' in html and "Incidents by municipality" in html and "x = hidden" in " ".join(
        text_of(html).split())


def test_meta_description_and_favicon_link():
    _, html = page()
    assert re.search(r'<meta name="description" content="[^"]{40,}">', html)
    assert '<link rel="icon" href="/favicon.ico">' in html


@pytest.mark.parametrize("today, week, month, quarter, year", [
    (date(2026, 12, 6), "2026-W49", "2026-12", "2026-Q4", "2026"),   # the day of issue 28
    (date(2026, 12, 31), "2026-W53", "2026-12", "2026-Q4", "2026"),  # 2026 has 53 ISO weeks
    (date(2027, 1, 1), "2026-W53", "2027-01", "2027-Q1", "2027"),    # New Year's Day in 2026-W53
    (date(2027, 1, 4), "2027-W01", "2027-01", "2027-Q1", "2027"),
    (date(2025, 12, 29), "2026-W01", "2025-12", "2025-Q4", "2025"),  # ISO 2026 starts in December
])
def test_quick_links_come_from_today_whatever_period_is_shown(today, week, month, quarter, year):
    for shown in (MARCH, parse_period("2026-W53"), parse_period("2024")):
        _, html = page(today=today, period=shown)
        links = dict(re.findall(r'<a href="/dashboard\?period=([^&]+)&amp;[^"]*">([^<(]+) \(', html)[:4])
        assert links == {week: "deze week", month: "deze maand", quarter: "dit kwartaal", year: "dit jaar"}
        assert f"period={shown.previous().label}&amp;" in html


def test_without_a_header_the_page_sends_a_person_to_the_workbench():
    html = dashboard.render_login("nl", "sleutel onbekend")
    assert "werkplek" in html and "sleutel onbekend" in html and "<form" not in html and "<script" not in html


def test_favicon_is_an_ico_holding_a_png():
    icon = dashboard.favicon()
    reserved, kind, count = struct.unpack("<HHH", icon[:6])
    assert (reserved, kind, count) == (0, 1, 1)
    offset = struct.unpack("<I", icon[18:22])[0]
    assert icon[offset:offset + 8] == b"\x89PNG\r\n\x1a\n"


def test_both_catalogues_hold_every_text_of_the_templates_and_code():
    method_map = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("dashboard.py", "python")]
    found = {m[0] if isinstance(m, tuple) else m for _, _, m, _, _ in extract_from_dir(
        "services/statistics", method_map, keywords={"_": None, "N_": None},
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}})}
    for lang in dashboard.LANGUAGES:
        with open(f"services/statistics/locale/{lang}/LC_MESSAGES/messages.po", "rb") as po:
            catalog = read_po(po)
        ids = {m.id for m in catalog if m.id}
        assert found == ids, (lang, found ^ ids)
        assert all(m.string for m in catalog if m.id), lang
