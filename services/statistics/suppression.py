"""Which municipality totals another viewer may see: small-number protection as plain domain code.

The method (docs/statistics.md, "Small-number protection", says why): the region's figures are
published; another municipality's figures are published only as its number of incidents per
month, quarter and year, and only where no viewer — each of whom knows its own municipality's
figures exactly — can work out a hidden number. This module decides, for one calendar year of
one region, which of those totals are hidden. Everything else a suppressed view hides (another
municipality's breakdowns, its weeks, the single-holder roles) is hidden always, by rule.

Why a year at a time is enough: months, quarters and years of one calendar year nest, and no
published number joins two calendar years except the region's own figures (an ISO week across
New Year), which every protection below leaves unchanged.

The proof of protection is constructive. A hidden total is safe when the published numbers also
fit another set of incidents, and the moves used here are real ones: give one incident of
municipality b to municipality k (the same day, the same codes), and where b's or k's total of
the quarter or year must stay as published, give one of k's incidents back to b in another month
of that quarter (or year). Such a move changes no region figure, no figure of the viewer and
nothing but the totals it names, so every hidden total it changes — and every figure of b in those
months — could have been otherwise. A viewer that is itself b or k cannot use that move, so every
need is met by moves with two different partners.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections import deque
from functools import lru_cache

MONTH, QUARTER, YEAR = "month", "quarter", "year"
# What hiding one more total costs (information lost): a year's total is worth more than a month's.
_COST = {MONTH: 1, QUARTER: 3, YEAR: 9}
MIN_MUNICIPALITIES = 3  # with two, each could subtract itself from the region and read the other


@dataclass(frozen=True)
class Cell:
    municipality: str
    level: str   # month, quarter, year
    index: int   # month 0-11, quarter 0-3, 0 for the year


def quarter_of(month: int) -> int:
    return month // 3


def _months_of(cell: Cell) -> range:
    if cell.level == MONTH:
        return range(cell.index, cell.index + 1)
    if cell.level == QUARTER:
        return range(3 * cell.index, 3 * cell.index + 3)
    return range(12)


@dataclass(frozen=True)
class YearTotals:
    """Which municipality totals of one calendar year another viewer sees (hidden is a set of Cells)."""
    months: dict[str, tuple[int, ...]]
    hidden: frozenset[Cell]

    def value(self, cell: Cell) -> int:
        return sum(self.months.get(cell.municipality, (0,) * 12)[j] for j in _months_of(cell))

    def shown(self, municipality: str, level: str, index: int) -> int | None:
        """The total as another viewer sees it; None when hidden."""
        cell = Cell(municipality, level, index)
        if municipality not in self.months or cell in self.hidden:
            return None
        return self.value(cell)

    def unmet(self):
        """The first protection need (below) this publication leaves unmet; None when all are met."""
        names = sorted(self.months)
        value = {(c.municipality, c.level, c.index): self.value(c)
                 for m in names for c in [Cell(m, MONTH, j) for j in range(12)]
                 + [Cell(m, QUARTER, q) for q in range(4)] + [Cell(m, YEAR, 0)]}
        if len(names) < MIN_MUNICIPALITIES:
            return None
        return _first_unmet(names, self.months, {(c.municipality, c.level, c.index) for c in self.hidden}, value)


def protect_year(months: dict[str, list[int]] | dict[str, tuple[int, ...]], threshold: int) -> YearTotals:
    """The hidden totals of one year: `months` holds every municipality's incidents per month (12)."""
    frozen = tuple(sorted((m, tuple(int(n) for n in counts)) for m, counts in months.items()))
    return YearTotals(dict(frozen), _protect(frozen, threshold))


