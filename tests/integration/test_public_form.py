"""The public form and the reporter's follow-up over HTTP (no browser), against the real broker and stores."""
import re
import uuid

import pytest
import requests

from tests.support import Hub, incident, query, wait_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def intake(settings, start_services):
    start_services("intake")
    return Hub(settings)


@pytest.fixture
def intake_events_queue(settings, declared):
    """Stands in for statistics' subscription to incident_updated / incident_withdrawn until the lead wires it:
    the relay publishes with `mandatory`, so an event type nobody is bound to stays in the outbox and holds up
    the events behind it. Also lets the test see the events on the real broker."""
    from kombu import Connection, Queue

    from shared.messaging.topology import event_exchange

    queue = Queue("test-intake-followup-events", exchange=event_exchange("intake"), routing_key="#",
                  durable=False, auto_delete=False)
    with Connection(settings.amqp_uri) as conn:
        queue(conn.default_channel).declare()
    yield queue
    with Connection(settings.amqp_uri) as conn:
        queue(conn.default_channel).delete()


def broker_events(settings, queue, count):
    """The first `count` events the test's queue receives (waits for them: they are the proof)."""
    import json

    from kombu import Connection

    got = []
    with Connection(settings.amqp_uri) as conn:
        bound = queue(conn.default_channel)

        def received():
            while (message := bound.get(no_ack=True)) is not None:
                got.append(json.loads(message.body))
            return len(got) >= count

        wait_for(received, what=f"{count} event(s) on the test's queue")
    return got


def open_form(hub, code, path="", **params):
    session = requests.Session()
    page = session.get(hub.url("intake", f"/meld/{code}{path}"), params=params, timeout=10)
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return session, token, page


def form_fields(token, **overrides):
    fields = {"csrf_token": token, "description": "Een man schold mij uit aan de balie en dreigde terug te komen.",
              "occurred_date": "2026-11-20", "occurred_time": "14:05", "location_type": "balie",
              "target_role": "ambtenaar", "target_department": "Burgerzaken", "reporter_relation": "target",
              "perp_relation": "client", "perp_vehicle": "rode scooter", "reporter_name": "Sanne Jansen",
              "reporter_email": "s.jansen@example.nl", "consent_contact": "on", "contact_method": "email",
              "categories": ["bedreiging"], "website": ""}
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def cases(hub, code):
    return query(hub.case_store(code), "SELECT count(*) AS n FROM intake.incidents")[0]["n"]


def test_picker_lists_every_municipality_in_dutch_and_english(intake):
    page = requests.get(intake.url("intake", "/meld"), timeout=10)
    assert page.status_code == 200 and '<html lang="nl">' in page.text
    for m in intake.region.municipalities:
        assert f'href="/meld/{m.code}"' in page.text and m.name in page.text
    english = requests.get(intake.url("intake", "/meld"), headers={"Accept-Language": "en-GB,en;q=0.9"}, timeout=10)
    assert '<html lang="en">' in english.text and "Choose your municipality" in english.text
    csp = page.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "'unsafe-inline'" not in csp


def test_submit_shows_a_receipt_and_stores_only_a_hash_of_the_secret(intake):
    code = intake.region.codes[0]
    session, token, _ = open_form(intake, code)
    answer = session.post(intake.url("intake", f"/meld/{code}"), data=form_fields(token),
                          files={"evidence": ("foto.txt", PNG, "text/plain")}, timeout=10)
    assert answer.status_code == 201, answer.text
    receipt = re.search(r'id="receipt-code">([^<]+)<', answer.text).group(1)
    secret = re.search(r'id="receipt-secret">([^<]+)<', answer.text).group(1)
    row = query(intake.case_store(code), "SELECT * FROM intake.incidents WHERE receipt_code = %s", (receipt,))[0]
    assert row["channel"] == "formulier" and row["secret_hash"] != secret and secret not in str(row)
    assert row["target"] is None and b"scooter" not in bytes(row["personal"])  # encrypted at rest
    row = incident(intake.settings, code, row["case_id"])
    assert row["target"] == {"department": "Burgerzaken"} and row["perpetrators"][0]["vehicle"] == "rode scooter"
    evidence = query(intake.case_store(code), "SELECT media_type FROM intake.evidence WHERE case_id = %s",
                     (row["case_id"],))
    assert [e["media_type"] for e in evidence] == ["image/png"]  # by content, not by the name foto.txt
    wait_for(lambda: query(intake.case_store(code), "SELECT 1 FROM hub.outbox WHERE event_type = "
                           "'incident_reported' AND envelope->>'case_id' = %s AND published_at IS NOT NULL",
                           (str(row["case_id"]),)), what="incident_reported published")


