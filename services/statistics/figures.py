"""Figures per municipality and for the region over a period, as one viewer may see them.

Plain code, no SQL or nameko: it takes counts per (municipality, figure, value) for a period and
for the period before it (services/statistics/store.py sums them), and each municipality's
incidents per month of the calendar years involved, and gives the tables, shares, time to first
contact and trends of one scope (a municipality or the region). A municipality's own key sees its
own figures exactly. Every other view shows one publication, the same for every viewer: the
region's figures, and of each other municipality only its number of incidents per month, quarter
and year where services/statistics/suppression.py lets it (docs/statistics.md says why).

A hidden number is the JSON object {"hidden": true} (HIDDEN), printed as MARKER on the page and in
the CSV; None is a number that does not exist (a share of nothing, a median of no contacts).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

from shared import vocabulary

from services.statistics import suppression

REGION = "region"

# figure -> (title on the dashboard, the values always shown, in this order)
TABLES = {
    "category": ("Incidenten per categorie", vocabulary.CATEGORIES),
    "target_role": ("Incidenten per functie van de getroffene", vocabulary.TARGET_ROLES),
    "location_type": ("Incidenten per soort plaats", vocabulary.LOCATION_TYPES),
    "channel": ("Incidenten per kanaal van melden", vocabulary.CHANNELS),
    "urgency": ("Incidenten per urgentie", vocabulary.URGENCIES),
    "police": ("Politie: verwezen en aangifte", ("niet_verwezen", "verwezen", "aangifte")),
    "police_outcome": ("Politie: afloop van afgesloten verwijzingen", vocabulary.REFERRAL_OUTCOMES),
    "aftercare": ("Nazorg: eerste contact", ("op_tijd", "te_laat", "nog_geen_contact")),
    "aftercare_closed": ("Nazorg: afgesloten plannen", vocabulary.CLOSE_REASONS),
    "deadline_breach": ("Incidenten met een overschreden termijn", ("triage", "nazorg", "politie")),
    "repeat_perpetrator": ("Incidenten met een al bekende pleger", ("alleen_hier", "ook_elders")),
}
# Tables whose row totals are the municipality's incident count (each incident in exactly one
# column): the one total of another municipality that a suppressed view may show.
INCIDENT_MARGINS = ("police", "target_role", "location_type", "channel", "urgency")
FIRST_CONTACT_DAYS = "first_contact_days"
MARKER = "x"  # a hidden number on the page and in the CSV, as statistics offices print "secret"


def hidden() -> dict:
    """A hidden number in the JSON: never a bound, never a number."""
    return {"hidden": True}


def is_hidden(value) -> bool:
    return isinstance(value, dict) and value.get("hidden") is True


# Why a suppressed view hides what it hides (codes; docs/statistics.md and the page explain each).
NOTE_OTHERS_TOTALS = "other_municipalities_totals_only"
NOTE_WEEKS = "weeks_not_per_municipality"
NOTE_SINGLE_HOLDER = "single_holder_roles"
NOTE_FEW = "too_few_municipalities"
NOTE_SCOPE_TOTAL = "municipality_total_hidden"


# ------------------------------------------------------------------ periods
@dataclass(frozen=True)
class Period:
    kind: str    # week (ISO), month, quarter, year
    label: str   # 2026-W09, 2026-03, 2026-Q1, 2026
    first: date
    last: date

    @property
    def monthly(self) -> bool:
        """Whole months: read from the monthly counts."""
        return self.kind != "week"

    def previous(self) -> "Period":
        return period_containing(self.kind, self.first - timedelta(days=1))

    def as_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "first": self.first.isoformat(),
                "last": self.last.isoformat()}


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def period_containing(kind: str, day: date) -> Period:
    if kind == "week":
        year, week, weekday = day.isocalendar()
        first = day - timedelta(days=weekday - 1)
        return Period("week", f"{year}-W{week:02d}", first, first + timedelta(days=6))
    if kind == "month":
        return Period("month", f"{day.year}-{day.month:02d}", day.replace(day=1), _month_end(day.year, day.month))
    if kind == "quarter":
        quarter = (day.month - 1) // 3 + 1
        first = date(day.year, 3 * quarter - 2, 1)
        return Period("quarter", f"{day.year}-Q{quarter}", first, _month_end(day.year, 3 * quarter))
    if kind == "year":
        return Period("year", str(day.year), date(day.year, 1, 1), date(day.year, 12, 31))
    raise ValueError(f"unknown period kind {kind!r}")


_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-W(?P<week>\d{2})|-Q(?P<quarter>[1-4])|-(?P<month>\d{2}))?$")
PERIOD_KINDS = ("week", "month", "quarter", "year")


def parse_period(text: str) -> Period:
    """'2026-W09' (ISO week), '2026-03', '2026-Q1' or '2026'; ValueError for anything else."""
    match = _PERIOD.match(text or "")
    if not match:
        raise ValueError("use 2026-W09 (ISO week), 2026-03 (month), 2026-Q1 (quarter) or 2026 (year)")
    year = int(match["year"])
    if year < 2000 or year > 2999:
        raise ValueError("the year must lie between 2000 and 2999")
    try:
        if match["week"]:
            return period_containing("week", date.fromisocalendar(year, int(match["week"]), 1))
        if match["quarter"]:
            return period_containing("quarter", date(year, 3 * int(match["quarter"]), 1))
        if match["month"]:
            return period_containing("month", date(year, int(match["month"]), 1))
    except ValueError:
        raise ValueError(f"{text} is not a week or month of the calendar") from None
    return period_containing("year", date(year, 1, 1))


# ------------------------------------------------------------------ counts
class Counts:
    """Counts of one period: figure -> municipality -> value -> n."""

    def __init__(self, rows=()):
        self.by_figure: dict[str, dict[str, dict[str, int]]] = {}
        for municipality, figure, value, n in rows:
            self.by_figure.setdefault(figure, {}).setdefault(municipality, {})[value] = int(n)

    def get(self, figure: str, municipality: str, value: str) -> int:
        return self.by_figure.get(figure, {}).get(municipality, {}).get(value, 0)

    def values(self, figure: str) -> set[str]:
        return {value for per in self.by_figure.get(figure, {}).values() for value in per}

    def histogram(self, figure: str, municipalities) -> dict[int, int]:
        out: dict[int, int] = {}
        for code in municipalities:
            for value, n in self.by_figure.get(figure, {}).get(code, {}).items():
                out[int(value)] = out.get(int(value), 0) + n
        return out


def columns_of(figure: str, *periods: Counts) -> list[str]:
    """The table's fixed values, then any other value the data holds (e.g. a region's own category)."""
    fixed = list(TABLES[figure][1])
    seen = set().union(*(c.values(figure) for c in periods)) if periods else set()
    return fixed + sorted(seen - set(fixed))


# ------------------------------------------------------------------ views
@dataclass(frozen=True)
class Grid:
    """One table as one viewer may see it: rows per municipality, region totals; None = hidden."""
    rows: dict[str, list[int | None]]
    row_totals: dict[str, int | None]
    column_totals: list[int | None]
    total: int | None


YEAR_LEVEL = {"month": suppression.MONTH, "quarter": suppression.QUARTER, "year": suppression.YEAR}


def year_index(period: Period) -> int:
    if period.kind == "month":
        return period.first.month - 1
    if period.kind == "quarter":
        return (period.first.month - 1) // 3
    return 0


def years_needed(*periods: Period) -> set[int]:
    """The calendar years whose monthly incidents decide what others see of these periods."""
    return {p.first.year for p in periods if p.kind != "week"}


def totals_for_others(period: Period, counts: Counts, municipalities: list[str], threshold: int,
                      years: dict[int, dict[str, list[int]]]) -> dict[str, int | None]:
    """Each municipality's number of incidents in `period` as another viewer sees it (None: hidden)."""
    region = sum(counts.get("police", m, c) for m in municipalities for c in counts.values("police"))
    if len(municipalities) < suppression.MIN_MUNICIPALITIES:
        return {m: None for m in municipalities}
    if region == 0:  # nothing happened anywhere: no secret
        return {m: 0 for m in municipalities}
    if period.kind == "week":  # a week is too short: others' weeks are never shown
        return {m: None for m in municipalities}
    months = years.get(period.first.year) or {}
    published = suppression.protect_year({m: list(months.get(m, [0] * 12)) for m in municipalities}, threshold)
    return {m: published.shown(m, YEAR_LEVEL[period.kind], year_index(period)) for m in municipalities}


