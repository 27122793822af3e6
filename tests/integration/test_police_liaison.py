"""Police liaison over the real broker and case stores: unit routing to plain-pika subscribers,
read-only liaison users, signed webhooks with retries, the lifecycle API, escalation, and no
personal or free-text data in any referral event."""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import pika
import pika.exceptions
import pytest
import requests
import yaml

from services.police_liaison import webhooks
from shared.clock import FixedClock  # noqa: F401 — some tests want a plain one
from hub.registry import load_settings
from tests.support import Hub, WatchedClock, cli, incident_body, query, wait_for
from tests.webhook_receiver import WebhookReceiver

WALCHEREN, BEVELANDEN = "zwb-walcheren", "zwb-de-bevelanden"
MIDDELBURG, GOES = "GM0687", "GM0664"   # walcheren, de-bevelanden

CANARY_DESCRIPTION = "Kanarie-omschrijving-7f3a: hij dreigde met een mes bij de balie."
CANARY_REPORTER = "Kanarie Reporter Q9"
CANARY_PERPETRATOR = "Kanarie Dader Z4"
CANARIES = ("Kanarie", "7f3a", "Q9", "Z4", "mes bij de balie", "kanarie@example.nl", "0699887766")


def canary_body(**overrides):
    return incident_body(description=CANARY_DESCRIPTION,
                         reporter={"name": CANARY_REPORTER, "email": "kanarie@example.nl", "phone": "0699887766"},
                         perpetrators=[{"name": CANARY_PERPETRATOR, "description": "Kanarie lang haar"}],
                         **overrides)


def pika_params(amqp_uri, user=None, password=None):
    # pika knows amqp:// only; nameko's test fixture hands out pyamqp://
    params = pika.URLParameters("amqp://" + amqp_uri.split("://", 1)[1])
    if user:
        params.credentials = pika.PlainCredentials(user, password)
    params.heartbeat = 0
    params.blocked_connection_timeout = 10
    return params


def drain(amqp_uri, queue, user=None, password=None, wait=1.0) -> list[dict]:
    """Consume what is in `queue` with plain pika, as a police system would."""
    received = []
    conn = pika.BlockingConnection(pika_params(amqp_uri, user, password))
    try:
        channel = conn.channel()
        for method, properties, body in channel.consume(queue, inactivity_timeout=wait):
            if method is None:
                break
            received.append({"routing_key": method.routing_key, "body": json.loads(body)})
            channel.basic_ack(method.delivery_tag)
        channel.cancel()
    finally:
        conn.close()
    return received


@pytest.fixture
def liaison_users(hub_env, declared):
    """`meldpunt liaison add` for two units in this test's vhost; removed again afterwards."""
    made = {}
    for unit in (WALCHEREN, BEVELANDEN):
        result = cli(hub_env, "liaison", "add", unit)
        assert result.returncode == 0, result.stderr
        made[unit] = {"password": result.stdout.strip().splitlines()[-1],
                      "user": result.stdout.split(" user ")[1].split(" ")[0]}
    yield made
    for unit in made:
        cli(hub_env, "liaison", "remove", unit)


def test_plain_pika_subscriber_gets_its_own_units_referrals_and_no_others(hub, hub_env, liaison_users):
    employer_consent = {"contact": True, "police_referral": True, "inform_manager": False, "employer_reports": True}
    walcheren_case = hub.report(hub.key(MIDDELBURG), incident_body(consent=employer_consent)).json()["case_id"]
    goes_case = hub.report(hub.key(GOES)).json()["case_id"]

    def got(unit, case):
        def check():
            nonlocal received
            received += drain(hub.settings.amqp_uri, f"police.referrals.{unit}", liaison_users[unit]["user"],
                              liaison_users[unit]["password"], wait=0.3)
            return any(m["body"]["case_id"] == case for m in received)
        received = []
        wait_for(check, what=f"{unit} referral")
        return received

    walcheren = got(WALCHEREN, walcheren_case)
    bevelanden = got(BEVELANDEN, goes_case)

    assert {m["body"]["municipality"] for m in walcheren} == {MIDDELBURG}
    assert {m["routing_key"] for m in walcheren} == {f"{WALCHEREN}.referral_created"}
    # the unit's queue may also hold referrals of other Middelburg cases reported before this test (the hub is
    # shared with the tests before it): look at this test's own case
    ours = next(m["body"]["payload"] for m in walcheren if m["body"]["case_id"] == walcheren_case)
    assert ours["police_unit"] == WALCHEREN
    assert ours["contact_route"] == f"gemeente:{MIDDELBURG}"
    assert set(ours["ela"]) == {
        "vpt_registered", "domiciliekeuze", "employer_aangifte", "priority_handling", "claim_damages"}
    assert ours["ela"]["employer_aangifte"] is True
    assert {m["body"]["municipality"] for m in bevelanden} == {GOES}


