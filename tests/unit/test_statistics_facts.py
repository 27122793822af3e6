"""services/statistics/domain.py: what each event adds to the read model, by Dutch calendar day."""
from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from services.statistics.domain import case_ref, day, facts_from
from shared.events import CATALOGUE, new_event
from tests.unit.samples import PAYLOADS

CASE_ID = uuid.UUID("3c2b1a09-8f7e-4d6c-9b5a-493827160504")
LATE_SUNDAY_UTC = datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)  # already Monday in Middelburg


def event(event_type, **payload_overrides):
    return new_event(event_type, "GM0687", CASE_ID, {**PAYLOADS[event_type](), **payload_overrides},
                     occurred_at=LATE_SUNDAY_UTC)


@pytest.mark.parametrize("moment, expected", [
    (datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc), date(2026, 3, 2)),   # CET, +1
    (datetime(2026, 3, 1, 22, 59, tzinfo=timezone.utc), date(2026, 3, 1)),
    (datetime(2026, 7, 1, 22, 30, tzinfo=timezone.utc), date(2026, 7, 2)),   # CEST, +2
    (datetime(2026, 7, 1, 21, 59, tzinfo=timezone.utc), date(2026, 7, 1)),
    (datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc), date(2027, 1, 1)),  # oud en nieuw
])
def test_day_is_the_dutch_calendar_day(moment, expected):
    assert day(moment) == expected


def test_incident_reported_facts():
    facts = facts_from(event("incident_reported"))

    assert facts == {"reported_on": date(2026, 3, 2), "channel": "api", "location_type": "woning",
                     "target_role": "wethouder", "reported_categories": ["bedreiging"]}


def test_incident_triaged_facts():
    facts = facts_from(event("incident_triaged", categories=["bedreiging", "ondermijning"]))

    assert facts == {"triaged_on": date(2026, 3, 2), "categories": ["bedreiging", "ondermijning"],
                     "urgency": "acuut"}


def test_referral_created_facts():
    assert facts_from(event("referral_created")) == {"referred": True, "referred_on": date(2026, 3, 2)}


def test_aftercare_planned_facts_use_the_due_moment():
    due = datetime(2026, 3, 2, 23, 45, tzinfo=timezone.utc)  # Tuesday 00:45 in the Netherlands

    facts = facts_from(event("aftercare_planned", first_contact_due=due))

    assert facts == {"aftercare_planned": True, "first_contact_due_on": date(2026, 3, 3)}


NOT_YET_WIRED = set()


def test_facts_never_hold_ids_or_times():
    for event_type in set(PAYLOADS) - NOT_YET_WIRED - {n for n, spec in CATALOGUE.items() if spec.wakes_producer}:
        for value in facts_from(event(event_type)).values():
            assert not isinstance(value, (uuid.UUID, datetime)), event_type


def test_unknown_event_type_is_refused():
    stranger = SimpleNamespace(event_type="incident_deleted", payload={}, occurred_at=LATE_SUNDAY_UTC)

    with pytest.raises(ValueError, match="incident_deleted"):
        facts_from(stranger)


SECRET = b"test-region-secret-" + b"0123456789abcdef" * 2


def test_case_ref_is_a_stable_32_byte_pseudonym():
    ref = case_ref(SECRET, CASE_ID)

    assert isinstance(ref, bytes) and len(ref) == 32
    assert ref == case_ref(SECRET, CASE_ID) == case_ref(SECRET, str(CASE_ID))
    assert ref != case_ref(SECRET, uuid.UUID("3c2b1a09-8f7e-4d6c-9b5a-493827160505"))


def test_case_ref_does_not_contain_the_case_id():
    ref = case_ref(SECRET, CASE_ID)

    assert CASE_ID.bytes not in ref
    assert str(CASE_ID).encode() not in ref and CASE_ID.hex.encode() not in ref
    assert CASE_ID.hex not in ref.hex()


def test_case_ref_is_keyed_so_hashing_known_ids_does_not_find_it():
    """Without the region secret, hashing a list of case ids (plainly or with the prefix) finds nothing."""
    ref = case_ref(SECRET, CASE_ID)

    for guess in (str(CASE_ID), f"meldpunt-statistics:{CASE_ID}", CASE_ID.hex):
        assert hashlib.sha256(guess.encode()).digest() != ref
    assert case_ref(b"another-region-secret-" + b"x" * 20, CASE_ID) != ref


def test_first_contact_facts_give_days_since_the_incident():
    facts = facts_from(event("aftercare_contact_recorded", moment="first_contact", outcome="reached",
                             hours_after_due=-3, days_since_incident=2))

    assert facts["first_contact_days"] == 2 and facts["first_contact_hours_after_due"] == -3