def grids(counts: Counts, columns: dict[str, list[str]], municipalities: list[str], viewer: str | None,
          threshold: int, incidents_for_others: dict[str, int | None]) -> dict[str, Grid]:
    """Every table as `viewer` may see it: its own row exact; the region's figures (but the
    single-holder roles); of every other municipality its incident total where it may be shown,
    and of its breakdowns only what the region's zeros already say."""
    few = len(municipalities) < suppression.MIN_MUNICIPALITIES
    out = {}
    for figure, cols in columns.items():
        exact_rows = {m: [counts.get(figure, m, c) for c in cols] for m in municipalities}
        region = [sum(exact_rows[m][i] for m in municipalities) for i in range(len(cols))]
        if few:
            column_totals: list[int | None] = [None] * len(cols)
            total: int | None = None
        else:
            column_totals = list(region)
            total = sum(region)
            if figure == "target_role":
                single = [i for i, c in enumerate(cols) if c in vocabulary.SINGLE_HOLDER_ROLES]
                if sum(region[i] for i in single) > 0:  # all zero is no secret: the others add up
                    for i in single:
                        column_totals[i] = None
        rows: dict[str, list[int | None]] = {}
        row_totals: dict[str, int | None] = {}
        for m in municipalities:
            if m == viewer:
                rows[m], row_totals[m] = exact_rows[m], sum(exact_rows[m])
                continue
            if few:
                rows[m], row_totals[m] = [None] * len(cols), None
                continue
            row_total = incidents_for_others[m] if figure in INCIDENT_MARGINS else (0 if total == 0 else None)
            values: list[int | None] = [0 if column_totals[i] == 0 else None for i in range(len(cols))]
            if figure in INCIDENT_MARGINS and row_total is not None:
                unknown = [i for i in range(len(cols)) if values[i] is None]
                if len(unknown) == 1:  # every other column is 0 in the whole region
                    values[unknown[0]] = row_total
            rows[m], row_totals[m] = values, row_total
        out[figure] = Grid(rows, row_totals, column_totals, total)
    return out


