"""Statistics' tables in the regional statistics database (schema `statistics`)."""
from __future__ import annotations

from psycopg2 import sql

from services.statistics.domain import case_ref

COLUMNS = {"reported_on", "channel", "location_type", "target_role", "reported_categories", "triaged_on",
           "categories", "urgency", "referred", "referred_on", "aftercare_planned", "first_contact_due_on",
           "first_contact_on", "first_contact_hours_after_due", "aftercare_closed_reason", "aftercare_closed_on",
           "updated_on", "overridden", "triage_overdue", "triage_overdue_on", "repeat_perpetrator",
           "repeat_elsewhere", "repeat_victim", "aangifte", "aangifte_on", "referral_rejected",
           "referral_outcome", "referral_closed_on", "referral_escalated", "withdrawn", "withdrawn_on"}
COUNTERS = {"aftercare_reminders", "aftercare_overdue", "aftercare_contacts", "aftercare_help_referrals"}


def upsert_facts(uow, municipality: str, case_id, facts: dict, counts: dict | None = None) -> None:
    """Set `facts` and add `counts` on the incident's row, creating it when this event comes first."""
    counts = counts or {}
    unknown = (set(facts) - COLUMNS) | (set(counts) - COUNTERS)
    if unknown:
        raise ValueError(f"not statistics columns: {sorted(unknown)}")
    names = sorted(facts) + sorted(counts)
    if not names:  # nothing to set: the row only has to exist
        uow.execute("INSERT INTO statistics.incident_facts (municipality, case_ref) VALUES (%s, %s) "
                    "ON CONFLICT (municipality, case_ref) DO NOTHING", [municipality, case_ref(case_id)]).close()
        return
    sets = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in sorted(facts)]
    sets += [sql.SQL("{0} = incident_facts.{0} + EXCLUDED.{0}").format(sql.Identifier(n)) for n in sorted(counts)]
    query = sql.SQL(
        "INSERT INTO statistics.incident_facts (municipality, case_ref, {cols}) VALUES (%s, %s, {vals}) "
        "ON CONFLICT (municipality, case_ref) DO UPDATE SET {sets}").format(
        cols=sql.SQL(", ").join(map(sql.Identifier, names)),
        vals=sql.SQL(", ").join(sql.Placeholder() * len(names)),
        sets=sql.SQL(", ").join(sets))
    values = [facts[n] for n in sorted(facts)] + [counts[n] for n in sorted(counts)]
    uow.execute(query, [municipality, case_ref(case_id), *values]).close()


def summary(uow, municipality: str) -> dict:
    row = uow.fetchone(
        "SELECT count(reported_on) AS reported, count(triaged_on) AS triaged, "
        "count(*) FILTER (WHERE referred) AS referred, "
        "count(*) FILTER (WHERE aftercare_planned) AS aftercare_planned "
        "FROM statistics.incident_facts WHERE municipality = %s", (municipality,))
    by_category = uow.fetchall(
        "SELECT c AS category, count(*) AS incidents FROM statistics.incident_facts, unnest(categories) c "
        "WHERE municipality = %s GROUP BY c ORDER BY c", (municipality,))
    by_urgency = uow.fetchall(
        "SELECT urgency, count(*) AS incidents FROM statistics.incident_facts "
        "WHERE municipality = %s AND urgency IS NOT NULL GROUP BY urgency ORDER BY urgency", (municipality,))
    return {**row, "by_category": {r["category"]: r["incidents"] for r in by_category},
            "by_urgency": {r["urgency"]: r["incidents"] for r in by_urgency}}
