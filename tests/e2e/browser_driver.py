"""Drives Debian's chromium with Playwright for tests/e2e/test_public_form_browser.py.

Runs as its own process: the test process is eventlet-monkey-patched, under which
Playwright's driver hangs. Prints what a person would have seen, as one JSON object.
Usage: python browser_driver.py SCENARIO BASE_URL CODE MUNICIPALITY_NAME
"""
import json
import sys

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def submit_and_follow_up(page, base, code, name):
    seen = {}
    page.goto(f"{base}/meld")
    page.get_by_role("link", name=name).click()
    seen["lang"] = page.locator("html").get_attribute("lang")
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
    seen["receipt"] = page.locator("#receipt-code").inner_text()
    secret = page.locator("#receipt-secret").inner_text()

    page.get_by_role("link", name="Melding volgen").click()
    page.get_by_label("Meldcode").fill(seen["receipt"])
    page.get_by_label("Geheime code").fill(secret)
    page.get_by_role("button", name="Bekijken").click()
    seen["status"] = page.locator("#status").inner_text()
    page.get_by_label("Aanvulling").fill("Hij heeft vandaag weer gebeld.")
    page.get_by_role("button", name="Toevoegen").click()
    seen["notice"] = page.locator("#notice").inner_text()
    return seen


def errors_in_english(page, base, code, name):
    seen = {}
    page.goto(f"{base}/meld/{code}?lang=en")
    seen["lang"] = page.locator("html").get_attribute("lang")
    page.get_by_label("Your name").fill("Sanne Jansen")
    page.get_by_label("E-mail address").fill("not-an-address")
    page.get_by_role("button", name="Send report").click()
    description = page.get_by_label("Description *")
    seen["description_invalid"] = description.get_attribute("aria-invalid")
    seen["description_error"] = page.locator(f"#{description.get_attribute('aria-describedby')}").inner_text()
    email = page.get_by_label("E-mail address")
    seen["email_describedby"] = email.get_attribute("aria-describedby")
    seen["email_value"] = email.input_value()
    seen["name_value"] = page.get_by_label("Your name").input_value()
    seen["summary_links"] = page.locator('#summary a[href="#description"]').count()
    return seen


SCENARIOS = {"submit_and_follow_up": submit_and_follow_up, "errors_in_english": errors_in_english}


def main():
    scenario, base, code, name = sys.argv[1:5]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # A phone-sized window, and the page's own JavaScript off: the form must work without it.
        context = browser.new_context(viewport={"width": 375, "height": 740}, java_script_enabled=False,
                                      locale="nl-NL")
        try:
            print(json.dumps(SCENARIOS[scenario](context.new_page(), base, code, name)))
        finally:
            context.close()
            browser.close()


if __name__ == "__main__":
    main()
