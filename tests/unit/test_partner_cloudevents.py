"""CloudEvents for partners (issue 24, item 3): a referral event as the NL GOV profile's CloudEvent,
read back with the CloudEvents SDK's own parsers from the HTTP binding (a signed webhook delivered to
a real HTTP server here) and from the AMQP binding's message; both routes of the outbox."""
import hashlib
import hmac
import uuid
from datetime import datetime, timezone

from cloudevents.core.bindings import amqp, http as ce_http

from services.police_liaison import webhooks
from shared import partner_events
from shared.outbox import _encoded, routes
from shared.messaging.topology import event_exchange, police_cloudevents_exchange, police_referrals_exchange
from tests.webhook_receiver import WebhookReceiver

REFERRAL_ID = str(uuid.uuid4())


def envelope(event_type="referral_created") -> dict:
    return {"event_id": str(uuid.uuid4()), "event_type": event_type, "schema_version": 1,
            "occurred_at": "2026-12-06T10:15:00+00:00", "municipality": "GM0687", "case_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
            "payload": {"referral_id": REFERRAL_ID, "police_unit": "zwb-walcheren", "categories": ["bedreiging"],
                        "urgency": "hoog", "status": "created", "contact_route": "gemeente:GM0687"}}


def test_a_referral_event_is_a_cloudevent_of_the_nl_gov_profile():
    body = envelope()
    event = partner_events.cloudevent(body)
    assert event.get_specversion() == "1.0" and event.get_id() == body["event_id"]
    assert event.get_source() == "urn:nld:gemeentecode:0687:systeem:meldpunthub"
    assert event.get_type() == "nl.meldpunthub.referral.created"
    assert event.get_subject() == REFERRAL_ID
    assert event.get_extension("dataref") == f"/api/v1/referrals/{REFERRAL_ID}/details"
    assert event.get_time() == datetime(2026, 12, 6, 10, 15, tzinfo=timezone.utc)
    assert event.get_data() == body["payload"]  # codes only: the details stay behind dataref
    assert partner_events.type_of("referral_withdrawn") == "nl.meldpunthub.referral.withdrawn"


def test_the_amqp_structured_message_reads_back_with_the_sdk():
    body = envelope("referral_updated")
    message = amqp.AMQPMessage(properties={"content-type": partner_events.CONTENT_TYPE}, application_properties={},
                               application_data=partner_events.amqp_body(body))
    event = amqp.from_amqp_event(message)
    assert event.get_type() == "nl.meldpunthub.referral.updated" and event.get_data() == body["payload"]
    assert event.get_extension("correlationid") == body["correlation_id"]


def test_the_outbox_sends_the_envelope_and_the_cloudevent_each_to_its_exchange():
    body = envelope()
    found = routes(body, event_exchange("police_liaison"))
    names = [(getattr(exchange, "name", exchange), key) for exchange, key in found]
    assert names == [("police_liaison.events", "referral_created"),
                     ("police.referrals", "zwb-walcheren.referral_created"),
                     ("police.cloudevents", "zwb-walcheren.referral_created")]
    assert _encoded(body, police_referrals_exchange()) == {"body": body}
    cloud = _encoded(body, police_cloudevents_exchange())
    assert cloud["content_type"] == "application/cloudevents+json" and isinstance(cloud["body"], bytes)


def test_a_cloudevents_webhook_is_signed_and_reads_back_with_the_sdk():
    body, secret = envelope(), b"unit secret"
    with WebhookReceiver() as partner:
        error = webhooks.deliver(f"{partner.base}/hook", secret, "d-1", "referral_created",
                                 body, datetime.now(timezone.utc), 5.0, form="cloudevents")
    assert error is None
    headers, raw = partner.requests[0].headers, partner.requests[0].body
    assert headers["Content-Type"] == "application/cloudevents+json"
    expected = "sha256=" + hmac.new(secret, headers[webhooks.TIMESTAMP].encode() + b"." + raw,
                                    hashlib.sha256).hexdigest()
    assert headers[webhooks.SIGNATURE] == expected  # the same signature as the envelope's, over the raw body
    event = ce_http.from_http_event(ce_http.HTTPMessage(headers={"content-type": headers["Content-Type"]}, body=raw))
    assert event.get_id() == body["event_id"] and event.get_subject() == REFERRAL_ID
    assert event.get_data() == body["payload"]
