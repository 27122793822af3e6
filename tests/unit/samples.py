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


def aangifte_reminder_due(**overrides) -> dict:
    base = {
        "referral_id": uuid.UUID("5f0c3c1e-8a39-4f0e-9a57-0c6f1f8b2d11"),
        "police_unit": "zwb-walcheren",
        "status": "accepted",
        "urgency": "hoog",
        "advice_due": datetime(2026, 3, 3, 9, 15, tzinfo=timezone.utc),
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
SIGNAL_ID = uuid.UUID("3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f")
DUE_AT = datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc)


def aftercare_contact_due(**overrides) -> dict:
    return {"plan_id": PLAN_ID, "moment": "first_contact", "urgency": "acuut", "due_at": DUE_AT, **overrides}


def aftercare_overdue(**overrides) -> dict:
    return {**aftercare_contact_due(), "hours_overdue": 3, **overrides}


def aftercare_contact_recorded(**overrides) -> dict:
    return {"plan_id": PLAN_ID, "moment": "follow_up_weeks_4_6", "method": "phone", "outcome": "reached",
            "hours_after_due": -2, "days_since_incident": 34, "wellbeing_checked": True, **overrides}


TRACK_ID = uuid.UUID("2b7e1c9d-3f4a-4b5c-8d6e-7f8091a2b3c4")
HANDOVER_ID = uuid.UUID("8e9f0a1b-2c3d-4e5f-9a6b-7c8d9e0f1a2b")


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
    "aangifte_reminder_due": aangifte_reminder_due,
    "aftercare_planned": aftercare_planned,
    "aftercare_contact_due": aftercare_contact_due,
    "aftercare_overdue": aftercare_overdue,
    "aftercare_contact_recorded": aftercare_contact_recorded,
    "aftercare_referred": aftercare_referred,
    "aftercare_closed": aftercare_closed,
    "witness_care_started": lambda: {"track_id": TRACK_ID, "role": "colleague", "first_contact_due": OCCURRED_AT,
                                     "contact_moments": 3},
    "witness_contact_recorded": lambda: {"track_id": TRACK_ID, "role": "witness", "moment": "first_contact",
                                         "method": "phone", "outcome": "reached"},
    "witness_contact_due": lambda: {"track_id": TRACK_ID, "role": "witness", "moment": "follow_up_2_weeks",
                                    "due_at": OCCURRED_AT},
    "witness_care_closed": lambda: {"track_id": TRACK_ID, "role": "witness", "reason": "completed", "contacts": 2},
    "aftercare_handover": lambda: {"handover_id": HANDOVER_ID, "partner": "slachtofferhulp", "status": "overgedragen",
                                   "previous_status": "voorgesteld", "person": "victim", "follow_up_due": OCCURRED_AT,
                                   "hand_over_by": OCCURRED_AT},
    "aftercare_handover_follow_up_due": lambda: {"handover_id": HANDOVER_ID, "partner": "bedrijfsarts",
                                                 "status": "voorgesteld", "follow_up_due": OCCURRED_AT},
    "incident_withdrawn": lambda: {"channel": "formulier", "withdrawn_by": "reporter"},
    "incident_closed": lambda: {"channel": "telefoon", "reason": "handled"},
    "referral_withdrawn": lambda: {"referral_id": uuid.UUID("5f0c3c1e-8a39-4f0e-9a57-0c6f1f8b2d11"),
                                   "police_unit": "zwb-walcheren", "previous_status": "accepted",
                                   "reason": "reporter_withdrew"},
    "repeat_linked": lambda: {"link_id": uuid.UUID("1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"), "kind": "perpetrator",
                              "other_municipality": "GM0718", "side": "new_case"},
    "case_message_posted": lambda: {"message_id": uuid.UUID("2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"),
                                    "direction": "from_reporter"},
    "signal_raised": lambda: {"signal_id": SIGNAL_ID, "kind": "inform_burgemeester", "owner_role": "coordinator",
                              "scope": "municipality", "acute": True, "due_at": DUE_AT},
    "signal_handled": lambda: {"signal_id": SIGNAL_ID, "kind": "inform_burgemeester", "outcome": "done",
                               "by_person": True, "minutes_open": 42, "overdue": False},
    "partner_delivery_replayed": lambda: {"delivery_id": uuid.UUID("4d5e6f7a-8b9c-4d0e-8f1a-2b3c4d5e6f7a"),
                                          "subscriber": "riec-zeeland"},
}