def test_a_liaison_user_cannot_consume_another_units_queue_or_publish(hub_env, declared, liaison_users):
    walcheren = liaison_users[WALCHEREN]
    conn = pika.BlockingConnection(pika_params(declared.amqp_uri, walcheren["user"], walcheren["password"]))
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            conn.channel().basic_consume(f"police.referrals.{BEVELANDEN}", lambda *a: None)
        assert refused.value.reply_code == 403
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as declare:
            conn.channel().queue_declare("police.referrals.my-own", durable=True)
        assert declare.value.reply_code == 403
        # its own queue it may consume
        channel = conn.channel()
        channel.basic_consume(f"police.referrals.{WALCHEREN}", lambda *a: None)
    finally:
        conn.close()


def test_liaison_add_refuses_an_unknown_unit(hub_env, declared):
    result = cli(hub_env, "liaison", "add", "nowhere")
    assert result.returncode == 2 and "is not a police unit" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    for args, message in ((("replay", "not-a-uuid"), "is not a delivery id"),
                          (("replay", str(uuid.uuid4())), "no webhook delivery"),
                          (("deliveries", "nowhere"), "is not a police unit"),
                          (("remove", "zwb-zeeuws-vlaanderen"), "has no subscription")):
        result = cli(hub_env, "liaison", *args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ lifecycle over HTTP

def _liaison(hub, code=MIDDELBURG):
    return {"Authorization": f"Bearer {hub.key(code, 'police_liaison')}"}


def _referral_of(hub, code, case_id):
    return wait_for(lambda: query(hub.case_store(code), "SELECT * FROM police_liaison.referrals WHERE case_id = %s",
                                  (case_id,)), what="referral")[0]


def test_the_whole_ela_checklist_is_visible_and_ticked_by_both_sides(hub):
    """The region's versioned ELA checklist (deploy/ela/ela.yaml) on a referral: every item with its meaning, seen
    alike by the meldpunt and the liaison; either side ticks items beyond the five (kept with when and by whom),
    referral_updated carries their codes and the version; an item outside the checklist, a non-boolean, and an
    item that follows the aangifte option are refused with the field named."""
    case_id = hub.report(hub.key(MIDDELBURG)).json()["case_id"]
    referral_id = str(_referral_of(hub, MIDDELBURG, case_id)["referral_id"])
    url = hub.url("police_liaison", f"/api/v1/referrals/{referral_id}")
    staff = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'staff')}"}
    by_staff = requests.patch(f"{url}/ela", json={"employer_injured_party": True, "claim_damages": True},
                              headers=staff, timeout=10)
    assert by_staff.status_code == 200, by_staff.text
    by_liaison = requests.patch(f"{url}/ela", json={"snelrecht": True, "strafeis_200": True}, headers=_liaison(hub),
                                timeout=10)
    assert by_liaison.status_code == 200, by_liaison.text
    seen = [requests.get(url, headers=who, timeout=10).json()["ela_checklist"] for who in (staff, _liaison(hub))]
    assert seen[0] == seen[1] and seen[0]["version"] == "ela-2026-12"
    items = {item["code"]: item for item in seen[0]["items"]}
    assert {"vpt_registered", "priority_handling", "employer_injured_party", "claim_damages", "snelrecht",
            "strafeis_200", "feedback_victim", "feedback_employer"} <= set(items)
    assert all(item["meaning"] for item in items.values())
    assert [c for c, item in items.items() if item["checked"]] == [
        "priority_handling", "domiciliekeuze", "employer_injured_party", "claim_damages", "snelrecht", "strafeis_200"]
    assert items["snelrecht"]["by"].endswith("police_liaison)") and items["employer_injured_party"]["at"]
    for body, name in (({"bestaat_niet": True}, "ela.bestaat_niet"), ({"snelrecht": "ja"}, "ela.snelrecht"),
                       ({"employer_aangifte": True}, "ela.employer_aangifte")):
        refused = requests.patch(f"{url}/ela", json=body, headers=staff, timeout=10)
        assert refused.status_code == 422 and refused.json()["invalid-params"][0]["name"] == name, refused.text
    updates = wait_for(lambda: (rows := query(hub.case_store(MIDDELBURG),
                                              "SELECT envelope FROM hub.outbox WHERE event_type = 'referral_updated' "
                                              "AND envelope->>'case_id' = %s ORDER BY id", (case_id,))) and
                       len(rows) == 2 and rows, what="2 referral_updated")
    assert [u["envelope"]["payload"]["ela_checklist"] for u in updates] == [
        {"version": "ela-2026-12", "checked": ["employer_injured_party"]},
        {"version": "ela-2026-12", "checked": ["employer_injured_party", "snelrecht", "strafeis_200"]}]


