"""Event payloads loaded and dumped by their schema's plan (shared/plain_schema.py, issue 25): the same result as
marshmallow's for every catalogue event as the producers write it, and for anything else either the same result
or None, after which marshmallow refuses it and names the field as before."""
from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from marshmallow import ValidationError, fields

from shared.events import CATALOGUE, InvalidEvent, load_event, new_event, dump_event
from shared.plain_schema import plan_of
from shared.schemas import SecretSchema, instance
from tests.unit.samples import OCCURRED_AT, PAYLOADS

ODD_VALUES = [None, 5, 0, -1, 1.5, True, False, "", "x", "GM0687", "acuut", "bedreiging", [], ["x"], [None], {},
              {"x": 1}, str(uuid.uuid4()), uuid.uuid4(), "2026-11-20T14:05:00", "2026-11-20T14:05:00+01:00",
              OCCURRED_AT, datetime(2026, 11, 20, 14, 5), b"bytes", ("tuple",)]


def sent(event_type) -> dict:
    """The payload as it travels: made by new_event, through JSON."""
    event = new_event(event_type, "GM0687", uuid.uuid4(), PAYLOADS[event_type](), occurred_at=OCCURRED_AT)
    return json.loads(json.dumps(dump_event(event)))["payload"]


def variants(data: dict, schema):
    """The data with each field (nested ones too) left out, given an odd value, and with an unknown field."""
    yield {**data, "unknown_field": 1}
    for name, field in schema.fields.items():
        yield {key: value for key, value in data.items() if key != name}
        for value in ODD_VALUES:
            yield {**data, name: value}
        if isinstance(field, fields.Nested) and isinstance(data.get(name), dict):
            for inner in variants(data[name], field.schema):
                yield {**data, name: inner}
        if isinstance(field, fields.List) and isinstance(data.get(name), list):
            for value in ODD_VALUES:
                yield {**data, name: [*data[name], value]}


def marshmallow_load(schema, data):
    try:
        return schema.load(data), None
    except ValidationError as exc:
        return None, exc.messages


def test_every_catalogue_payload_has_a_plan():
    assert [name for name, spec in CATALOGUE.items() if plan_of(spec.payload) is None] == []


def test_a_schema_with_hooks_has_none():
    assert plan_of(SecretSchema) is None


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_a_payload_as_sent_loads_and_dumps_the_same(event_type):
    spec = CATALOGUE[event_type]
    plan, schema = plan_of(spec.payload), instance(spec.payload)
    payload = PAYLOADS[event_type]()
    assert plan.dump(payload) == schema.dump(payload)
    data = sent(event_type)
    loaded = plan.load(data)
    assert loaded is not None and loaded == schema.load(data)
    assert list(loaded) == list(schema.load(data))  # the same order of fields too


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_any_other_payload_loads_the_same_or_goes_to_marshmallow(event_type):
    spec = CATALOGUE[event_type]
    plan, schema = plan_of(spec.payload), instance(spec.payload)
    refused = 0
    for data in variants(sent(event_type), schema):
        expected, messages = marshmallow_load(schema, data)
        if messages is not None:
            refused += 1
            assert plan.load(data) is None, data
            with pytest.raises(ValidationError) as exc:
                spec.load_payload(data)
            assert exc.value.messages == messages  # the field is named as marshmallow names it
        else:
            assert plan.load(data) in (None, expected), data
            assert spec.load_payload(data) == expected
    assert refused > 0


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_any_other_payload_dumps_the_same_or_goes_to_marshmallow(event_type):
    spec = CATALOGUE[event_type]
    plan, schema = plan_of(spec.payload), instance(spec.payload)
    for payload in variants(PAYLOADS[event_type](), schema):
        try:
            expected = schema.dump(payload)
        except Exception:  # marshmallow cannot dump it: neither may the plan
            assert plan.dump(payload) is None, payload
            continue
        assert plan.dump(payload) in (None, expected), payload


def test_a_malformed_event_is_still_refused_naming_the_field():
    body = json.loads(json.dumps(dump_event(new_event("incident_triaged", "GM0687", uuid.uuid4(),
                                                      PAYLOADS["incident_triaged"](), occurred_at=OCCURRED_AT))))
    body["payload"]["urgency"] = "heel_hoog"
    with pytest.raises(InvalidEvent) as refused:
        load_event(body)
    assert "urgency" in refused.value.messages
    with pytest.raises(InvalidEvent) as refused:
        new_event("incident_triaged", "GM0687", uuid.uuid4(), {**PAYLOADS["incident_triaged"](), "categories": []})
    assert "categories" in refused.value.messages
