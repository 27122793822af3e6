"""shared/plain_schema.py against marshmallow, property-based (issue 25 review): for every catalogue schema and
payloads with fields replaced by odd values (bool for int, huge ints, NaN/inf, NUL and lone surrogates, UUIDs in
every form uuid.UUID takes, datetimes with odd offsets or none, None, unknown fields, fields left out), the plan
either gives exactly marshmallow's result (values and their types) or None, and never accepts what marshmallow
refuses."""
from __future__ import annotations

import json
import math
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from marshmallow import ValidationError, fields

from shared.events import CATALOGUE, dump_event, new_event
from shared.plain_schema import plan_of
from shared.schemas import instance
from tests.unit.samples import OCCURRED_AT, PAYLOADS


def _uuid_forms(u: uuid.UUID) -> list:
    return [str(u), str(u).upper(), "{" + str(u) + "}", u.hex, "urn:uuid:" + str(u), " " + str(u), str(u)[:-1]]


_datetimes = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                          timezones=st.one_of(st.none(), st.timezones(),
                                              st.builds(lambda m: timezone(timedelta(minutes=m)),
                                                        st.integers(-1439, 1439))))
ODD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2 ** 63, max_value=2 ** 200),
    st.floats(allow_nan=True, allow_infinity=True), st.text(), st.sampled_from(["\x00", "a\x00b", "\ud800", "\udfff"]),
    st.uuids().flatmap(lambda u: st.sampled_from(_uuid_forms(u))), st.uuids(),
    _datetimes.map(lambda d: d.isoformat()), _datetimes.map(lambda d: d.isoformat(sep=" ", timespec="minutes")),
    _datetimes, st.dates().map(lambda d: d.isoformat()), st.dates(),
    st.sampled_from(["2026-11-20T14:05:00Z", "2026-11-20T14:05:00+24:00", "20261120T140500+0100", "2026-W47-5",
                     "2026-11-20T14:05:00.123456789+01:00", "2026-11-20T14:05:00+01:00:30.5", "2026-11-20"]),
    st.lists(st.one_of(st.none(), st.text(max_size=5), st.integers(), st.booleans()), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def sent(event_type) -> dict:
    event = new_event(event_type, "GM0687", uuid.uuid4(), PAYLOADS[event_type](), occurred_at=OCCURRED_AT)
    return json.loads(json.dumps(dump_event(event)))["payload"]


def typed(value):
    """A value with the types of everything in it (True == 1 and 1 == 1.0 in Python, not here)."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, *map(typed, value)]
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value, value.utcoffset() if isinstance(value, datetime) else None)


def changed(data: dict, schema, draw):
    """The data with some fields (nested ones too) left out or given odd values, maybe an unknown one."""
    data = dict(data)
    for name, field in schema.fields.items():
        how = draw(st.sampled_from(["keep", "keep", "odd", "drop", "inner"]))
        if how == "odd":
            data[name] = draw(ODD)
        elif how == "drop":
            data.pop(name, None)
        elif how == "inner" and isinstance(field, fields.Nested) and isinstance(data.get(name), dict):
            data[name] = changed(data[name], field.schema, draw)
        elif how == "inner" and isinstance(field, fields.List) and isinstance(data.get(name), list):
            data[name] = [*data[name], draw(ODD)]
    if draw(st.booleans()):
        data[draw(st.text(max_size=8))] = draw(ODD)
    return data


def _same_or_refused(plan_result, marshmallow):
    try:
        expected = marshmallow()
    except ValidationError:
        assert plan_result is None
        return
    except Exception:  # noqa: BLE001 - marshmallow cannot do it at all: neither may the plan
        assert plan_result is None
        return
    assert plan_result is None or typed(plan_result) == typed(expected)


@pytest.mark.parametrize("way", ["load", "dump"])
@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
# 50 odd payloads per event type and way (about 4,000 in all) in make test; MELDPUNT_PROPERTY_EXAMPLES=500 for a
# deeper look. 150 each took 97 s of a two-core machine that the whole suite shares.
@settings(max_examples=int(os.environ.get("MELDPUNT_PROPERTY_EXAMPLES", "50")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_plan_loads_and_dumps_what_marshmallow_does_or_leaves_it(event_type, way, data):
    spec = CATALOGUE[event_type]
    plan, schema = plan_of(spec.payload), instance(spec.payload)
    # loading starts from what a producer sends on the wire, dumping from the payload a handler builds
    payload = changed(sent(event_type) if way == "load" else PAYLOADS[event_type](), schema, data.draw)
    _same_or_refused(getattr(plan, way)(payload), lambda: getattr(schema, way)(payload))
