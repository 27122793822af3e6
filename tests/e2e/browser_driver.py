"""Drives Debian's chromium with Playwright for the browser tests in tests/e2e.

Runs as its own process: the test process is eventlet-monkey-patched, under which
Playwright's driver hangs. Prints what a person would have seen, as one JSON object.
Usage: python browser_driver.py SCENARIO BASE_URL ARG...
  public form scenarios: ARG = CODE MUNICIPALITY_NAME
  statistics_dashboard:  ARG = API_KEY SCREENSHOT_PATH CODE
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


def direct_danger(page, base, code, name):
    """The 112 notice on every page, and "Is er nu direct gevaar?" answered yes: bel 112, by CSS alone."""
    seen = {"notice_112": {}}
    page.goto(f"{base}/meld")
    seen["notice_112"]["picker"] = page.locator("#notice-112").is_visible()
    page.get_by_role("link", name=name).click()
    seen["notice_112"]["form"] = page.locator("#notice-112").is_visible()
    seen["notice_text"] = page.locator("#notice-112").inner_text()
    seen["call_before"] = page.locator("#call-112").is_visible()
    page.get_by_role("group", name="Is er nu direct gevaar?").get_by_label("Ja", exact=True).check()
    seen["call_after_yes"] = page.locator("#call-112").is_visible()
    seen["call_text"] = page.locator("#call-112 .call-112-now").inner_text()
    page.get_by_role("group", name="Is er nu direct gevaar?").get_by_label("Nee", exact=True).check()
    seen["call_after_no"] = page.locator("#call-112").is_visible()
    page.get_by_role("group", name="Is er nu direct gevaar?").get_by_label("Ja", exact=True).check()
    page.get_by_label("Beschrijving *").fill("Hij staat met een mes voor de deur van het kantoor.")
    page.get_by_label("Datum *").fill("2026-11-20")
    page.get_by_label("Ik meld anoniem", exact=False).check()
    page.get_by_role("button", name="Melding versturen").click()
    page.wait_for_selector("#received")
    seen["receipt"] = page.locator("#receipt-code").inner_text()
    seen["notice_112"]["receipt"] = page.locator("#notice-112").is_visible()
    seen["call_on_receipt"] = page.locator("#call-112").is_visible()
    page.get_by_role("link", name="Melding volgen").click()
    seen["notice_112"]["follow"] = page.locator("#notice-112").is_visible()
    return seen


def statistics_dashboard(page, base, key, screenshot, code):
    """Open the dashboard with a key (in the Authorization header, as the workbench asks for it on a
    person's behalf: no key form, no key cookie), look at the charts, screenshot them, filter."""
    seen = {}
    page.set_extra_http_headers({"Authorization": f"Bearer {key}"})
    page.goto(f"{base}/dashboard")
    page.wait_for_selector("svg.bar-chart")
    seen["title"] = page.locator("h1").inner_text()
    seen["charts"] = page.locator("svg.bar-chart").count()
    seen["bars"] = page.locator("svg.bar-chart rect.bar").count()
    box = page.locator("svg.bar-chart").first.bounding_box()
    seen["first_chart_size"] = [round(box["width"]), round(box["height"])]
    seen["headings"] = page.locator("section.chart h2").all_inner_texts()
    seen["tiles"] = page.locator(".tile .value").all_inner_texts()
    page.screenshot(path=screenshot, full_page=True)
    # what a person reads on the screenshot: the text as laid out, the chart numbers included
    seen["text"] = page.locator("body").inner_text()
    seen["chart_texts"] = page.locator("svg.bar-chart text").all_text_contents()
    seen["quick_links"] = page.locator("p.quick a").all_inner_texts()
    seen["description"] = page.locator('meta[name="description"]').get_attribute("content")
    seen["icon_href"] = page.locator('link[rel="icon"]').get_attribute("href")
    page.get_by_label("Gemeente", exact=True).select_option(code)
    page.get_by_label("Periode", exact=True).fill("2026")
    page.get_by_role("button", name="Toon").click()
    page.wait_for_selector("svg.bar-chart")
    seen["filtered_title"] = page.locator("h1").inner_text()
    seen["filtered_url"] = page.url
    seen["filtered_charts"] = page.locator("svg.bar-chart").count()
    seen["filtered_text"] = page.locator("body").inner_text()
    seen["favicon"] = page.request.get(f"{base}/favicon.ico").status
    return seen


SCENARIOS = {"submit_and_follow_up": submit_and_follow_up, "errors_in_english": errors_in_english,
             "direct_danger": direct_danger, "statistics_dashboard": statistics_dashboard}
# The dashboard is for a projector: a wide window. The form for a phone.
VIEWPORTS = {"statistics_dashboard": {"width": 1920, "height": 1080}}


def main():
    scenario, base, *args = sys.argv[1:]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # The page's own JavaScript off: the pages must work without it.
        context = browser.new_context(viewport=VIEWPORTS.get(scenario, {"width": 375, "height": 740}),
                                      java_script_enabled=False, locale="nl-NL")
        try:
            print(json.dumps(SCENARIOS[scenario](context.new_page(), base, *args)))
        finally:
            context.close()
            browser.close()


if __name__ == "__main__":
    main()
