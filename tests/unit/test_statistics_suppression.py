"""Small-number suppression as properties: nothing below the threshold is shown and no hidden cell
can be worked out from what is published (rows, columns and totals)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from services.statistics import suppression


def tables(max_rows=4, max_cols=4, max_value=12):
    return st.integers(1, max_rows).flatmap(lambda r: st.integers(1, max_cols).flatmap(
        lambda c: st.lists(st.lists(st.integers(0, max_value), min_size=c, max_size=c), min_size=r, max_size=r)))


def published_grid(cells, threshold):
    pub = suppression.suppress(cells, threshold)
    grid = [row + [t] for row, t in zip(pub.cells, pub.row_totals)]
    grid.append(pub.column_totals + [pub.total])
    return grid


def feasible_values(cells, threshold):
    """Brute force: every non-negative integer filling of the hidden interior cells that reproduces all
    published cells and margins; returns, per hidden augmented position, the set of values it takes."""
    grid = published_grid(cells, threshold)
    n_rows, n_cols = len(cells), len(cells[0])
    # any second solution is found inside this range; a larger one is not needed as evidence
    bound = max(map(max, cells)) + threshold
    free = [(i, j) for i in range(n_rows) for j in range(n_cols) if grid[i][j] is None]
    seen: dict[tuple[int, int], set[int]] = {}
    fill = [[grid[i][j] if grid[i][j] is not None else 0 for j in range(n_cols)] for i in range(n_rows)]

    def row_done(i, k):
        return all(f[0] != i for f in free[k:])

    def col_done(j, k):
        return all(f[1] != j for f in free[k:])

    def dfs(k):
        if k == len(free):
            aug = suppression.augmented(fill)
            for i in range(n_rows + 1):
                for j in range(n_cols + 1):
                    if grid[i][j] is not None and aug[i][j] != grid[i][j]:
                        return
            for i in range(n_rows + 1):
                for j in range(n_cols + 1):
                    if grid[i][j] is None:
                        seen.setdefault((i, j), set()).add(aug[i][j])
            return
        i, j = free[k]
        for v in range(bound + 1):
            fill[i][j] = v
            row_sum, col_sum = sum(fill[i]), sum(r[j] for r in fill)
            if grid[i][n_cols] is not None and (row_sum > grid[i][n_cols]
                                                or (row_done(i, k + 1) and row_sum != grid[i][n_cols])):
                if row_sum > grid[i][n_cols]:
                    break
                continue
            if grid[n_rows][j] is not None and (col_sum > grid[n_rows][j]
                                                or (col_done(j, k + 1) and col_sum != grid[n_rows][j])):
                if col_sum > grid[n_rows][j]:
                    break
                continue
            dfs(k + 1)
        fill[i][j] = 0

    dfs(0)
    return grid, seen


@settings(max_examples=300, deadline=None)
@given(tables(), st.integers(1, 8))
def test_nothing_below_threshold_is_published_and_exact_view_is_unchanged(cells, threshold):
    grid = published_grid(cells, threshold)
    for row in grid:
        for v in row:
            assert v is None or v == 0 or v >= threshold
    exact = suppression.exact(cells, threshold)
    assert exact.cells == cells
    assert exact.total == sum(map(sum, cells))


@settings(max_examples=300, deadline=None)
@given(tables(), st.integers(2, 8))
def test_every_line_with_a_hidden_cell_has_at_least_two(cells, threshold):
    grid = published_grid(cells, threshold)
    for line in grid + [list(col) for col in zip(*grid)]:
        assert sum(v is None for v in line) != 1


@settings(max_examples=120, deadline=None)
@given(tables(max_rows=3, max_cols=2, max_value=5), st.integers(2, 5))
def test_no_hidden_cell_is_determined_by_the_published_cells_and_margins(cells, threshold):
    grid, seen = feasible_values(cells, threshold)
    aug = suppression.augmented(cells)
    for (i, j), values in seen.items():
        assert aug[i][j] in values, "the true table must be one of the solutions"
        assert len(values) >= 2, f"hidden cell {(i, j)} is determined: {values} in {cells}"
    hidden = {(i, j) for i, row in enumerate(grid) for j, v in enumerate(row) if v is None}
    assert hidden == set(seen) or not hidden


def test_a_single_small_cell_hides_a_partner_in_its_row_and_column():
    cells = [[3, 10, 12], [20, 15, 9]]
    pub = suppression.suppress(cells, 5)
    assert pub.cells[0][0] is None
    assert sum(v is None for v in pub.cells[0]) >= 2
    assert sum(row[0] is None for row in pub.cells) >= 2
    assert pub.render(pub.cells[0][0]) == "<5"
    assert pub.total == sum(map(sum, cells))


def test_dumbbell_pattern_is_not_left_with_a_bridge():
    # two rectangles of small cells joined through one row: the ">=2 per line" rule alone leaves a bridge
    cells = [[1, 1, 0, 0], [1, 1, 9, 9], [0, 9, 1, 1], [0, 9, 1, 1]]
    hidden = suppression.hidden_cells(cells, 5)
    assert not any(suppression._is_bridge(hidden, e) for e in hidden)


@settings(max_examples=300, deadline=None)
@given(st.sets(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=30))
def test_linear_bridge_finding_agrees_with_the_one_by_one_check(hidden):
    assert suppression._bridges(hidden) == {e for e in hidden if suppression._is_bridge(hidden, e)}
