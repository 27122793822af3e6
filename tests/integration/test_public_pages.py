"""The public form's statements and small things (issue 21, item 15), from a running intake: every page links
the privacy statement (AVG art. 13) and the accessibility statement and has a meta description; both
statements answer in Dutch and English with what the law asks; /favicon.ico and /robots.txt are served
(before: 404 problem+json)."""
from __future__ import annotations

import re

import pytest
import requests

from tests.support import Hub


@pytest.fixture
def intake(settings, start_services):
    start_services("intake")
    return Hub(settings)


def test_every_page_links_both_statements_and_has_a_meta_description(intake):
    code = intake.region.codes[0]
    for path in ("/meld", f"/meld/{code}", f"/meld/{code}/volg", "/meld/GM9999", "/meld/privacy",
                 "/meld/toegankelijkheid", "/meld?lang=en"):
        page = requests.get(intake.url("intake", path), timeout=10)
        assert page.headers["Content-Type"].startswith("text/html"), path
        html = page.text
        assert re.search(r'<meta name="description" content="[^"]{50,}">', html), path
        assert 'href="/meld/privacy' in html and 'href="/meld/toegankelijkheid' in html, path
    english = requests.get(intake.url("intake", "/meld?lang=en"), timeout=10).text
    assert 'href="/meld/privacy?lang=en"' in english and "Privacy statement" in english


def test_the_privacy_statement_says_who_why_how_long_what_rights_and_whom_to_ask(intake):
    page = requests.get(intake.url("intake", "/meld/privacy"), timeout=10)
    assert page.status_code == 200
    html = page.text
    for m in intake.region.municipalities:
        assert m.name in html
        assert f"{m.name}: {m.retention_years} jaar na afsluiting" in html
    for words in ("verwerkingsverantwoordelijke", "AVG art. 6", "Autoriteit Persoonsgegevens",
                  "Functionaris gegevensbescherming", "in te zien"):
        assert words in html, words
    english = requests.get(intake.url("intake", "/meld/privacy?lang=en"), timeout=10).text
    assert "Who processes your data" in english and "Data protection officer (FG)" in english


def test_the_accessibility_statement_names_the_standard_the_status_and_a_contact(intake):
    html = requests.get(intake.url("intake", "/meld/toegankelijkheid"), timeout=10).text
    for words in ("Besluit digitale toegankelijkheid overheid", "WCAG 2.1", "Voldoet gedeeltelijk",
                  "Een probleem gevonden?", "opgesteld op 2026-12-06"):
        assert words in html, words


def test_favicon_and_robots_are_served(intake):
    icon = requests.get(intake.url("intake", "/favicon.ico"), timeout=10)
    assert icon.status_code == 200 and icon.headers["Content-Type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00" and b"PNG" in icon.content[:40]
    robots = requests.get(intake.url("intake", "/robots.txt"), timeout=10)
    assert robots.status_code == 200 and robots.headers["Content-Type"].startswith("text/plain")
    assert "Disallow: /meld/*/volg" in robots.text.splitlines()