def test_missing_fields_come_back_inline_with_what_was_typed(intake):
    code = intake.region.codes[0]
    session, token, _ = open_form(intake, code, lang="en")
    before = cases(intake, code)
    answer = session.post(intake.url("intake", f"/meld/{code}"), params={"lang": "en"},
                          data=form_fields(token, description="", occurred_date="", reporter_email="not-an-address",
                                           lang="en", perp_vehicle="blauwe <b>bus</b>"), timeout=10)
    assert answer.status_code == 422
    html = answer.text
    assert 'id="err-description"' in html and 'id="err-occurred_date"' in html and 'id="err-reporter_email"' in html
    assert 'aria-describedby="err-description"' in html and 'aria-invalid="true"' in html
    assert "Please fill in this field." in html
    assert 'value="blauwe &lt;b&gt;bus&lt;/b&gt;"' in html  # kept, and escaped
    assert 'value="Sanne Jansen"' in html
    assert cases(intake, code) == before


def test_wrongly_typed_and_oversized_files_are_refused_and_nothing_is_stored(intake, settings):
    code = intake.region.codes[0]
    session, token, _ = open_form(intake, code)
    before = cases(intake, code)
    answer = session.post(intake.url("intake", f"/meld/{code}"), data=form_fields(token),
                          files={"evidence": ("foto.png", b"MZ\x90\x00\x03\x00\x00\x00" * 10, "image/png")}, timeout=10)
    assert answer.status_code == 422 and 'id="err-evidence"' in answer.text
    assert "alleen foto" in answer.text
    big = b"%PDF-1.7\n" + b"x" * (5 * 1024 * 1024)
    answer = session.post(intake.url("intake", f"/meld/{code}"), data=form_fields(token),
                          files={"evidence": ("groot.pdf", big, "application/pdf")}, timeout=30)
    assert answer.status_code == 422 and "te groot" in answer.text
    assert cases(intake, code) == before


def test_without_csrf_token_or_with_the_honeypot_filled_nothing_is_stored(intake):
    code = intake.region.codes[0]
    session, token, _ = open_form(intake, code)
    before = cases(intake, code)
    stranger = requests.post(intake.url("intake", f"/meld/{code}"), data=form_fields(token), timeout=10)
    assert stranger.status_code == 400  # no form cookie: a page from elsewhere cannot post
    forged = session.post(intake.url("intake", f"/meld/{code}"), data=form_fields("0" * 64), timeout=10)
    assert forged.status_code == 400
    other = intake.region.codes[1]
    crossed = session.post(intake.url("intake", f"/meld/{other}"), data=form_fields(token), timeout=10)
    assert crossed.status_code == 400  # the token is tied to the municipality too
    bot = session.post(intake.url("intake", f"/meld/{code}"), data=form_fields(token, website="http://spam"),
                       timeout=10)
    assert bot.status_code == 400
    assert cases(intake, code) == before


