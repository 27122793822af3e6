"""People sign in to the workbench through a real OpenID Connect provider (tests/oidc.py): the
authorization code flow with PKCE, MFA required, sessions that rotate, expire and end."""
import re

from tests.oidc import Browser


def test_a_coordinator_signs_in_with_mfa_and_gets_a_fresh_session(workbench_hub):
    wb = workbench_hub.workbench
    browser = Browser()
    browser.http.cookies.set("meldpunt_sessie", "planted-by-an-attacker", domain="127.0.0.1", path="/")
    landed = browser.sign_in(wb, "GM0687", "coordinator-gm0687", stop_before_callback=True)
    callback = browser.get(landed.stop_url)
    assert callback.status_code == 303, callback.text[:500]
    session = callback.cookies.get("meldpunt_sessie")
    assert session and session != "planted-by-an-attacker"
    cookie = callback.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain HTTP here
    start = browser.get(wb + "/start")
    assert start.status_code == 303 and start.headers["Location"] == "/zaken"
    # the planted id never became a session
    other = Browser()
    other.http.cookies.set("meldpunt_sessie", "planted-by-an-attacker", domain="127.0.0.1", path="/")
    assert other.get(wb + "/start").headers["Location"].startswith("/aanmelden")


def test_sign_in_without_a_second_factor_is_refused(workbench_hub):
    page = Browser().sign_in(workbench_hub.workbench, "GM0687", "zonder-mfa-gm0687")
    assert page.status_code == 403 and "tweede factor" in page.text


def test_a_person_without_a_role_in_the_hub_is_refused(workbench_hub):
    page = Browser().sign_in(workbench_hub.workbench, "GM0687", "zonder-rol")
    assert page.status_code == 403 and "geen rol" in page.text and "meldpunt_sessie" not in page.cookies


def test_a_replayed_code_is_refused(workbench_hub):
    wb = workbench_hub.workbench
    browser = Browser()
    landed = browser.sign_in(wb, "GM0687", "medewerker-gm0687", stop_before_callback=True)
    assert browser.get(landed.stop_url).status_code == 303
    # the same callback again, in the same browser: the sign-in it belonged to is used up
    again = browser.get(landed.stop_url)
    assert again.status_code == 400 and "verlopen of al gebruikt" in again.text
    # the code with a new sign-in's state: the provider refuses a code it already gave out
    thief = Browser()
    fresh = thief.follow(thief.get(f"{wb}/aanmelden/GM0687"))
    state = re.search(r"state=([^&\"]+)", thief.http.get(f"{wb}/aanmelden/GM0687", allow_redirects=False)
                      .headers["Location"]).group(1)
    code = re.search(r"code=([^&]+)", landed.stop_url).group(1)
    stolen = thief.get(f"{wb}/aanmelden/terug?code={code}&state={state}")
    assert stolen.status_code == 400 and "meldpunt_sessie" not in stolen.cookies
    assert fresh.status_code == 200


def _signed_in(wb, username="coordinator-gm0687", domain="GM0687"):
    browser = Browser()
    landed = browser.sign_in(wb, domain, username, stop_before_callback=True)
    assert browser.get(landed.stop_url).status_code == 303
    return browser


def test_a_session_ends_after_30_idle_minutes_by_the_workbench_clock(workbench_hub):
    from datetime import timedelta

    wb = workbench_hub.workbench
    browser = _signed_in(wb)
    try:
        workbench_hub.clock.offset = timedelta(minutes=29)
        assert browser.get(wb + "/start").headers["Location"] == "/zaken"  # still active, and touched
        workbench_hub.clock.offset = timedelta(minutes=29 + 30)
        expired = browser.get(wb + "/start")
        assert expired.status_code == 303 and "verlopen=1" in expired.headers["Location"]
        workbench_hub.clock.offset = timedelta(0)
        assert browser.get(wb + "/start").headers["Location"].startswith("/aanmelden")  # gone for good
    finally:
        workbench_hub.clock.offset = timedelta(0)


def test_a_session_ends_after_8_hours_however_busy(workbench_hub):
    from datetime import timedelta

    wb = workbench_hub.workbench
    browser = _signed_in(wb)
    try:
        for minutes in range(25, 8 * 60, 25):
            workbench_hub.clock.offset = timedelta(minutes=minutes)
            assert browser.get(wb + "/start").headers["Location"] == "/zaken", minutes
        workbench_hub.clock.offset = timedelta(hours=8)
        assert "verlopen=1" in browser.get(wb + "/start").headers["Location"]
    finally:
        workbench_hub.clock.offset = timedelta(0)


def test_sign_out_needs_the_form_token_and_ends_the_session_here_and_at_the_provider(workbench_hub):
    wb = workbench_hub.workbench
    browser = _signed_in(wb)
    page = browser.follow(browser.get(wb + "/geen-toegang"))
    token = browser.csrf(page)
    forged = browser.post(wb + "/afmelden", {})
    assert forged.status_code == 403 and browser.get(wb + "/start").headers["Location"] == "/zaken"
    out = browser.post(wb + "/afmelden", {"csrf_token": token})
    assert out.status_code == 303 and out.headers["Location"].startswith(workbench_hub.provider.issuer + "/session/end")
    assert "id_token_hint=" in out.headers["Location"]
    assert browser.get(wb + "/start").headers["Location"].startswith("/aanmelden")  # the hub's session is gone
    confirm = browser.get(out.headers["Location"])
    assert confirm.status_code == 200 and "Ja, afmelden" in confirm.text
    done = browser.follow(browser.post(browser.form_action(confirm),
                                       {"xsrf": re.search(r'name="xsrf" value="([^"]+)"', confirm.text).group(1),
                                        "logout": "yes"}))
    assert done.url == wb + "/afgemeld" and "U bent afgemeld" in done.text
    # the provider forgot the person too: signing in again asks for the password
    again = browser.follow(browser.get(f"{wb}/aanmelden/GM0687"))
    assert "Gebruikersnaam" in again.text
