"""The workbench's signals page (issue 19): what the person's role must act on, taken by whom, handled by
whom and when, with the outcome. Mixed into WorkbenchService (its `page` gate, `visit.hub`); the signals
themselves are the signals service's (services/signals, `GET /api/v1/signals` on the person's behalf)."""
from __future__ import annotations

from shared import auth
from shared import vocabulary

from services.workbench import web
from services.workbench.hub import HubRefused
from services.workbench.web import page

KIND_LABELS = {
    "inform_burgemeester": "Burgemeester informeren",
    "inform_manager": "Leidinggevende informeren",
    "riec_signal": "Signaal aan het RIEC",
    "safety_advice": "Veiligheidsadvies (woningscan)",
    "triage_overdue": "Triage niet op tijd bevestigd",
    "care_contact_due": "Nazorgcontact komt eraan",
    "care_contact_overdue": "Nazorgcontact te laat",
    "repeat": "Dader ook bekend in een andere gemeente",
    "referral_escalated": "Politie heeft de verwijzing niet op tijd opgepakt",
    "reporter_replied": "De melder heeft geantwoord",
    "aangifte_reminder": "Nog geen aangifte gepland (advies: binnen 2 werkdagen)",
}
OUTCOME_LABELS = {
    "done": "Gedaan", "not_needed": "Niet nodig", "contact_made": "Contact gehad", "not_reached": "Niet bereikt",
    "forwarded": "Doorgezet", "resolved": "Vanzelf opgelost", "decision_removed": "Besluit ingetrokken",
    "case_withdrawn": "Melding ingetrokken", "case_closed": "Zaak gesloten",
}
STATES = {"active": "Open en opgepakt", "handled": "Afgehandeld", "all": "Alle"}


class SignalPages:
    """The /signalen pages; WorkbenchService inherits them."""

    def _signal_places(self, visit) -> list[str | None]:
        """Where the person's signals are: their own municipality, or every municipality for the region's people."""
        if visit.principal.home == auth.REGION:
            return list(self.storage.region.codes)
        return [None]

    @page("GET", "/signalen", needs="signals:read")
    def signals_page(self, request, visit):
        state = request.args.get("toon") if request.args.get("toon") in STATES else "active"
        items = []
        for place in self._signal_places(visit):
            answer = visit.hub.get("signals", "/api/v1/signals", act_in=place, params={"state": state, "limit": 200})
            items += [{**item, "municipality": answer["municipality"]} for item in answer["items"]]
        items.sort(key=lambda s: (s["state"] == "handled", not s["acute"], s["due_at"]))
        return visit.page("signal_list.html", current="/signalen", items=items, state=state,
                          states=[(k, visit._(label)) for k, label in STATES.items()], kinds=KIND_LABELS,
                          outcomes=[(o, visit._(OUTCOME_LABELS[o])) for o in vocabulary.SIGNAL_OUTCOMES_BY_PEOPLE],
                          outcome_labels=OUTCOME_LABELS, title=visit._("Signalen"),
                          regional=visit.principal.home == auth.REGION)

    @page("POST", "/signalen/<signal_id>/oppakken", needs="signals:handle")
    def take_signal(self, request, visit, signal_id):
        visit.hub.post("signals", f"/api/v1/signals/{signal_id}/take", {}, act_in=self._act_in(request, visit))
        return web.redirect("/signalen", visit.headers)

    @page("POST", "/signalen/<signal_id>/afhandelen", needs="signals:handle")
    def handle_signal(self, request, visit, signal_id):
        try:
            visit.hub.post("signals", f"/api/v1/signals/{signal_id}/handle",
                           {"outcome": request.form.get("outcome", "")}, act_in=self._act_in(request, visit))
        except HubRefused as refused:
            if refused.status not in (409, 422):
                raise
            return visit.page("error.html", refused.status, title=visit._("Niet afgehandeld"),
                              message=visit._("Kies hoe het signaal is afgehandeld, of laad de pagina opnieuw: "
                                              "iemand anders kan het al hebben afgehandeld."))
        return web.redirect("/signalen", visit.headers)

    def _act_in(self, request, visit) -> str | None:
        """A person of the region acts in the municipality the signal belongs to (a code of this region)."""
        code = request.form.get("gemeente")
        if visit.principal.home == auth.REGION and self.storage.region.knows(code or ""):
            return code
        return None
