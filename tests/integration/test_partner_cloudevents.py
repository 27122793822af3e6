"""CloudEvents through the real broker (issue 24, item 3): the outbox's publisher sends a referral event
to `police.referrals` as the hub's envelope (what subscribers read today) and to `police.cloudevents` as
a CloudEvent in the AMQP binding's structured mode, which the CloudEvents SDK's own parser reads back."""
from __future__ import annotations

import json
import uuid

from cloudevents.core.bindings import amqp
from kombu import Connection, Queue

from shared.messaging.topology import event_exchange, police_cloudevents_exchange, police_referrals_exchange
from shared.outbox import EventPublisher
from tests.unit.test_partner_cloudevents import REFERRAL_ID, envelope


def test_a_referral_goes_out_in_both_formats_and_the_cloudevent_reads_back_with_the_sdk(rabbit_config):
    amqp_uri = rabbit_config["AMQP_URI"]
    suffix = uuid.uuid4().hex[:6]
    queues = {name: Queue(f"{name}.{suffix}", exchange=exchange, routing_key=key, durable=False, auto_delete=False)
              for name, exchange, key in (("own", event_exchange("police_liaison"), "#"),
                                          ("envelope", police_referrals_exchange(), "zwb-walcheren.#"),
                                          ("cloudevents", police_cloudevents_exchange(), "zwb-walcheren.#"))}
    with Connection(amqp_uri) as conn:
        for queue in queues.values():
            queue(conn.default_channel).declare()
    body = envelope()
    publish = EventPublisher(amqp_uri, "police_liaison")
    try:
        outcome = publish([(1, body, 0)])
    finally:
        publish.close()
    assert outcome.confirmed == [1] and outcome.error is None
    received = {}
    with Connection(amqp_uri) as conn:
        for name, queue in queues.items():
            received[name] = queue(conn.default_channel).get(no_ack=True)
            queue(conn.default_channel).delete()
    assert json.loads(received["envelope"].body) == body  # today's subscribers: unchanged
    message = received["cloudevents"]
    assert message.content_type == "application/cloudevents+json"
    event = amqp.from_amqp_event(amqp.AMQPMessage(properties={"content-type": message.content_type},
                                                  application_properties={}, application_data=message.body))
    assert event.get_type() == "nl.meldpunthub.referral.created" and event.get_subject() == REFERRAL_ID
    assert event.get_id() == body["event_id"] and event.get_data() == body["payload"]
