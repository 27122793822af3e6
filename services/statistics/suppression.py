"""Small-number suppression for published statistics tables: plain domain code, no SQL or nameko.

A table is a grid of counts with its row totals, column totals and grand total. We see it as the
augmented (rows+1) x (cols+1) grid whose last row and column hold the totals; every line of that grid
is a linear equation ("cells sum to the total"). A hidden cell can be worked out exactly when it is
fixed by those equations. In the bipartite graph whose vertices are lines and whose edges are the
hidden cells, a hidden cell is fixed exactly when its edge is a bridge (not on any cycle): along a
cycle one can add +d/-d alternately and every published value stays the same. So:

1. primary: every cell (totals included) with 0 < value < threshold is hidden;
2. secondary: while a hidden cell lies on no cycle, hide one more cell next to it, preferring the
   smallest positive interior cell, so that the cycle exists with room to move in both directions.
"""
from __future__ import annotations

from dataclasses import dataclass

SUPPRESSED = "<{threshold}"


@dataclass(frozen=True)
class Published:
    """What may be shown: `None` where a value is hidden (render it as `label`)."""
    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None
    label: str

    def render(self, value):
        return self.label if value is None else value


def augmented(cells: list[list[int]]) -> list[list[int]]:
    rows = [list(r) + [sum(r)] for r in cells]
    width = len(rows[0]) if rows else 1
    rows.append([sum(r[j] for r in rows) for j in range(width)])
    return rows


def _is_bridge(hidden: set[tuple[int, int]], edge: tuple[int, int]) -> bool:
    """True when removing `edge` disconnects its row vertex from its column vertex."""
    start, goal = ("r", edge[0]), ("c", edge[1])
    adjacent: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for (i, j) in hidden:
        if (i, j) == edge:
            continue
        adjacent.setdefault(("r", i), []).append(("c", j))
        adjacent.setdefault(("c", j), []).append(("r", i))
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return False
        for nxt in adjacent.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return True


def _bridges(hidden: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Every hidden cell that lies on no cycle (Tarjan's bridge finding, linear in the cells): the
    same cells as `_is_bridge` finds one by one. Each cell joins a distinct (row, column) pair, so
    the graph has no parallel edges."""
    adjacent: dict[tuple[str, int], list[tuple[tuple[str, int], tuple[int, int]]]] = {}
    for (i, j) in hidden:
        adjacent.setdefault(("r", i), []).append((("c", j), (i, j)))
        adjacent.setdefault(("c", j), []).append((("r", i), (i, j)))
    order: dict[tuple[str, int], int] = {}
    low: dict[tuple[str, int], int] = {}
    bridges = set()
    for root in adjacent:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack = [(root, None, iter(adjacent[root]))]
        while stack:
            node, via, edges = stack[-1]
            advanced = False
            for nxt, edge in edges:
                if edge == via:
                    continue
                if nxt in order:
                    low[node] = min(low[node], order[nxt])
                else:
                    order[nxt] = low[nxt] = len(order)
                    stack.append((nxt, edge, iter(adjacent[nxt])))
                    advanced = True
                    break
            if advanced:
                continue
            stack.pop()
            if stack:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > order[parent]:
                    bridges.add(via)
    return bridges


def hidden_cells(cells: list[list[int]], threshold: int = 5,
                 also_hidden: frozenset[tuple[int, int]] = frozenset()) -> set[tuple[int, int]]:
    """Positions in the augmented grid (totals in the last row/column) that must not be published.

    `also_hidden`: positions hidden for another reason (a total that another table with the same
    margins had to hide); they get the same protection as small cells."""
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    grid = augmented(cells)
    n_rows, n_cols = len(grid), len(grid[0])
    hidden = {(i, j) for i in range(n_rows) for j in range(n_cols) if 0 < grid[i][j] < threshold}
    hidden |= set(also_hidden)

    def candidate_key(pos):
        i, j = pos
        is_total = i == n_rows - 1 or j == n_cols - 1
        # positive before zero (a zero on a cycle blocks one direction), interior before totals, small first
        return (grid[i][j] == 0, is_total, grid[i][j], i, j)

    while True:
        exposed = sorted(_bridges(hidden))
        if not exposed:
            return hidden
        i, j = exposed[0]
        line = [(i, k) for k in range(n_cols)] + [(k, j) for k in range(n_rows)]
        # a cell in a line whose total is 0 is known to be 0 whatever we hide: it can never give cover
        def gives_cover(p):
            return p not in hidden and grid[p[0]][n_cols - 1] != 0 and grid[n_rows - 1][p[1]] != 0
        options = [p for p in line if gives_cover(p)]
        if not options:  # row and column used up: widen to any cell that can still give cover
            options = [(a, b) for a in range(n_rows) for b in range(n_cols) if gives_cover((a, b))]
        if not options:
            return hidden
        hidden.add(min(options, key=candidate_key))


def suppress(cells: list[list[int]], threshold: int = 5,
             also_hidden: frozenset[tuple[int, int]] = frozenset()) -> Published:
    """The table as the public (another municipality, the region) may see it."""
    grid = augmented(cells)
    hidden = hidden_cells(cells, threshold, also_hidden)
    shown = [[None if (i, j) in hidden else v for j, v in enumerate(row)] for i, row in enumerate(grid)]
    return Published(cells=[row[:-1] for row in shown[:-1]], row_totals=[row[-1] for row in shown[:-1]],
                     column_totals=shown[-1][:-1], total=shown[-1][-1],
                     label=SUPPRESSED.format(threshold=threshold))


def exact(cells: list[list[int]], threshold: int = 5) -> Published:
    """The table as the owning municipality sees it: nothing hidden."""
    grid = augmented(cells)
    return Published(cells=[row[:-1] for row in grid[:-1]], row_totals=[row[-1] for row in grid[:-1]],
                     column_totals=grid[-1][:-1], total=grid[-1][-1],
                     label=SUPPRESSED.format(threshold=threshold))