def _sum(values):
    return None if any(x is None for x in values) else sum(values)


def _share(part, whole):
    if part is None or whole is None:
        return hidden()
    if whole == 0:
        return None
    return round(100 * part / whole, 1)


def percentile(histogram: dict[int, int], fraction: float) -> int | None:
    """Nearest-rank percentile of a histogram {value: count}."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(fraction * n))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None  # not reached: rank <= n


@dataclass(frozen=True)
class Scoped:
    """One table for one scope: the scope's values per column and in total."""
    columns: list[str]
    values: list[int | None]
    total: int | None
    rows: dict[str, list[int | None]]       # per municipality (region scope) or just the one
    row_totals: dict[str, int | None]


def scoped(grid: Grid, columns: list[str], scope: str) -> Scoped:
    if scope == REGION:
        return Scoped(columns, grid.column_totals, grid.total, grid.rows, grid.row_totals)
    return Scoped(columns, grid.rows[scope], grid.row_totals[scope], {scope: grid.rows[scope]},
                  {scope: grid.row_totals[scope]})


def _out(x):
    return hidden() if x is None else x


def _change(now, before):
    if now is None or before is None:
        return hidden()
    return now - before


def view(period: Period, counts: Counts, municipalities: list[str], viewer: str | None, scope: str,
         threshold: int, years: dict[int, dict[str, list[int]]], columns: dict[str, list[str]]) -> dict:
    """The tables of one period for `scope` as `viewer` sees them (values int or None = hidden)."""
    others = totals_for_others(period, counts, municipalities, threshold, years)
    return {f: scoped(g, columns[f], scope)
            for f, g in grids(counts, columns, municipalities, viewer, threshold, others).items()}


