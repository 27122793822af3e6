"""A made-up region for the statistics tests: incidents with every code statistics counts, the
counts services/statistics/store.py would sum for any period, and everything a viewer is shown.

The counting mirrors store._FIGURES (one row per incident and figure value, by the day reported),
so the property tests and the attacker test below run the real figures.py on realistic counts
without a database."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import strategies as st

from services.statistics import figures
from services.statistics.figures import REGION, Counts, Period, period_containing

ROLES = ("ambtenaar", "burgemeester", "wethouder", "griffier")
URGENCIES = ("hoog", "normaal")
CHANNELS = ("formulier", "api")
LOCATIONS = ("balie", "kantoor")
CATEGORIES = ("bedreiging", "intimidatie")
POLICE = ("niet_verwezen", "verwezen", "aangifte")
OUTCOMES = ("sepot", "schikking")
AFTERCARE = ("op_tijd", "te_laat", "nog_geen_contact")
CLOSED = ("completed", "declined")


@dataclass(frozen=True)
class Incident:
    municipality: str
    day: date
    target_role: str
    urgency: str
    channel: str
    location_type: str
    categories: tuple[str, ...]
    police: str
    outcome: str | None = None          # closed referrals only
    aftercare: str | None = None        # None: no care plan
    closed: str | None = None           # closed plans only
    first_contact_days: int | None = None
    breaches: tuple[str, ...] = ()      # triage, nazorg (plans only), politie (referrals only)
    repeat: str | None = None           # alleen_hier, ook_elders

    def rows(self):
        """(figure, value) pairs this incident adds one to, as store._FIGURES counts them."""
        yield "target_role", self.target_role
        yield "location_type", self.location_type
        yield "channel", self.channel
        yield "urgency", self.urgency
        yield "police", self.police
        for category in self.categories:
            yield "category", category
        if self.outcome:
            yield "police_outcome", self.outcome
        if self.aftercare:
            yield "aftercare", self.aftercare
        if self.closed:
            yield "aftercare_closed", self.closed
        if self.first_contact_days is not None:
            yield "first_contact_days", str(self.first_contact_days)
        for breach in self.breaches:
            yield "deadline_breach", breach
        if self.repeat:
            yield "repeat_perpetrator", self.repeat


@dataclass
class World:
    municipalities: list[str]
    incidents: list[Incident]
    first: date
    last: date
    threshold: int = 5
    _cache: dict = field(default_factory=dict, repr=False)

    def counts(self, period: Period) -> Counts:
        key = ("counts", period.label)
        if key not in self._cache:
            tally: dict[tuple, int] = {}
            for incident in self.incidents:
                if period.first <= incident.day <= period.last:
                    for figure, value in incident.rows():
                        k = (incident.municipality, figure, value)
                        tally[k] = tally.get(k, 0) + 1
            self._cache[key] = Counts([(*k, n) for k, n in tally.items()])
        return self._cache[key]

    def years(self, *periods: Period) -> dict[int, dict[str, list[int]]]:
        out = {year: {m: [0] * 12 for m in self.municipalities} for year in figures.years_needed(*periods)}
        for incident in self.incidents:
            if incident.day.year in out:
                out[incident.day.year][incident.municipality][incident.day.month - 1] += 1
        return out

    def periods(self) -> list[Period]:
        """Every week, month, quarter and year that holds a day of the world."""
        seen: dict[str, Period] = {}
        day = self.first
        while day <= self.last:
            for kind in figures.PERIOD_KINDS:
                p = period_containing(kind, day)
                seen.setdefault(p.label, p)
            day += timedelta(days=1)
        return list(seen.values())

    def result(self, period: Period, viewer: str | None, scope: str) -> dict:
        key = ("result", period.label, viewer, scope)
        if key not in self._cache:
            previous = period.previous()
            self._cache[key] = figures.figures(self.counts(period), self.counts(previous), self.municipalities,
                                               viewer, scope, self.threshold, period, self.years(period, previous))
        return self._cache[key]

    def views(self, municipality: str):
        """Everything the people of one municipality are shown: as staff or coordinator (its own
        figures exact) and as analyst (everything suppressed), every period, every scope."""
        for period in self.periods():
            for viewer in (municipality, None):
                for scope in [REGION, *self.municipalities]:
                    yield period, viewer, scope, self.result(period, viewer, scope)


CODES = [f"GM{n:04d}" for n in (687, 718, 664, 715, 716)]
# Windows across a year's end (2026 has 53 ISO weeks; 2027-01-01 is in 2026-W53) and a quarter's.
WINDOWS = [(date(2026, 12, 7), date(2027, 1, 10)), (date(2026, 3, 16), date(2026, 4, 19))]


@st.composite
def incidents(draw, municipality, first: date, last: date):
    police = draw(st.sampled_from(POLICE + ("niet_verwezen",)))
    referred = police != "niet_verwezen"
    aftercare = draw(st.sampled_from((None, None) + AFTERCARE))
    contacted = aftercare in ("op_tijd", "te_laat")
    breaches = tuple(b for b, allowed in (("triage", True), ("nazorg", aftercare is not None),
                                          ("politie", referred)) if allowed and draw(st.integers(0, 4)) == 0)
    return Incident(
        municipality=municipality,
        day=first + timedelta(days=draw(st.integers(0, (last - first).days))),
        target_role=draw(st.sampled_from(ROLES + ("ambtenaar",))),
        urgency=draw(st.sampled_from(URGENCIES)),
        channel=draw(st.sampled_from(CHANNELS)),
        location_type=draw(st.sampled_from(LOCATIONS)),
        categories=tuple(sorted(draw(st.sets(st.sampled_from(CATEGORIES), min_size=1)))),
        police=police,
        outcome=draw(st.sampled_from((None,) + OUTCOMES)) if referred else None,
        aftercare=aftercare,
        closed=draw(st.sampled_from((None,) + CLOSED)) if aftercare else None,
        first_contact_days=draw(st.integers(0, 9)) if contacted else None,
        breaches=breaches,
        repeat=draw(st.sampled_from((None, None, "alleen_hier", "ook_elders"))),
    )


@st.composite
def worlds(draw, min_municipalities=3, max_municipalities=4, max_incidents=30, thresholds=(3, 5)):
    """A region of a few municipalities, some busy and some quiet, over a few weeks."""
    n = draw(st.integers(min_municipalities, max_municipalities))
    codes = CODES[:n]
    first, last = draw(st.sampled_from(WINDOWS))
    weights = [draw(st.integers(0, 4)) for _ in codes]
    pool = [c for c, w in zip(codes, weights) for _ in range(w)] or codes
    count = draw(st.integers(0, max_incidents))
    made = [draw(incidents(draw(st.sampled_from(pool)), first, last)) for _ in range(count)]
    return World(codes, made, first, last, draw(st.sampled_from(thresholds)))
