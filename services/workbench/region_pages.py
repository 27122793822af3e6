"""The regional coordinator's view (issue 18): per municipality how many cases per status and how many
open signals, the cases routed to the region for a conflict of interest, and the repeat contacts across
municipalities. Numbers only for another municipality: its case content stays there. Mixed into
WorkbenchService; every figure comes from the service that holds it, on the person's behalf."""
from __future__ import annotations

from shared import auth

from services.workbench import domain
from services.workbench.hub import HubRefused
from services.workbench.web import page


class RegionPages:
    """/regio; WorkbenchService inherits it."""

    @page("GET", "/regio", needs="case:work")
    def region_page(self, request, visit):
        if visit.principal.home != auth.REGION:
            return visit.refused(403)
        region, hub = self.storage.region, visit.hub
        counts, signals, signal_totals, routed_cases = {}, {}, {}, []
        for code in region.codes:
            counts[code] = hub.get("intake", "/api/v1/cases/counts", act_in=code)["counts"]
            listed = hub.get("signals", "/api/v1/signals", act_in=code, params={"state": "active", "limit": 200})
            signals[code], signal_totals[code] = listed["items"], listed["total"]
            # the cases routed to the region (a conflict of interest): these the region works itself
            routed = hub.get("intake", "/api/v1/cases", act_in=code, params={"limit": 50})
            routed_cases += [{**c, "municipality": code, "municipality_name": region.municipality(code).name}
                             for c in routed["items"]]
        repeats = []
        if auth.may(visit.principal, "repeat:read"):
            for code in region.codes:
                items = _or_empty(lambda: hub.get("signals", "/api/v1/repeats", act_in=code)["items"])
                # each link shows in both municipalities; the new case's side is enough, and no case id
                repeats += [{"municipality": region.municipality(code).name, "kind": r["kind"],
                             "other": r["other_municipality"].get("name"), "linked_at": r["linked_at"],
                             "contact": r.get("contact")} for r in items if r.get("side") == "new_case"]
        repeats.sort(key=lambda r: r["linked_at"], reverse=True)
        routed_per = {}
        for case in routed_cases:
            routed_per[case["municipality"]] = routed_per.get(case["municipality"], 0) + 1
        rows = domain.regional_rows(region, counts, signals, routed_per, signal_totals)
        return visit.page("region.html", current="/regio", title=visit._("Regio"), rows=rows, routed=routed_cases,
                          repeats=repeats, L=self._labels(visit))


def _or_empty(fetch):
    try:
        return fetch()
    except HubRefused as refused:
        if refused.status in (403, 404):
            return []
        raise