def test_follow_up_status_addition_and_withdrawal(intake, intake_events_queue, settings):
    code = intake.region.codes[0]
    session, token, _ = open_form(intake, code)
    answer = session.post(intake.url("intake", f"/meld/{code}"), data=form_fields(token), timeout=10)
    receipt = re.search(r'id="receipt-code">([^<]+)<', answer.text).group(1)
    secret = re.search(r'id="receipt-secret">([^<]+)<', answer.text).group(1)
    url = intake.url("intake", f"/meld/{code}/volg")

    wrong = session.post(url, data={"csrf_token": token, "receipt_code": receipt, "secret": "raden"}, timeout=10)
    assert wrong.status_code == 404 and 'id="err-receipt_code"' in wrong.text

    shown = session.post(url, data={"csrf_token": token, "receipt_code": receipt.lower(), "secret": secret},
                         timeout=10)
    assert shown.status_code == 200 and 'id="status">ontvangen<' in shown.text

    added = session.post(url, data={"csrf_token": token, "receipt_code": receipt, "secret": secret,
                                    "action": "add", "addition": "Hij stond vanochtend weer voor de deur."},
                         files={"evidence": ("mail.eml", b"From: x@example.nl\nSubject: dreiging\n\nIk weet waar je woont.\n",
                                             "application/octet-stream")}, timeout=10)
    assert added.status_code == 200 and 'id="notice"' in added.text, added.text
    case_id = query(intake.case_store(code), "SELECT case_id FROM intake.incidents WHERE receipt_code = %s",
                    (receipt,))[0]["case_id"]
    assert query(intake.case_store(code), "SELECT media_type FROM intake.evidence WHERE case_id = %s",
                 (case_id,))[0]["media_type"] == "message/rfc822"
    updated = query(intake.case_store(code), "SELECT envelope FROM hub.outbox WHERE event_type = 'incident_updated' "
                                             "AND envelope->>'case_id' = %s", (str(case_id),))
    payload = updated[0]["envelope"]["payload"]
    assert {k: payload[k] for k in ("channel", "changes", "evidence_count")} == {
        "channel": "formulier", "changes": ["description", "evidence"], "evidence_count": 1}
    assert payload["location_type"] and payload["consent"]["contact"] in (True, False)  # triage decides again on it
    assert "voor de deur" not in str(updated)

    unconfirmed = session.post(url, data={"csrf_token": token, "receipt_code": receipt, "secret": secret,
                                          "action": "withdraw"}, timeout=10)
    assert unconfirmed.status_code == 422 and 'id="err-confirm"' in unconfirmed.text
    withdrawn = session.post(url, data={"csrf_token": token, "receipt_code": receipt, "secret": secret,
                                        "action": "withdraw", "confirm": "on"}, timeout=10)
    assert withdrawn.status_code == 200 and 'id="status">ingetrokken<' in withdrawn.text
    assert query(intake.case_store(code), "SELECT count(*) AS n FROM hub.outbox WHERE event_type = "
                 "'incident_withdrawn' AND envelope->>'case_id' = %s", (str(case_id),))[0]["n"] == 1
    late = session.post(url, data={"csrf_token": token, "receipt_code": receipt, "secret": secret,
                                   "action": "add", "addition": "nog iets"}, timeout=10)
    assert late.status_code == 409

    on_the_wire = broker_events(settings, intake_events_queue, 3)
    kinds = [e["event_type"] for e in on_the_wire if e["case_id"] == str(case_id)]
    assert kinds == ["incident_reported", "incident_updated", "incident_withdrawn"]
    assert "voor de deur" not in str(on_the_wire) and "Sanne" not in str(on_the_wire)


def test_status_follows_triage_referral_and_aftercare_until_closed(hub):
    """Through the whole hub: the status the reporter sees is read from what triage, police
    liaison and aftercare stored for the case, on the follow-up page and in the API, up to
    its closing."""
    code = hub.region.codes[0]
    session, token, _ = open_form(hub, code)
    answer = session.post(hub.url("intake", f"/meld/{code}"),
                          data=form_fields(token, consent_police_referral="on"), timeout=10)
    receipt = re.search(r'id="receipt-code">([^<]+)<', answer.text).group(1)
    secret = re.search(r'id="receipt-secret">([^<]+)<', answer.text).group(1)
    case_id = query(hub.case_store(code), "SELECT case_id FROM intake.incidents WHERE receipt_code = %s",
                    (receipt,))[0]["case_id"]

    def shown():
        page = session.post(hub.url("intake", f"/meld/{code}/volg"),
                            data={"csrf_token": token, "receipt_code": receipt, "secret": secret}, timeout=10)
        return re.search(r'id="status">([^<]+)<', page.text).group(1), page

    wait_for(lambda: query(hub.case_store(code), "SELECT 1 FROM triage.results WHERE case_id = %s", (case_id,)),
             what="the triage result")
    # from the triage result on, never "ontvangen" again (the page shows the status in words)
    assert shown()[0] in ("in behandeling", "doorverwezen naar politie", "nazorg")
    wait_for(lambda: query(hub.case_store(code), "SELECT 1 FROM police_liaison.referrals WHERE case_id = %s",
                           (case_id,)), what="the referral")
    wait_for(lambda: query(hub.case_store(code), "SELECT 1 FROM aftercare.care_plans WHERE case_id = %s",
                           (case_id,)), what="the care plan")
    status, page = shown()
    assert status == "nazorg"
    key = hub.key(code, "coordinator")
    view = requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}"),
                        headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert view.status_code == 200 and view.json()["status"] == "nazorg"
    # intake keeps only its own part; no event moved its column
    assert query(hub.case_store(code), "SELECT status FROM intake.incidents WHERE case_id = %s",
                 (case_id,))[0]["status"] == "ontvangen"
    # the police status, in plain words, from police_liaison's referral in the same case store
    police = re.search(r'id="police-status">([^<]+)<', page.text)
    assert police and police.group(1).strip()

    # when staff have finished its work the case is closed, and the reporter can no longer change it
    hub.finish_case(code, case_id)
    status, page = shown()
    assert status == "afgesloten"
    late = session.post(hub.url("intake", f"/meld/{code}/volg"),
                        data={"csrf_token": token, "receipt_code": receipt, "secret": secret,
                              "action": "add", "addition": "nog iets"}, timeout=10)
    assert late.status_code == 409
    view = requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}"),
                        headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert view.json()["status"] == "afgesloten"
