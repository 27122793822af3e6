"""services/statistics/suppression.py: which municipality totals of a year another viewer sees.

The attacker test (test_statistics_attack.py) solves for hidden numbers with an integer program;
these are the method's own promises, cheap enough to try on many years."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from services.statistics.suppression import MONTH, QUARTER, YEAR, Cell, protect_year

CODES = ["GM0687", "GM0718", "GM0664", "GM0715", "GM0716"]


def years(min_municipalities=3, max_municipalities=5, max_value=12):
    return st.integers(min_municipalities, max_municipalities).flatmap(lambda n: st.fixed_dictionaries({
        code: st.lists(st.integers(0, max_value) | st.just(0), min_size=12, max_size=12) for code in CODES[:n]}))


def cells(months):
    for m in months:
        yield from (Cell(m, MONTH, j) for j in range(12))
        yield from (Cell(m, QUARTER, q) for q in range(4))
        yield Cell(m, YEAR, 0)


@settings(max_examples=60, deadline=None)
@given(years(), st.integers(2, 6))
def test_a_shown_total_is_never_small_and_a_zero_is_shown_only_where_the_region_had_nothing(months, threshold):
    published = protect_year(months, threshold)
    for cell in cells(months):
        shown = published.shown(cell.municipality, cell.level, cell.index)
        if shown is None:
            continue
        assert shown == published.value(cell)
        if shown == 0:
            assert sum(published.value(Cell(m, cell.level, cell.index)) for m in months) == 0
        else:
            assert shown >= threshold


@settings(max_examples=40, deadline=None)
@given(years(), st.integers(2, 6))
def test_every_hidden_total_that_is_not_zero_can_move_without_two_of_the_others(months, threshold):
    """The method's promise: each hidden total, and each month a municipality had incidents in,
    is covered by moves with two different partners (no single viewer can rule both out)."""
    assert protect_year(months, threshold).unmet() is None


def test_a_hidden_month_is_not_the_quarter_minus_the_visible_months():
    # issue 21: January 2 recovered from Q1 18, February 7, March 9
    months = {"GM0687": [2, 7, 9] + [0] * 9, "GM0718": [6, 8, 7] + [0] * 9, "GM0664": [5, 5, 6] + [0] * 9}
    published = protect_year(months, 5)

    assert published.shown("GM0687", MONTH, 0) is None
    q1, feb, mar = (published.shown("GM0687", QUARTER, 0), published.shown("GM0687", MONTH, 1),
                    published.shown("GM0687", MONTH, 2))
    assert None in (q1, feb, mar)


def test_in_the_region_of_issue_28_the_big_municipalitys_total_is_hidden_too():
    """December: Vlissingen 9, Middelburg 3, two municipalities without incidents. Were Vlissingen's
    9 shown, Middelburg (knowing its own 3) would know the other two had none, and read every
    breakdown of Vlissingen as the region's minus its own. The region's 12 is shown regardless."""
    months = {"GM0718": [0] * 11 + [9], "GM0687": [0] * 11 + [3], "GM0664": [0] * 12, "GM0715": [0] * 12}
    published = protect_year(months, 5)

    for code in months:
        assert published.shown(code, MONTH, 11) is None


def test_two_municipalities_see_nothing_of_each_other():
    published = protect_year({"GM0687": [9] * 12, "GM0718": [30] * 12}, 5)

    assert published.shown("GM0718", YEAR, 0) is None and published.shown("GM0687", MONTH, 3) is None


def test_the_same_year_gives_the_same_answer():
    months = {"GM0687": [1, 0, 4] * 4, "GM0718": [6, 8, 7] * 4, "GM0664": [0, 5, 6] * 4}
    assert protect_year(months, 5) == protect_year(dict(reversed(list(months.items()))), 5)
