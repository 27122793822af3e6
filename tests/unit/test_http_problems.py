"""shared/http.py: problem+json answers and marshmallow errors as invalid-params."""
from __future__ import annotations

import json

from shared.http import PROBLEM_JSON, Problem, invalid_params, json_response


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
