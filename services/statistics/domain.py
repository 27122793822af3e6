"""What each event contributes to the statistics read model: codes and days, nothing personal."""
from __future__ import annotations

import hashlib
import hmac
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def case_ref(key: bytes, case_id) -> bytes:
    """The incident's key in the read model: HMAC-SHA256 of the case id with statistics' own key (derived from the
    region secret, shared/keyed.statistics_key), so that nobody holding a list of case ids can find their rows by
    hashing them, and so that this key opens none of triage's identity hashes."""
    return hmac.new(key, f"meldpunt-statistics:{case_id}".encode(), hashlib.sha256).digest()


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
    if event.event_type == "incident_updated":
        return {"updated_on": day(event.occurred_at), "channel": p["channel"], "location_type": p["location_type"],
                "target_role": p["target_role"], "reported_categories": p["reported_categories"]}
    if event.event_type == "incident_withdrawn":
        return {"withdrawn": True, "withdrawn_on": day(event.occurred_at)}
    if event.event_type == "incident_triaged":
        return {"triaged_on": day(event.occurred_at), "categories": p["categories"], "urgency": p["urgency"]}
    if event.event_type == "triage_overridden":
        return {"categories": p["categories"], "urgency": p["urgency"], "overridden": True}
    if event.event_type == "triage_overdue":
        return {"triage_overdue": True, "triage_overdue_on": day(event.occurred_at)}
    if event.event_type == "repeat_detected":
        if p["kind"] == "victim":
            return {"repeat_victim": True}
        return {"repeat_perpetrator": True, **({"repeat_elsewhere": True} if p["other_municipalities"] else {})}
    if event.event_type == "referral_created":
        return {"referred": True, "referred_on": day(event.occurred_at)}
    if event.event_type == "referral_updated":
        # flags only ever become true, so updates folded out of order cannot undo a later step
        if p["status"] == "aangifte_gedaan":
            return {"aangifte": True, "aangifte_on": day(event.occurred_at)}
        if p["status"] == "afgewezen":
            return {"referral_rejected": True}
        if p["status"] == "afgesloten":
            return {"referral_outcome": p.get("outcome"), "referral_closed_on": day(event.occurred_at)}
        return {}
    if event.event_type == "referral_escalated":
        return {"referral_escalated": True}
    if event.event_type == "aangifte_reminder_due":
        return {"aangifte_reminded": True}
    if event.event_type == "referral_withdrawn":
        return {"referral_withdrawn": True, "referral_withdrawn_reason": p["reason"]}
    if event.event_type == "incident_closed":
        return {"closed_by_staff": True, "staff_close_reason": p["reason"], "closed_on": day(event.occurred_at)}
    if event.event_type == "repeat_linked":
        return {"repeat_perpetrator": True, "repeat_elsewhere": True}
    if event.event_type == "aftercare_planned":
        return {"aftercare_planned": True, "first_contact_due_on": day(p["first_contact_due"])}
    if event.event_type == "aftercare_contact_recorded":
        if p["moment"] == "first_contact" and p["outcome"] == "reached":
            return {"first_contact_on": day(event.occurred_at), "first_contact_hours_after_due": p["hours_after_due"],
                    "first_contact_days": p["days_since_incident"]}
        return {}
    if event.event_type == "aftercare_closed":
        return {"aftercare_closed_reason": p["reason"], "aftercare_closed_on": day(event.occurred_at)}
    if event.event_type in COUNTS:
        return {}
    raise ValueError(f"statistics has no rule for {event.event_type}")


# Events that add to a counter of the incident's row (each counted once: the inbox sees to that).
COUNTS = {
    "aftercare_contact_due": "aftercare_reminders",
    "aftercare_overdue": "aftercare_overdue",
    "aftercare_contact_recorded": "aftercare_contacts",
    "aftercare_referred": "aftercare_help_referrals",
    "witness_care_started": "witness_tracks",
    "witness_contact_recorded": "witness_contacts",
    "witness_care_closed": None,  # counted when it started
    "witness_contact_due": "witness_reminders",
    "aftercare_handover": "handovers_proposed",  # or handovers_made: counts_from
    "aftercare_handover_follow_up_due": "handover_follow_ups",
    "signal_raised": "signals_raised",
    "signal_handled": "signals_handled",
    "case_message_posted": "messages_to_reporter",  # or messages_from_reporter: counts_from
}


def counts_from(event) -> dict:
    """The counters of incident_facts that this event adds one to."""
    column = COUNTS.get(event.event_type)
    if column is None:
        return {}
    if event.event_type == "aftercare_handover":  # each proposal and each handover made, once
        return {"voorgesteld": {"handovers_proposed": 1}, "overgedragen": {"handovers_made": 1}}.get(
            event.payload["status"], {})
    if event.event_type == "case_message_posted" and event.payload["direction"] == "from_reporter":
        return {"messages_from_reporter": 1}
    if event.event_type == "signal_handled" and event.payload["overdue"]:
        return {column: 1, "signals_handled_late": 1}
    return {column: 1}
