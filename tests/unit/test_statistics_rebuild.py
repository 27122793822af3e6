"""services/statistics/rebuild.py as properties: for any case history, the facts worked out from what
the case stores hold equal the facts folded from its events (domain.facts_from), so a rebuild gives
the same figures; and repeat flags follow triage's order."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from hypothesis import given, settings, strategies as st

from services.statistics import domain, rebuild
from shared import vocabulary

FIGURE_COLUMNS = {  # column -> the read model's default
    "reported_on": None, "channel": None, "location_type": None, "target_role": None, "reported_categories": None,
    "categories": None, "urgency": None, "referred": False, "aangifte": False, "referral_outcome": None,
    "referral_rejected": False, "referral_escalated": False, "triage_overdue": False, "overridden": False,
    "aftercare_planned": False, "first_contact_on": None, "first_contact_hours_after_due": None,
    "first_contact_days": None, "aftercare_closed_reason": None, "withdrawn": False,
}
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def moments(draw, after, hours=24 * 40):
    return after + timedelta(minutes=draw(st.integers(1, hours * 60)))


@st.composite
def histories(draw):
    """A case as its events tell it, and as the case stores keep it (its row of case_views.cases_for_statistics)."""
    events, row = [], {}

    def happened(event_type, at, **payload):
        events.append(SimpleNamespace(event_type=event_type, payload=payload, occurred_at=at))

    received = START + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))
    categories = sorted(draw(st.sets(st.sampled_from(vocabulary.CATEGORIES), min_size=1, max_size=3)))
    incident = {"channel": draw(st.sampled_from(vocabulary.CHANNELS)), "location_type": draw(st.sampled_from(vocabulary.LOCATION_TYPES)),
                "target_role": draw(st.sampled_from(vocabulary.TARGET_ROLES)), "reported_categories": categories}
    happened("incident_reported", received, **incident)
    row.update(case_id="c", received_at=received, withdrawn_at=None, **incident)
    row.update(triaged_at=None, categories=None, urgency=None, triage_status=None, overdue_reported_at=None,
               referred_at=None, referral_status=None, referral_outcome=None, escalated_at=None, aangifte_at=None,
               aangifte_reminded_at=None,
               referral_closed_at=None, referral_rejected=False, plan_id=None, planned_at=None,
               plan_occurred_at=None, close_reason=None, closed_at=None, first_contact_due_at=None, reminders=0,
               overdue=0, contacts=0, help_referrals=0, first_contacted_at=None, first_contact_recorded_at=None,
               withdrawal_reason=None, staff_close_reason=None, staff_closed_at=None, signals_raised=0,
               signals_handled=0, signals_handled_late=0, messages_to_reporter=0, messages_from_reporter=0)
    now = received
    if draw(st.booleans()):
        now = received + timedelta(seconds=draw(st.integers(1, 600)))
        urgency = draw(st.sampled_from(vocabulary.URGENCIES))
        happened("incident_triaged", now, categories=categories, urgency=urgency)
        row.update(triaged_at=now, categories=categories, urgency=urgency, triage_status="voorstel")
        if draw(st.booleans()):
            overdue_at = moments(draw, now, 48)
            happened("triage_overdue", overdue_at)
            row["overdue_reported_at"] = overdue_at
        if draw(st.booleans()):
            new = sorted(draw(st.sets(st.sampled_from(vocabulary.CATEGORIES), min_size=1, max_size=2)))
            urgency = draw(st.sampled_from(vocabulary.URGENCIES))
            happened("triage_overridden", moments(draw, now, 48), categories=new, urgency=urgency)
            row.update(categories=new, urgency=urgency, triage_status="overschreven")
        if draw(st.booleans()):
            created = moments(draw, now, 1)
            happened("referral_created", created)
            row.update(referred_at=created, referral_status="created")
            if draw(st.booleans()):
                escalated = moments(draw, created, 72)
                happened("referral_escalated", escalated)
                row["escalated_at"] = escalated
            path = draw(st.sampled_from(["open", "afgewezen", "aangifte", "afgesloten"]))
            at = created
            if path == "afgewezen":
                at = moments(draw, at)
                happened("referral_updated", at, status="afgewezen")
                row.update(referral_status="afgewezen", referral_rejected=True)
            if path in ("aangifte", "afgesloten"):
                for status in ("accepted", "aangifte_gepland", "aangifte_gedaan"):
                    at = moments(draw, at)
                    happened("referral_updated", at, status=status)
                    if status == "aangifte_gedaan":
                        row["aangifte_at"] = at
                row["referral_status"] = "aangifte_gedaan"
            if path == "afgesloten":
                outcome = draw(st.sampled_from(vocabulary.REFERRAL_OUTCOMES + (None,)))
                at = moments(draw, at)
                happened("referral_updated", at, status="afgesloten", **({"outcome": outcome} if outcome else {}))
                row.update(referral_status="afgesloten", referral_outcome=outcome, referral_closed_at=at)
        if draw(st.booleans()):
            planned = moments(draw, now, 1)
            due = planned + timedelta(hours=24)
            happened("aftercare_planned", planned, first_contact_due=due)
            row.update(plan_id="p", planned_at=planned, plan_occurred_at=draw(st.sampled_from([None, received])),
                       first_contact_due_at=due)
            if draw(st.booleans()):
                happened("aftercare_overdue", due + timedelta(minutes=1))
                row["overdue"] = 1
            if draw(st.booleans()):
                contacted = moments(draw, planned, 72)
                recorded = contacted + timedelta(minutes=draw(st.integers(0, 3000)))
                incident_at = row["plan_occurred_at"] or planned
                happened("aftercare_contact_recorded", recorded, moment="first_contact", outcome="reached",
                         hours_after_due=rebuild.hours_between(contacted, due),
                         days_since_incident=(contacted - incident_at).days)
                row.update(first_contacted_at=contacted, first_contact_recorded_at=recorded, contacts=1)
                if draw(st.booleans()):
                    reason = draw(st.sampled_from(vocabulary.CLOSE_REASONS))
                    closed = moments(draw, recorded, 240)
                    happened("aftercare_closed", closed, reason=reason)
                    row.update(close_reason=reason, closed_at=closed)
    if draw(st.booleans()):
        withdrawn = moments(draw, received, 240)
        happened("incident_withdrawn", withdrawn)
        row["withdrawn_at"] = withdrawn
    return events, row


def folded(events, order) -> dict:
    facts, counts = {}, {}
    for index in order:
        facts.update(domain.facts_from(events[index]))
        for column, n in domain.counts_from(events[index]).items():
            counts[column] = counts.get(column, 0) + n
    return {**facts, **counts}


def figure_columns(facts: dict) -> dict:
    out = {column: facts.get(column, default) for column, default in FIGURE_COLUMNS.items()}
    out["aftercare_overdue"] = facts.get("aftercare_overdue", 0) > 0  # breaches count incidents
    return out


@settings(max_examples=300, deadline=None)
@given(histories())
def test_facts_from_the_case_stores_equal_the_facts_from_the_events(history):
    events, row = history

    assert figure_columns(rebuild.facts_of_case(row)) == figure_columns(folded(events, range(len(events))))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["GM0687", "GM0718"]), st.integers(0, 5), st.integers(0, 3)),
                min_size=1, max_size=12, unique_by=lambda k: (k[0], k[1], k[2])))
def test_a_case_is_a_repeat_when_an_earlier_triaged_case_shares_a_key(keys):
    """(municipality, case number, key number); case n is triaged at minute n of its municipality."""
    def triaged_at(code, case):
        return START + timedelta(minutes=case, seconds=0 if code == "GM0687" else 30)

    rows = [(code, (code, case), bytes([key]), triaged_at(code, case)) for code, case, key in keys]
    flags = rebuild.repeat_flags(rows)

    for code, case in {(c, n) for c, n, _ in keys}:
        own_keys = {k for c, n, k in keys if (c, n) == (code, case)}
        earlier = {c for c, n, k in keys if k in own_keys and (c, n) != (code, case)
                   and triaged_at(c, n) < triaged_at(code, case)}
        expected = {}
        if earlier:
            expected["repeat_perpetrator"] = True
            if any(c != code for c in earlier):
                expected["repeat_elsewhere"] = True
        assert flags.get((code, (code, case)), {}) == expected
