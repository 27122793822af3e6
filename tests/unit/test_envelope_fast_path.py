"""load_event checks an envelope as the hub's producers send it without marshmallow (shared/events.py
`_envelope_as_sent`, issue 25): the same envelope as EnvelopeSchema loads, and anything else goes to the schema,
which refuses it and names the field as before."""
from __future__ import annotations

import json
import uuid

import pytest
from marshmallow import ValidationError

from shared.events import CATALOGUE, EnvelopeSchema, InvalidEvent, _envelope_as_sent, dump_event, load_event, new_event
from tests.unit.samples import OCCURRED_AT, PAYLOADS


def wire(event_type="incident_triaged"):
    event = new_event(event_type, "GM0687", uuid.uuid4(), PAYLOADS[event_type](), occurred_at=OCCURRED_AT)
    return json.loads(json.dumps(dump_event(event)))


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_every_event_as_sent_takes_the_short_way_to_the_same_envelope(event_type):
    body = wire(event_type)
    assert _envelope_as_sent(body) == EnvelopeSchema().load(body)
    assert load_event(body) == load_event({**body, "schema_version": "1"})  # the schema's way, for comparison


CHANGES = [
    ("event_id", "not-a-uuid"), ("event_id", 5), ("event_id", None),
    ("case_id", "7a1d2c3b"), ("correlation_id", ["x"]),
    ("event_type", "no_such_event"), ("event_type", 3),
    ("schema_version", 0), ("schema_version", True), ("schema_version", 1.5), ("schema_version", "1"),
    ("schema_version", "x"),
    ("occurred_at", "2026-11-20T14:05:00"), ("occurred_at", "2026-11-20"), ("occurred_at", "gisteren"),
    ("occurred_at", 1700000000), ("occurred_at", "2026-11-20T14:05:00Z"), ("occurred_at", "20261120T140500+0100"),
    ("municipality", "Vlissingen"), ("municipality", "GM06870"), ("municipality", None),
    ("payload", []), ("payload", "{}"), ("payload", None),
    ("extra", "ignored"),
]


@pytest.mark.parametrize("name, value", CHANGES)
def test_an_envelope_otherwise_is_what_the_schema_says(name, value):
    body = {**wire(), name: value}
    try:
        expected = EnvelopeSchema().load(body)
    except ValidationError:
        assert _envelope_as_sent(body) is None
        with pytest.raises(InvalidEvent) as refused:
            load_event(body)
        assert name in refused.value.messages
    else:
        assert _envelope_as_sent(body) in (None, expected)


@pytest.mark.parametrize("name", ["event_id", "event_type", "schema_version", "occurred_at", "municipality",
                                  "case_id", "correlation_id", "payload"])
def test_a_missing_field_is_named(name):
    body = wire()
    del body[name]
    assert _envelope_as_sent(body) is None
    with pytest.raises(InvalidEvent) as refused:
        load_event(body)
    assert name in refused.value.messages
