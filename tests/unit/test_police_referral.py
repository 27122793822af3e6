"""services/police_liaison/domain.py: a referral only when triage recommended one, and nothing personal in it."""
from __future__ import annotations

import json
import re
import uuid

import pytest

from services.police_liaison.domain import referral_created_payload, referral_for
from shared import vocabulary
from shared.events import dump_event, new_event
from tests.unit.samples import triaged

CASE_ID = uuid.UUID("7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d")


def triaged_event(**overrides):
    """An incident_triaged event as police liaison receives it (loaded, so with datetimes)."""
    return new_event("incident_triaged", "GM0718", CASE_ID, triaged(**overrides))


@pytest.mark.parametrize("decisions", [[], ["aftercare", "inform_mayor", "safety_advice"], ["riec_signal"]])
def test_no_referral_without_a_police_referral_decision(decisions):
    event = triaged_event(decisions=decisions)

    assert referral_for(event.case_id, event.payload, "zwb-walcheren") is None


def test_referral_for_the_case_and_its_police_unit():
    event = triaged_event(categories=["bedreiging", "vernieling"], urgency="hoog")

    referral = referral_for(event.case_id, event.payload, "zwb-walcheren")

    assert referral.case_id == CASE_ID
    assert referral.police_unit == "zwb-walcheren"
    assert referral.categories == ["bedreiging", "vernieling"]
    assert referral.urgency == "hoog"
    assert referral.status == "created"
    assert isinstance(referral.referral_id, uuid.UUID)


def test_referral_keeps_its_own_copy_of_the_categories():
    payload = triaged_event().payload
    referral = referral_for(CASE_ID, payload, "zwb-walcheren")

    payload["categories"].append("overig")

    assert referral.categories == ["bedreiging"]


def test_referral_created_payload_follows_the_catalogue():
    triaged_ = triaged_event()
    referral = referral_for(triaged_.case_id, triaged_.payload, "zwb-walcheren")

    event = new_event("referral_created", "GM0718", CASE_ID, referral_created_payload(referral, triaged_.payload),
                      correlation_id=triaged_.correlation_id)

    assert event.payload == {
        "referral_id": referral.referral_id, "police_unit": "zwb-walcheren", "categories": ["bedreiging"],
        "urgency": "acuut", "occurred_at": triaged_.payload["occurred_at"], "location_type": "woning",
        "status": "created"}


def test_referral_created_payload_carries_only_codes():
    triaged_ = triaged_event()
    referral = referral_for(triaged_.case_id, triaged_.payload, "zwb-walcheren")
    body = dump_event(new_event("referral_created", "GM0718", CASE_ID,
                                referral_created_payload(referral, triaged_.payload)))
    payload = body["payload"]

    codes = set(vocabulary.CATEGORIES) | set(vocabulary.URGENCIES) | set(vocabulary.LOCATION_TYPES) | set(vocabulary.REFERRAL_STATUSES)
    assert set(payload["categories"]) <= codes
    assert {payload["urgency"], payload["location_type"], payload["status"]} <= codes
    assert re.fullmatch(r"[a-z0-9-]+", payload["police_unit"])
    assert uuid.UUID(payload["referral_id"]) == referral.referral_id
    # nothing from triage beyond what the police need: no target role, decisions or rules
    assert "target_role" not in payload and "decisions" not in json.dumps(payload)
