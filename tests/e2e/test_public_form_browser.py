"""The public form in a real headless browser (Debian's chromium driven by Playwright): keyboard only, no
JavaScript on the page, fill in, submit, see the receipt, follow up with it."""
import re
from pathlib import Path

import pytest

from tests.support import Hub, query

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="run `make browser` first (Debian's chromium)"),
    # NOT YET WORKING: in this process tests/conftest.py has eventlet.monkey_patch()ed everything, and
    # Playwright's sync API (asyncio + greenlet driver pipe) hangs at launch. Next step: drive the browser from
    # a subprocess without eventlet. Skipped so the suite does not hang; see the issue #3 report.
    pytest.mark.skip(reason="Playwright hangs under eventlet monkey_patch; must run in a subprocess (todo)"),
]


@pytest.fixture
def intake(settings, start_services):
    start_services("intake")
    return Hub(settings)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        # A phone-sized window, and the page's own JavaScript off: the form must work without it.
        context = browser.new_context(viewport={"width": 375, "height": 740}, java_script_enabled=False,
                                      locale="nl-NL")
        yield context.new_page()
        context.close()
        browser.close()


def test_fill_in_submit_receipt_and_follow_up(intake, page):
    code = intake.region.codes[0]
    page.goto(intake.url("intake", "/meld"))
    page.get_by_role("link", name=intake.region.municipality(code).name).click()
    assert page.locator("html").get_attribute("lang") == "nl"

    # Labels lead to the fields (what screen readers and keyboard users rely on).
    page.get_by_label("Beschrijving *").fill("Een bezoeker dreigde mij op te wachten na het werk.")
    page.get_by_label("Datum *").fill("2026-11-20")
    page.get_by_label("Soort plek").select_option("balie")
    page.get_by_label("bedreiging", exact=True).check()
    page.get_by_label("Ik meld anoniem", exact=False).check()
    # Submit with the keyboard: focus the button and press Enter.
    page.get_by_role("button", name="Melding versturen").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#received")
    receipt = page.locator("#receipt-code").inner_text()
    secret = page.locator("#receipt-secret").inner_text()
    assert re.fullmatch(r"MP-[A-Z2-9]{5}-[A-Z2-9]{5}", receipt)

    row = query(intake.case_store(code), "SELECT reporter, channel, status FROM intake.incidents "
                                         "WHERE receipt_code = %s", (receipt,))[0]
    assert row["reporter"] is None and row["channel"] == "formulier"

    page.get_by_role("link", name="Melding volgen").click()
    page.get_by_label("Meldcode").fill(receipt)
    page.get_by_label("Geheime code").fill(secret)
    page.get_by_role("button", name="Bekijken").click()
    assert page.locator("#status").inner_text() == "ontvangen"

    page.get_by_label("Aanvulling").fill("Hij heeft vandaag weer gebeld.")
    page.get_by_role("button", name="Toevoegen").click()
    assert "toegevoegd" in page.locator("#notice").inner_text()
    assert query(intake.case_store(code), "SELECT count(*) AS n FROM intake.additions a JOIN intake.incidents i "
                 "USING (case_id) WHERE i.receipt_code = %s", (receipt,))[0]["n"] == 1


def test_errors_are_tied_to_their_fields_and_keep_the_input_in_english(intake, page):
    code = intake.region.codes[0]
    page.goto(intake.url("intake", f"/meld/{code}?lang=en"))
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Your name").fill("Sanne Jansen")
    page.get_by_label("E-mail address").fill("not-an-address")
    page.get_by_role("button", name="Send report").click()

    description = page.get_by_label("Description *")
    assert description.get_attribute("aria-invalid") == "true"
    error_id = description.get_attribute("aria-describedby")
    assert page.locator(f"#{error_id}").inner_text() == "Please fill in this field."
    email = page.get_by_label("E-mail address")
    assert "err-reporter_email" in email.get_attribute("aria-describedby")
    assert email.input_value() == "not-an-address"
    assert page.get_by_label("Your name").input_value() == "Sanne Jansen"
    # The summary links to the fields, so a keyboard user can jump to each.
    assert page.locator('#summary a[href="#description"]').count() == 1
