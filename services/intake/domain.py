"""Intake's decisions, free of nameko and SQL: what an incident becomes and what its event says."""
from __future__ import annotations


def reported_payload(report: dict, channel: str) -> dict:
    """The incident_reported payload: classifications and consent only, never what or who."""
    return {
        "channel": channel,
        "occurred_at": report["occurred_at"],
        "location_type": report["location_type"],
        "target_role": report["target_role"],
        "reported_categories": list(report["categories"]),
        "anonymous": is_anonymous(report),
        "perpetrator_count": len(report["perpetrators"]),
        "consent": dict(report["consent"]),
    }


def is_anonymous(report: dict) -> bool:
    reporter = report.get("reporter") or {}
    return not any(reporter.get(k) for k in ("name", "email", "phone"))