def test_lifecycle_api_rejects_illegal_jumps_and_records_every_step(hub):
    channel_key = hub.key(MIDDELBURG)
    case_id = hub.report(channel_key).json()["case_id"]
    referral_id = str(_referral_of(hub, MIDDELBURG, case_id)["referral_id"])
    headers = _liaison(hub)
    steps_url = hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/steps")

    jump = requests.post(steps_url, json={"status": "aangifte_gedaan", "registration_number": "PL1900-123"},
                         headers=headers, timeout=10)
    assert jump.status_code == 409
    assert jump.headers["Content-Type"] == "application/problem+json"
    assert jump.json()["invalid-params"][0]["name"] == "status"

    for step in ({"status": "accepted"}, {"status": "aangifte_gepland"},
                 {"status": "aangifte_gedaan", "registration_number": "PL1900-2026123456",
                  "ela": {"claim_damages": True}},
                 {"status": "bij_om"}, {"status": "afgesloten", "outcome": "schikking"}):
        response = requests.post(steps_url, json=step, headers=headers, timeout=10)
        assert response.status_code == 200, response.text

    view = response.json()
    assert view["status"] == "afgesloten" and view["outcome"] == "schikking"
    assert view["registration_number"] == "PL1900-2026123456"
    assert view["ela"]["vpt_registered"] is True and view["ela"]["claim_damages"] is True
    assert [s["status"] for s in view["steps"]] == ["created", "accepted", "aangifte_gepland", "aangifte_gedaan",
                                                    "bij_om", "afgesloten"]
    assert all(s["actor"].startswith("apikey:") for s in view["steps"][1:])

    again = requests.post(steps_url, json={"status": "accepted"}, headers=headers, timeout=10)
    assert again.status_code == 409
    missing = requests.post(hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/steps"),
                            json={"status": "afgewezen"}, headers=headers, timeout=10)
    assert missing.status_code == 409  # already closed: the jump is refused before the missing reason

    updates = wait_for(lambda: (rows := query(hub.case_store(MIDDELBURG),
                                              "SELECT envelope FROM hub.outbox WHERE event_type = 'referral_updated' "
                                              "AND envelope->>'case_id' = %s AND published_at IS NOT NULL",
                                              (case_id,))) and len(rows) == 5 and rows, what="5 referral_updated")
    assert {r["envelope"]["payload"]["status"] for r in updates} == {
        "accepted", "aangifte_gepland", "aangifte_gedaan", "bij_om", "afgesloten"}

    staff = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'staff')}"}
    seen_by_staff = requests.get(hub.url("police_liaison", f"/api/v1/referrals/{referral_id}"), headers=staff,
                                 timeout=10).json()
    assert seen_by_staff["ela"] == view["ela"]
    status_url = hub.url("police_liaison", f"/api/v1/cases/{case_id}/police-status")
    status = requests.get(status_url, headers={"Authorization": f"Bearer {channel_key}"}, timeout=10).json()
    assert status["status"] == "afgesloten" and "schikking" in status["status_text"]
    # an intake channel sees only the cases its own key brought in (auth.OWN_CASES_ONLY)
    other_channel = requests.get(status_url, headers={"Authorization": f"Bearer {hub.key(MIDDELBURG)}"}, timeout=10)
    assert other_channel.status_code == 404 and "afgesloten" not in other_channel.text
    assert requests.post(steps_url, json={"status": "afgewezen", "reason": "x" * 10}, headers=staff,
                         timeout=10).status_code == 403


