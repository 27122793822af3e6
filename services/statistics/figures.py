"""Figures per municipality and for the region over a period, as one viewer may see them.

Plain code, no SQL or nameko: it takes counts per (municipality, figure, value) for a period and
for the period before it (services/statistics/store.py sums them) and gives the tables, shares,
time to first contact and trends of one scope (a municipality or the region). A municipality's
own key sees its own figures exactly; every other view goes through small-number suppression
(services/statistics/suppression.py), one table at a time, with the same pattern in the region
view and in a single municipality's view.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

from shared import vocabulary as v

from services.statistics import suppression

REGION = "region"

# figure -> (title on the dashboard, the values always shown, in this order)
TABLES = {
    "category": ("Incidenten per categorie", v.CATEGORIES),
    "target_role": ("Incidenten per functie van de getroffene", v.TARGET_ROLES),
    "location_type": ("Incidenten per soort plaats", v.LOCATION_TYPES),
    "channel": ("Incidenten per kanaal van melden", v.CHANNELS),
    "urgency": ("Incidenten per urgentie", v.URGENCIES),
    "police": ("Politie: verwezen en aangifte", ("niet_verwezen", "verwezen", "aangifte")),
    "police_outcome": ("Politie: afloop van afgesloten verwijzingen", v.REFERRAL_OUTCOMES),
    "aftercare": ("Nazorg: eerste contact", ("op_tijd", "te_laat", "nog_geen_contact")),
    "aftercare_closed": ("Nazorg: afgesloten plannen", v.CLOSE_REASONS),
    "deadline_breach": ("Incidenten met een overschreden termijn", ("triage", "nazorg", "politie")),
    "repeat_perpetrator": ("Incidenten met een al bekende pleger", ("alleen_hier", "ook_elders")),
}
# Tables whose row totals are the municipality's incident count (each incident in exactly one
# column): a total hidden in one of them is hidden in all, or another would give it away.
INCIDENT_MARGINS = ("police", "target_role", "location_type", "channel", "urgency")
FIRST_CONTACT_DAYS = "first_contact_days"


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


def _margins_hidden(cells, columns_count, threshold, forced_rows, forced_total) -> tuple[set[int], bool]:
    also = frozenset({(i, columns_count) for i in forced_rows}
                     | ({(len(cells), columns_count)} if forced_total else set()))
    hidden = suppression.hidden_cells(cells, threshold, also)
    return {i for (i, j) in hidden if j == columns_count and i < len(cells)}, (len(cells), columns_count) in hidden


def _suppressed_grids(matrices: dict[str, list[list[int]]], threshold: int) -> dict[str, suppression.Published]:
    """Suppress each table; the tables with incident margins share their hidden totals."""
    forced_rows: set[int] = set()
    forced_total = False
    group = [f for f in INCIDENT_MARGINS if f in matrices and matrices[f]]
    while True:  # grows only, so it ends: until every table of the group hides the same totals
        rows_now, total_now = set(forced_rows), forced_total
        for figure in group:
            cells = matrices[figure]
            hidden_rows, hidden_total = _margins_hidden(cells, len(cells[0]), threshold, rows_now, total_now)
            rows_now |= hidden_rows
            total_now = total_now or hidden_total
        if rows_now == forced_rows and total_now == forced_total:
            break
        forced_rows, forced_total = rows_now, total_now
    out = {}
    for figure, cells in matrices.items():
        if not cells:
            continue
        n_cols = len(cells[0])
        also = frozenset()
        if figure in group:
            also = frozenset({(i, n_cols) for i in forced_rows} | ({(len(cells), n_cols)} if forced_total else set()))
        out[figure] = suppression.suppress(cells, threshold, also)
    return out


def grids(counts: Counts, columns: dict[str, list[str]], municipalities: list[str], viewer: str | None,
          threshold: int) -> dict[str, Grid]:
    """Every table as `viewer` may see it: its own row exact, everyone else's suppressed.

    The viewer's row is left out of the table that is suppressed: the viewer knows it, so it must
    not be what keeps another municipality's small number hidden."""
    others = [m for m in municipalities if m != viewer]
    matrices = {f: [[counts.get(f, m, value) for value in cols] for m in others] for f, cols in columns.items()}
    published = _suppressed_grids(matrices, threshold)
    out = {}
    for figure, cols in columns.items():
        rows: dict[str, list[int | None]] = {}
        row_totals: dict[str, int | None] = {}
        pub = published.get(figure)
        for index, code in enumerate(others):
            rows[code] = list(pub.cells[index])
            row_totals[code] = pub.row_totals[index]
        column_totals = list(pub.column_totals) if pub else [0] * len(cols)
        total = pub.total if pub else 0
        if viewer in municipalities:
            own = [counts.get(figure, viewer, value) for value in cols]
            rows[viewer], row_totals[viewer] = own, sum(own)
            column_totals = [None if t is None else t + o for t, o in zip(column_totals, own)]
            total = None if total is None else total + sum(own)
        out[figure] = Grid({m: rows[m] for m in municipalities}, {m: row_totals[m] for m in municipalities},
                           column_totals, total)
    return out


