"""Aangifte options × channels over the real broker and case stores (issue 20, item 1): with onder nummer
or domiciliekeuze, no canary home address or private phone in anything the police side can read — the
details answer, the webhook body, the AMQP message on police.referrals; a victim filing in their own name
without domiciliekeuze is the control that shows the canaries would be seen. The option is recorded on the
referral (the employer's mandate encrypted) and the reminder fires once past two working days."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

import pika
import pytest
import requests
import yaml

from hub.registry import load_settings
from services.police_liaison import domain
from shared.clock import FixedClock
from tests.integration.test_police_liaison import pika_params
from tests.support import Hub, incident_body, query, wait_for
from tests.webhook_receiver import WebhookReceiver

MIDDELBURG, WALCHEREN = "GM0687", "zwb-walcheren"
HOME, PRIVATE_PHONE = "Kanariestraat 77, 4331 QQ Middelburg", "0611229933"
NAME = "Kanarie Aangever Q7"
EMPLOYER_ADDRESS = "Kanaalweg 3, 4337 PA Middelburg"
MANDATE = {"signed_by": "J. de Vries, gemeentesecretaris", "signed_at": "2026-11-23", "scope": "aangifte en schade"}
OPTIONS = {
    "onder_nummer": {"by": "victim", "onder_nummer": True, "domiciliekeuze": False},
    "domiciliekeuze": {"by": "victim", "onder_nummer": False, "domiciliekeuze": True},
    "employer": {"by": "employer", "domiciliekeuze": True, "mandate": MANDATE},
    "own_name": {"by": "victim", "onder_nummer": False, "domiciliekeuze": False},  # the control
}


@pytest.fixture
def police_side(hub_env, region_file, declared, start_services, tmp_path):
    """The hub's police side, and the police unit's webhook (answers 200, keeps every body)."""
    unit = WebhookReceiver(lambda request: 200)
    secret_env = f"MELDPUNT_TEST_WEBHOOK_SECRET_{uuid.uuid4().hex[:8].upper()}"
    os.environ[secret_env] = "aangifte-webhook-secret"
    region = yaml.safe_load(region_file.read_text())
    region["police_liaison"] = {
        "contacts": {MIDDELBURG: {"name": "Meldpunt Middelburg", "phone": "0118 675 000", "address": EMPLOYER_ADDRESS}},
        "webhooks": {WALCHEREN: {"url": f"{unit.base}/hook", "secret_env": secret_env,
                                 "first_delay_seconds": 0.1, "max_delay_seconds": 0.5}}}
    path = tmp_path / "region-aangifte.yaml"
    path.write_text(yaml.safe_dump(region, sort_keys=False))
    settings = load_settings({**hub_env, "MELDPUNT_REGION": str(path)})
    clock = FixedClock(datetime.now(timezone.utc))
    conn = pika.BlockingConnection(pika_params(settings.amqp_uri))
    channel = conn.channel()
    spy = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(spy, "police.referrals", "#")
    try:
        start_services("intake", "triage", "police_liaison", "signals", settings=settings, clock=clock)
        yield Hub(settings), channel, spy, clock, unit
    finally:
        conn.close()
        unit.close()
        os.environ.pop(secret_env, None)


def test_what_the_police_receive_follows_the_aangifte_option(police_side):
    hub, channel, spy, clock, unit = police_side
    staff = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'staff')}"}
    liaison = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'police_liaison')}"}
    channel_key = hub.key(MIDDELBURG)
    details, forms, cases = {}, {}, {}
    for name, option in OPTIONS.items():
        body = incident_body(reporter={"name": NAME, "phone": PRIVATE_PHONE, "address": HOME,
                                       "email": "kanarie.q7@example.nl"})
        case_id = hub.report(channel_key, body).json()["case_id"]
        [row] = wait_for(lambda: query(hub.case_store(MIDDELBURG), "SELECT referral_id FROM police_liaison.referrals "
                                       "WHERE case_id = %s", (case_id,)), what="referral")
        referral_id, cases[name] = str(row["referral_id"]), case_id
        chosen = requests.put(hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/aangifte"), json=option,
                              headers=staff, timeout=10)
        assert chosen.status_code == 200, chosen.text
        assert chosen.json()["aangifte"]["by"] == option["by"]
        answer = requests.get(hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/details"),
                              headers=liaison, timeout=10)
        assert answer.status_code == 200, answer.text
        form = requests.get(hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/information-form"),
                            headers=liaison, timeout=10)
        assert form.status_code == 200, form.text
        assert {"wie", "wat", "waar", "waarmee", "op_welke_wijze", "wanneer", "waarom"} <= set(form.json())
        assert "Veilige Publieke Taak" in form.json()["vpt"]
        details[name] = answer.text
        forms[name] = form.text

    # every referral_created and referral_updated reached the webhook and the AMQP spy (8 events)
    clock.set(datetime.now(timezone.utc) + timedelta(seconds=1))  # deliveries are due by the database's clock
    wait_for(lambda: len(unit.requests) >= 8, timeout=30, what="8 webhook deliveries")
    messages = []

    def got_all():
        while True:
            method, _, raw = channel.basic_get(spy, auto_ack=True)
            if method is None:
                return len(messages) >= 8
            messages.append(raw.decode())
    wait_for(got_all, timeout=30, what="8 AMQP messages")

    for name in ("onder_nummer", "domiciliekeuze", "employer"):
        for canary in (HOME, PRIVATE_PHONE, "kanarie.q7@example.nl"):
            assert canary not in details[name], (name, canary)
            assert canary not in forms[name], (name, canary)
    assert NAME not in forms["onder_nummer"] and HOME in forms["own_name"]
    ledger = query(hub.case_store(MIDDELBURG), "SELECT fields FROM hub.disclosures WHERE channel = 'information_form'")
    assert len(ledger) == 4 and all("wie.aangever.by" in r["fields"] for r in ledger)
    assert NAME not in details["onder_nummer"]
    assert EMPLOYER_ADDRESS in details["domiciliekeuze"] and NAME in details["domiciliekeuze"]
    assert MANDATE["signed_by"] in details["employer"]
    # the control: filing in one's own name without domiciliekeuze, the home address does reach the police
    assert HOME in details["own_name"] and PRIVATE_PHONE in details["own_name"]
    for text in [body.decode() for body in unit.bodies()] + messages:  # events carry codes only, whatever the option
        for canary in (HOME, PRIVATE_PHONE, NAME, MANDATE["signed_by"], "kanarie"):
            assert canary.lower() not in text.lower(), canary
    updated = [json.loads(m) for m in messages if json.loads(m)["event_type"] == "referral_updated"]
    assert {(u["payload"]["aangifte"]["by"], u["payload"]["aangifte"]["onder_nummer"]) for u in updated} == {
        ("victim", True), ("victim", False), ("employer", False)}

    # the mandate is kept encrypted: its signer is in no plain column
    rows = query(hub.case_store(MIDDELBURG), "SELECT * FROM police_liaison.referrals WHERE case_id = %s",
                 (cases["employer"],))
    assert rows[0]["aangifte_by"] == "employer" and rows[0]["employer_aangifte"] is True
    assert MANDATE["signed_by"].encode() not in bytes(rows[0]["personal"])

    # a police liaison cannot choose the option, nor switch domiciliekeuze off as a loose ELA flag
    referral_id = str(rows[0]["referral_id"])
    assert requests.put(hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/aangifte"),
                        json=OPTIONS["own_name"], headers=liaison, timeout=10).status_code == 403
    loose = requests.patch(hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/ela"),
                           json={"domiciliekeuze": False}, headers=staff, timeout=10)
    assert loose.status_code == 422 and loose.json()["invalid-params"][0]["name"] == "ela.domiciliekeuze"
    no_mandate = requests.put(hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/aangifte"),
                              json={"by": "employer"}, headers=staff, timeout=10)
    assert no_mandate.status_code == 422 and no_mandate.json()["invalid-params"][0]["name"] == "mandate.signed_by"

    # two Dutch working days after the referrals (weekends and holidays: tests/unit/test_aangifte_options.py):
    # one reminder each, a signal for staff; a minute before, none
    advice_due = domain.aangifte_advice_due(clock.now())
    clock.set(advice_due - timedelta(minutes=1))
    import time
    time.sleep(6)  # one reminder round (every 5 s) before the advice date
    # this test's four cases only: moving the clock on also reminds the referrals other tests left in the store
    ours = tuple(str(case_id) for case_id in cases.values())
    reminders = ("SELECT * FROM hub.outbox WHERE event_type = 'aangifte_reminder_due' "
                 f"AND envelope->>'case_id' IN ({', '.join(['%s'] * len(ours))})")
    assert query(hub.case_store(MIDDELBURG), reminders, ours) == []
    clock.set(advice_due + timedelta(minutes=1))
    wait_for(lambda: len(query(hub.case_store(MIDDELBURG), reminders, ours)) == 4, timeout=30, what="4 reminders")
    wait_for(lambda: len(query(hub.case_store(MIDDELBURG), "SELECT * FROM signals.signals WHERE kind = "
                               f"'aangifte_reminder' AND case_id::text IN ({', '.join(['%s'] * len(ours))})",
                               ours)) == 4, timeout=30, what="4 aangifte_reminder signals")
    clock.advance(hours=1)
    assert len(query(hub.case_store(MIDDELBURG), reminders, ours)) == 4
    # the police never see the reminder
    assert not [m for m in messages if "aangifte_reminder" in m]


def pdf_text(pdf: bytes, tmp_path) -> str:
    """The PDF read back as text by poppler's pdftotext, as a person's PDF reader would show it."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed: apt-get install -y poppler-utils (tools/prepare test does)")
    path = tmp_path / f"form-{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout


