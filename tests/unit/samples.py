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
        "ela": dict(ELA),
        "contact_route": "gemeente:GM0687",
    }
    return {**base, **overrides}


ELA = {"vpt_registered": False, "domiciliekeuze": True, "employer_aangifte": False,
       "priority_handling": True, "claim_damages": False}


def referral_updated(**overrides) -> dict:
    base = {
        "referral_id": uuid.UUID("5f0c3c1e-8a39-4f0e-9a57-0c6f1f8b2d11"),
        "police_unit": "zwb-walcheren",
        "status": "aangifte_gedaan",
        "previous_status": "aangifte_gepland",
        "outcome": None,
        "ela": {**ELA, "vpt_registered": True},
    }
    return {**base, **overrides}


def referral_escalated(**overrides) -> dict:
    base = {
        "referral_id": uuid.UUID("5f0c3c1e-8a39-4f0e-9a57-0c6f1f8b2d11"),
        "police_unit": "zwb-walcheren",
        "urgency": "acuut",
        "deadline": datetime(2026, 3, 1, 21, 15, tzinfo=timezone.utc),
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


PLAN_ID = uuid.UUID("0b7e2d9a-1c44-4c61-8f3e-6a2b9d0e7f55")
DUE_AT = datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc)


def aftercare_contact_due(**overrides) -> dict:
    return {"plan_id": PLAN_ID, "moment": "first_contact", "urgency": "acuut", "due_at": DUE_AT, **overrides}


def aftercare_overdue(**overrides) -> dict:
    return {**aftercare_contact_due(), "hours_overdue": 3, **overrides}


def aftercare_contact_recorded(**overrides) -> dict:
    return {"plan_id": PLAN_ID, "moment": "follow_up_weeks_4_6", "method": "phone", "outcome": "reached",
            "hours_after_due": -2, "days_since_incident": 34, "wellbeing_checked": True, **overrides}


def aftercare_referred(**overrides) -> dict:
    return {"plan_id": PLAN_ID, "referral_id": uuid.UUID("7c1d9e2f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"),
            "days_since_incident": 35, **overrides}


def aftercare_closed(**overrides) -> dict:
    return {"plan_id": PLAN_ID, "reason": "completed", "contacts": 3, "referrals": 1, "days_open": 43,
            **overrides}


PAYLOADS = {
    "incident_reported": lambda: incident(location_type="woning", target_role="wethouder",
                                          reported_categories=["bedreiging"],
                                          consent=consent(contact=True, police_referral=True)),
    "incident_updated": lambda: {**incident(reported_categories=["bedreiging", "intimidatie"]),
                                 "changes": ["description", "evidence"], "evidence_count": 1},
    "incident_triaged": triaged,
    "triage_overridden": lambda: {"categories": ["bedreiging"], "urgency": "acuut",
                                  "decisions": ["aftercare", "safety_advice"], "previous_urgency": "hoog",
                                  "previous_decisions": ["aftercare"], "rules_version": "vr19-2026.1"},
    "triage_overdue": lambda: {"urgency": "normaal", "due_at": OCCURRED_AT + timedelta(days=1)},
    "repeat_detected": lambda: {"kind": "perpetrator", "cases_in_municipality": 2, "other_municipalities": 1},
    "referral_created": referral_created,
    "referral_updated": referral_updated,
    "referral_escalated": referral_escalated,
    "aftercare_planned": aftercare_planned,
    "aftercare_contact_due": aftercare_contact_due,
    "aftercare_overdue": aftercare_overdue,
    "aftercare_contact_recorded": aftercare_contact_recorded,
    "aftercare_referred": aftercare_referred,
    "aftercare_closed": aftercare_closed,
    "incident_withdrawn": lambda: {"channel": "formulier", "withdrawn_by": "reporter"},
}
