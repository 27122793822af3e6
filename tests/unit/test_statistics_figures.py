"""services/statistics/figures.py: periods, exact and suppressed views, shares, percentiles, trends, CSV."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings

from services.statistics import figures
from services.statistics.figures import REGION, Counts, parse_period, percentile
from shared import vocabulary
from tests.unit.statistics_world import worlds

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
MARCH = parse_period("2026-03")


def months_of(spec, month=3):
    """Every municipality's incidents per month of 2026, all in `month`."""
    out = {code: [0] * 12 for code in CODES}
    for code, per in spec.items():
        out[code][month - 1] = sum(per["police"].values())
    return {2026: out}


def view(viewer, scope, spec=SPEC, before=None, threshold=5, period=MARCH):
    return figures.figures(Counts(rows(spec)), Counts(rows(before or {})), CODES, viewer, scope, threshold, period,
                           months_of(spec))


HIDDEN = {"hidden": True}


def test_own_municipality_sees_its_figures_exactly():
    result = view("GM0687", "GM0687")

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


def test_another_municipality_sees_only_its_incident_total_and_the_regions_zeros():
    result = view("GM0718", "GM0687")

    assert result["exact"] is False and result["suppression"]["label"] == "x"
    assert result["suppression"]["hidden"] == HIDDEN
    role = result["tables"]["target_role"]
    assert role["values"]["wethouder"] == HIDDEN and role["values"]["ambtenaar"] == HIDDEN
    assert role["values"]["raadslid"] == 0  # nobody in the region: no secret
    assert result["tables"]["urgency"]["values"]["normaal"] == result["incidents"]["value"]  # the region's only urgency
    assert result["first_contact_days"] == {"n": HIDDEN, "median": HIDDEN, "p90": HIDDEN,
                                            "previous": {"n": 0, "median": None, "p90": None}}
    assert result["shares"]["aangifte_pct"] == HIDDEN
    assert "other_municipalities_totals_only" in result["suppression"]["notes"]


def test_the_region_shows_its_totals_but_never_a_single_holders_count():
    spec = {**SPEC, "GM0715": incidents({"ambtenaar": 3, "burgemeester": 1})}
    result = view(None, REGION, spec)

    role = result["tables"]["target_role"]
    assert result["incidents"]["value"] == 22 + 39 + 21 + 4
    assert role["values"]["ambtenaar"] == 68 and role["values"]["wethouder"] == 17
    assert role["values"]["burgemeester"] == HIDDEN and role["values"]["griffier"] == HIDDEN
    assert "single_holder_roles" in result["suppression"]["notes"]
    by_code = {row["municipality"]: row for row in role["rows"]}
    assert by_code["GM0715"]["total"] == HIDDEN and by_code["GM0687"]["values"]["wethouder"] == HIDDEN


def test_an_analyst_sees_the_same_publication_as_everyone_and_no_municipalitys_small_total():
    result = view(None, REGION)

    by_code = {row["municipality"]: row for row in result["tables"]["police"]["rows"]}
    assert by_code["GM0715"]["total"] == HIDDEN  # 3 incidents
    shown = {code: row["total"] for code, row in by_code.items() if not figures.is_hidden(row["total"])}
    assert all(n >= 5 for n in shown.values())
    assert result["tables"]["police"]["total"] == 85


def test_the_page_of_issue_28_shows_the_regions_total_and_no_part_above_it():
    """Month 2026-12: 12 incidents, 9 in Vlissingen and 3 in Middelburg, 7 bedreiging and hoog."""
    def incident_rows(n, hoog):
        return {"target_role": {"ambtenaar": n}, "location_type": {"balie": n}, "channel": {"api": n},
                "urgency": {"hoog": hoog, "normaal": n - hoog}, "police": {"niet_verwezen": n},
                "category": {"bedreiging": hoog, "intimidatie": n - hoog}}
    spec = {"GM0718": incident_rows(9, 5), "GM0687": incident_rows(3, 2)}
    december = parse_period("2026-12")
    months = {2026: {code: [0] * 11 + [sum(spec.get(code, {}).get("police", {}).values())] for code in CODES}}
    result = figures.figures(Counts(rows(spec)), Counts(), CODES, None, REGION, 5, december, months)

    assert result["incidents"]["value"] == 12
    assert result["tables"]["category"]["values"]["bedreiging"] == 7 <= 12
    assert result["tables"]["urgency"]["values"]["hoog"] == 7 <= result["tables"]["urgency"]["total"] == 12
    assert all(row["total"] == HIDDEN for row in result["tables"]["police"]["rows"])


def test_the_viewer_sees_its_own_row_exactly_inside_the_region():
    result = view("GM0715", REGION)

    by_code = {row["municipality"]: row for row in result["tables"]["target_role"]["rows"]}
    assert by_code["GM0715"]["total"] == 3 and by_code["GM0715"]["values"]["ambtenaar"] == 3
    assert by_code["GM0687"]["values"]["wethouder"] == HIDDEN
    assert result["tables"]["target_role"]["total"] == 85  # the region's total, the same for everyone


def test_a_viewer_of_the_region_itself_sees_the_publication_not_exact_figures():
    result = view(REGION, REGION)

    assert result["exact"] is False and result["suppression"] is not None
    assert result == view(None, REGION)


def test_trend_against_the_previous_period():
    before = {"GM0687": incidents({"ambtenaar": 10})}
    result = view("GM0687", "GM0687", before=before)

    assert result["incidents"] == {"value": 22, "previous": 10, "change": 12}
    assert result["tables"]["target_role"]["change"]["values"]["ambtenaar"] == 10


