"""The statistics service's nameko shell: fold every event into the read model; answer figures
(JSON, CSV) and serve the dashboard. The figures themselves are worked out in figures.py."""
from __future__ import annotations

from werkzeug.wrappers import Response

from shared import assertion, auth
from shared.dependencies import StatisticsKey, Storage
from shared.keyed import statistics_key_of
from shared.http import Problem, api, json_response
from shared.messaging.consumer import event_handler
from shared.events import CATALOGUE
from shared.names import STATISTICS
from shared.service import HubService
from shared.timers import Nudges, nudged_timer

from services.statistics import dashboard, domain, figures, handlers, store
from services.statistics.options import DEFAULT_SUPPRESSION_THRESHOLD

# Events folded in one transaction when they wait in a queue (shared.messaging.consumer). Each handler's prefetch
# follows from BATCH and WINDOW (shared.messaging.consumer.batch_prefetch: 2,000, so at most 2,000 events of a type a
# second while windows run).
BATCH = 1000
# Seconds a fold waits for more events. Figures lag the facts by about a second anyway (REFRESH_SECONDS), and each
# fold is a transaction per event type: at 0.1 s statistics committed 1.5 transactions per incident at 25/s, a
# fifth of the hub's, at 0.5 s 0.52 at 20/s, at 1 s 0.30 (issue 25).
WINDOW = 1.0
REFRESH_SECONDS = 1.0  # how long figures may lag behind the facts (a read of the figures catches up at once)
# Days marked by a fold of another instance that stopped before its refresh (or by a command) are
# recounted at least this often; the process's own folds are recounted at the next tick.
REFRESH_NET_SECONDS = 60.0


def folds(source: str, event_type: str):
    """Every handler here folds its events the same way: in batches, waiting WINDOW for more."""
    return event_handler(source, event_type, batch=BATCH, window=WINDOW)


FIGURES_QUERY = [
    {"name": "period", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "2026, 2026-Q3, 2026-09, 2026-W37 or a day 2026-09-14; default: this month"},
    {"name": "municipality", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "a municipality code of the region, or the region (default)"},
    {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "enum": ["json", "csv"]}}]

