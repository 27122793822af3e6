"""Statistics' tables in the regional statistics database (schema `statistics`): the incident facts,
the daily and monthly counts the figures are read from, and the SQL aggregates behind them."""
from __future__ import annotations

from datetime import date

import psycopg2.extras
from psycopg2 import sql

COLUMNS = {"reported_on", "channel", "location_type", "target_role", "reported_categories", "triaged_on",
           "categories", "urgency", "referred", "referred_on", "aftercare_planned", "first_contact_due_on",
           "first_contact_on", "first_contact_hours_after_due", "first_contact_days", "aftercare_closed_reason",
           "aftercare_closed_on", "updated_on", "overridden", "triage_overdue", "triage_overdue_on",
           "repeat_perpetrator", "repeat_elsewhere", "repeat_victim", "aangifte", "aangifte_on",
           "referral_rejected", "referral_outcome", "referral_closed_on", "referral_escalated", "withdrawn",
           "withdrawn_on", "referral_withdrawn", "referral_withdrawn_reason", "closed_by_staff",
           "staff_close_reason", "closed_on", "aangifte_reminded"}
COUNTERS = {"aftercare_reminders", "aftercare_overdue", "aftercare_contacts", "aftercare_help_referrals",
            "signals_raised", "signals_handled", "signals_handled_late", "messages_to_reporter",
            "messages_from_reporter", "witness_tracks", "witness_contacts", "handovers_proposed", "handovers_made",
            "handover_follow_ups", "witness_reminders"}


def upsert_facts(uow, municipality: str, ref: bytes, facts: dict, counts: dict | None = None) -> date | None:
    """Set `facts` and add `counts` on the incident's row, creating it when this event comes first.
    Returns the day the incident was reported (None while its incident_reported has not come)."""
    counts = counts or {}
    facts_names, count_names = _columns(facts, counts)
    if not facts_names and not count_names:  # nothing to set: the row only has to exist
        uow.execute("INSERT INTO statistics.incident_facts (municipality, case_ref) VALUES (%s, %s) "
                    "ON CONFLICT (municipality, case_ref) DO NOTHING", [municipality, ref]).close()
        row = uow.fetchone("SELECT reported_on FROM statistics.incident_facts "
                           "WHERE municipality = %s AND case_ref = %s", (municipality, ref))
        return row["reported_on"]
    query = _upsert(facts_names, count_names, sql.SQL("({})").format(
        sql.SQL(", ").join(sql.Placeholder() * (2 + len(facts_names) + len(count_names)))))
    values = [facts[n] for n in facts_names] + [counts[n] for n in count_names]
    return uow.fetchone(query, [municipality, ref, *values])["reported_on"]


def upsert_facts_many(uow, rows: list[tuple[str, bytes, dict, dict]], mark: bool = False) -> set[tuple[str, date]]:
    """`upsert_facts` for a batch of (municipality, ref, facts, counts), already in lock order:
    one statement when every row sets the same columns of a different incident (what a batch
    of one event type nearly always is), else one per row, so that rows are still locked in the
    order given. Returns the (municipality, day reported) of every row whose incident has come;
    with `mark`, those days are marked for their recount too (`mark_dirty`), in the same
    statement when there is one (issue 25: a round trip fewer per batch)."""
    columns = {_columns(facts, counts) for _, _, facts, counts in rows}
    incidents = {(municipality, ref) for municipality, ref, _, _ in rows}
    if len(columns) != 1 or len(incidents) != len(rows) or columns == {((), ())}:
        days = {(municipality, day) for municipality, ref, facts, counts in rows
                if (day := upsert_facts(uow, municipality, ref, facts, counts)) is not None}
        if mark:
            mark_dirty(uow, days)
        return days
    ((facts_names, count_names),) = columns
    upsert = _upsert(facts_names, count_names, sql.SQL("%s"), returning="municipality, reported_on")
    if mark:  # in one order, as mark_dirty, so that concurrent folds cannot deadlock
        upsert = sql.SQL(
            "WITH folded AS ({upsert}), marked AS (INSERT INTO statistics.dirty_days (municipality, day) "
            "SELECT DISTINCT municipality, reported_on FROM folded WHERE reported_on IS NOT NULL "
            "ORDER BY municipality, reported_on ON CONFLICT DO NOTHING) "
            "SELECT municipality, reported_on FROM folded").format(upsert=upsert)
    with uow.cursor() as cur:
        returned = psycopg2.extras.execute_values(
            cur, upsert.as_string(cur),
            [(municipality, ref, *(facts[n] for n in facts_names), *(counts[n] for n in count_names))
             for municipality, ref, facts, counts in rows],
            page_size=len(rows), fetch=True)
    return {(row["municipality"], row["reported_on"]) for row in returned if row["reported_on"] is not None}