@lru_cache(maxsize=256)
def _protect(frozen: tuple[tuple[str, tuple[int, ...]], ...], threshold: int) -> frozenset[Cell]:
    x = dict(frozen)
    names = [m for m, _ in frozen]
    # cells as plain tuples (municipality, level, index) while working: hashing them is most of the work
    keys = [(m, MONTH, j) for m in names for j in range(12)] + \
           [(m, QUARTER, q) for m in names for q in range(4)] + [(m, YEAR, 0) for m in names]
    value = {k: sum(x[k[0]][j] for j in _months_of(Cell(*k))) for k in keys}
    region = {(level, index): sum(value[(m, level, index)] for m in names) for _, level, index in keys}
    if len(names) < MIN_MUNICIPALITIES:
        return frozenset(Cell(*k) for k in keys if region[k[1:]] > 0)
    # primary: small numbers, zeros included (a hidden zero is cover); a zero of a period the
    # whole region had no incident in is no secret and stays shown
    hidden = {k for k in keys if value[k] < threshold and region[k[1:]] > 0}
    cost = {k: _COST[k[1]] * (1 + value[k]) for k in keys}
    hidden_of: dict[str, set[tuple[str, int]]] = {m: set() for m in names}
    for m, level, index in hidden:
        hidden_of[m].add((level, index))
    # Every need, once met, stays met (hiding more only adds moves), so each is looked at once:
    # the months with incidents, then each hidden total that is not 0, as it becomes hidden.
    needs = deque(("month", b, month) for b in names for month in range(12) if x[b][month] >= 1)
    queued = set()

    def queue_totals(cells):
        for cell in sorted(cells, key=lambda c: (c[0], _ORDER[c[1]], c[2])):
            if value[cell] >= 1 and cell not in queued:
                queued.add(cell)
                needs.append(("total", cell[0], cell))

    queue_totals(hidden)
    while needs:
        kind, b, target = needs.popleft()
        while True:
            partners = _partners(names, x, hidden_of, b, kind, target)
            if len(partners) >= 2:
                break
            new = _cheapest(names, x, hidden, cost, b, kind, target, partners)
            hidden |= new
            for m, level, index in new:
                hidden_of[m].add((level, index))
            queue_totals(new)
    return frozenset(Cell(*k) for k in hidden)


# ------------------------------------------------------------------ moves
# A move is (giver, taker, j1, j2): the giver gives one incident of month j1 to the taker; when j2
# is not None, the taker gives one of month j2 back. It needs the giver to have an incident in j1
# and the taker one in j2, and it changes the totals below (all must be hidden for the move to
# be invisible to a viewer who is neither).

def _changed(giver: str, taker: str, j1: int, j2: int | None) -> tuple:
    if j2 is None:
        q = quarter_of(j1)
        return ((giver, MONTH, j1), (taker, MONTH, j1), (giver, QUARTER, q), (taker, QUARTER, q),
                (giver, YEAR, 0), (taker, YEAR, 0))
    out = ((giver, MONTH, j1), (taker, MONTH, j1), (giver, MONTH, j2), (taker, MONTH, j2))
    q1, q2 = quarter_of(j1), quarter_of(j2)
    if q1 != q2:
        out += ((giver, QUARTER, q1), (taker, QUARTER, q1), (giver, QUARTER, q2), (taker, QUARTER, q2))
    return out


def _moves(b: str, k: str, x):
    """Every move between b and k in either direction that the counts allow."""
    for giver, taker in ((b, k), (k, b)):
        for j1 in range(12):
            if x[giver][j1] < 1:
                continue
            yield giver, taker, j1, None
            for j2 in range(12):
                if j2 != j1 and x[taker][j2] >= 1:
                    yield giver, taker, j1, j2


def _changes(cell: tuple, move) -> bool:
    """Does `move` change `cell`'s value? (A give and take in the same quarter leaves it alone.)"""
    giver, taker, j1, j2 = move
    if cell[0] != giver and cell[0] != taker:
        return False
    level, index = cell[1], cell[2]
    if level == YEAR:
        return j2 is None
    if level == QUARTER:
        return (quarter_of(j1) == index) != (j2 is not None and quarter_of(j2) == index)
    return j1 == index or j2 == index


def _gives(b: str, month: int, move) -> bool:
    """Does `move` take one of b's incidents of `month` away from b (breakdown protection)?"""
    return move[0] == b and move[2] == month


def _valid_moves(b: str, k: str, x, hidden_of):
    """The moves between b and k (either direction) that change only hidden totals."""
    both = hidden_of[b] & hidden_of[k]
    months = [j for j in range(12) if (MONTH, j) in both]
    for giver, taker in ((b, k), (k, b)):
        for j1 in months:
            if x[giver][j1] < 1:
                continue
            q1 = quarter_of(j1)
            if (QUARTER, q1) in both and (YEAR, 0) in both:
                yield giver, taker, j1, None
            for j2 in months:
                if j2 == j1 or x[taker][j2] < 1:
                    continue
                q2 = quarter_of(j2)
                if q1 == q2 or ((QUARTER, q1) in both and (QUARTER, q2) in both):
                    yield giver, taker, j1, j2


