"""shared/http.py: problem+json answers and marshmallow errors as invalid-params."""
from __future__ import annotations

import json

import pytest

from shared.http import PROBLEM_JSON, Problem, invalid_params, json_response, read_json


def test_flat_field_messages():
    assert invalid_params({"occurred_at": ["lies in the future"], "urgent": ["Unknown field."]}) == [
        {"name": "occurred_at", "reason": "lies in the future"},
        {"name": "urgent", "reason": "Unknown field."}]


def test_nested_dicts_and_list_indices():
    messages = {"reporter": {"email": ["Not a valid email address."]},
                "perpetrators": {0: {"name": ["Length must be between 1 and 200."]},
                                 3: {"birth_date": ["Not a valid date."], "phone": ["is not a phone number"]}}}

    assert invalid_params(messages) == [
        {"name": "reporter.email", "reason": "Not a valid email address."},
        {"name": "perpetrators.0.name", "reason": "Length must be between 1 and 200."},
        {"name": "perpetrators.3.birth_date", "reason": "Not a valid date."},
        {"name": "perpetrators.3.phone", "reason": "is not a phone number"}]


def test_schema_level_messages():
    assert invalid_params({"_schema": ["Invalid input type."]}) == [{"name": "body", "reason": "Invalid input type."}]
    assert invalid_params({"reporter": {"_schema": ["Invalid input type."]}}) == [
        {"name": "reporter", "reason": "Invalid input type."}]


def test_several_reasons_for_one_field():
    assert invalid_params({"description": ["too long", "not text"]}) == [
        {"name": "description", "reason": "too long"}, {"name": "description", "reason": "not text"}]


def test_list_of_nested_messages_keeps_the_prefix():
    assert invalid_params({"categories": [{"0": ["Must be one of: overig."]}]}) == [
        {"name": "categories.0", "reason": "Must be one of: overig."}]


def test_plain_string_and_dotted_key():
    assert invalid_params("broken") == [{"name": "body", "reason": "broken"}]
    assert invalid_params({"consent.contact": ["contact needs reporter.email or reporter.phone"]}) == [
        {"name": "consent.contact", "reason": "contact needs reporter.email or reporter.phone"}]


def test_problem_response_is_problem_json():
    params = [{"name": "occurred_at", "reason": "lies in the future"}]
    response = Problem(422, "Unprocessable Content", "one or more fields are invalid",
                       invalid_params=params).response(instance="/api/v1/incidents")

    assert response.status_code == 422
    assert response.mimetype == PROBLEM_JSON
    assert json.loads(response.get_data()) == {
        "type": "about:blank", "title": "Unprocessable Content", "status": 422,
        "detail": "one or more fields are invalid", "instance": "/api/v1/incidents", "invalid-params": params}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_problem_without_detail_or_params_stays_minimal():
    response = Problem(401, "Unauthorized", headers={"WWW-Authenticate": 'Bearer realm="meldpunt"'}).response()

    assert json.loads(response.get_data()) == {"type": "about:blank", "title": "Unauthorized", "status": 401}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="meldpunt"'


def test_json_response():
    response = json_response({"case_id": "abc"}, 201, headers={"Location": "/api/v1/incidents/abc"})

    assert response.status_code == 201 and response.mimetype == "application/json"
    assert json.loads(response.get_data()) == {"case_id": "abc"}
    assert response.headers["Location"] == "/api/v1/incidents/abc"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_schema_message_inside_a_list_item():
    assert invalid_params({"perpetrators": {1: {"_schema": ["Invalid input type."]}}}) == [
        {"name": "perpetrators.1", "reason": "Invalid input type."}]


# ---------------------------------------------------------------- reading the request body

def request(body: bytes, content_type="application/json"):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    return Request(EnvironBuilder(method="POST", path="/api/v1/incidents", data=body,
                                  content_type=content_type).get_environ())


def problem_of(req, max_bytes=1024) -> Problem:
    with pytest.raises(Problem) as caught:
        read_json(req, max_bytes)
    return caught.value


def test_read_json():
    assert read_json(request(b'{"description": "Bedreigd aan de balie"}'), 1024) == {
        "description": "Bedreigd aan de balie"}
    assert read_json(request(b'{"a": 1}', "application/json; charset=utf-8"), 1024) == {"a": 1}


def test_read_json_refuses_other_media_types():
    assert problem_of(request(b"description=x", "application/x-www-form-urlencoded")).status == 415


def test_read_json_refuses_large_bodies():
    assert problem_of(request(b'{"description": "' + b"x" * 2000 + b'"}')).status == 413


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe{}", b""])
def test_read_json_refuses_what_is_not_json(body):
    problem = problem_of(request(body))

    assert (problem.status, problem.detail) == (400, "the body is not valid JSON")


def test_a_nul_character_anywhere_in_a_request_is_a_field_level_422_before_the_schema():
    """PostgreSQL cannot store a NUL in text: schemathesis found GET /api/v1/cases?q=%00 answering 500.
    Every query and body goes through load_or_422, which names each field holding one."""
    from marshmallow import Schema, fields

    from services.intake.schemas import CaseListQuerySchema
    from shared.http import NUL_REASON, load_or_422

    with pytest.raises(Problem) as refused:
        load_or_422(CaseListQuerySchema(), {"q": "ab\x00c", "status": ["ontvangen", "\x00"]})
    assert refused.value.status == 422
    assert refused.value.invalid_params == [{"name": "q", "reason": NUL_REASON},
                                                     {"name": "status.1", "reason": NUL_REASON}]

    class Body(Schema):
        note = fields.Dict()

    with pytest.raises(Problem) as refused:
        load_or_422(Body(), {"note": {"a\x00": "b", "c": ["d\x00"]}})
    assert [p["name"] for p in refused.value.invalid_params] == ["note.a\x00", "note.c.0"]
    assert load_or_422(CaseListQuerySchema(), {"q": "abc"})["q"] == "abc"
