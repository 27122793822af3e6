"""Referral decisions, free of nameko and SQL."""
from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Referral:
    referral_id: uuid.UUID
    case_id: uuid.UUID
    police_unit: str
    categories: list
    urgency: str
    status: str = "created"


def referral_for(case_id, triaged: dict, police_unit: str) -> Referral | None:
    """A referral when triage recommended one (triage only does so with the reporter's consent)."""
    if "police_referral" not in triaged["decisions"]:
        return None
    return Referral(uuid.uuid4(), case_id, police_unit, list(triaged["categories"]), triaged["urgency"])


def referral_created_payload(referral: Referral, triaged: dict) -> dict:
    """Only what the police need to act: no description, no names, no aftercare or health data."""
    return {
        "referral_id": referral.referral_id,
        "police_unit": referral.police_unit,
        "categories": referral.categories,
        "urgency": referral.urgency,
        "occurred_at": triaged["occurred_at"],
        "location_type": triaged["location_type"],
        "status": referral.status,
    }