def figures(current: Counts, previous: Counts, municipalities: list[str], viewer: str | None, scope: str,
            threshold: int, period: Period, years: dict[int, dict[str, list[int]]]) -> dict:
    """What `viewer` (a municipality code whose own figures it may see exactly, or None) may see of
    `scope` (a municipality code or REGION) in `period`: tables, shares, time to first contact,
    trends. `years` holds every municipality's incidents per month of the calendar years of
    `period` and the period before it (years_needed)."""
    if scope != REGION and scope not in municipalities:
        raise ValueError(f"{scope} is not a municipality of this region")
    if viewer not in municipalities:  # a person of the region itself has no figures of its own
        viewer = None
    exact = scope == viewer
    columns = {f: columns_of(f, current, previous) for f in TABLES}
    now = view(period, current, municipalities, viewer, scope, threshold, years, columns)
    before = view(period.previous(), previous, municipalities, viewer, scope, threshold, years, columns)
    tables = {}
    for figure, (title, _) in TABLES.items():
        n, p = now[figure], before[figure]
        tables[figure] = {
            "title": title,
            "columns": n.columns,
            "values": {c: _out(x) for c, x in zip(n.columns, n.values)},
            "total": _out(n.total),
            "rows": [{"municipality": m, "values": {c: _out(x) for c, x in zip(n.columns, n.rows[m])},
                      "total": _out(n.row_totals[m])} for m in n.rows] if scope == REGION else [],
            "previous": {"values": {c: _out(x) for c, x in zip(p.columns, p.values)}, "total": _out(p.total)},
            "change": {"values": {c: _change(x, y) for c, x, y in zip(n.columns, n.values, p.values)},
                       "total": _change(n.total, p.total)},
        }
    few = len(municipalities) < suppression.MIN_MUNICIPALITIES
    notes = []
    if not exact:
        notes.append(NOTE_FEW if few else NOTE_OTHERS_TOTALS)
        if period.kind == "week" and not few:
            notes.append(NOTE_WEEKS)
        if scope == REGION and not few and any(
                tables["target_role"]["values"].get(r) is not None and is_hidden(tables["target_role"]["values"][r])
                for r in vocabulary.SINGLE_HOLDER_ROLES):
            notes.append(NOTE_SINGLE_HOLDER)
        if scope != REGION and scope != viewer and now["police"].total is None and not few:
            notes.append(NOTE_SCOPE_TOTAL)
    return {
        "scope": scope,
        "exact": exact,
        "suppression": None if exact else {"threshold": threshold, "label": MARKER, "hidden": hidden(),
                                           "notes": notes},
        "incidents": {"value": _out(now["police"].total), "previous": _out(before["police"].total),
                      "change": _change(now["police"].total, before["police"].total)},
        "shares": {**_shares(now), "previous": _shares(before)},
        "first_contact_days": {
            **_first_contact(current, now, municipalities, scope, exact, threshold),
            "previous": _first_contact(previous, before, municipalities, scope, exact, threshold)},
        "tables": tables,
    }


