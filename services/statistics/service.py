"""The statistics service's nameko shell: fold every event into the read model; answer figures
(JSON, CSV) and serve the dashboard. The figures themselves are worked out in figures.py."""
from __future__ import annotations

from nameko.timer import timer
from werkzeug.wrappers import Response

from shared import auth
from shared.config import region_secret
from shared.dependencies import RegionSecret, Storage
from shared.http import Problem, api, json_response
from shared.messaging.consumer import event_handler
from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, STATISTICS, TRIAGE
from shared.service import HubService

from services.statistics import dashboard, domain, figures, store
from services.statistics.options import DEFAULT_SUPPRESSION_THRESHOLD

BATCH = 100  # events folded in one transaction when they wait in a queue (shared.messaging.consumer)
WINDOW = 0.1  # seconds a fold waits for more events: figures lag the facts by about a second anyway
REFRESH_SECONDS = 1.0  # how long figures may lag behind the facts (a read of the figures catches up at once)


def folds(source: str, event_type: str):
    """Every handler here folds its events the same way: in batches, waiting WINDOW for more."""
    return event_handler(source, event_type, batch=BATCH, window=WINDOW)


class StatisticsService(HubService):
    name = STATISTICS
    storage = Storage(relay_outbox=False, uses_case_stores=False, uses_statistics=True)
    region_secret = RegionSecret()

    @staticmethod
    def check_settings(settings):
        """Called by the runner before start: one clear line when the region secret is missing."""
        region_secret(settings)

    def _fold(self, events):
        """Fold a batch of events in one transaction: each event once (inbox), the rows in one
        order (case_ref) so that concurrent batches cannot deadlock, each marked day once."""
        with self.storage.statistics() as uow:
            new = [(event.municipality, domain.case_ref(self.region_secret, event.case_id), event)
                   for event in uow.first_deliveries(events)]
            days = store.upsert_facts_many(uow, [
                (municipality, ref, domain.facts_from(event), domain.counts_from(event))
                for municipality, ref, event in sorted(new, key=lambda item: item[:2])])
            store.mark_dirty(uow, days)  # recounted by refresh_counts

    @folds(INTAKE, "incident_reported")
    def on_incident_reported(self, events):
        self._fold(events)

    @folds(TRIAGE, "incident_triaged")
    def on_incident_triaged(self, events):
        self._fold(events)

    @folds(INTAKE, "incident_updated")
    def on_incident_updated(self, events):
        self._fold(events)

    @folds(INTAKE, "incident_withdrawn")
    def on_incident_withdrawn(self, events):
        self._fold(events)

    @folds(TRIAGE, "triage_overridden")
    def on_triage_overridden(self, events):
        self._fold(events)

    @folds(TRIAGE, "triage_overdue")
    def on_triage_overdue(self, events):
        self._fold(events)

    @folds(TRIAGE, "repeat_detected")
    def on_repeat_detected(self, events):
        self._fold(events)

    @folds(POLICE_LIAISON, "referral_created")
    def on_referral_created(self, events):
        self._fold(events)

    @folds(POLICE_LIAISON, "referral_updated")
    def on_referral_updated(self, events):
        self._fold(events)

    @folds(POLICE_LIAISON, "referral_escalated")
    def on_referral_escalated(self, events):
        self._fold(events)

    @folds(AFTERCARE, "aftercare_planned")
    def on_aftercare_planned(self, events):
        self._fold(events)

    @folds(AFTERCARE, "aftercare_contact_due")
    def on_aftercare_contact_due(self, events):
        self._fold(events)

    @folds(AFTERCARE, "aftercare_overdue")
    def on_aftercare_overdue(self, events):
        self._fold(events)

    @folds(AFTERCARE, "aftercare_contact_recorded")
    def on_aftercare_contact_recorded(self, events):
        self._fold(events)

    @folds(AFTERCARE, "aftercare_referred")
    def on_aftercare_referred(self, events):
        self._fold(events)

    @folds(AFTERCARE, "aftercare_closed")
    def on_aftercare_closed(self, events):
        self._fold(events)

    # -------------------------------------------------------------- HTTP
    @api("GET", "/api/v1/statistics/summary")
    def summary(self, request):
        """The caller's own municipality's exact totals since the start."""
        principal = self._principal(request, "statistics:exact")
        with self.storage.statistics() as uow:
            figures_ = store.summary(uow, principal.municipality)
        return json_response({"municipality": principal.municipality, **figures_})

    @api("GET", "/api/v1/statistics/figures")
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
        """The dashboard page; without a valid key (cookie or Authorization header) the key form."""
        try:
            principal = self._dashboard_principal(request)
        except (auth.Unauthorized, auth.Forbidden) as exc:
            return dashboard.page_response(dashboard.login_page(str(exc) if request.cookies.get(
                dashboard.COOKIE) else None), status=401)
        try:
            period, scope = self._filters(request)
        except Problem as exc:
            period, scope = self._default_period(), figures.REGION
            error = exc.detail
        else:
            error = None
        result = self._figures(principal, period, scope)
        html = dashboard.render(result, period, self.storage.region, principal, error)
        return dashboard.page_response(html)

    @api("POST", "/dashboard/session")
    def open_session(self, request):
        """The key form: a valid key is kept in an HttpOnly, SameSite=Strict cookie for /dashboard."""
        key = (request.form.get("key") or "").strip()
        try:
            self._principal(request, "statistics:read", authorization=f"Bearer {key}")
        except (auth.Unauthorized, auth.Forbidden) as exc:
            return dashboard.page_response(dashboard.login_page(str(exc)), status=401)
        response = dashboard.redirect("/dashboard")
        dashboard.set_key_cookie(response, key)
        return response

    @api("POST", "/dashboard/logout")
    def close_session(self, request):
        response = dashboard.redirect("/dashboard")
        response.delete_cookie(dashboard.COOKIE, path=dashboard.COOKIE_PATH)
        return response

    @api("GET", "/dashboard/dashboard.css")
    def stylesheet(self, request):
        return Response(dashboard.CSS, status=200, content_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "max-age=3600"})

    # ------------------------------------------------------------ helpers
    def _dashboard_principal(self, request) -> auth.Principal:
        if request.headers.get("Authorization"):
            return self._principal(request, "statistics:read")
        key = request.cookies.get(dashboard.COOKIE)
        if not key:
            raise auth.Unauthorized("enter a key")
        return self._principal(request, "statistics:read", authorization=f"Bearer {key}")

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

    @timer(interval=REFRESH_SECONDS)
    def refresh_counts(self):
        """Recount the days folded events marked: each day once per round, however many events."""
        self._refresh_counts(wait=False)

    def _refresh_counts(self, wait: bool):
        done = store.BATCH
        while done == store.BATCH:
            with self.storage.statistics() as uow:
                done = store.refresh_dirty(uow, store.BATCH, wait=wait)

    def _figures(self, principal: auth.Principal, period: figures.Period, scope: str) -> dict:
        # only a key with statistics:exact sees its own municipality unsuppressed
        viewer = principal.municipality if principal.role in auth.PERMISSIONS["statistics:exact"] else None
        threshold = (self.storage.region.options.get(STATISTICS) or {}).get(
            "suppression_threshold", DEFAULT_SUPPRESSION_THRESHOLD)
        previous = period.previous()
        self._refresh_counts(wait=True)  # a reader sees every event folded before it asked
        with self.storage.statistics() as uow:
            now = figures.Counts(store.counts(uow, period.first, period.last, period.monthly))
            before = figures.Counts(store.counts(uow, previous.first, previous.last, previous.monthly))
        result = figures.figures(now, before, list(self.storage.region.codes), viewer, scope, threshold)
        return {"period": period.as_dict(), "previous_period": previous.as_dict(), **result}


SERVICE = StatisticsService
