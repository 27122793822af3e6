"""services/statistics/figures.py: periods, exact and suppressed views, shares, percentiles, trends, CSV."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from services.statistics import figures
from services.statistics.figures import REGION, Counts, parse_period, percentile

CODES = ["GM0687", "GM0718", "GM0664", "GM0715"]


@pytest.mark.parametrize("text, kind, first, last", [
    ("2026-W09", "week", date(2026, 2, 23), date(2026, 3, 1)),
    ("2026-W01", "week", date(2025, 12, 29), date(2026, 1, 4)),   # ISO week 1 starts in December
    ("2026-W53", "week", date(2026, 12, 28), date(2027, 1, 3)),   # 2026 has 53 ISO weeks
    ("2026-02", "month", date(2026, 2, 1), date(2026, 2, 28)),
    ("2026-12", "month", date(2026, 12, 1), date(2026, 12, 31)),
    ("2026-Q1", "quarter", date(2026, 1, 1), date(2026, 3, 31)),
    ("2026-Q4", "quarter", date(2026, 10, 1), date(2026, 12, 31)),
    ("2026", "year", date(2026, 1, 1), date(2026, 12, 31)),
])
def test_periods(text, kind, first, last):
    period = parse_period(text)

    assert (period.kind, period.label, period.first, period.last) == (kind, text, first, last)
    assert period.monthly == (kind != "week")


@pytest.mark.parametrize("text, previous", [
    ("2026-W01", "2025-W52"), ("2027-W01", "2026-W53"), ("2026-01", "2025-12"), ("2026-03", "2026-02"),
    ("2026-Q1", "2025-Q4"), ("2026-Q3", "2026-Q2"), ("2026", "2025"),
])
def test_previous_period(text, previous):
    assert parse_period(text).previous().label == previous


@pytest.mark.parametrize("text", ["", "2026-13", "2026-W54", "2025-W53", "2026-Q5", "26", "2026-3", "1999",
                                  "2026-W9", "last month"])
def test_bad_periods_are_refused(text):
    with pytest.raises(ValueError):
        parse_period(text)


def test_percentile_is_nearest_rank():
    assert percentile({}, 0.5) is None
    assert percentile({3: 1}, 0.9) == 3
    assert percentile({0: 5, 1: 4, 10: 1}, 0.5) == 0
    assert percentile({0: 5, 1: 4, 10: 1}, 0.9) == 1
    assert percentile({1: 1, 2: 1, 3: 1, 4: 1}, 0.5) == 2


def rows(spec: dict) -> list[tuple]:
    """{code: {figure: {value: n}}} as store.counts rows."""
    return [(code, figure, value, n) for code, per in spec.items() for figure, values in per.items()
            for value, n in values.items()]


def incidents(n_by_role: dict, police=None, **extra) -> dict:
    total = sum(n_by_role.values())
    return {"target_role": n_by_role, "location_type": {"balie": total}, "channel": {"api": total},
            "urgency": {"normaal": total}, "police": police or {"niet_verwezen": total}, **extra}


SPEC = {
    "GM0687": incidents({"ambtenaar": 20, "wethouder": 2}, police={"niet_verwezen": 12, "verwezen": 7, "aangifte": 3},
                        first_contact_days={"0": 3, "1": 2, "4": 1},
                        aftercare={"op_tijd": 4, "te_laat": 2}, aftercare_closed={"completed": 3, "declined": 1}),
    "GM0718": incidents({"ambtenaar": 30, "wethouder": 9}),
    "GM0664": incidents({"ambtenaar": 15, "wethouder": 6}),
    "GM0715": incidents({"ambtenaar": 3}),
}


def test_own_municipality_sees_its_figures_exactly():
    result = figures.figures(Counts(rows(SPEC)), Counts(), CODES, "GM0687", "GM0687", 5)

    assert result["exact"] is True and result["suppression"] is None
    assert result["incidents"] == {"value": 22, "previous": 0, "change": 22}
    role = result["tables"]["target_role"]
    assert role["values"]["wethouder"] == 2 and role["values"]["ambtenaar"] == 20 and role["total"] == 22
    assert result["shares"]["referred_to_police_pct"] == round(100 * 10 / 22, 1)
    assert result["shares"]["aangifte_pct"] == round(100 * 3 / 22, 1)
    assert result["shares"]["aftercare_first_contact_on_time_pct"] == round(100 * 4 / 6, 1)
    assert result["shares"]["aftercare_plans_completed"] == 3
    assert result["first_contact_days"]["n"] == 6
    assert result["first_contact_days"]["median"] == 0 and result["first_contact_days"]["p90"] == 4


def test_another_municipality_sees_small_numbers_hidden():
    result = figures.figures(Counts(rows(SPEC)), Counts(), CODES, "GM0718", "GM0687", 5)

    assert result["exact"] is False and result["suppression"] == {"threshold": 5, "label": "<5"}
    role = result["tables"]["target_role"]
    assert role["values"]["wethouder"] == "<5"
    # secondary: another number of the row is hidden too, else 22 - 20 gives the wethouder cell away
    assert "<5" in (role["values"]["ambtenaar"], role["total"])
    assert result["first_contact_days"]["median"] is not None  # six contacts: at the threshold or above


def test_an_analyst_sees_every_municipality_suppressed():
    result = figures.figures(Counts(rows(SPEC)), Counts(), CODES, None, REGION, 5)

    by_code = {row["municipality"]: row for row in result["tables"]["target_role"]["rows"]}
    assert by_code["GM0715"]["total"] == "<5" and by_code["GM0687"]["values"]["wethouder"] == "<5"
    assert by_code["GM0718"]["values"]["ambtenaar"] == 30


def test_the_viewer_sees_its_own_row_exactly_inside_the_region():
    result = figures.figures(Counts(rows(SPEC)), Counts(), CODES, "GM0715", REGION, 5)

    by_code = {row["municipality"]: row for row in result["tables"]["target_role"]["rows"]}
    assert by_code["GM0715"]["total"] == 3
    assert by_code["GM0687"]["values"]["wethouder"] == "<5"


def test_trend_against_the_previous_period():
    before = {"GM0687": incidents({"ambtenaar": 10})}
    result = figures.figures(Counts(rows(SPEC)), Counts(rows(before)), CODES, "GM0687", "GM0687", 5)

    assert result["incidents"] == {"value": 22, "previous": 10, "change": 12}
    assert result["tables"]["target_role"]["change"]["values"]["ambtenaar"] == 10


def test_unknown_scope_is_refused():
    with pytest.raises(ValueError):
        figures.figures(Counts(), Counts(), CODES, None, "GM9999", 5)


def test_values_outside_the_code_lists_get_their_own_column():
    spec = {"GM0687": {"category": {"bedreiging": 6, "regio_eigen": 7}}}
    result = figures.figures(Counts(rows(spec)), Counts(), CODES, "GM0687", "GM0687", 5)

    assert result["tables"]["category"]["columns"][-1] == "regio_eigen"
    assert result["tables"]["category"]["values"]["regio_eigen"] == 7


def test_csv_has_one_line_per_published_number():
    period = parse_period("2026-03")
    result = figures.figures(Counts(rows(SPEC)), Counts(), CODES, "GM0718", REGION, 5)

    lines = figures.csv_rows(period, result)

    assert all(len(line) == len(figures.CSV_HEADER) for line in lines)
    assert ["2026-03", REGION, "target_role", "GM0687", "wethouder", "<5", "", ""] in lines
    assert lines[0][:6] == ["2026-03", REGION, "incidents", REGION, "", 22 + 39 + 21 + 3]


# ------------------------------------------------------------------ properties
municipality_counts = st.fixed_dictionaries({
    "target_role": st.fixed_dictionaries({"ambtenaar": st.integers(0, 12), "wethouder": st.integers(0, 12),
                                          "raadslid": st.integers(0, 12)}),
    "urgency": st.fixed_dictionaries({"hoog": st.integers(0, 12), "laag": st.integers(0, 12)}),
})


def consistent(spec):
    """Make the incident-margin tables agree: urgency/police/location/channel sum to the roles' total."""
    out = {}
    for code, per in spec.items():
        total = sum(per["target_role"].values())
        hoog = min(per["urgency"]["hoog"], total)
        out[code] = {"target_role": per["target_role"], "urgency": {"hoog": hoog, "laag": total - hoog},
                     "police": {"niet_verwezen": total}, "location_type": {"balie": total},
                     "channel": {"api": total}}
    return out


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({code: municipality_counts for code in CODES}), st.sampled_from(CODES),
       st.sampled_from(CODES + [None]))
