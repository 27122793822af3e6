"""What each event contributes to the statistics read model: codes and days, nothing personal."""
from __future__ import annotations

import hashlib
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def case_ref(case_id) -> bytes:
    return hashlib.sha256(f"meldpunt-statistics:{case_id}".encode()).digest()


def day(moment):
    """Dates in statistics are never finer than a day (Dutch calendar day)."""
    return moment.astimezone(AMSTERDAM).date()


def facts_from(event) -> dict:
    """The columns of incident_facts that this event sets."""
    p = event.payload
    if event.event_type == "incident_reported":
        return {"reported_on": day(event.occurred_at), "channel": p["channel"],
                "location_type": p["location_type"], "target_role": p["target_role"],
                "reported_categories": p["reported_categories"]}
    if event.event_type == "incident_triaged":
        return {"triaged_on": day(event.occurred_at), "categories": p["categories"], "urgency": p["urgency"]}
    if event.event_type == "referral_created":
        return {"referred": True, "referred_on": day(event.occurred_at)}
    if event.event_type == "aftercare_planned":
        return {"aftercare_planned": True, "first_contact_due_on": day(p["first_contact_due"])}
    raise ValueError(f"statistics has no rule for {event.event_type}")