_ORDER = {MONTH: 0, QUARTER: 1, YEAR: 2}


def _candidates(b: str, k: str, x, kind: str, target, months=range(12)):
    """The moves between b and k that the counts allow and that would meet the need: for a month
    need, those giving one of b's incidents of that month to k; for a total need, those changing
    that total of b. `months`: only moves within these months (those whose totals are hidden)."""
    if kind == "month":
        if target in months:
            yield b, k, target, None
            yield from ((b, k, target, j2) for j2 in months if j2 != target and x[k][j2] >= 1)
        return
    _, level, index = target
    if level == YEAR:
        period_months = range(12)
    elif level == QUARTER:
        period_months = range(3 * index, 3 * index + 3)
    else:
        period_months = range(index, index + 1)
    inside = set(period_months)
    for giver, taker in ((b, k), (k, b)):
        for j1 in months:
            if x[giver][j1] < 1:
                continue
            if j1 in inside:
                yield giver, taker, j1, None
            if level == YEAR:
                continue
            for j2 in months:
                if j2 != j1 and x[taker][j2] >= 1 and (j1 in inside) != (j2 in inside):
                    yield giver, taker, j1, j2


def _valid(move, hidden_of) -> bool:
    """Does the move change only hidden totals?"""
    giver, taker, j1, j2 = move
    need = [(MONTH, j1)]
    if j2 is None:
        need += [(QUARTER, quarter_of(j1)), (YEAR, 0)]
    else:
        need.append((MONTH, j2))
        if quarter_of(j1) != quarter_of(j2):
            need += [(QUARTER, quarter_of(j1)), (QUARTER, quarter_of(j2))]
    return all(c in hidden_of[giver] and c in hidden_of[taker] for c in need)


def _partners(names, x, hidden_of, b, kind, target) -> set[str]:
    """The municipalities through which a need of b is met by moves changing only hidden totals.

    A "total" need (target: a hidden total of b that is not 0) is met through k by a move between
    b and k that changes it. A "month" need (target: a month in which b had incidents) is met
    through k when k had incidents that month too (their incidents could be swapped unseen) or a
    move gives one of b's incidents of that month to k. Then b's breakdowns of that month, its
    quarter and year, and its weeks, are not b's alone to work out."""
    others = [k for k in names if k != b]
    if kind == "month":
        partners = {k for k in others if x[k][target] >= 1}
        if len(partners) >= 2:
            return partners
    else:
        partners = set()
    for k in others:
        if k in partners:
            continue
        both = hidden_of[b] & hidden_of[k]
        months = [j for j in range(12) if (MONTH, j) in both]  # every move changes its months
        if months and any(_valid(mv, hidden_of) for mv in _candidates(b, k, x, kind, target, months)):
            partners.add(k)
            if len(partners) >= 2:  # enough: the caller only asks whether two are found
                break
    return partners


def _first_unmet(names, x, hidden, value):
    """The first need (see _partners) that fewer than two partners meet, or None: the check of a
    finished publication (YearTotals.unmet)."""
    hidden_of: dict[str, set[tuple[str, int]]] = {m: set() for m in names}
    for m, level, index in hidden:
        hidden_of[m].add((level, index))
    for b in names:
        for month in range(12):
            if x[b][month] >= 1:
                partners = _partners(names, x, hidden_of, b, "month", month)
                if len(partners) < 2:
                    return b, "month", month, partners
        for level, index in sorted(hidden_of[b], key=lambda c: (_ORDER[c[0]], c[1])):
            cell = (b, level, index)
            if value[cell] >= 1:
                partners = _partners(names, x, hidden_of, b, "total", cell)
                if len(partners) < 2:
                    return b, "total", cell, partners
    return None


def _cheapest(names, x, hidden, cost, b, kind, target, partners) -> set:
    """The totals to hide so that one more partner meets the need: the move that hides least."""
    best = None
    for k in names:
        if k == b or k in partners:
            continue
        for mv in _candidates(b, k, x, kind, target):
            price = sum(cost[c] for c in _changed(*mv) if c not in hidden)
            rank = (price, k, mv[2], -1 if mv[3] is None else mv[3], mv[0])
            if best is None or rank < best[0]:
                best = (rank, mv)
    if best is None:  # cannot happen with three or more municipalities: a plain give always exists
        raise AssertionError(f"no protecting move for {b} {kind} {target}")
    return {c for c in _changed(*best[1]) if c not in hidden}