class StatisticsService(HubService):
    name = STATISTICS
    storage = Storage(relay_outbox=False, uses_case_stores=False, uses_statistics=True)
    # its own key, never the region secret (issue 21, item 2; shared/keyed.py)
    statistics_key = StatisticsKey()
    nudges = Nudges()

    @staticmethod
    def check_settings(settings):
        """Called by the runner before start: one clear line when statistics' key is missing."""
        statistics_key_of(settings)

    def _person_check(self) -> auth.PersonCheck:
        """People's assertions from the workbench, checked with the key derived from statistics' own key."""
        return auth.PersonCheck(None, self.name, now=lambda: self.clock.now().timestamp(),
                                key=assertion.statistics_assertion_key(self.statistics_key))

    def _fold(self, events):
        with self.storage.statistics() as uow:
            handlers.fold(events, uow, self.statistics_key)
        self.nudges.nudge("refresh_counts")  # committed: the days it marked are recounted at the next tick

    # -------------------------------------------------------------- HTTP
    @api("GET", "/api/v1/statistics/summary")
    def summary(self, request):
        """The caller's own municipality's exact totals since the start."""
        principal = self._principal(request, "statistics:exact")
        with self.storage.statistics() as uow:
            figures_ = store.summary(uow, principal.municipality)
        return json_response({"municipality": principal.municipality, **figures_})

    @api("GET", "/api/v1/statistics/figures", query=FIGURES_QUERY, content=("application/json", "text/csv"),
         errors={400: "an unknown period or municipality, named in invalid-params"})
    def get_figures(self, request):
        """Figures of one period for the region or one municipality, as the caller may see them;
        JSON, or CSV with ?format=csv or Accept: text/csv."""
        principal = self._principal(request, "statistics:read")
        period, scope = self._filters(request)
        result = self._figures(principal, period, scope)
        if request.args.get("format") == "csv" or (
                request.args.get("format") is None
                and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"):
            name = f"meldpunt-{scope}-{period.label}.csv".lower()
            return Response(dashboard.to_csv(figures.CSV_HEADER, figures.csv_rows(period, result)),
                            status=200, content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        return json_response(result)

    @api("GET", "/dashboard")
    def get_dashboard(self, request):
        """The dashboard page for a caller with an Authorization header: a person through the workbench
        (which shows it behind its sign-in, issue 18) or a machine's key. No key form and no key cookie: a
        browser without the header gets a page that sends the person to the workbench."""
        lang = dashboard.language(request)
        if not request.headers.get("Authorization"):  # a person's browser: the way to the workbench
            return dashboard.page_response(dashboard.render_login(lang), status=401)
        principal = self._principal(request, "statistics:read")  # a wrong key or role: 401/403 as the API
        try:
            period, scope = self._filters(request)
        except Problem as exc:
            period, scope = self._default_period(), figures.REGION
            error = exc.detail
        else:
            error = None
        result = self._figures(principal, period, scope)
        region = self.storage.region
        person = principal.kind == auth.PERSON
        html = dashboard.render_dashboard(
            result, period, region_name=region.name, municipalities={m.code: m.name for m in region.municipalities},
            signed_in_as=(f"{principal.display_name} ({principal.role})" if person
                          else f"{principal.municipality} ({principal.role})"),
            today=domain.day(self.clock.now()), lang=lang, error=error,
            # the workbench serves the CSV beside the page, behind the same sign-in
            csv_href=(f"/dashboard/figures.csv?period={period.label}&municipality={scope}" if person else None))
        return dashboard.page_response(html)

    @api("GET", "/dashboard/dashboard.css")
    def stylesheet(self, request):
        return Response(dashboard.CSS, status=200, content_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "max-age=3600"})

    @api("GET", "/favicon.ico")
    def favicon(self, request):
        return Response(dashboard.favicon(), status=200, content_type="image/x-icon",
                        headers={"Cache-Control": "max-age=86400"})

    # ------------------------------------------------------------ helpers

    def _default_period(self) -> figures.Period:
        return figures.period_containing("month", domain.day(self.clock.now()))

    def _filters(self, request) -> tuple[figures.Period, str]:
        text = request.args.get("period")
        try:
            period = figures.parse_period(text) if text else self._default_period()
        except ValueError as exc:
            raise Problem(400, "Bad Request", str(exc),
                          invalid_params=[{"name": "period", "reason": str(exc)}]) from None
        scope = request.args.get("municipality") or figures.REGION
        if scope != figures.REGION and not self.storage.region.knows(scope):
            raise Problem(400, "Bad Request", f"{scope} is not a municipality of this region",
                          invalid_params=[{"name": "municipality", "reason": "not a municipality of this region"}])
        return period, scope

    @nudged_timer(interval=REFRESH_SECONDS, net_seconds=REFRESH_NET_SECONDS)
    def refresh_counts(self):
        """Recount the days folded events marked: each day once per round, however many events; a tick
        runs it only after this process folded, and every REFRESH_NET_SECONDS as a net (shared/timers.py):
        an idle process spawned a worker and ran a transaction every second for nothing (issue 25)."""
        self._refresh_counts(wait=False)

    def _refresh_counts(self, wait: bool):
        done = store.BATCH
        while done == store.BATCH:
            with self.storage.statistics() as uow:
                done = store.refresh_dirty(uow, store.BATCH, wait=wait)

    def _figures(self, principal: auth.Principal, period: figures.Period, scope: str) -> dict:
        # only a key or a person of the municipality with statistics:exact sees it unsuppressed (a person of
        # the region acts in some municipality to be let in, and sees the region's suppressed figures)
        own = principal.kind != auth.PERSON or principal.home == principal.municipality
        viewer = principal.municipality if own and auth.may(principal, "statistics:exact") else None
        threshold = (self.storage.region.options.get(STATISTICS) or {}).get(
            "suppression_threshold", DEFAULT_SUPPRESSION_THRESHOLD)
        previous = period.previous()
        self._refresh_counts(wait=True)  # a reader sees every event folded before it asked
        with self.storage.statistics() as uow:
            store.one_snapshot(uow)  # the period, the one before and their years from one state
            now = figures.Counts(store.counts(uow, period.first, period.last, period.monthly))
            before = figures.Counts(store.counts(uow, previous.first, previous.last, previous.monthly))
            years = store.monthly_incidents(uow, figures.years_needed(period, previous))
        result = figures.figures(now, before, list(self.storage.region.codes), viewer, scope, threshold, period, years)
        return {"period": period.as_dict(), "previous_period": previous.as_dict(), **result}


def _folding(source: str, event_type: str):
    @folds(source, event_type)
    def handler(self, events):
        self._fold(events)
    handler.__name__ = handler.__qualname__ = f"on_{event_type}"
    handler.__doc__ = f"{event_type}: folded into the read model (services/statistics/domain.py facts_from)."
    return handler


# Every event the catalogue names statistics a consumer of (shared/events.py) is folded the same way: a new
# event is its entry in the catalogue and its rule in domain.facts_from or domain.COUNTS, nothing here.
for _spec in CATALOGUE.values():
    if STATISTICS in _spec.consumers:
        setattr(StatisticsService, f"on_{_spec.name}", _folding(_spec.producer, _spec.name))
