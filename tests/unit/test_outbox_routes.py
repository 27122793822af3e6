"""shared/outbox.py routes(): referral events also go to police.referrals as <police_unit>.<event_type>;
acute events also to their producer's acute lane."""
from __future__ import annotations

import uuid

from shared.events import dump_event, new_event
from shared.outbox import routes
from tests.unit.samples import PAYLOADS


def body(event_type):
    return dump_event(new_event(event_type, "GM0687", uuid.uuid4(), PAYLOADS[event_type]()))


def test_referral_events_have_a_police_unit_route():
    for event_type in ("referral_created", "referral_updated", "referral_escalated"):
        found = [(getattr(e, "name", e), key) for e, key in routes(body(event_type), "own")]
        assert found == [("own", event_type), ("police.referrals", f"zwb-walcheren.{event_type}"),
                         ("police.cloudevents", f"zwb-walcheren.{event_type}")]  # the same as a CloudEvent


def test_other_events_only_go_to_their_producer():
    for event_type in ("incident_reported", "incident_triaged", "aftercare_planned"):
        assert routes(body(event_type), "own") == [("own", event_type)]


def test_acute_events_also_go_to_the_acute_lane():
    event = body("incident_triaged")
    assert routes(event, "own", 9, "own.acute") == [("own", "incident_triaged"), ("own.acute", "incident_triaged")]
    assert routes(event, "own", 5, "own.acute") == [("own", "incident_triaged")]
    found = [(getattr(e, "name", e), key) for e, key in routes(body("referral_created"), "own", 9, "own.acute")]
    assert found == [("own", "referral_created"), ("own.acute", "referral_created"),
                     ("police.referrals", "zwb-walcheren.referral_created"),
                     ("police.cloudevents", "zwb-walcheren.referral_created")]


def test_what_a_unit_of_work_wrote_is_published_as_written():
    """An event is serialised once on its way out: the JSON of its outbox row is what every route but the
    CloudEvent one carries; a row the sweep read back (a plain dict) is encoded by the publisher."""
    import json

    from shared.db.unit_of_work import WrittenEnvelope
    from shared.outbox import EventPublisher

    sent = []

    class Capture:
        def publish(self, messages):
            sent.extend(messages)

    publisher = EventPublisher.__new__(EventPublisher)
    publisher.service, publisher.exchange, publisher.acute_exchange = "police_liaison", "own", "own.acute"
    publisher.publisher = Capture()
    envelope = body("referral_created")
    text = json.dumps(envelope)
    publisher([(1, WrittenEnvelope(envelope, text), 0), (2, envelope, 0)])

    written = [m for m in sent if m.key == 1]
    assert [m.body for m in written[:2]] == [text.encode()] * 2  # own exchange and police.referrals
    assert all(m.content_type == "application/json" for m in written[:2])
    assert written[2].routing_key.endswith("referral_created") and written[2].body != text.encode()  # CloudEvent
    assert json.loads(written[0].body) == envelope
    assert [m.body for m in sent if m.key == 2][0] == envelope  # the sweep's rows: encoded by the publisher
