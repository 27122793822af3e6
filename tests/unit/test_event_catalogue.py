"""shared/events.py: the event contract, its round trip, what it refuses, and what it may never carry."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from marshmallow import RAISE, fields, validate

from shared.events import CATALOGUE, EnvelopeSchema, InvalidEvent, dump_event, load_event, new_event
from shared.names import SERVICES
from tests.unit.samples import OCCURRED_AT, PAYLOADS

CASE_ID = uuid.UUID("9d3b1c52-7f0a-4e8e-b1d4-2f6a8c0e5b31")
CORRELATION_ID = uuid.UUID("c4a1e8f0-3b2d-4c5e-9f6a-7b8c9d0e1f23")


def test_samples_cover_the_whole_catalogue():
    assert set(PAYLOADS) == set(CATALOGUE)


def test_catalogue_producers_and_consumers_are_services():
    for spec in CATALOGUE.values():
        assert spec.producer in SERVICES
        assert spec.consumers and set(spec.consumers) <= set(SERVICES)
        # only the wake of a service's own running instances goes back to its producer, and only there
        assert (spec.producer not in spec.consumers) != spec.wakes_producer
        assert not spec.wakes_producer or spec.consumers == (spec.producer,)
        assert spec.version >= 1 and spec.summary


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_round_trip(event_type):
    payload = PAYLOADS[event_type]()
    event = new_event(event_type, "GM0687", CASE_ID, payload, correlation_id=CORRELATION_ID,
                      occurred_at=OCCURRED_AT)

    assert event.event_type == event_type
    assert event.schema_version == CATALOGUE[event_type].version
    assert event.producer == CATALOGUE[event_type].producer
    assert (event.municipality, event.case_id, event.correlation_id) == ("GM0687", CASE_ID, CORRELATION_ID)
    assert event.occurred_at == OCCURRED_AT
    assert event.payload == payload

    wire = json.loads(json.dumps(dump_event(event)))  # what travels on the broker
    assert wire["payload"].keys() == payload.keys()
    assert load_event(wire) == event


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_an_event_is_serialised_once_on_its_way_out(event_type, monkeypatch):
    event = new_event(event_type, "GM0687", CASE_ID, PAYLOADS[event_type](), occurred_at=OCCURRED_AT)
    dumps = []
    schema = CATALOGUE[event_type].schema
    monkeypatch.setattr(schema, "dump", lambda *a, **k: dumps.append(a) or {})

    wire = dump_event(event)

    assert dumps == []  # the body new_event validated is the body that goes out
    assert load_event(json.loads(json.dumps(wire))) == event


def test_new_event_gets_fresh_ids_and_a_correlation_id():
    first = new_event("incident_triaged", "GM0718", CASE_ID, PAYLOADS["incident_triaged"]())
    second = new_event("incident_triaged", "GM0718", CASE_ID, PAYLOADS["incident_triaged"]())

    assert first.event_id != second.event_id
    assert isinstance(first.correlation_id, uuid.UUID) and first.correlation_id != second.correlation_id
    assert first.occurred_at.tzinfo is not None


def test_new_event_validates_before_anything_leaves():
    with pytest.raises(InvalidEvent) as caught:
        new_event("incident_triaged", "GM0687", CASE_ID, PAYLOADS["incident_triaged"](urgency="spoed"))

    assert "urgency" in caught.value.messages


@pytest.mark.parametrize("field, kwargs", [
    ("municipality", {"municipality": "Middelburg"}),
    ("case_id", {"case_id": "not-a-case"}),
    ("correlation_id", {"correlation_id": "not-a-correlation"}),
    ("occurred_at", {"occurred_at": datetime(2026, 11, 20, 14, 5)}),  # naive: no time zone
])
def test_new_event_checks_what_the_caller_gives_for_the_envelope(field, kwargs):
    arguments = {"municipality": "GM0687", "case_id": CASE_ID, **kwargs}
    with pytest.raises(InvalidEvent) as caught:
        new_event("incident_triaged", arguments.pop("municipality"), arguments.pop("case_id"),
                  PAYLOADS["incident_triaged"](), **arguments)

    assert field in caught.value.messages


def test_new_event_never_puts_undeclared_keys_on_the_wire():
    payload = {**PAYLOADS["incident_reported"](), "description": "Hij stond om negen uur voor mijn deur"}

    body = dump_event(new_event("incident_reported", "GM0687", CASE_ID, payload))

    assert "description" not in body["payload"]
    assert "voor mijn deur" not in json.dumps(body)


# ---------------------------------------------------------------- what load_event refuses

def valid_body(event_type="incident_reported") -> dict:
    event = new_event(event_type, "GM0687", CASE_ID, PAYLOADS[event_type](), correlation_id=CORRELATION_ID)
    return json.loads(json.dumps(dump_event(event)))


def refused(body) -> dict:
    with pytest.raises(InvalidEvent) as caught:
        load_event(body)
    assert isinstance(caught.value, ValueError)  # consumers treat it as permanent
    return caught.value.messages


@pytest.mark.parametrize("body", [["incident_reported"], "incident_reported", None, b"{}"])
def test_refuses_a_body_that_is_not_an_object(body):
    assert refused(body) == {"_schema": ["event body must be a JSON object"]}


def test_refuses_unknown_event_type():
    body = valid_body()
    body["event_type"] = "incident_deleted"

    assert "event_type" in refused(body)


def test_refuses_another_schema_version():
    body = valid_body()
    body["schema_version"] = 2

    assert refused(body) == {"schema_version": ["unsupported version for incident_reported"]}


@pytest.mark.parametrize("code", ["GM68", "Middelburg", "gm0687", "GM06870"])
def test_refuses_bad_municipality_code(code):
    body = valid_body()
    body["municipality"] = code

    assert "municipality" in refused(body)


def test_refuses_unknown_payload_field():
    body = valid_body()
    body["payload"]["severity"] = 3

    assert refused(body) == {"severity": ["Unknown field."]}


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
@pytest.mark.parametrize("smuggled", [
    {"description": "Hij riep dat hij weet waar ik woon"},
    {"reporter_name": "J. de Vries"},
    {"email": "j.devries@middelburg.nl"},
])
def test_refuses_free_text_smuggled_into_payload(event_type, smuggled):
    body = valid_body(event_type)
    body["payload"].update(smuggled)

    assert set(refused(body)) == set(smuggled)


def test_refuses_free_text_inside_nested_consent():
    body = valid_body()
    body["payload"]["consent"]["note"] = "bel liever na 17 uur"

    assert refused(body) == {"consent": {"note": ["Unknown field."]}}


def test_refuses_missing_payload_field():
    body = valid_body("referral_created")
    del body["payload"]["police_unit"]

    assert refused(body) == {"police_unit": ["Missing data for required field."]}


def test_refuses_naive_envelope_time():
    body = valid_body()
    body["occurred_at"] = "2026-03-01T21:15:00"

    assert "occurred_at" in refused(body)


def test_refuses_naive_payload_time():
    body = valid_body("aftercare_planned")
    body["payload"]["first_contact_due"] = "2026-03-02T01:15:00"

    assert "first_contact_due" in refused(body)


def test_refuses_bad_ids():
    body = valid_body()
    body["case_id"] = "zaak-2026-0042"

    assert "case_id" in refused(body)


def test_ignores_unknown_envelope_fields_from_newer_producers():
    body = valid_body()
    body["traceparent"] = "00-abc-def-01"

    event = load_event(body)

    assert "traceparent" not in dump_event(event)


# ---------------------------------------------------------------- privacy by construction

DENYLIST = {"name", "email", "phone", "description", "address", "birth_date", "handle", "text", "note"}

# Fields whose type alone leaves no room for free text.
CONSTRAINED_TYPES = (fields.Boolean, fields.Integer, fields.UUID, fields.DateTime, fields.Date)


def walk(schema, path=""):
    """Every (dotted path, field) of a schema, into Nested schemas and List items."""
    for name, field in schema.fields.items():
        yield from walk_field(field, f"{path}{name}")


def walk_field(field, path):
    yield path, field
    if isinstance(field, fields.Nested):
        yield from walk(field.schema, f"{path}.")
    elif isinstance(field, fields.List):
        yield from walk_field(field.inner, f"{path}[]")


def all_payload_fields():
    for event_type, spec in CATALOGUE.items():
        for path, field in walk(spec.payload()):
            yield f"{event_type}.{path}", field


def test_walk_reaches_nested_and_list_fields():
    paths = {path for path, _ in all_payload_fields()}

    assert "incident_reported.consent.police_referral" in paths
    assert "incident_reported.reported_categories[]" in paths


def test_every_string_field_is_a_code():
    loose = [path for path, field in all_payload_fields()
             if isinstance(field, fields.String)
             and not any(isinstance(val, (validate.OneOf, validate.Regexp)) for val in field.validators)]

    assert loose == [], "these string fields could carry free text, names or contact data"


def test_every_field_is_of_a_known_closed_kind():
    open_ended = [path for path, field in all_payload_fields()
                  if not isinstance(field, (fields.String, fields.List, fields.Nested) + CONSTRAINED_TYPES)]

    assert open_ended == [], "Dict, Raw and friends can carry anything"


def test_no_field_has_a_personal_name():
    def words(path):
        leaf = path.rsplit(".", 1)[-1].rstrip("[]")
        return {leaf, *leaf.split("_"), *[f"{a}_{b}" for a, b in zip(leaf.split("_"), leaf.split("_")[1:])]}

    personal = [path for path, field in all_payload_fields()
                if words(path) & DENYLIST or (field.data_key and words(field.data_key) & DENYLIST)]

    assert personal == []


def test_every_payload_refuses_unknown_fields():
    for event_type, spec in CATALOGUE.items():
        assert spec.payload().unknown == RAISE, event_type
        nested = [f for _, f in walk(spec.payload()) if isinstance(f, fields.Nested)]
        assert all(f.schema.unknown == RAISE for f in nested), event_type


# ---------------------------------------------------------------- the documented catalogue

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def doc_sections() -> dict[str, str]:
    """docs/events.md cut at its `## ` headings: {heading: text under it}."""
    if not DOCS.exists():
        pytest.skip("docs/events.md is not written yet")
    parts = re.split(r"^## +(.+?)\s*$", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def table_fields(section: str) -> list[str]:
    """The backticked names in the first column of a section's table rows."""
    return re.findall(r"^\| *`([a-z_]+)` *\|", section, flags=re.MULTILINE)