def test_a_municipalitys_small_numbers_never_reach_another_view(spec, owner, viewer):
    """No view but the owner's own shows a cell of the owner between 1 and threshold-1."""
    spec = consistent(spec)
    counts = Counts(rows(spec))
    if viewer == owner:
        return
    for scope in (owner, REGION):
        result = figures.figures(counts, Counts(), CODES, viewer, scope, 5)
        for figure, table in result["tables"].items():
            owner_row = (table["values"] if scope == owner
                         else next(r["values"] for r in table["rows"] if r["municipality"] == owner))
            for value, shown in owner_row.items():
                exact = spec[owner].get(figure, {}).get(value, 0)
                if 0 < exact < 5:
                    assert shown == "<5", (figure, value, exact)


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({code: municipality_counts for code in CODES}), st.sampled_from(CODES + [None]))
def test_incident_totals_are_hidden_alike_in_every_table(spec, viewer):
    """A municipality's incident count, hidden in one table, is not given away by another."""
    result = figures.figures(Counts(rows(consistent(spec))), Counts(), CODES, viewer, REGION, 5)
    for code in CODES:
        totals = {next(r["total"] for r in result["tables"][f]["rows"] if r["municipality"] == code)
                  for f in figures.INCIDENT_MARGINS}
        assert len(totals) == 1, (code, totals)
    assert len({result["tables"][f]["total"] for f in figures.INCIDENT_MARGINS}) == 1
