"""Partner subscriptions as decisions (services/signals/subscriptions.py) and the signature with two keys
(shared/webhooks.py): which events a subscriber is offered, what of them it receives, what a bad subscription
is told, and that a receiver with either key of a rotation accepts."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.signals import subscriptions
from services.signals.subscriptions import BadSubscription, Selector
from shared import partner_events, webhooks
from shared.events import CATALOGUE, dump_event, new_event
from tests.unit.samples import PAYLOADS

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)


def test_the_riec_the_victim_support_and_the_signals_are_offered():
    offered = subscriptions.offered()
    assert {"signal_raised", "incident_triaged", "triage_overridden", "aftercare_referred"} <= set(offered)
    assert "repeat_detected" not in offered  # signals neither consumes nor records it


@pytest.mark.parametrize("text, event_type, payload, wanted", [
    ("signal_raised[kind=riec_signal]", "signal_raised", {"kind": "riec_signal"}, True),
    ("signal_raised[kind=riec_signal]", "signal_raised", {"kind": "inform_burgemeester"}, False),
    ("incident_triaged[decisions=riec_signal]", "incident_triaged", {"decisions": ["aftercare", "riec_signal"]}, True),
    ("incident_triaged[decisions=riec_signal]", "incident_triaged", {"decisions": ["aftercare"]}, False),
    ("aftercare_referred", "aftercare_referred", {"plan_id": "p"}, True),
    ("aftercare_referred", "aftercare_closed", {"plan_id": "p"}, False),
])
def test_a_selector_names_an_event_or_one_code_of_it(text, event_type, payload, wanted):
    assert subscriptions.selector(text).matches(event_type, payload) is wanted
    assert str(subscriptions.selector(text)) == text


@pytest.mark.parametrize("text, says", [
    ("signal_raised[kind]", "is not an event type or event_type[field=code]"),
    ("incident_deleted", "incident_deleted is not an event of the catalogue"),
    ("repeat_detected", "repeat_detected does not reach signals"),
    ("signal_raised[colour=red]", "signal_raised has no field colour"),
])
def test_a_bad_selector_is_said_in_one_line(text, says):
    with pytest.raises(BadSubscription, match=says.replace("[", r"\[").replace("]", r"\]")):
        subscriptions.selector(text)


def _check(**overrides):
    asked = {"name": "riec-zeeland", "transport": "webhook", "url": "https://riec.example/hook",
             "events": ["signal_raised[kind=riec_signal]"], "allowed": ["kind", "due_at"],
             "legal_basis": "public_task", "consent_version": None, **overrides}
    return subscriptions.check(**asked)


def test_a_good_subscription_gives_its_selectors():
    assert _check() == [Selector("signal_raised", "kind", "riec_signal")]
    assert _check(transport="amqp", url=None, events=["aftercare_referred"], allowed=["plan_id"],
                  legal_basis="consent", consent_version="intake-consent-2026-11") == [Selector("aftercare_referred")]


@pytest.mark.parametrize("overrides, says", [
    ({"name": "RIEC Zeeland"}, "is not a subscriber name"),
    ({"transport": "smtp"}, "transport 'smtp' is not one of webhook, amqp"),
    ({"url": None}, "a webhook subscriber needs --url"),
    ({"transport": "amqp"}, "a webhook subscriber needs --url, an AMQP one takes none"),
    ({"url": "ftp://riec.example"}, "is not an http(s) URL"),
    ({"events": []}, "allow at least one event"),
    ({"allowed": ["kind", "description"]}, "no allowed event has a field description"),
    ({"legal_basis": "interest"}, "legal basis 'interest' is not one of"),
    ({"legal_basis": "consent"}, "names the consent text's version"),
])
def test_a_bad_subscription_is_said_in_one_line(overrides, says):
    with pytest.raises(BadSubscription) as caught:
        _check(**overrides)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_fields_not_allowed_are_stripped_nested_ones_too():
    payload = {"referral_id": "r1", "status": "accepted", "ela": {"vpt_registered": True, "domiciliekeuze": False},
               "aangifte": {"by": "victim", "mandate": False}}
    assert subscriptions.allowed_data(payload, ["status", "ela.vpt_registered", "aangifte"]) == {
        "status": "accepted", "ela": {"vpt_registered": True}, "aangifte": {"by": "victim", "mandate": False}}
    assert subscriptions.allowed_data(payload, []) == {}
    assert subscriptions.disclosed_fields(subscriptions.allowed_data(payload, ["status", "ela.vpt_registered"])) == (
        "ela.vpt_registered", "status")


def test_the_cloudevent_carries_only_the_allowed_data():
    event = new_event("signal_raised", "GM0687", uuid.uuid4(), {**PAYLOADS["signal_raised"](), "kind": "riec_signal"})
    envelope = dump_event(event)
    data = subscriptions.allowed_data(envelope["payload"], ["kind", "due_at"])
    headers, body = partner_events.http_message(envelope, data)
    sent = json.loads(body)
    assert headers["content-type"].startswith(partner_events.CONTENT_TYPE)
    assert sent["data"] == {"kind": "riec_signal", "due_at": envelope["payload"]["due_at"]}
    assert sent["type"] == "nl.meldpunthub.signal.raised" and sent["id"] == str(event.event_id)
    assert "subject" not in sent  # the signal's id was not allowed, so it does not leave as the subject either
    assert "dataref" not in sent  # only the police fetch details
    assert str(event.case_id) not in body.decode()


def test_every_offered_event_becomes_a_cloudevent():
    for name in subscriptions.offered():
        envelope = dump_event(new_event(name, "GM0687", uuid.uuid4(), PAYLOADS[name]()))
        _, body = partner_events.http_message(envelope, envelope["payload"])
        assert json.loads(body)["type"] == partner_events.type_of(name)
        assert CATALOGUE[name]


def test_during_a_rotation_either_key_verifies():
    old, new, body, timestamp = b"old-key", b"new-key", b'{"id":"1"}', str(int(NOW.timestamp()))
    header = webhooks.signature_header([new, old], timestamp, body)
    assert header.count("sha256=") == 2
    assert webhooks.verify(old, timestamp, body, header) and webhooks.verify(new, timestamp, body, header)
    assert not webhooks.verify(b"another-key", timestamp, body, header)
    assert not webhooks.verify(new, timestamp, body + b" ", header)
    assert webhooks.signature_header([new], timestamp, body) == webhooks.sign(new, timestamp, body)  # one key: as before


def test_a_stale_timestamp_is_not_fresh():
    assert webhooks.fresh(str(int(NOW.timestamp())), NOW)
    assert not webhooks.fresh(str(int((NOW - timedelta(minutes=10)).timestamp())), NOW)
    assert not webhooks.fresh("yesterday", NOW)


def test_a_handover_to_slachtofferhulp_is_offered_by_its_partner_code():
    """The aftercare handovers (issue 20) reach signals, so a subscriber is allowed them by name, narrowed to its
    own partner code; the handover is the CloudEvent's subject when its id is allowed."""
    wanted = subscriptions.selector("aftercare_handover[partner=slachtofferhulp]")
    event = new_event("aftercare_handover", "GM0687", uuid.uuid4(), PAYLOADS["aftercare_handover"]())
    assert wanted.matches(event.event_type, event.payload)
    assert not wanted.matches(event.event_type, {**event.payload, "partner": "bedrijfsarts"})
    envelope = dump_event(event)
    data = subscriptions.allowed_data(envelope["payload"], ["handover_id", "status", "follow_up_due"])
    sent = json.loads(partner_events.http_message(envelope, data)[1])
    assert sent["subject"] == str(event.payload["handover_id"]) and sent["type"] == "nl.meldpunthub.aftercare.handover"
    assert set(sent["data"]) == {"handover_id", "status", "follow_up_due"}