def _sum(values):
    return None if any(x is None for x in values) else sum(values)


def _share(part, whole):
    if part is None or whole is None or whole == 0:
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


def figures(current: Counts, previous: Counts, municipalities: list[str], viewer: str | None, scope: str,
            threshold: int) -> dict:
    """What `viewer` (a municipality code, or None for a regional analyst) may see of `scope`
    (a municipality code or REGION): tables, shares, time to first contact, trends.
    Hidden values are the label "<threshold"."""
    if scope != REGION and scope not in municipalities:
        raise ValueError(f"{scope} is not a municipality of this region")
    label = suppression.SUPPRESSED.format(threshold=threshold)
    exact = scope == viewer

    def shown(x):
        return label if x is None else x

    columns = {f: columns_of(f, current, previous) for f in TABLES}
    now = {f: scoped(g, columns[f], scope) for f, g in grids(current, columns, municipalities, viewer,
                                                            threshold).items()}
    before = {f: scoped(g, columns[f], scope) for f, g in grids(previous, columns, municipalities, viewer,
                                                               threshold).items()}
    tables = {}
    for figure, (title, _) in TABLES.items():
        n, p = now[figure], before[figure]
        tables[figure] = {
            "title": title,
            "columns": n.columns,
            "values": {c: shown(x) for c, x in zip(n.columns, n.values)},
            "total": shown(n.total),
            "rows": [{"municipality": m, "values": {c: shown(x) for c, x in zip(n.columns, n.rows[m])},
                      "total": shown(n.row_totals[m])} for m in n.rows] if scope == REGION else [],
            "previous": {"values": {c: shown(x) for c, x in zip(p.columns, p.values)}, "total": shown(p.total)},
            "change": {"values": {c: _change(x, y) for c, x, y in zip(n.columns, n.values, p.values)},
                       "total": _change(n.total, p.total)},
        }
    return {
        "scope": scope,
        "exact": exact,
        "suppression": None if exact else {"threshold": threshold, "label": label},
        "incidents": {"value": shown(now["police"].total), "previous": shown(before["police"].total),
                      "change": _change(now["police"].total, before["police"].total)},
        "shares": {**_shares(now), "previous": _shares(before)},
        "first_contact_days": {**_first_contact(current, municipalities, scope, exact, threshold, label),
                               "previous": _first_contact(previous, municipalities, scope, exact, threshold, label)},
        "tables": tables,
    }


def _change(now, before):
    return None if now is None or before is None else now - before


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
        "aftercare_plans_completed": col("aftercare_closed", "completed"),
        "aftercare_plans_completed_pct": _share(col("aftercare_closed", "completed"), tables["aftercare_closed"].total),
    }


def _first_contact(counts: Counts, municipalities, scope, exact, threshold, label) -> dict:
    histogram = counts.histogram(FIRST_CONTACT_DAYS, municipalities if scope == REGION else [scope])
    n = sum(histogram.values())
    if not exact and 0 < n < threshold:
        return {"n": label, "median": None, "p90": None}
    return {"n": n, "median": percentile(histogram, 0.5), "p90": percentile(histogram, 0.9)}


# ------------------------------------------------------------------ CSV
CSV_HEADER = ["period", "scope", "figure", "municipality", "value", "count", "previous", "change"]


def csv_rows(period: Period, result: dict) -> list[list]:
    """One line per published number: each table's values for the scope (municipality 'region'
    for the region totals), then per municipality in the region scope."""
    out = []
    scope = result["scope"]
    out.append([period.label, scope, "incidents", scope, "", result["incidents"]["value"],
                result["incidents"]["previous"], _blank(result["incidents"]["change"])])
    for figure, table in result["tables"].items():
        for column in table["columns"] + ["total"]:
            value = table["total"] if column == "total" else table["values"][column]
            previous = table["previous"]["total"] if column == "total" else table["previous"]["values"][column]
            change = table["change"]["total"] if column == "total" else table["change"]["values"][column]
            out.append([period.label, scope, figure, scope, column, value, previous, _blank(change)])
        for row in table["rows"]:
            for column in table["columns"] + ["total"]:
                value = row["total"] if column == "total" else row["values"][column]
                out.append([period.label, scope, figure, row["municipality"], column, value, "", ""])
    for name, value in result["shares"].items():
        if name != "previous":
            out.append([period.label, scope, name, scope, "", _blank(value), _blank(result["shares"]["previous"][name]),
                        ""])
    for name in ("n", "median", "p90"):
        out.append([period.label, scope, f"first_contact_days_{name}", scope, "",
                    _blank(result["first_contact_days"][name]), _blank(result["first_contact_days"]["previous"][name]),
                    ""])
    return out


def _blank(value):
    return "" if value is None else value
