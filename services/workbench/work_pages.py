"""The workbench's work queues (issue 18): the triage queue, the aftercare worklist (whom to contact
today, with the contact details the reporter allowed: for the aftercare worker) and a police liaison's
referrals (only their unit's, only what docs/police-liaison.md lets the police see). Mixed into
WorkbenchService; each list comes from the service that holds it, on the person's behalf."""
from __future__ import annotations

from shared import auth
from shared import vocabulary

from services.workbench import domain, labels, web
from services.workbench.hub import HubRefused
from services.workbench.web import page

WORKLIST_VIEWS = {"due_today": "Vandaag", "overdue": "Te laat", "open": "Alle open momenten"}


class WorkPages:
    """/triage, /nazorg and /verwijzingen; WorkbenchService inherits them."""

    @page("GET", "/triage", needs="triage:read")
    def triage_page(self, request, visit):
        size, number = self._options["page_size"], domain.page_number(request.args.get("page"))
        answer = visit.hub.get("triage", "/api/v1/triage/queue",
                               params={"limit": size, "offset": (number - 1) * size})
        return visit.page("triage_queue.html", current="/triage", title=visit._("Triage"), items=answer["items"],
                          paging=domain.pages(answer["total"], number, size), L=self._labels(visit))

    @page("GET", "/nazorg", needs="aftercare:read")
    def worklist_page(self, request, visit):
        view = request.args.get("toon") if request.args.get("toon") in WORKLIST_VIEWS else "due_today"
        size = self._options["page_size"]
        number = domain.page_number(request.args.get("page"))
        with_contact = domain.shows_contact_details(visit.principal)
        params = {"view": view, "limit": size, "offset": (number - 1) * size, "contact": str(with_contact).lower()}
        if request.args.get("mijn") == "1":
            params["worker"] = domain.staff_code(visit.person.sub)
        answer = visit.hub.get("aftercare", "/api/v1/aftercare/worklist", params=params)
        return visit.page("worklist.html", current="/nazorg", title=visit._("Nazorg"), items=answer["items"],
                          paging=domain.pages(answer["total"], number, size), view=view, mine=params.get("worker"),
                          views=[(k, visit._(label)) for k, label in WORKLIST_VIEWS.items()],
                          with_contact=with_contact, L=self._labels(visit))

    @page("GET", "/verwijzingen", needs="referral:read")
    def referrals_page(self, request, visit):
        """A police liaison sees the referrals of their unit, in every municipality of it; the meldpunt its
        own. The police_liaison service answers only what the police may see (docs/police-liaison.md)."""
        region, items = self.storage.region, []
        places = domain.liaison_municipalities(visit.principal, region)
        for code in places:
            answer = visit.hub.get("police_liaison", "/api/v1/referrals",
                                   act_in=code if code != visit.principal.home else None)
            items += [{**r, "municipality_name": region.municipality(code).name} for r in answer["referrals"]]
        items.sort(key=lambda r: (r["status"] in ("afgesloten", "afgewezen", "ingetrokken"), r["urgency"] != "acuut",
                                  r.get("accept_deadline") or "9999", r["created_at"]))
        return visit.page("referrals.html", current="/verwijzingen", title=visit._("Verwijzingen"), items=items,
                          unit=visit.principal.unit, liaison=visit.principal.has_role(auth.POLICE_LIAISON),
                          L=self._labels(visit))

    # ------------------------------------------------------------------ one referral
    def _referral_place(self, visit, code: str) -> str | None | bool:
        """Whose case store a referral is in: a municipality of the person's work (False: not theirs)."""
        if code not in domain.liaison_municipalities(visit.principal, self.storage.region):
            return False
        return code if code != visit.principal.home else None

    @page("GET", "/verwijzingen/<code>/<referral_id>", needs="referral:read")
    def referral_page(self, request, visit, code, referral_id):
        return self._referral(request, visit, code, referral_id, notice=domain.NOTICES.get(request.args.get("gedaan", "")))

    def _referral(self, request, visit, code, referral_id, errors=None, status=200, notice=None):
        place = self._referral_place(visit, code)
        if place is False or not domain.is_case_id(referral_id):
            return visit.refused(404)
        referral = visit.hub.get("police_liaison", f"/api/v1/referrals/{referral_id}", act_in=place)
        details = None
        liaison = auth.may(visit.principal, "referral:details")
        if liaison and request.args.get("gegevens") == "1":  # a deliberate read, audited by the service
            try:
                details = visit.hub.get("police_liaison", f"/api/v1/referrals/{referral_id}/details", act_in=place)
            except HubRefused as refused:
                if refused.status != 409:
                    raise
                notice = notice or "De verwijzing is ingetrokken; de gegevens van de melding zijn niet meer in te zien."
        errors = {name: visit._(domain.MESSAGES.get(c, c)) for name, c in (errors or {}).items()}
        steps = [(s, visit._(labels.label("referral", s))) for s in domain.offered_steps(referral)]
        outcomes = [(o, visit._(vocabulary.REFERRAL_OUTCOME_WORDS[o])) for o in vocabulary.REFERRAL_OUTCOMES]
        return visit.page("referral.html", status, current="/verwijzingen", title=visit._("Verwijzing"),
                          referral=referral, details=details, code=code, liaison=liaison,
                          may_step=auth.may(visit.principal, "referral:update"), steps=steps, outcomes=outcomes,
                          errors=errors, form=request.form if request.method == "POST" else {},
                          notice=visit._(notice) if notice else None,
                          municipality_name=self.storage.region.municipality(code).name, L=self._labels(visit))

    @page("POST", "/verwijzingen/<code>/<referral_id>/stap", needs="referral:update")
    def referral_step(self, request, visit, code, referral_id):
        place = self._referral_place(visit, code)
        if place is False or not domain.is_case_id(referral_id):
            return visit.refused(404)
        body, errors = domain.step_form(request.form)
        if errors:
            return self._referral(request, visit, code, referral_id, errors=errors, status=422)
        try:
            visit.hub.post("police_liaison", f"/api/v1/referrals/{referral_id}/steps", body, act_in=place)
        except HubRefused as refused:
            if refused.status == 422:
                found = domain.api_errors(refused.invalid_params, {"status": "step_status", "registration_number":
                                                                   "registration_number", "outcome": "step_outcome",
                                                                   "reason": "step_reason"})
                return self._referral(request, visit, code, referral_id, errors=found or {"step_status": "choice"},
                                      status=422)
            if refused.status == 409:
                return self._referral(request, visit, code, referral_id, status=409,
                                      notice="Deze stap kan niet vanuit de huidige stand van de verwijzing.")
            raise
        return web.redirect(f"/verwijzingen/{code}/{referral_id}?gedaan=stap")
