"""Drives Debian's chromium with Playwright through a coordinator's day in the workbench, keyboard only,
and runs axe-core (tools/node) on every page on the way: its own process, as tests/e2e/browser_driver.py
(the test process is eventlet-monkey-patched, under which Playwright's driver hangs).
Prints what the people saw, as one JSON object.
Usage: python workbench_driver.py BASE_URL INTAKE_URL CASE_ID
"""
import json
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
AXE = Path(__file__).resolve().parents[2] / "tools" / "node" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe(page, seen, name):
    """axe-core's WCAG 2.1 A and AA rules on the page as it stands: the violations, by rule and target."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                           ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, "
                           "targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))", WCAG_21_AA)
    seen["axe"][name] = result
    seen["checked"].append(name)


def press(page, locator):
    """Focus a link or button and press Enter: what a keyboard user does."""
    locator.focus()
    page.keyboard.press("Enter")


def type_into(page, locator, text):
    locator.focus()
    page.keyboard.type(text)


def sign_in(context, base, domain_name, username):
    page = context.new_page()
    page.goto(f"{base}/aanmelden")
    press(page, page.get_by_role("link", name=domain_name, exact=domain_name != "Regio"))
    page.wait_for_selector("#username")
    type_into(page, page.get_by_label("Gebruikersnaam"), username)
    type_into(page, page.get_by_label("Wachtwoord"), "demo")
    page.keyboard.press("Enter")
    page.wait_for_selector("main h1")
    return page


def coordinators_day(browser, base, intake, case_id):
    seen = {"axe": {}, "checked": []}
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL", bypass_csp=True,
                                  accept_downloads=True)
    page = context.new_page()
    page.goto(f"{base}/aanmelden")
    axe(page, seen, "sign_in")
    page.close()

    page = sign_in(context, base, "Middelburg", "coordinator-gm0687")
    seen["landed"] = page.url
    rows = page.locator("#cases tbody tr")
    ids = [rows.nth(i).get_attribute("id") for i in range(rows.count())]
    seen["case_position"] = ids.index(f"case-{case_id}") if f"case-{case_id}" in ids else None
    seen["urgencies_above"] = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(
        (seen["case_position"] or 0) + 1)]
    axe(page, seen, "cases")
    page.goto(f"{base}/zaken?urgency=heel-erg")
    seen["summary_focused"] = page.evaluate("document.activeElement && document.activeElement.id")
    axe(page, seen, "cases_with_errors")

    page.goto(f"{base}/zaken")
    press(page, page.locator(f"#case-{case_id} a"))
    page.wait_for_selector("#h-report")
    seen["addition"] = page.locator("#additions").inner_text()
    axe(page, seen, "case")
    with page.expect_download() as download_info:
        press(page, page.locator("#evidence a").first)
    download = download_info.value
    seen["download_name"] = download.suggested_filename
    seen["download_bytes"] = Path(download.path()).read_bytes()[:8].hex()

    press(page, page.get_by_role("button", name="Triage bevestigen"))
    page.wait_for_selector("#notice")
    seen["triage_status"] = page.locator("#triage-status").inner_text()

    assignee = page.get_by_label("Toewijzen aan")
    assignee.focus()
    page.keyboard.type("Cora")  # a closed select takes the option whose text starts so
    press(page, page.get_by_role("button", name="Toewijzen", exact=True))
    page.wait_for_selector("#notice")
    seen["assigned"] = page.locator("#assigned").inner_text()
    seen["ela"] = page.locator("#ela legend").inner_text()

    press(page, page.get_by_role("button", name="Contactmoment vastleggen"))
    page.wait_for_selector("#notice")
    seen["care_notice"] = page.locator("#notice").inner_text()
    seen["moments_done"] = page.locator("#moments tbody tr").filter(has_text="Eerste contact").inner_text()
    axe(page, seen, "case_after_changes")

    # an error summary on the case page takes focus and links to its field
    press(page, page.get_by_role("button", name="Zaak beëindigen"))
    page.wait_for_selector("#summary")
    seen["case_summary_focused"] = page.evaluate("document.activeElement && document.activeElement.id")
    axe(page, seen, "case_with_errors")

    for path, name in (("/triage", "triage"), ("/nazorg", "worklist"), ("/verwijzingen", "referrals"),
                       ("/signalen?toon=all", "signals"), ("/dashboard", "dashboard"), ("/zaken?lang=en", "cases_en"),
                       ("/zaken/00000000-0000-4000-8000-000000000000", "not_found")):
        page.goto(base + path)
        axe(page, seen, name)
    page.goto(f"{base}/zaken?lang=nl")
    press(page, page.get_by_role("button", name="Afmelden"))
    page.wait_for_selector("button[name=logout]")
    press(page, page.get_by_role("button", name="Ja, afmelden"))
    page.wait_for_selector("main h1")
    seen["signed_out"] = page.locator("main h1").inner_text()
    axe(page, seen, "signed_out")
    context.close()

    # the aftercare worker: whom to call, with the contact details the reporter allowed
    context = browser.new_context(locale="nl-NL", bypass_csp=True)
    page = sign_in(context, base, "Middelburg", "nazorg-gm0687")
    page.goto(f"{base}/nazorg?toon=open")
    seen["worklist_text"] = page.locator("main").inner_text()
    axe(page, seen, "worklist_with_contact")
    context.close()

    # a coordinator of another municipality: the same URL is no case
    context = browser.new_context(locale="nl-NL", bypass_csp=True)
    page = sign_in(context, base, "Vlissingen", "coordinator-gm0718")
    seen["other_municipality_status"] = page.goto(f"{base}/zaken/{case_id}").status
    context.close()

    # the police liaison of a unit, and the regional coordinator
    context = browser.new_context(locale="nl-NL", bypass_csp=True)
    page = sign_in(context, base, "Middelburg", "politie-walcheren")
    page.goto(f"{base}/verwijzingen")
    seen["liaison_rows"] = page.locator("#referrals tbody tr").count()
    axe(page, seen, "referrals_liaison")
    press(page, page.locator("#referrals tbody tr a").first)
    page.wait_for_selector("#referral")
    press(page, page.get_by_role("link", name="Gegevens van de melding inzien"))
    page.wait_for_selector("#details")
    axe(page, seen, "referral_with_details")
    context.close()
    context = browser.new_context(locale="nl-NL", bypass_csp=True)
    page = sign_in(context, base, "Regio", "regiocoordinator")
    axe(page, seen, "region")
    context.close()

    # the public form, in the same run
    context = browser.new_context(locale="nl-NL", bypass_csp=True)
    page = context.new_page()
    for path, name in (("/meld", "public_form_picker"), ("/meld/GM0687", "public_form"),
                       ("/meld/GM0687/volg", "public_follow_up")):
        page.goto(intake + path)
        axe(page, seen, name)
    press(page, page.get_by_role("button", name="Bekijken"))  # the follow-up form, empty: its errors
    page.wait_for_selector("main")
    axe(page, seen, "public_follow_up_with_errors")
    # the privacy and accessibility statements (issue 21, item 15), Dutch and English, reached from the form by
    # their links, not only by address
    page.goto(intake + "/meld/GM0687")
    seen["statement_links"] = [page.get_by_role("link", name=label).first.get_attribute("href")
                               for label in ("Privacyverklaring", "Toegankelijkheidsverklaring")]
    for path, name in (("/meld/privacy", "privacy_statement"), ("/meld/toegankelijkheid", "accessibility_statement"),
                       ("/meld/privacy?lang=en", "privacy_statement_en"),
                       ("/meld/toegankelijkheid?lang=en", "accessibility_statement_en")):
        page.goto(intake + path)
        axe(page, seen, name)
    context.close()
    return seen


def main():
    base, intake, case_id = sys.argv[1:4]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            print(json.dumps(coordinators_day(browser, base, intake, case_id)))
        finally:
            browser.close()


if __name__ == "__main__":
    main()
