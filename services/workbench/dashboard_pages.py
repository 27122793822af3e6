"""The statistics dashboard behind the workbench's sign-in (issue 18): the statistics service renders
it for the person's assertion, the workbench serves it with its stylesheet and the CSV export. No API
key and no key cookie in a browser. Mixed into WorkbenchService."""
from __future__ import annotations

from werkzeug.wrappers import Response

from shared import auth

from services.workbench import web
from services.workbench.web import page

FILTERS = ("period", "municipality")


class DashboardPages:
    """/dashboard, its stylesheet and CSV; WorkbenchService inherits them."""

    def _statistics_place(self, visit) -> str | None:
        """A person of the region is let into the statistics service through one of the region's
        municipalities (the service shows them the region's suppressed figures); others their own."""
        return self.storage.region.codes[0] if visit.principal.home == auth.REGION else None

    @page("GET", "/dashboard", needs="statistics:read")
    def dashboard_page(self, request, visit):
        params = {name: request.args[name] for name in FILTERS if request.args.get(name)}
        answer = visit.hub.call("statistics", "GET", "/dashboard", params={**params, "lang": visit.lang},
                                act_in=self._statistics_place(visit))
        return web.html(answer.text, 200, visit.headers)

    @page("GET", "/dashboard/dashboard.css", needs="statistics:read")
    def dashboard_stylesheet(self, request, visit):
        answer = visit.hub.call("statistics", "GET", "/dashboard/dashboard.css")
        return Response(answer.content, content_type="text/css; charset=utf-8",
                        headers={**web.page_headers(), "Cache-Control": "max-age=3600"})

    @page("GET", "/dashboard/figures.csv", needs="statistics:read")
    def dashboard_csv(self, request, visit):
        params = {name: request.args[name] for name in FILTERS if request.args.get(name)}
        answer = visit.hub.call("statistics", "GET", "/api/v1/statistics/figures", params={**params, "format": "csv"},
                                act_in=self._statistics_place(visit))
        return Response(answer.content, content_type="text/csv; charset=utf-8", headers={
            **web.page_headers(), "Content-Disposition": answer.headers.get("Content-Disposition", "attachment"),
            "Cache-Control": "no-store"})