def test_details_only_for_the_liaison_and_every_read_audited(hub):
    case_id = hub.report(hub.key(MIDDELBURG), canary_body()).json()["case_id"]
    referral_id = str(_referral_of(hub, MIDDELBURG, case_id)["referral_id"])
    url = hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/details")

    details = requests.get(url, headers=_liaison(hub), timeout=10)
    assert details.status_code == 200, details.text
    assert details.json()["description"] == CANARY_DESCRIPTION
    assert CANARY_REPORTER not in details.text  # the reporter is reached through the municipality
    audit = query(hub.case_store(MIDDELBURG), "SELECT * FROM hub.audit_log WHERE case_id = %s AND action = 'read' "
                  "AND subject LIKE 'incident details%%'", (case_id,))
    assert len(audit) == 1 and audit[0]["actor"].startswith("apikey:") and "police_liaison" in audit[0]["actor"]

    assert requests.get(url, headers={"Authorization": f"Bearer {hub.key(MIDDELBURG, 'staff')}"},
                        timeout=10).status_code == 403
    # a liaison key of another unit's municipality does not find it
    assert requests.get(url, headers=_liaison(hub, GOES), timeout=10).status_code == 404


def test_no_aftercare_personal_or_free_text_data_in_any_referral_event(hub, declared):
    params = pika_params(declared.amqp_uri)
    conn = pika.BlockingConnection(params)
    channel = conn.channel()
    spy = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(spy, "police.referrals", "#")
    channel.queue_bind(spy, "police_liaison.events", "#")
    try:
        case_id = hub.report(hub.key(MIDDELBURG), canary_body()).json()["case_id"]
        referral_id = str(_referral_of(hub, MIDDELBURG, case_id)["referral_id"])
        steps = hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/steps")
        headers = _liaison(hub)
        assert requests.post(steps, json={"status": "accepted"}, headers=headers, timeout=10).status_code == 200
        assert requests.post(steps, json={"status": "afgewezen", "reason": "Kanarie reden 7f3a"},
                             headers=headers, timeout=10).status_code == 200

        captured = []

        def enough():
            while True:
                method, _, body = channel.basic_get(spy, auto_ack=True)
                if method is None:
                    break
                captured.append((method.exchange, method.routing_key, body.decode()))
            return len(captured) >= 6  # 3 events, each on both exchanges
        wait_for(enough, what="referral events on both exchanges")
    finally:
        conn.close()

    assert {(e, k) for e, k, _ in captured} == {
        ("police_liaison.events", "referral_created"), ("police_liaison.events", "referral_updated"),
        ("police.referrals", f"{WALCHEREN}.referral_created"), ("police.referrals", f"{WALCHEREN}.referral_updated")}
    for _, _, body in captured:
        for canary in CANARIES:
            assert canary.lower() not in body.lower(), canary
        payload = json.loads(body)["payload"]
        assert not {"description", "reason", "perpetrators", "reporter", "care_plan", "aftercare",
                    "contact_moments", "registration_number"} & set(payload)


# ------------------------------------------------------------------ deadlines

def test_unaccepted_acute_referral_escalates_exactly_once(settings, start_services):
    clock = WatchedClock(datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc))
    start_services("intake", "triage", "police_liaison", clock=clock)
    hub = Hub(settings)
    body = incident_body(location_type="woning")  # bedreiging at home: acuut
    case_id = hub.report(hub.key(MIDDELBURG), body).json()["case_id"]
    referral = _referral_of(hub, MIDDELBURG, case_id)
    assert referral["urgency"] == "acuut"
    assert referral["accept_deadline"] == clock.now() + timedelta(hours=1)

    clock.advance(minutes=59)
    clock.rounds("escalate_overdue")  # a whole escalation round before the deadline
    escalated = "SELECT * FROM hub.outbox WHERE event_type = 'referral_escalated' AND envelope->>'case_id' = %s"
    assert query(hub.case_store(MIDDELBURG), escalated, (case_id,)) == []

    clock.advance(minutes=2)
    wait_for(lambda: query(hub.case_store(MIDDELBURG), escalated, (case_id,)), what="escalation")
    clock.rounds("escalate_overdue")  # another whole round must not escalate it again
    rows = query(hub.case_store(MIDDELBURG), escalated, (case_id,))
    assert len(rows) == 1
    assert rows[0]["envelope"]["payload"]["urgency"] == "acuut"


