"""The disclosure ledger over the real broker and case stores: one row per disclosure on every outbound
path (AMQP referral, webhook, details read, access export), field names and never values, and a
disclosure that fails to deliver is never recorded as delivered (issue 20, item 4)."""
from __future__ import annotations

import json
import os
import uuid

import pytest
import requests
import yaml

from hub.registry import load_settings
from shared.disclosures import CONSENT_TEXTS
from tests.integration.test_police_liaison import CANARIES, canary_body
from tests.support import Hub, cli, query, wait_for
from tests.webhook_receiver import WebhookReceiver

MIDDELBURG, WALCHEREN = "GM0687", "zwb-walcheren"


def ledger(hub, case_id) -> list[dict]:
    return query(hub.case_store(MIDDELBURG), "SELECT * FROM hub.disclosures WHERE case_id = %s ORDER BY id",
                 (case_id,))


def referral_id_of(hub, case_id) -> str:
    rows = wait_for(lambda: query(hub.case_store(MIDDELBURG), "SELECT referral_id FROM police_liaison.referrals "
                                  "WHERE case_id = %s", (case_id,)), what="referral")
    return str(rows[0]["referral_id"])


def no_values(rows) -> None:
    text = json.dumps(rows, default=str).lower()
    for canary in CANARIES:
        assert canary.lower() not in text, canary


def test_every_path_to_the_police_and_to_the_reporter_writes_one_row_of_field_names(hub, hub_env):
    case_id = hub.report(hub.key(MIDDELBURG), canary_body()).json()["case_id"]
    referral_id = referral_id_of(hub, case_id)

    # the AMQP referral: one row, pending until the broker confirmed the publish, then delivered
    [amqp] = wait_for(lambda: ledger(hub, case_id), what="the AMQP row")
    assert (amqp["channel"], amqp["recipient_kind"], amqp["recipient"]) == ("amqp", "police_unit", WALCHEREN)
    assert amqp["legal_basis"] == "consent" and amqp["consent_version"] == CONSENT_TEXTS
    assert "categories" in amqp["fields"] and "urgency" in amqp["fields"]
    staff = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'staff')}"}
    ledger_url = hub.url("intake", f"/api/v1/incidents/{case_id}/disclosures")
    wait_for(lambda: requests.get(ledger_url, headers=staff, timeout=10).json()["disclosures"][0]["status"]
             == "delivered", what="the AMQP row delivered once published")

    # the liaison reads the details twice: two rows, each with the answer's field names
    liaison = {"Authorization": f"Bearer {hub.key(MIDDELBURG, 'police_liaison')}"}
    for _ in range(2):
        answer = requests.get(hub.url("police_liaison", f"/api/v1/referrals/{referral_id}/details"),
                              headers=liaison, timeout=10)
        assert answer.status_code == 200, answer.text
    details = [r for r in ledger(hub, case_id) if r["channel"] == "details_api"]
    assert len(details) == 2
    assert {"description", "perpetrators", "occurred_at"} <= set(details[0]["fields"])
    assert details[0]["status"] == "delivered" and details[0]["actor"].startswith("apikey:")

    # the ledger through the API and the CLI; neither holds a value of the case
    body = requests.get(ledger_url, headers=staff, timeout=10).json()
    assert [d["channel"] for d in body["disclosures"]] == ["amqp", "details_api", "details_api"]
    no_values(body)
    shown = cli(hub_env, "disclosures", MIDDELBURG, "--case", case_id)
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout.strip().splitlines()) == 3 and "details_api" in shown.stdout
    no_values(shown.stdout)
    bad = cli(hub_env, "disclosures", MIDDELBURG, "--case", "nope")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1

    # the AVG art. 15 export holds the case's own data and its ledger, and is itself a row
    export = requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}/access-export"), headers=staff, timeout=10)
    assert export.status_code == 200, export.text
    exported = export.json()
    assert "Kanarie-omschrijving-7f3a" in exported["incident"]["description"]
    assert exported["processing"]["police_referral"]["status"] == "created"
    assert len(exported["disclosures"]) == 3
    last = ledger(hub, case_id)[-1]
    assert (last["channel"], last["recipient_kind"], last["legal_basis"]) == (
        "access_export", "data_subject", "data_subject_request")
    assert "description" in last["fields"]
    no_values(ledger(hub, case_id))
    # no one without casework rights reads the ledger
    assert requests.get(ledger_url, headers=liaison, timeout=10).status_code == 403


@pytest.fixture
def refusing_receiver():
    """A police webhook that is down: 503 to everything. Its `requests`: what it was sent (the unit's referrals
    of earlier tests, whose events waited in the queue for a police liaison to run, come too)."""
    with WebhookReceiver(lambda request: 503) as down:
        yield down


def test_a_webhook_that_fails_is_never_recorded_as_delivered(hub_env, region_file, declared, start_services,
                                                             refusing_receiver, tmp_path):
    secret_env = f"MELDPUNT_TEST_WEBHOOK_SECRET_{uuid.uuid4().hex[:8].upper()}"
    os.environ[secret_env] = "ledger-webhook-secret"
    region = yaml.safe_load(region_file.read_text())
    region["police_liaison"] = {"webhooks": {WALCHEREN: {
        "url": f"{refusing_receiver.base}/hook", "secret_env": secret_env,
        "first_delay_seconds": 0.1, "max_delay_seconds": 0.2, "max_attempts": 2, "timeout_seconds": 2}}}
    path = tmp_path / "region-refusing-webhook.yaml"
    path.write_text(yaml.safe_dump(region, sort_keys=False))
    settings = load_settings({**hub_env, "MELDPUNT_REGION": str(path)})
    try:
        start_services("intake", "triage", "police_liaison", settings=settings)
        hub = Hub(settings)
        case_id = hub.report(hub.key(MIDDELBURG), canary_body()).json()["case_id"]
        failed = wait_for(lambda: [r for r in ledger(hub, case_id) if r["channel"] == "webhook"
                                   and r["status"] == "failed"], timeout=30, what="the webhook row failed")
        assert len(failed) == 1 and failed[0]["delivered_at"] is None and failed[0]["last_error"] == "HTTP 503"
        [referral] = query(hub.case_store(MIDDELBURG), "SELECT referral_id::text FROM police_liaison.referrals "
                                                       "WHERE case_id = %s", (case_id,))
        assert sum(referral["referral_id"].encode() in body for body in refusing_receiver.bodies()) == 2  # max_attempts
        rows = ledger(hub, case_id)
        assert sorted(r["channel"] for r in rows) == ["amqp", "webhook"]  # exactly one row per way out
        assert not [r for r in rows if r["channel"] == "webhook" and r["status"] == "delivered"]
        no_values(rows)
    finally:
        os.environ.pop(secret_env, None)
