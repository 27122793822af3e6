"""Signals and their mails through the real broker, case stores and a real SMTP server (aiosmtpd with
STARTTLS and a password, tests/smtp_server.py): an acute signal mails at once, 50 others make one
digest, a mail server that was down gets every mail exactly once afterwards, no mail holds anything of
the case; a repeat across two municipalities reaches both coordinators, and the contact they record
holds nothing of either case; and the reporter's feedback. The hub is the package's (conftest.py)."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests

from shared.events import dump_event, new_event

from tests import support
from tests.integration.signals.conftest import ADDRESSES
from tests.support import canaries_in, canary_body, publish_raw, query, wait_for

MIDDELBURG, VLISSINGEN, GOES, TERNEUZEN = "GM0687", "GM0718", "GM0664", "GM0715"


def signals_of(hub, code, case_id=None) -> list[dict]:
    where, params = ("WHERE case_id = %s", (str(case_id),)) if case_id else ("", ())
    return query(hub.case_store(code), f"SELECT * FROM signals.signals {where} ORDER BY raised_at", params)


def mails_of(hub, code, **where) -> list[dict]:
    clause = " AND ".join(f"{k} = %s" for k in where) or "true"
    return query(hub.case_store(code), f"SELECT * FROM signals.mails WHERE {clause}", tuple(where.values()))


def publish(hub, code, event_type, payload, case_id=None) -> uuid.UUID:
    """An event as its producer would publish it (the producer is not what these tests are about)."""
    case_id = case_id or uuid.uuid4()
    event = new_event(event_type, code, case_id, payload)
    publish_raw(hub.settings.amqp_uri, f"{event.producer}.events", event_type, dump_event(event))
    return case_id


def test_an_acute_signal_is_mailed_at_once_once_and_without_case_content(signals_hub, mail_server):
    hub = signals_hub
    body = canary_body(target_role="wethouder", location_type="woning",
                       consent={"contact": True, "police_referral": True, "inform_manager": False,
                                "employer_reports": False})
    body["description"] = "KanarieOmschrijving: hij riep dat hij weet waar ik woon en mij vanavond thuis komt opzoeken."
    case_id = hub.report(hub.key(MIDDELBURG), body).json()["case_id"]

    acute = wait_for(lambda: [s for s in signals_of(hub, MIDDELBURG, case_id) if s["acute"]], what="acute signals")
    assert {s["kind"] for s in acute} >= {"inform_burgemeester"}
    links = {f"/signalen/{s['signal_id']}" for s in acute}

    def mailed():
        messages = [m for m in mail_server.messages() if any(link in m.get_content() for link in links)]
        return messages if len(messages) >= len(links) else None
    messages = wait_for(mailed, what="one mail per acute signal")
    assert sorted(link for m in messages for link in links if link in m.get_content()) == sorted(links)
    assert {m["Subject"] for m in messages} == {"Er staat een nieuw acuut signaal voor u klaar in Meldpunt Hub"}
    assert {m["To"] for m in messages} <= {ADDRESSES[MIDDELBURG]["coordinator"], ADDRESSES[MIDDELBURG]["staff"]}
    # no mail holds anything of the case (the reporter's own status mail goes to their own address)
    for message in mail_server.messages():
        text = message.get_content() + message["Subject"] + (message["To"] if "voorbeeld.test" not in message["To"]
                                                              else "")
        assert canaries_in(text) == [], message["To"]
        for word in ("bedreiging", "wethouder", "woning", "verbale", "Kanarie"):  # no category or role either
            assert word.lower() not in text.lower()


def test_fifty_signals_make_one_digest(signals_hub, mail_server):
    hub = signals_hub
    due = hub.clock.now() + timedelta(hours=2)
    cases = [str(publish(hub, VLISSINGEN, "triage_overdue", {"urgency": "normaal", "due_at": due})) for _ in range(50)]
    # these 50 cases' signals (the module's other tests leave signals of their own in the same store)
    wait_for(lambda: query(hub.case_store(VLISSINGEN), "SELECT count(*) AS n FROM signals.signals "
                                                       "WHERE case_id::text = ANY(%s)", (cases,))[0]["n"] == 50,
             what="50 signals")
    assert mails_of(hub, VLISSINGEN, kind="digest") == []  # they wait for the region's digest time
    hub.clock.offset += timedelta(days=1, hours=1)  # past the next 08:30
    try:
        (digest,) = wait_for(lambda: mails_of(hub, VLISSINGEN, kind="digest", status="sent"), what="the digest")
    finally:
        hub.clock.offset = timedelta(0)  # the service checks people's assertions by its clock too
    assert digest["notices"] == 50
    (message,) = [m for m in mail_server.messages() if m["To"] == ADDRESSES[VLISSINGEN]["staff"]]
    assert message["Subject"] == "Er staan 50 nieuwe signalen voor u klaar in Meldpunt Hub"
    assert "https://werkplek.meldpunt.test/signalen" in message.get_content()


def test_a_mail_server_that_was_down_gets_every_mail_exactly_once_afterwards(signals_hub, mail_server):
    hub = signals_hub
    # the module's other tests send mails of GOES too (a reporter's status mail may still be on its way)
    before = {row["mail_id"] for row in mails_of(hub, GOES)}

    def new_mails(**where):
        return [row for row in mails_of(hub, GOES, **where) if row["mail_id"] not in before]
    mail_server.stop()
    try:
        cases = [publish(hub, GOES, "triage_overdue", {"urgency": "acuut", "due_at": hub.clock.now()})
                 for _ in range(3)]
        # every mail was tried and refused while the server was away: the delivery log says so
        wait_for(lambda: len({row["mail_id"] for row in query(hub.case_store(GOES), "SELECT DISTINCT mail_id FROM "
                                                              "signals.mail_attempts WHERE NOT ok")} - before) >= 3,
                 what="failed attempts")
        assert new_mails(kind="acute", status="sent") == []
    finally:
        mail_server.start()
    sent = wait_for(lambda: (rows := new_mails(kind="acute", status="sent")) and len(rows) == 3 and rows,
                    what="three mails sent")
    ids = {f"<{row['mail_id']}@meldpunt.test>" for row in sent}
    arrived = [m["Message-ID"] for m in mail_server.messages() if m["To"] == ADDRESSES[GOES]["staff"]]
    assert sorted(arrived) == sorted(ids)  # each once
    assert {s["case_id"] for s in signals_of(hub, GOES)} >= set(cases)


def test_a_repeat_across_two_municipalities_reaches_both_and_the_contact_carries_no_case(signals_hub):
    hub = signals_hub
    perpetrator = [{"name": "Herman Herhaal", "birth_date": "1970-02-03"}]
    first_body = canary_body()
    first_body["perpetrators"] = perpetrator
    first = hub.report(hub.key(TERNEUZEN), first_body).json()["case_id"]
    wait_for(lambda: query(hub.case_store(TERNEUZEN), "SELECT 1 FROM triage.results WHERE case_id = %s", (first,)),
             what="the first case's triage")
    second_body = canary_body()
    second_body["perpetrators"] = perpetrator
    second_body["description"] = "TweedeZaakOmschrijving: dezelfde man stond weer aan de balie."
    second_body["reporter"] = {"name": "TweedeMelderNaam", "email": "tweede.melder@voorbeeld.test"}
    second = hub.report(hub.key(MIDDELBURG), second_body).json()["case_id"]

    def repeat(code, case_id):
        return [s for s in signals_of(hub, code, case_id) if s["kind"] == "repeat"]
    (here,) = wait_for(lambda: repeat(MIDDELBURG, second), what="the repeat signal of the new case")
    (there,) = wait_for(lambda: repeat(TERNEUZEN, first), what="the repeat signal of the earlier case")
    assert here["details"]["link_id"] == there["details"]["link_id"]
    assert (here["details"]["other_municipality"], there["details"]["other_municipality"]) == (TERNEUZEN, MIDDELBURG)

    coordinator = hub.key(TERNEUZEN, "coordinator")
    seen = requests.get(hub.url("signals", f"/api/v1/signals/{there['signal_id']}"),
                        headers={"Authorization": f"Bearer {coordinator}"}, timeout=10).json()
    assert seen["repeat"]["other_municipality"]["code"] == MIDDELBURG
    assert "Middelburg" in seen["repeat"]["other_municipality"]["contact"]

    link = here["details"]["link_id"]
    recorded = requests.post(hub.url("signals", f"/api/v1/repeats/{link}/contact"),
                             json={"contacted_on": hub.clock.now().date().isoformat(), "outcome": "coordinated"},
                             headers={"Authorization": f"Bearer {coordinator}"}, timeout=10)
    assert recorded.status_code == 200, recorded.text
    for code in (MIDDELBURG, TERNEUZEN):
        (row,) = query(hub.case_store(code), "SELECT * FROM signals.repeat_links WHERE link_id = %s", (link,))
        assert (row["contact_outcome"], row["contact_by_municipality"]) == ("coordinated", TERNEUZEN)
    assert {s["state"] for s in repeat(MIDDELBURG, second) + repeat(TERNEUZEN, first)} == {"handled"}

    # nothing of the new case reached the earlier case's municipality (nor the other way round)
    for code, foreign in ((TERNEUZEN, ("TweedeZaak", "TweedeMelder", "tweede.melder")),
                          (MIDDELBURG, ("KanarieOmschrijving",))):
        for table in ("signals.signals", "signals.repeat_links", "signals.notices", "signals.mails", "hub.audit_log",
                      "hub.outbox", "triage.repeat_links"):
            text = support.dumps(query(hub.case_store(code), f"SELECT * FROM {table}"))
            assert not [word for word in foreign if word.lower() in text.lower()], (code, table)


def test_people_take_and_handle_signals_of_their_role(signals_hub):
    hub = signals_hub
    case_id = publish(hub, TERNEUZEN, "triage_overdue", {"urgency": "hoog", "due_at": hub.clock.now()})
    (signal,) = wait_for(lambda: signals_of(hub, TERNEUZEN, case_id), what="the signal")
    staff, worker = hub.key(TERNEUZEN, "staff"), hub.key(TERNEUZEN, "aftercare_worker")

    def call(method, path, key, **kwargs):
        return requests.request(method, hub.url("signals", path), headers={"Authorization": f"Bearer {key}"},
                                timeout=10, **kwargs)
    listed = call("GET", f"/api/v1/signals?case_id={case_id}", staff).json()
    assert [s["signal_id"] for s in listed["items"]] == [str(signal["signal_id"])]
    assert call("GET", f"/api/v1/signals/{signal['signal_id']}", worker).status_code == 404  # not their role's
    assert call("POST", f"/api/v1/signals/{signal['signal_id']}/take", staff, json={}).json()["state"] == "taken"
    refused = call("POST", f"/api/v1/signals/{signal['signal_id']}/handle", staff, json={"outcome": "resolved"})
    assert refused.status_code == 422 and refused.json()["invalid-params"][0]["name"] == "outcome"
    handled = call("POST", f"/api/v1/signals/{signal['signal_id']}/handle", staff, json={"outcome": "done"}).json()
    assert (handled["state"], handled["outcome"], handled["handled_by"]) == ("handled", "done", "test")
    assert call("POST", f"/api/v1/signals/{signal['signal_id']}/handle", staff,
                json={"outcome": "done"}).status_code == 409
    audit = query(hub.case_store(TERNEUZEN), "SELECT actor, action FROM hub.audit_log WHERE case_id = %s "
                                             "ORDER BY id", (str(case_id),))
    assert [a["action"] for a in audit] == ["take", "handle"] and audit[1]["actor"].endswith("(test, staff)")
    events = query(hub.case_store(TERNEUZEN), "SELECT envelope->'payload' AS p FROM hub.outbox "
                                              "WHERE event_type = 'signal_handled' AND envelope->>'case_id' = %s",
                   (str(case_id),))
    assert [e["p"]["outcome"] for e in events] == ["done"] and events[0]["p"]["by_person"] is True


# ------------------------------------------------------------------ feedback to the reporter

def follow_up(hub, code, receipt, action="show", **fields):
    """The reporter on the follow-up page with their receipt code and secret."""
    import re

    session = requests.Session()
    page = session.get(hub.url("intake", f"/meld/{code}/volg"), timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return session.post(hub.url("intake", f"/meld/{code}/volg"), timeout=15, data={
        "csrf_token": token, "receipt_code": receipt["receipt_code"], "secret": receipt["secret"], "action": action,
        **fields})


def reporter_mails(mail_server, address) -> list:
    return [m for m in mail_server.messages() if m["To"] == address]


def test_a_telephone_report_gets_a_receipt_that_works_on_the_follow_up_page(signals_hub):
    hub = signals_hub
    staff = hub.key(GOES, "staff")
    answer = requests.post(hub.url("intake", "/api/v1/incidents"), timeout=15,
                           json={**support.incident_body(), "channel": "telefoon"},
                           headers={"Authorization": f"Bearer {staff}"})
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    assert len(receipt["receipt_code"]) >= 8 and len(receipt["secret"]) >= 16  # handed over by phone
    page = follow_up(hub, GOES, receipt)
    assert page.status_code == 200 and 'id="status"' in page.text
    wrong = follow_up(hub, GOES, {**receipt, "secret": "niet-de-goede-code"})
    assert wrong.status_code == 404
    # the secret is kept as a hash only
    (row,) = query(hub.case_store(GOES), "SELECT receipt_code, secret_hash FROM intake.incidents WHERE case_id = %s",
                   (receipt["case_id"],))
    assert row["receipt_code"] == receipt["receipt_code"] and receipt["secret"] not in row["secret_hash"]


def test_a_status_change_sends_the_reporter_one_mail_without_content(signals_hub, mail_server):
    hub = signals_hub
    address = f"melder-{uuid.uuid4().hex[:8]}@voorbeeld.test"
    body = canary_body()
    body["reporter"] = {"name": "KanarieMelder", "email": address}
    case = hub.report(hub.key(MIDDELBURG), body).json()
    store = hub.case_store(MIDDELBURG)

    def told(stages_expected):
        """The steps the reporter was told of, once every one of them went out (steps close together share
        a mail); with the mails that arrived."""
        stages = query(store, "SELECT reporter_stages FROM signals.cases WHERE case_id = %s", (case["case_id"],))
        waiting = query(store, "SELECT 1 FROM signals.notices WHERE case_id = %s AND audience = 'reporter' "
                               "AND state = 'waiting'", (case["case_id"],))
        mails = mails_of(hub, MIDDELBURG, kind="reporter", case_id=case["case_id"])
        arrived = reporter_mails(mail_server, address)
        if stages and len(stages[0]["reporter_stages"]) == stages_expected and not waiting \
                and {m["status"] for m in mails} == {"sent"} and len(mails) == len(arrived):
            return stages[0]["reporter_stages"], arrived
        return None
    stages, before = wait_for(lambda: told(3), what="received, in behandeling, referred")
    assert sorted(stages) == ["doorverwezen", "in_behandeling", "ontvangen"]

    (referral,) = query(store, "SELECT referral_id FROM police_liaison.referrals WHERE case_id = %s",
                        (case["case_id"],))
    accepted = requests.post(hub.url("police_liaison", f"/api/v1/referrals/{referral['referral_id']}/steps"),
                             json={"status": "accepted"}, timeout=10,
                             headers={"Authorization": f"Bearer {hub.key(MIDDELBURG, 'police_liaison')}"})
    assert accepted.status_code == 200
    stages, after = wait_for(lambda: told(4), what="a mail for the police's new status")
    assert stages[-1] == "politie:accepted" and len(after) == len(before) + 1  # one mail for the change
    for message in reporter_mails(mail_server, address):
        assert message["Subject"] == "Er is nieuws over uw melding"
        assert f"https://meldpunt.test/meld/{MIDDELBURG}/volg" in message.get_content()
        assert canaries_in(message.get_content() + message["Subject"]) == []
    audit = query(store, "SELECT count(*) AS n FROM hub.audit_log WHERE case_id = %s AND actor = 'service:signals'",
                  (case["case_id"],))
    assert audit[0]["n"] == len(after)  # the address was read (and audited) for each mail, never stored with it
    assert address not in support.dumps(query(store, "SELECT * FROM signals.mails"))


def test_a_staff_message_appears_on_the_follow_up_page_and_the_answer_reaches_the_case(signals_hub, mail_server):
    hub = signals_hub
    case = hub.report(hub.key(TERNEUZEN), support.incident_body()).json()
    staff = {"Authorization": f"Bearer {hub.key(TERNEUZEN, 'staff')}"}
    posted = requests.post(hub.url("intake", f"/api/v1/incidents/{case['case_id']}/messages"), headers=staff,
                           json={"text": "Wilt u ons laten weten of u nog hulp nodig heeft? BerichtKanarie"}, timeout=10)
    assert posted.status_code == 201, posted.text

    page = follow_up(hub, TERNEUZEN, case)
    assert "BerichtKanarie" in page.text and 'id="messages"' in page.text
    answered = follow_up(hub, TERNEUZEN, case, action="answer", answer="Ja graag, bel mij maar. AntwoordKanarie")
    assert answered.status_code == 200 and "AntwoordKanarie" in answered.text

    listed = requests.get(hub.url("intake", f"/api/v1/incidents/{case['case_id']}/messages"), headers=staff,
                          timeout=10).json()["messages"]
    assert [(m["direction"], m["author"]) for m in listed] == [("to_reporter", listed[0]["author"]),
                                                               ("from_reporter", "melder")]
    assert "AntwoordKanarie" in listed[1]["text"]
    store = hub.case_store(TERNEUZEN)
    raw = support.dumps(query(store, "SELECT * FROM intake.messages WHERE case_id = %s", (case["case_id"],)))
    assert "AntwoordKanarie" not in raw and "BerichtKanarie" not in raw  # encrypted at rest
    actions = [(a["actor"], a["action"], a["subject"]) for a in query(
        store, "SELECT actor, action, subject FROM hub.audit_log WHERE case_id = %s ORDER BY id", (case["case_id"],))]
    assert ("melder", "create", "message from the reporter") in actions
    (replied,) = wait_for(lambda: [s for s in signals_of(hub, TERNEUZEN, case["case_id"])
                                   if s["kind"] == "reporter_replied"], what="staff's signal of the answer")
    assert replied["owner_role"] == "staff"
    # the reporter left an e-mail address and agreed to contact: the staff message is news for them
    wait_for(lambda: "bericht:" in " ".join(query(store, "SELECT reporter_stages FROM signals.cases "
                                                         "WHERE case_id = %s", (case["case_id"],))[0]["reporter_stages"]),
             what="a mail for the staff message")
    for message in mail_server.messages():
        assert "Kanarie" not in message.get_content()
