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