def _columns(facts: dict, counts: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    unknown = (set(facts) - COLUMNS) | (set(counts) - COUNTERS)
    if unknown:
        raise ValueError(f"not statistics columns: {sorted(unknown)}")
    return tuple(sorted(facts)), tuple(sorted(counts))


def _upsert(facts_names, count_names, values, returning: str = "reported_on") -> sql.Composed:
    """INSERT … ON CONFLICT DO UPDATE on incident_facts: facts are set, counters added to."""
    sets = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in facts_names]
    sets += [sql.SQL("{0} = incident_facts.{0} + EXCLUDED.{0}").format(sql.Identifier(n)) for n in count_names]
    return sql.SQL(
        "INSERT INTO statistics.incident_facts (municipality, case_ref, {cols}) VALUES {values} "
        "ON CONFLICT (municipality, case_ref) DO UPDATE SET {sets} RETURNING {returning}").format(
        cols=sql.SQL(", ").join(map(sql.Identifier, facts_names + count_names)), values=values,
        sets=sql.SQL(", ").join(sets), returning=sql.SQL(returning))


# ------------------------------------------------------------------ rollups
# (figure, value expression, condition, count expression): each adds rows to the daily counts.
# services/statistics/figures.py knows the same figure names and values.
_FIGURES = [
    ("category", "c", "true", "count(*)"),  # from the unnest below: an incident may have several
    ("target_role", "coalesce(target_role, 'onbekend')", "true", "count(*)"),
    ("location_type", "coalesce(location_type, 'onbekend')", "true", "count(*)"),
    ("channel", "coalesce(channel, 'onbekend')", "true", "count(*)"),
    ("urgency", "coalesce(urgency, 'onbekend')", "true", "count(*)"),
    ("police", "CASE WHEN aangifte THEN 'aangifte' WHEN referred THEN 'verwezen' ELSE 'niet_verwezen' END",
     "true", "count(*)"),
    ("police_outcome", "referral_outcome", "referral_outcome IS NOT NULL", "count(*)"),
    ("aftercare", "CASE WHEN first_contact_on IS NULL THEN 'nog_geen_contact' "
                  "WHEN coalesce(first_contact_hours_after_due, 0) <= 0 THEN 'op_tijd' ELSE 'te_laat' END",
     "aftercare_planned", "count(*)"),
    ("aftercare_closed", "aftercare_closed_reason", "aftercare_closed_reason IS NOT NULL", "count(*)"),
    ("first_contact_days", "first_contact_days::text", "first_contact_days IS NOT NULL", "count(*)"),
    ("repeat_perpetrator", "CASE WHEN repeat_elsewhere THEN 'ook_elders' ELSE 'alleen_hier' END",
     "repeat_perpetrator", "count(*)"),
]
# deadline breaches: incidents with a breached triage, aftercare or police deadline
_BREACHES = [("triage", "triage_overdue"), ("nazorg", "aftercare_overdue > 0"), ("politie", "referral_escalated")]


def _daily_select(where: str) -> str:
    parts = []
    for figure, value, condition, count in _FIGURES:
        source = "f, unnest(coalesce(f.categories, f.reported_categories)) c" if figure == "category" else "f"
        parts.append(f"SELECT municipality, reported_on, '{figure}', {value}, {count} FROM {source} "
                     f"WHERE {condition} GROUP BY 1, 2, 4")
    for value, condition in _BREACHES:
        parts.append(f"SELECT municipality, reported_on, 'deadline_breach', '{value}', count(*) FROM f "
                     f"WHERE {condition} GROUP BY 1, 2")
    return (f"WITH f AS (SELECT * FROM statistics.incident_facts WHERE reported_on IS NOT NULL AND {where}) "
            + " UNION ALL ".join(parts))