def test_a_change_against_a_hidden_number_is_hidden():
    result = view("GM0718", "GM0715")

    assert result["incidents"]["value"] == HIDDEN and result["incidents"]["change"] == HIDDEN


def test_unknown_scope_is_refused():
    with pytest.raises(ValueError):
        figures.figures(Counts(), Counts(), CODES, None, "GM9999", 5, MARCH, {})


def test_values_outside_the_code_lists_get_their_own_column():
    spec = {"GM0687": {"category": {"bedreiging": 6, "regio_eigen": 7}, "police": {"niet_verwezen": 7}}}
    result = view("GM0687", "GM0687", spec)

    assert result["tables"]["category"]["columns"][-1] == "regio_eigen"
    assert result["tables"]["category"]["values"]["regio_eigen"] == 7


def test_csv_has_one_line_per_published_number_and_prints_hidden_as_x():
    result = view("GM0718", REGION)

    lines = figures.csv_rows(MARCH, result)

    assert all(len(line) == len(figures.CSV_HEADER) for line in lines)
    assert ["2026-03", REGION, "target_role", "GM0687", "wethouder", "x", "", ""] in lines
    assert lines[0][:6] == ["2026-03", REGION, "incidents", REGION, "", 22 + 39 + 21 + 3]
    assert not any(str(cell).startswith("<") for line in lines for cell in line)


def test_with_two_municipalities_only_your_own_figures_are_shown():
    spec = {"GM0687": SPEC["GM0687"], "GM0718": SPEC["GM0718"]}
    result = figures.figures(Counts(rows(spec)), Counts(), CODES[:2], "GM0687", REGION, 5, MARCH,
                             {2026: {c: m for c, m in months_of(spec)[2026].items() if c in CODES[:2]}})

    assert result["incidents"]["value"] == HIDDEN  # 61 minus its own 22 would give the other's
    rows_ = {r["municipality"]: r for r in result["tables"]["police"]["rows"]}
    assert rows_["GM0687"]["total"] == 22 and rows_["GM0718"]["total"] == HIDDEN
    assert result["suppression"]["notes"] == ["too_few_municipalities"]


def test_another_municipalitys_week_is_hidden_but_the_regions_is_not():
    week = parse_period("2026-W11")
    result = figures.figures(Counts(rows(SPEC)), Counts(), CODES, "GM0718", REGION, 5, week, {})

    assert result["incidents"]["value"] == 85
    assert all(row["total"] == HIDDEN for row in result["tables"]["police"]["rows"] if row["municipality"] != "GM0718")
    assert "weeks_not_per_municipality" in result["suppression"]["notes"]


# ------------------------------------------------------------------ properties
def numbers(result):
    """Every (place, value) of a result that is a number or hidden."""
    yield "incidents", result["incidents"]["value"]
    for figure, table in result["tables"].items():
        for c in table["columns"]:
            yield f"{figure}.{c}", table["values"][c]
        yield f"{figure}.total", table["total"]
        for row in table["rows"]:
            for c in table["columns"]:
                yield f"{figure}[{row['municipality']}].{c}", row["values"][c]
            yield f"{figure}[{row['municipality']}].total", row["total"]
    for name, value in result["shares"].items():
        if name != "previous":
            yield name, value
    for name in ("n", "median", "p90"):
        yield f"first_contact_days.{name}", result["first_contact_days"][name]


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(worlds(max_municipalities=5, max_incidents=40))
def test_what_is_shown_is_true_consistent_and_hidden_is_never_a_bound(world):
    for period in world.periods():
        truth = world.counts(period)
        for viewer in [None, *world.municipalities]:
            for scope in [REGION, *world.municipalities]:
                result = world.result(period, viewer, scope)
                for where, value in numbers(result):
                    assert value is None or figures.is_hidden(value) or isinstance(value, (int, float)), where
                    if figures.is_hidden(value):
                        assert value == HIDDEN, where
                for figure, table in result["tables"].items():
                    whole = table["total"]
                    parts = [table["values"][c] for c in table["columns"]]
                    shown = [p for p in parts if not figures.is_hidden(p)]
                    exact_scope = world.municipalities if scope == REGION else [scope]
                    for c in table["columns"]:
                        value = table["values"][c]
                        if not figures.is_hidden(value):  # what is shown is the truth
                            assert value == sum(truth.get(figure, m, c) for m in exact_scope), (figure, c)
                    if not figures.is_hidden(whole):
                        assert all(p <= whole for p in shown), (period.label, figure)  # a part never exceeds it
                        if figure != "category":  # an incident may have two categories
                            assert sum(shown) <= whole, (period.label, figure)
                    for row in table["rows"]:
                        if row["municipality"] == viewer:  # its own figures, exact
                            assert row["values"] == {c: truth.get(figure, viewer, c) for c in table["columns"]}
                        elif not figures.is_hidden(row["total"]) and row["total"] > 0:
                            assert row["total"] >= world.threshold  # never a small number of another
                        if figure == "target_role" and row["municipality"] != viewer:
                            for role in vocabulary.SINGLE_HOLDER_ROLES:  # one holder: never another's count
                                assert row["values"][role] in (0, HIDDEN)
                    if figure == "target_role" and viewer != scope:
                        for role in vocabulary.SINGLE_HOLDER_ROLES:
                            assert table["values"][role] in (0, HIDDEN)
                if scope == REGION and len(world.municipalities) >= 3:  # the region's totals stay visible
                    assert result["incidents"]["value"] == sum(truth.get("police", m, c) for m in world.municipalities
                                                               for c in ("niet_verwezen", "verwezen", "aangifte"))
                csv_text = " ".join(str(x) for line in figures.csv_rows(period, result) for x in line)
                assert "<" not in csv_text