def test_the_information_form_as_pdf_holds_the_seven_ws_and_nothing_the_option_excludes(police_side, tmp_path):
    """The PDF the liaison downloads, read back with pdftotext: the 7 W's and the VPT reminder; with onder
    nummer, domiciliekeuze or the employer's aangifte no canary home address or private phone (and with onder
    nummer no name); the control (own name, no domiciliekeuze) shows them. Each PDF for the police is one
    ledger row; the staff's copy for the victim is none."""
    hub, _, _, _, _ = police_side
    staff = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'staff')}"}
    liaison = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'police_liaison')}"}
    texts = {}
    for name, option in OPTIONS.items():
        body = incident_body(reporter={"name": NAME, "phone": PRIVATE_PHONE, "address": HOME,
                                       "email": "kanarie.q7@example.nl"})
        case_id = hub.report(hub.key(MIDDELBURG), body).json()["case_id"]
        [row] = wait_for(lambda: query(hub.case_store(MIDDELBURG), "SELECT referral_id FROM police_liaison.referrals "
                                       "WHERE case_id = %s", (case_id,)), what="referral")
        form_url = hub.url("police_liaison", f"/api/v1/referrals/{row['referral_id']}/information-form")
        assert requests.put(hub.url("police_liaison", f"/api/v1/referrals/{row['referral_id']}/aangifte"),
                            json=option, headers=staff, timeout=10).status_code == 200
        answer = requests.get(form_url, params={"format": "pdf"}, headers=liaison, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == "application/pdf" and answer.content.startswith(b"%PDF")
        texts[name] = pdf_text(answer.content, tmp_path)
        ledger = query(hub.case_store(MIDDELBURG), "SELECT recipient, fields, status FROM hub.disclosures "
                       "WHERE case_id = %s AND channel = 'information_form'", (case_id,))
        assert len(ledger) == 1 and ledger[0]["recipient"] == WALCHEREN and ledger[0]["status"] == "delivered"
        assert "wie.aangever.by" in ledger[0]["fields"] and not any(HOME in f for f in ledger[0]["fields"])
        # the same by the Accept header; the staff's copy (for the victim) is no disclosure to the police
        by_accept = requests.get(form_url, headers={**staff, "Accept": "application/pdf"}, timeout=30)
        assert by_accept.status_code == 200 and by_accept.content.startswith(b"%PDF")
        assert len(query(hub.case_store(MIDDELBURG), "SELECT 1 FROM hub.disclosures WHERE case_id = %s AND "
                         "channel = 'information_form'", (case_id,))) == 1
        bad = requests.get(form_url, params={"format": "docx"}, headers=liaison, timeout=10)
        assert bad.status_code == 400 and bad.json()["invalid-params"][0]["name"] == "format"

    for name, text in texts.items():
        lines = {line.strip() for line in text.splitlines()}
        assert {"Wie", "Wat", "Waar", "Waarmee", "Op welke wijze", "Wanneer", "Waarom"} <= lines, (name, text)
        assert "Veilige Publieke Taak (VPT)" in text and "bedreiging" in text
    for name in ("onder_nummer", "domiciliekeuze", "employer"):
        for canary in (HOME, PRIVATE_PHONE, "kanarie.q7@example.nl"):
            assert canary not in texts[name], (name, canary)
    assert NAME not in texts["onder_nummer"] and "onder nummer" in texts["onder_nummer"]
    assert EMPLOYER_ADDRESS in texts["domiciliekeuze"] and MANDATE["signed_by"] in texts["employer"]
    assert HOME in texts["own_name"] and PRIVATE_PHONE in texts["own_name"]  # the control