def refresh_day(uow, municipality: str, day: date, month: bool = True) -> None:
    """Recompute the counts of one municipality's day (and of that month) from the facts."""
    _lock_month(uow, municipality, day.replace(day=1))
    uow.execute("DELETE FROM statistics.daily_counts WHERE day = %s AND municipality = %s",
                (day, municipality)).close()
    uow.execute("INSERT INTO statistics.daily_counts (municipality, day, figure, value, n) "
                + _daily_select("municipality = %s AND reported_on = %s"), (municipality, day)).close()
    if month:
        refresh_month(uow, municipality, day.replace(day=1))


def _lock_month(uow, municipality: str, month: date) -> None:
    # one refresher per municipality and month at a time; each statement below sees the facts
    # committed before it, so the last refresher always counts every committed change
    uow.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"statistics:{municipality}:{month}",)).close()


def refresh_month(uow, municipality: str, month: date) -> None:
    """Recompute one municipality's month from its daily counts."""
    _lock_month(uow, municipality, month)
    uow.execute("DELETE FROM statistics.monthly_counts WHERE month = %s AND municipality = %s",
                (month, municipality)).close()
    uow.execute("INSERT INTO statistics.monthly_counts (month, municipality, figure, value, n) "
                "SELECT %s, municipality, figure, value, sum(n) FROM statistics.daily_counts "
                "WHERE municipality = %s AND day >= %s AND day < (%s::date + interval '1 month') "
                "GROUP BY municipality, figure, value", (month, municipality, month, month)).close()


BATCH = 100  # marked days recounted per transaction


def mark_dirty(uow, days) -> None:
    """Note that these (municipality, day) pairs need their counts recomputed (refresh_dirty does
    it); in one order, so that concurrent folds cannot deadlock."""
    if days:
        with uow.cursor() as cur:
            psycopg2.extras.execute_values(
                cur, "INSERT INTO statistics.dirty_days (municipality, day) VALUES %s ON CONFLICT DO NOTHING",
                sorted(days), page_size=len(days))


def refresh_dirty(uow, limit: int = 100, wait: bool = False) -> int:
    """Recount up to `limit` marked days (each month once), unmark them; return how many.

    The timer skips rows another refresher holds. A reader of the figures waits for them
    (`wait`): a day being recounted is not yet counted, and the reader must see it. A day
    marked again while it is recounted waits for this transaction and is marked anew, so the
    next refresh counts it again.
    """
    lock = "FOR UPDATE" if wait else "FOR UPDATE SKIP LOCKED"
    days = uow.fetchall("DELETE FROM statistics.dirty_days WHERE (municipality, day) IN "
                        "(SELECT municipality, day FROM statistics.dirty_days ORDER BY municipality, day "
                        f"LIMIT %s {lock}) RETURNING municipality, day", (limit,))
    months = set()
    for row in sorted(days, key=lambda r: (r["municipality"], r["day"])):
        refresh_day(uow, row["municipality"], row["day"], month=False)
        months.add((row["municipality"], row["day"].replace(day=1)))
    for municipality, month in sorted(months):
        refresh_month(uow, municipality, month)
    return len(days)


def refresh_all(uow) -> None:
    """Recompute every daily and monthly count from the facts (rebuild, bench)."""
    uow.execute("LOCK TABLE statistics.daily_counts, statistics.monthly_counts IN EXCLUSIVE MODE").close()
    uow.execute("TRUNCATE statistics.daily_counts, statistics.monthly_counts, statistics.dirty_days").close()
    uow.execute("INSERT INTO statistics.daily_counts (municipality, day, figure, value, n) "
                + _daily_select("true")).close()
    uow.execute("INSERT INTO statistics.monthly_counts (month, municipality, figure, value, n) "
                "SELECT date_trunc('month', day)::date, municipality, figure, value, sum(n) "
                "FROM statistics.daily_counts GROUP BY 1, 2, 3, 4").close()


def counts(uow, first: date, last: date, monthly: bool) -> list[tuple[str, str, str, int]]:
    """(municipality, figure, value, n) summed over the days `first`..`last` (whole months when
    `monthly`), for every municipality: suppression needs the whole regional table."""
    table, column = ("monthly_counts", "month") if monthly else ("daily_counts", "day")
    with uow.conn.cursor() as cur:
        cur.execute(f"SELECT municipality, figure, value, sum(n)::int FROM statistics.{table} "
                    f"WHERE {column} BETWEEN %s AND %s GROUP BY 1, 2, 3", (first, last))
        return cur.fetchall()


