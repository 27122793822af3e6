"""The attacker of docs/statistics.md ("What the attacker test tries"): a municipality's person who
sees everything statistics shows them — as staff or coordinator (their own figures exact) and as
analyst — over every period and scope, and solves for the hidden numbers with an integer program.

Unknowns are the counts per municipality, day-piece (the days a week and a month share), figure
and value; the attacker knows their own municipality's exactly. Every published number is an
equation; what any reader of docs/statistics.md knows about the figures is a constraint (each
incident once in each of the tables whose totals are the incidents; an outcome only for a
referral; a closed plan only for a plan; ...); counts are whole and not negative. A hidden number
is pinned when its minimum and maximum under all of that are equal (scipy's milp, HiGHS)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from services.statistics import figures
from services.statistics.figures import INCIDENT_MARGINS, REGION, is_hidden
from shared import vocabulary

INF = np.inf


@dataclass(frozen=True)
class Target:
    form: tuple[int, ...]  # variable indices summed
    true: int
    own: int               # the attacker's own part of it
    single_holder: bool
    where: str             # a readable address of one place it is shown


@dataclass
class Report:
    municipality: str
    variables: int
    equations: int
    hidden_numbers: int    # distinct hidden numbers the attacker sees
    protected: int         # of which the attacker does not know, small or a single-holder count
    pinned: list[Target]   # protected numbers the solver pinned
    solves: int


class Attack:
    def __init__(self, world, municipality: str):
        self.world, self.own = world, municipality
        days = [world.first + timedelta(days=d) for d in range((world.last - world.first).days + 1)]
        pieces: dict[tuple, list] = {}
        for day in days:
            pieces.setdefault((day.isocalendar()[:2], day.month), []).append(day)
        self.pieces = list(pieces.values())
        self.index: dict[tuple, int] = {}
        self.truth: list[int] = []
        self.columns: dict[str, set[str]] = {f: set(cols) for f, (_, cols) in figures.TABLES.items()}

    # ------------------------------------------------------------ variables
    def var(self, key) -> int:
        if key not in self.index:
            self.index[key] = len(self.index)
            self.truth.append(0)
        return self.index[key]

    def piece_of(self, day):
        for p, days in enumerate(self.pieces):
            if day in days:
                return p
        return None

    def form(self, period, municipalities, figure, columns) -> tuple[int, ...]:
        out = []
        for p, days in enumerate(self.pieces):
            if period.first <= days[0] and days[-1] <= period.last:
                out += [self.var((m, p, figure, c)) for m in municipalities for c in columns]
        return tuple(sorted(out))

    # ------------------------------------------------------------ what is shown
    def published(self):
        """(form, shown value, address) of every number the attacker's municipality is shown."""
        world = self.world
        for period, viewer, scope, result in world.views(self.own):
            scope_munis = world.municipalities if scope == REGION else [scope]
            where = f"{period.label} viewer={viewer} scope={scope}"
            for figure, table in result["tables"].items():
                self.columns[figure] |= set(table["columns"])
                cols = table["columns"]
                for when, values, total in ((period, table["values"], table["total"]),
                                            (period.previous(), table["previous"]["values"],
                                             table["previous"]["total"])):
                    for c in cols:
                        yield self.form(when, scope_munis, figure, [c]), values[c], f"{where} {figure}.{c}"
                    yield self.form(when, scope_munis, figure, cols), total, f"{where} {figure}.total"
                for row in table["rows"]:
                    m = row["municipality"]
                    for c in cols:
                        yield self.form(period, [m], figure, [c]), row["values"][c], f"{where} {figure}[{m}].{c}"
                    yield self.form(period, [m], figure, cols), row["total"], f"{where} {figure}[{m}].total"
                for c in cols + ["total"]:
                    change = table["change"]["total" if c == "total" else "values"]
                    change = change if c == "total" else change[c]
                    now = table["total"] if c == "total" else table["values"][c]
                    before = table["previous"]["total"] if c == "total" else table["previous"]["values"][c]
                    assert is_hidden(change) == (is_hidden(now) or is_hidden(before)), (where, figure, c)
            yield from self.csv_numbers(period, scope, result, where)
            police = result["tables"]["police"]["columns"]
            yield self.form(period, scope_munis, "police", police), result["incidents"]["value"], f"{where} incidents"
            yield (self.form(period.previous(), scope_munis, "police", police), result["incidents"]["previous"],
                   f"{where} incidents.previous")
            for when, n in ((period, result["first_contact_days"]["n"]),
                            (period.previous(), result["first_contact_days"]["previous"]["n"])):
                yield self.form(when, scope_munis, "aftercare", ["op_tijd", "te_laat"]), n, f"{where} contacts n"

    def csv_numbers(self, period, scope, result, where):
        """The same view as CSV (the export), read back as a reader of the file would: x is hidden."""
        scope_munis = self.world.municipalities if scope == REGION else [scope]
        for line in figures.csv_rows(period, result):
            _, _, figure, municipality, column, count, previous, _ = line
            if figure == "incidents":
                figure, cols = "police", result["tables"]["police"]["columns"]
            elif figure == "first_contact_days_n":
                figure, cols = "aftercare", ["op_tijd", "te_laat"]
            elif figure in result["tables"]:
                cols = result["tables"][figure]["columns"] if column == "total" else [column]
            else:
                continue  # shares, median, percentile: worked out from the numbers above
            munis = scope_munis if municipality == scope else [municipality]
            for when, text in ((period, count), (period.previous(), previous)):
                if text == "" and when is not period:
                    continue  # a municipality's line has no previous
                value = figures.hidden() if text == figures.MARKER else int(text)
                yield self.form(when, munis, figure, cols), value, f"{where} csv {figure}[{municipality}].{column}"

    # ------------------------------------------------------------ the program
    def run(self, rng: random.Random | None = None, max_solves: int = 4000) -> Report:
        rng = rng or random.Random(0)
        equations: dict[tuple, int] = {}
        hidden: dict[tuple, str] = {}
        for form, shown, where in self.published():
            if is_hidden(shown):
                hidden.setdefault(form, where)
            else:
                assert isinstance(shown, int), (where, shown)
                assert equations.setdefault(form, shown) == shown, f"two values for one number: {where}"
        world, names = self.world, self.world.municipalities
        # every variable, the structure's too, and the truth
        for m in names:
            for p in range(len(self.pieces)):
                self.var((m, p, "incidents", ""))
                for figure, cols in self.columns.items():
                    for c in cols:
                        self.var((m, p, figure, c))
        for incident in world.incidents:
            p = self.piece_of(incident.day)
            self.truth[self.var((incident.municipality, p, "incidents", ""))] += 1
            for figure, value in incident.rows():
                if figure in self.columns:
                    self.truth[self.var((incident.municipality, p, figure, value))] += 1
        n = len(self.index)
        truth = np.array(self.truth, dtype=float)
        rows, cols, vals, lo, hi = [], [], [], [], []

        def add(terms, low, high):
            r = len(lo)
            for j, coefficient in terms:
                rows.append(r)
                cols.append(j)
                vals.append(coefficient)
            lo.append(low)
            hi.append(high)

        for form, value in equations.items():
            assert sum(truth[j] for j in form) == value, "a published number is not the truth"
            add([(j, 1) for j in form], value, value)
        for m in names:
            for p in range(len(self.pieces)):
                def x(figure, c):
                    return self.index[(m, p, figure, c)]
                inc = x("incidents", "")
                for figure in INCIDENT_MARGINS:
                    add([(x(figure, c), 1) for c in self.columns[figure]] + [(inc, -1)], 0, 0)
                for c in self.columns["category"]:
                    add([(x("category", c), 1), (inc, -1)], -INF, 0)
                add([(x("category", c), 1) for c in self.columns["category"]] + [(inc, -1)], 0, INF)
                referred = [(x("police", "verwezen"), -1), (x("police", "aangifte"), -1)]
                add([(x("police_outcome", c), 1) for c in self.columns["police_outcome"]] + referred, -INF, 0)
                plans = [(x("aftercare", c), 1) for c in self.columns["aftercare"]]
                add(plans + [(inc, -1)], -INF, 0)
                add([(x("aftercare_closed", c), 1) for c in self.columns["aftercare_closed"]]
                    + [(j, -1) for j, _ in plans], -INF, 0)
                add([(x("deadline_breach", "triage"), 1), (inc, -1)], -INF, 0)
                add([(x("deadline_breach", "nazorg"), 1)] + [(j, -1) for j, _ in plans], -INF, 0)
                add([(x("deadline_breach", "politie"), 1)] + referred, -INF, 0)
                add([(x("repeat_perpetrator", c), 1) for c in self.columns["repeat_perpetrator"]] + [(inc, -1)],
                    -INF, 0)
        constraint = LinearConstraint(coo_matrix((vals, (rows, cols)), shape=(len(lo), n)).tocsr(), lo, hi)
        own = np.array([key[0] == self.own for key in self.index], dtype=bool)
        lower = np.where(own, truth, 0.0)
        upper = np.where(own, truth, INF)
        bounds = Bounds(lower, upper)
        integrality = np.ones(n)

        targets = []
        keys = list(self.index)
        for form, where in hidden.items():
            true = int(sum(truth[j] for j in form))
            mine = int(sum(truth[j] for j in form if own[j]))
            single = bool(form) and all(keys[j][2] == "target_role" and keys[j][3] in vocabulary.SINGLE_HOLDER_ROLES
                                        for j in form)
            targets.append(Target(form, true, mine, single, where))
        protected = [t for t in targets if t.true - t.own >= 1 and (t.true - t.own < world.threshold or t.single_holder)]
        solves = 0

        def solve(objective):
            nonlocal solves
            solves += 1
            result = milp(objective, integrality=integrality, bounds=bounds, constraints=constraint,
                          options={"presolve": True, "time_limit": 30})
            if result.status != 0 or not fits(result.x):
                # HiGHS's presolve now and then calls a feasible program infeasible: solve it again
                # without, and trust no solution that does not fit every equation exactly
                result = milp(objective, integrality=integrality, bounds=bounds, constraints=constraint,
                              options={"presolve": False, "time_limit": 60})
            assert result.status == 0, result.message  # the truth is always feasible
            assert fits(result.x), "the solver's solution does not fit what was published"
            return np.round(result.x)

        matrix, low, high = constraint.A, np.array(lo), np.array(hi)

        def fits(x):
            if x is None:
                return False
            x = np.round(x)
            ax = matrix @ x
            return bool(np.all(ax >= low - 1e-6) and np.all(ax <= high + 1e-6)
                        and np.all(x >= lower - 1e-6) and np.all(x <= upper + 1e-6))

        def moves(target, solution):
            return round(sum(solution[j] for j in target.form)) != target.true

        open_ = list(protected)

        def free(solution):
            return [t for t in open_ if not moves(t, solution)]

        # a few random directions first: one other solution frees many numbers at once
        for _ in range(6):
            if not open_:
                break
            objective = np.zeros(n)
            for t in open_:
                objective[list(t.form)] += rng.choice((-1.0, 1.0))
            open_ = free(solve(objective))
        pinned = []
        while open_:
            if solves >= max_solves:
                raise AssertionError("the attacker test ran out of solves")
            t = open_[0]
            objective = np.zeros(n)
            objective[list(t.form)] = -1.0  # maximise
            open_ = free(solve(objective))
            if t not in open_:
                continue
            objective[list(t.form)] = 1.0   # minimise
            open_ = free(solve(objective))
            if t in open_:
                pinned.append(t)
                open_.remove(t)
        return Report(self.own, n, len(lo), len(targets), len(protected), pinned, solves)