def _shares(tables: dict[str, Scoped]) -> dict:
    def col(figure, name):
        t = tables[figure]
        return t.values[t.columns.index(name)]

    incidents = tables["police"].total
    referred = _sum([col("police", "verwezen"), col("police", "aangifte")])
    if referred is None and incidents is not None and col("police", "niet_verwezen") is not None:
        referred = incidents - col("police", "niet_verwezen")
    contacted = _sum([col("aftercare", "op_tijd"), col("aftercare", "te_laat")])
    return {
        "referred_to_police_pct": _share(referred, incidents),
        "aangifte_pct": _share(col("police", "aangifte"), incidents),
        "aftercare_first_contact_on_time_pct": _share(col("aftercare", "op_tijd"), contacted),
        "aftercare_plans_completed": _out(col("aftercare_closed", "completed")),
        "aftercare_plans_completed_pct": _share(col("aftercare_closed", "completed"), tables["aftercare_closed"].total),
    }


def _first_contact(counts: Counts, tables: dict[str, Scoped], municipalities, scope, exact, threshold) -> dict:
    """n is the first contacts made (on time + late, the aftercare table's own numbers); the median
    and 90th percentile of their days are shown in a suppressed view only where at least
    `threshold` of the contacts are not any single municipality's, so no viewer's own contacts
    leave another's days readable."""
    t = tables["aftercare"]
    n = _sum([t.values[t.columns.index("op_tijd")], t.values[t.columns.index("te_laat")]])
    histogram = counts.histogram(FIRST_CONTACT_DAYS, municipalities if scope == REGION else [scope])
    if n == 0:
        return {"n": 0, "median": None, "p90": None}
    if exact:
        return {"n": n, "median": percentile(histogram, 0.5), "p90": percentile(histogram, 0.9)}
    if n is None or scope != REGION:
        return {"n": _out(n), "median": hidden(), "p90": hidden()}
    everyone = sum(histogram.values())
    largest = max((sum(counts.histogram(FIRST_CONTACT_DAYS, [m]).values()) for m in municipalities), default=0)
    if everyone - largest < threshold:
        return {"n": n, "median": hidden(), "p90": hidden()}
    return {"n": n, "median": percentile(histogram, 0.5), "p90": percentile(histogram, 0.9)}


# ------------------------------------------------------------------ CSV
CSV_HEADER = ["period", "scope", "figure", "municipality", "value", "count", "previous", "change"]


def csv_rows(period: Period, result: dict) -> list[list]:
    """One line per published number: each table's values for the scope (municipality 'region'
    for the region totals), then per municipality in the region scope. A hidden number is MARKER,
    a number that does not exist is empty."""
    out = []
    scope = result["scope"]
    out.append([period.label, scope, "incidents", scope, "", _cell(result["incidents"]["value"]),
                _cell(result["incidents"]["previous"]), _cell(result["incidents"]["change"])])
    for figure, table in result["tables"].items():
        for column in table["columns"] + ["total"]:
            value = table["total"] if column == "total" else table["values"][column]
            previous = table["previous"]["total"] if column == "total" else table["previous"]["values"][column]
            change = table["change"]["total"] if column == "total" else table["change"]["values"][column]
            out.append([period.label, scope, figure, scope, column, _cell(value), _cell(previous), _cell(change)])
        for row in table["rows"]:
            for column in table["columns"] + ["total"]:
                value = row["total"] if column == "total" else row["values"][column]
                out.append([period.label, scope, figure, row["municipality"], column, _cell(value), "", ""])
    for name, value in result["shares"].items():
        if name != "previous":
            out.append([period.label, scope, name, scope, "", _cell(value), _cell(result["shares"]["previous"][name]),
                        ""])
    for name in ("n", "median", "p90"):
        out.append([period.label, scope, f"first_contact_days_{name}", scope, "",
                    _cell(result["first_contact_days"][name]), _cell(result["first_contact_days"]["previous"][name]),
                    ""])
    return out


def _cell(value):
    if is_hidden(value):
        return MARKER
    return "" if value is None else value