def one_snapshot(uow) -> None:
    """Every read of this unit of work sees the same committed state (call it first): the tables
    of a period and the monthly totals that decide what others see of them must agree."""
    uow.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").close()


def monthly_incidents(uow, years) -> dict[int, dict[str, list[int]]]:
    """Each municipality's incidents per month of each of `years`: what decides which of its totals
    another viewer sees (every incident is in exactly one column of the police figure)."""
    out: dict[int, dict[str, list[int]]] = {year: {} for year in years}
    if not years:
        return out
    with uow.conn.cursor() as cur:
        cur.execute("SELECT municipality, month, sum(n)::int FROM statistics.monthly_counts "
                    "WHERE figure = 'police' AND month >= %s AND month <= %s GROUP BY 1, 2",
                    (date(min(years), 1, 1), date(max(years), 12, 1)))
        for municipality, month, n in cur.fetchall():
            if month.year in out:
                out[month.year].setdefault(municipality, [0] * 12)[month.month - 1] = n
    return out


# --------------------------------------------------------------- rebuild
def lock_facts(uow) -> None:
    """Hold back every fold and every recount until this unit of work ends (rebuild).

    All four tables at once, in the order a fold takes them (incident_facts, then dirty_days) and
    before the counts: a recount that already holds dirty_days (its first step) finishes, as it
    only reads incident_facts, which EXCLUSIVE still allows; one that starts later waits at its
    first step holding nothing. Taking incident_facts alone first and the others later (TRUNCATE,
    refresh_all) deadlocked with a recount under load (CI of 9ce4e55: `stats rebuild: deadlock
    detected`)."""
    uow.execute("LOCK TABLE statistics.incident_facts, statistics.dirty_days, statistics.daily_counts, "
                "statistics.monthly_counts IN EXCLUSIVE MODE").close()


def replace_facts(uow, rows: list[dict]) -> None:
    """Empty the read model and fill it with `rows` (one dict of columns per incident)."""
    uow.execute("TRUNCATE statistics.incident_facts").close()
    for row in rows:
        names = sorted(row)
        unknown = set(names) - COLUMNS - COUNTERS - {"municipality", "case_ref"}
        if unknown:
            raise ValueError(f"not statistics columns: {sorted(unknown)}")
        uow.execute(sql.SQL("INSERT INTO statistics.incident_facts ({cols}) VALUES ({vals})").format(
            cols=sql.SQL(", ").join(map(sql.Identifier, names)),
            vals=sql.SQL(", ").join(sql.Placeholder() * len(names))), [row[n] for n in names]).close()


def summary(uow, municipality: str) -> dict:
    row = uow.fetchone(
        "SELECT count(reported_on) AS reported, count(triaged_on) AS triaged, "
        "count(*) FILTER (WHERE referred) AS referred, "
        "count(*) FILTER (WHERE aftercare_planned) AS aftercare_planned, "
        # issue 20, counts only: witnesses' and colleagues' own care, handovers to help
        "coalesce(sum(witness_tracks), 0)::int AS witness_tracks, "
        "coalesce(sum(witness_contacts), 0)::int AS witness_contacts, "
        "coalesce(sum(handovers_proposed), 0)::int AS handovers_proposed, "
        "coalesce(sum(handovers_made), 0)::int AS handovers_made, "
        "coalesce(sum(handover_follow_ups), 0)::int AS handover_follow_ups "
        "FROM statistics.incident_facts WHERE municipality = %s", (municipality,))
    by_category = uow.fetchall(
        "SELECT c AS category, count(*) AS incidents FROM statistics.incident_facts, unnest(categories) c "
        "WHERE municipality = %s GROUP BY c ORDER BY c", (municipality,))
    by_urgency = uow.fetchall(
        "SELECT urgency, count(*) AS incidents FROM statistics.incident_facts "
        "WHERE municipality = %s AND urgency IS NOT NULL GROUP BY urgency ORDER BY urgency", (municipality,))
    return {**row, "by_category": {r["category"]: r["incidents"] for r in by_category},
            "by_urgency": {r["urgency"]: r["incidents"] for r in by_urgency}}
