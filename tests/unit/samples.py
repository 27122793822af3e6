"""Realistic payloads for unit tests: codes, consent and times only, as the events carry them."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# Sunday evening, 1 March 2026, at a wethouder's front door in Middelburg.
OCCURRED_AT = datetime(2026, 3, 1, 21, 15, tzinfo=AMSTERDAM)

NO_CONSENT = {"contact": False, "police_referral": False, "inform_manager": False,
              "employer_reports": False}


def consent(**given) -> dict:
    return {**NO_CONSENT, **given}


def incident(**overrides) -> dict:
    """An incident_reported payload; defaults: one verbal incident at the office, no consent."""
    base = {
        "channel": "api",
        "occurred_at": OCCURRED_AT,
        "location_type": "kantoor",
        "target_role": "ambtenaar",
        "reported_categories": ["verbale_agressie"],
        "anonymous": False,
        "perpetrator_count": 1,
        "consent": dict(NO_CONSENT),
    }
    return {**base, **overrides}


def triaged(**overrides) -> dict:
    base = {
        "categories": ["bedreiging"],
        "urgency": "acuut",
        "decisions": ["police_referral", "aftercare", "inform_mayor", "safety_advice"],
        "rules_version": "basis-1",
        "occurred_at": OCCURRED_AT,
        "location_type": "woning",
        "target_role": "wethouder",
    }
    return {**base, **overrides}


def referral_created(**overrides) -> dict:
    base = {
        "referral_id": uuid.UUID("5f0c3c1e-8a39-4f0e-9a57-0c6f1f8b2d11"),
        "police_unit": "zwb-walcheren",
        "categories": ["bedreiging"],
        "urgency": "acuut",
        "occurred_at": OCCURRED_AT,
        "location_type": "woning",
        "status": "created",
    }
    return {**base, **overrides}


def aftercare_planned(**overrides) -> dict:
    base = {
        "plan_id": uuid.UUID("0b7e2d9a-1c44-4c61-8f3e-6a2b9d0e7f55"),
        "urgency": "acuut",
        "first_contact_due": datetime(2026, 3, 1, 20, 15, tzinfo=timezone.utc) + timedelta(hours=4),
        "contact_moments": 3,
    }
    return {**base, **overrides}


PAYLOADS = {
    "incident_reported": lambda: incident(location_type="woning", target_role="wethouder",
                                          reported_categories=["bedreiging"],
                                          consent=consent(contact=True, police_referral=True)),
    "incident_triaged": triaged,
    "referral_created": referral_created,
    "aftercare_planned": aftercare_planned,
    # A reporter added a photo and a witness through the follow-up page.
    "incident_updated": lambda: {"channel": "formulier", "changes": ["evidence", "witnesses"],
                                 "evidence_count": 2},
    "incident_withdrawn": lambda: {"channel": "formulier", "withdrawn_by": "reporter"},
}