# ------------------------------------------------------------------ webhooks

class FlakyUnit(WebhookReceiver):
    """A police unit's webhook that answers 503 to the first two requests of each delivery, then 200. Counted per
    delivery: a store this test shares may hold another test's pending deliveries to the same unit."""

    def answer(self, request):
        delivery = request.headers.get("X-Meldpunt-Delivery")
        return 200 if sum(r.headers.get("X-Meldpunt-Delivery") == delivery for r in self.requests) > 2 else 503


@pytest.fixture
def receiver():
    with FlakyUnit() as unit:
        yield unit


def test_signed_webhook_is_retried_with_backoff_and_delivered_once(hub_env, region_file, declared, start_services,
                                                                   receiver, tmp_path):
    secret_env = f"MELDPUNT_TEST_WEBHOOK_SECRET_{uuid.uuid4().hex[:8].upper()}"
    os.environ[secret_env] = "webhook-secret-for-tests"
    region = yaml.safe_load(region_file.read_text())
    region["police_liaison"] = {
        "contacts": {MIDDELBURG: {"name": "Meldpunt Middelburg", "phone": "0118 675 000"}},
        "webhooks": {WALCHEREN: {"url": f"{receiver.base}/meldpunt",
                                 "secret_env": secret_env, "first_delay_seconds": 0.2,
                                 "max_delay_seconds": 1.0, "max_attempts": 6, "timeout_seconds": 2}}}
    path = tmp_path / "region-with-webhook.yaml"
    path.write_text(yaml.safe_dump(region, sort_keys=False))
    settings = load_settings({**hub_env, "MELDPUNT_REGION": str(path)})
    try:
        start_services("intake", "triage", "police_liaison", settings=settings)
        hub = Hub(settings)
        case_id = hub.report(hub.key(MIDDELBURG)).json()["case_id"]
        dsn = hub.case_store(MIDDELBURG)
        delivered = wait_for(lambda: query(dsn, "SELECT * FROM police_liaison.webhook_deliveries "
                                                "WHERE status = 'delivered' AND body->>'case_id' = %s", (case_id,)),
                             what="webhook delivered")
        assert len(delivered) == 1 and delivered[0]["attempts"] == 3

        def seen_for_this_case():
            return [r for r in receiver.requests if r.json().get("case_id") == case_id]
        seen = seen_for_this_case()
        assert len(seen) == 3
        assert {r.headers["X-Meldpunt-Delivery"] for r in seen} == {str(delivered[0]["delivery_id"])}
        for r in seen:
            assert webhooks.verify(b"webhook-secret-for-tests", r.headers["X-Meldpunt-Timestamp"], r.body,
                                   r.headers["X-Meldpunt-Signature"])
            assert r.json()["event_type"] == "referral_created"

        # the municipality's contact point is visible to the liaison
        view = requests.get(hub.url("police_liaison", f"/api/v1/referrals/{delivered[0]['body']['payload']['referral_id']}"),
                            headers=_liaison(hub), timeout=10).json()
        assert view["contact"]["name"] == "Meldpunt Middelburg"

        log = cli({**hub_env, "MELDPUNT_REGION": str(path)}, "liaison", "deliveries", WALCHEREN)
        assert log.returncode == 0 and str(delivered[0]["delivery_id"]) in log.stdout and "delivered" in log.stdout
        replay = cli({**hub_env, "MELDPUNT_REGION": str(path)}, "liaison", "replay",
                          str(delivered[0]["delivery_id"]))
        assert replay.returncode == 0, replay.stderr
        wait_for(lambda: len(seen_for_this_case()) == 4, what="replayed delivery")
        # a replay is the same delivery (same id), so the receiver deduplicates it; no second record
        assert seen_for_this_case()[3].headers["X-Meldpunt-Delivery"] == str(delivered[0]["delivery_id"])
        rows = query(dsn, "SELECT count(*) AS n FROM police_liaison.webhook_deliveries WHERE body->>'case_id' = %s",
                     (case_id,))
        assert rows[0]["n"] == 1
    finally:
        os.environ.pop(secret_env, None)