def test_docs_have_one_section_per_event():
    assert set(doc_sections()) - {"Envelope"} == set(CATALOGUE)


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_docs_list_exactly_the_payload_fields(event_type):
    section = doc_sections()[event_type]

    assert table_fields(section) == list(CATALOGUE[event_type].payload().fields)


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_docs_name_producer_consumers_and_version(event_type):
    spec, section = CATALOGUE[event_type], doc_sections()[event_type]

    assert re.search(rf"^- Producer: `{spec.producer}`$", section, flags=re.MULTILINE)
    consumers = re.search(r"^- Consumers: (.+)$", section, flags=re.MULTILINE).group(1)
    assert re.findall(r"`([a-z_]+)`", consumers) == list(spec.consumers)
    assert re.search(rf"^- schema_version: {spec.version}$", section, flags=re.MULTILINE)


def test_docs_list_exactly_the_envelope_fields():
    assert table_fields(doc_sections()["Envelope"]) == list(EnvelopeSchema().fields)


def test_docs_name_every_nested_field():
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else pytest.skip("docs/events.md is not written yet")
    leaves = {path.rsplit(".", 1)[-1].rstrip("[]") for path, _ in all_payload_fields()}

    assert [leaf for leaf in sorted(leaves) if f"`{leaf}`" not in text] == []
