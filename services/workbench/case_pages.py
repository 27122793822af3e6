"""The workbench's case pages (issue 18): the municipality's case list and search, and one case with
everything the person's role may see of it and the actions it may take. Mixed into WorkbenchService
(its `page` gate, `visit.hub`); every read and change goes through the services' APIs on the person's
behalf (intake, triage, police_liaison, aftercare), which decide what the person may see and audit
each read of personal data with the person's sub and name. What a form means is domain.py's."""
from __future__ import annotations

import logging

from werkzeug.wrappers import Response

from shared import auth
from shared import vocabulary

from services.workbench import domain, labels, store, web
from services.workbench.hub import HubRefused
from services.workbench.web import page

log = logging.getLogger(__name__)

CASE_READERS = ("case:work", "aftercare:read")  # the meldpunt, and the aftercare worker for the care part


class CasePages:
    """The /zaken pages; WorkbenchService inherits them."""

    # ------------------------------------------------------------------ the list
    @page("GET", "/zaken", needs="case:work")
    def cases_page(self, request, visit):
        query = domain.CaseQuery.parse(request.args)
        size = self._options["page_size"]
        answer = visit.hub.get("intake", "/api/v1/cases", params=query.api_params(visit.person.sub, size))
        paging = domain.pages(answer["total"], query.page, size)
        errors = {name: visit._(domain.MESSAGES[code]) for name, code in query.errors.items()}
        sources = domain.conflict_sources(self.storage.region, visit.principal.home)
        return visit.page("case_list.html", current="/zaken", title=visit._("Zaken"), query=query,
                          items=answer["items"], paging=paging, errors=errors, L=self._labels(visit),
                          options=self._filter_options(visit), routed_from=sources,
                          routed=self._routed_to_us(visit, sources))

    def _routed_to_us(self, visit, sources) -> list[dict]:
        """The open cases other municipalities' conflicts of interest route to this meldpunt (their region
        file names it in `conflicts_to`): each municipality's intake answers only those (case_visibility)."""
        region, routed = self.storage.region, []
        for code in sources:
            answer = visit.hub.get("intake", "/api/v1/cases", act_in=code,
                                   params=[("status", s) for s in domain.OPEN_STATUSES] + [("limit", "100")])
            routed += [{**c, "municipality": code, "municipality_name": region.municipality(code).name}
                       for c in answer["items"]]
        return routed

    def _filter_options(self, visit) -> dict:
        def pairs(table, codes):
            return [(code, visit._(labels.label(table, code))) for code in codes]
        return {"status": pairs("status", domain.STATUSES), "urgency": pairs("urgency", vocabulary.URGENCIES),
                "category": pairs("category", vocabulary.category_codes()), "channel": pairs("channel", vocabulary.CHANNELS),
                "assigned": [("all", visit._("Alle zaken")), ("mine", visit._("Aan mij toegewezen")),
                             ("unassigned", visit._("Niet toegewezen"))]}

    @staticmethod
    def _labels(visit):
        """`L("urgency", code)` in a template: the code's words in the page's language."""
        return lambda table, code: visit._(labels.label(table, code)) if code is not None else ""

    # ------------------------------------------------------------------ one case
    @page("GET", "/zaken/<case_id>", needs=CASE_READERS)
    def case_page(self, request, visit, case_id):
        return self._case(request, visit, case_id, notice=domain.NOTICES.get(request.args.get("gedaan", "")))

    def _place(self, request, visit):
        return domain.act_in(visit.principal, self.storage.region,
                             request.form.get("gemeente") or request.args.get("gemeente"))

    def _case(self, request, visit, case_id, errors=None, status=200, form=None, notice=None):
        if not domain.is_case_id(case_id):
            return visit.refused(404)
        case_id = case_id.lower()
        place, hub, principal = self._place(request, visit), visit.hub, visit.principal
        incident = additions = timeline = notes = messages = triage = referral = plan = summary = None
        if auth.may(principal, "case:work"):
            incident = hub.get("intake", f"/api/v1/incidents/{case_id}", act_in=place)  # 404: the gate's "no case"
            additions = hub.get("intake", f"/api/v1/incidents/{case_id}/additions", act_in=place)
            notes = hub.get("intake", f"/api/v1/incidents/{case_id}/notes", act_in=place)["notes"]
            messages = hub.get("intake", f"/api/v1/incidents/{case_id}/messages", act_in=place)["messages"]
            timeline = hub.get("intake", f"/api/v1/incidents/{case_id}/timeline", act_in=place)["entries"]
            listed = hub.get("intake", "/api/v1/cases", params={"q": case_id, "limit": 1}, act_in=place)["items"]
            summary = listed[0] if listed else None
        actions = domain.case_actions(principal, incident or {})
        if actions["triage"]:
            triage = _or_none(lambda: hub.get("triage", f"/api/v1/triage/{case_id}", act_in=place))
        if actions["referral"]:
            found = _or_none(lambda: hub.get("police_liaison", "/api/v1/referrals", params={"case_id": case_id},
                                             act_in=place))
            referral = (found or {}).get("referrals", [None])[0] if found and found.get("referrals") else None
        if actions["aftercare"]:
            plan = _or_none(lambda: hub.get("aftercare", f"/api/v1/aftercare/cases/{case_id}", act_in=place))
        tracks, handovers = [], []
        if plan:  # witnesses' and colleagues' own care, and handovers to help (issue 20)
            tracks = (_or_none(lambda: hub.get("aftercare", f"/api/v1/aftercare/cases/{case_id}/witnesses",
                                               act_in=place)) or {}).get("tracks", [])
            handovers = (_or_none(lambda: hub.get("aftercare", f"/api/v1/aftercare/cases/{case_id}/handovers",
                                                  act_in=place)) or {}).get("handovers", [])
        if incident is None and plan is None:
            return visit.refused(404)  # an aftercare worker opens a case through its care plan only
        if incident is None:
            actions = {**actions, "aftercare_write": actions["aftercare_write"] and plan.get("status") == "open"}
        with self.storage.own() as uow:
            colleagues = store.colleagues(uow, principal.home)
        errors = {name: visit._(domain.MESSAGES.get(code, code)) for name, code in (errors or {}).items()}
        return visit.page(
            "case.html", status, current="/zaken", title=visit._("Zaak %(ref)s", ref=case_id[:8]), case_id=case_id,
            place=place or "", incident=incident, additions=additions, notes=notes, messages=messages, timeline=timeline,
            triage=triage, referral=referral, plan=plan, actions=actions, colleagues=colleagues, tracks=tracks,
            handovers=handovers, partner_options=[(p, visit._(labels.label("partner", p))) for p in
                                                  domain.handover_partners((incident or {}).get("target_role"))],
            open_moments=domain.open_moments(plan), errors=errors,
            colleague_options=[(c["sub"], c["display_name"]) for c in colleagues],
            moment_options=[(m, visit._(labels.label("moment", m))) for m in domain.open_moments(plan) + ["extra"]],
            summary=summary, form=form or {},
            notice=visit._(notice) if notice else None, L=self._labels(visit),
            options=self._filter_options(visit), choices=self._case_choices(visit))

    def _case_choices(self, visit) -> dict:
        def pairs(table, codes):
            return [(code, visit._(labels.label(table, code))) for code in codes]
        return {"decision": pairs("decision", vocabulary.DECISIONS), "close_reason": pairs("close_reason", vocabulary.STAFF_CLOSE_REASONS),
                "end_kind": pairs("end_kind", ("afgesloten", "ingetrokken")),
                "conflict": pairs("conflict", vocabulary.CONFLICT_KINDS), "moment": pairs("moment", vocabulary.CONTACT_MOMENTS),
                "method": pairs("method", vocabulary.CONTACT_METHODS), "outcome": pairs("outcome", vocabulary.CONTACT_OUTCOMES),
                "witness": pairs("witness", vocabulary.WITNESS_ROLES), "care_close": pairs("care_close", domain.CARE_CLOSE_REASONS),
                "handover_step": pairs("handover", vocabulary.HANDOVER_STATUSES[1:]),
                "shared_field": pairs("shared_field", vocabulary.HANDOVER_FIELDS),
                "yes_no": [("yes", visit._("Ja")), ("no", visit._("Nee"))]}

    def _done(self, request, case_id, what: str):
        code = request.form.get("gemeente")  # a person of the region stays in the municipality they act in
        suffix = f"&gemeente={code}" if code and self.storage.region.knows(code) else ""
        anchor = {"bevestigd": "triage", "gewijzigd": "triage", "toegewezen": "toewijzing", "notitie": "notities",
                  "afgesloten": "afsluiten", "ingetrokken": "afsluiten", "contact": "nazorg",
                  "conflict": "belangenconflict", "ela": "verwijzing", "bericht": "berichten",
                  "getuige": "getuigen", "getuigecontact": "getuigen", "getuigeklaar": "getuigen",
                  "overdracht": "overdrachten", "overdrachtstap": "overdrachten"}[what]
        return web.redirect(f"/zaken/{case_id}?gedaan={what}{suffix}#{anchor}")

    @staticmethod
    def _post(visit, service: str, path: str, body):
        """What most forms of the case page ask of a service (`_change`'s `call`): a POST, in the
        municipality the person acts in."""
        return lambda place: visit.hub.post(service, path, body, act_in=place)

    def _change(self, request, visit, case_id, errors, call, done: str, fields: dict, codes: dict | None = None):
        """Carry out one form of the case page: errors of the form or of the service's 422 go back to the
        page next to their fields (422; `codes` names the message of a field the service refused), a change
        the case no longer allows (409) as a notice."""
        if not domain.is_case_id(case_id):
            return visit.refused(404)
        if errors:
            return self._case(request, visit, case_id, errors=errors, status=422, form=request.form)
        try:
            call(self._place(request, visit))
        except HubRefused as refused:
            if refused.status == 422:
                found = domain.api_errors(refused.invalid_params, fields, codes) or {next(iter(fields.values())): "choice"}
                return self._case(request, visit, case_id, errors=found, status=422, form=request.form)
            if refused.status == 409:
                return self._case(request, visit, case_id, status=409,
                                  notice="Dit kan niet meer: de zaak is afgesloten of ingetrokken, of iemand "
                                         "anders was u voor. De pagina toont hoe het nu is.")
            raise
        return self._done(request, case_id.lower(), done)

    @page("POST", "/zaken/<case_id>/triage/bevestigen", needs="triage:decide")
    def confirm_triage(self, request, visit, case_id):
        body, errors = domain.confirm_form(request.form)
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "triage", f"/api/v1/triage/{case_id}/confirm", body),
                            "bevestigd", {"reason": "confirm_reason"})

    @page("POST", "/zaken/<case_id>/triage/aanpassen", needs="triage:decide")
    def override_triage(self, request, visit, case_id):
        body, errors = domain.override_form(request.form)
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "triage", f"/api/v1/triage/{case_id}/override", body),
                            "gewijzigd", {"categories": "categories", "urgency": "urgency", "decisions": "decisions",
                                          "reason": "override_reason"})

    @page("POST", "/zaken/<case_id>/toewijzen", needs="case:work")
    def assign_case(self, request, visit, case_id):
        with self.storage.own() as uow:
            colleagues = store.colleagues(uow, visit.principal.home)
        body, errors = domain.assign_form(request.form, colleagues)
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "intake", f"/api/v1/incidents/{case_id}/assign", body),
                            "toegewezen", {"assignee": "assignee", "assignee_name": "assignee"})

    @page("POST", "/zaken/<case_id>/notities", needs="case:work")
    def add_note(self, request, visit, case_id):
        body, errors = domain.note_form(request.form)
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "intake", f"/api/v1/incidents/{case_id}/notes", body),
                            "notitie", {"text": "note"})

    @page("POST", "/zaken/<case_id>/berichten", needs="case:work")
    def message_reporter(self, request, visit, case_id):
        body, errors = domain.message_form(request.form)
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "intake", f"/api/v1/incidents/{case_id}/messages", body),
                            "bericht", {"text": "message"})

    @page("POST", "/zaken/<case_id>/afsluiten", needs="case:work")
    def end_case(self, request, visit, case_id):
        kind, body, errors = domain.end_form(request.form)
        path = "close" if kind == "afgesloten" else "withdraw"
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "intake", f"/api/v1/incidents/{case_id}/{path}", body),
                            kind or "afgesloten", {"reason": "end_reason", "note": "end_note"})

    @page("POST", "/zaken/<case_id>/belangenconflict", needs="case:work")
    def mark_conflict(self, request, visit, case_id):
        with self.storage.own() as uow:
            colleagues = store.colleagues(uow, visit.principal.home)
        body, errors = domain.conflict_form(request.form, colleagues)
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "intake", f"/api/v1/incidents/{case_id}/conflict", body),
                            "conflict", {"kind": "conflict_kind", "exclude_emails": "exclude_emails",
                                         "exclude_persons": "exclude_persons"})

    @page("POST", "/zaken/<case_id>/nazorg/<plan_id>/contact", needs="aftercare:write")
    def close_moment(self, request, visit, case_id, plan_id):
        if not domain.is_case_id(plan_id):
            return visit.refused(404)
        plan = visit.hub.get("aftercare", f"/api/v1/aftercare/plans/{plan_id}", act_in=self._place(request, visit))
        if str(plan.get("case_id")) != case_id.lower():
            return visit.refused(404)
        body, errors = domain.contact_form(request.form, domain.open_moments(plan), visit.person.sub,
                                           self.clock.now())
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "aftercare", f"/api/v1/aftercare/plans/{plan_id}/contacts", body),
                            "contact", {"moment": "moment", "method": "method", "outcome": "contact_outcome",
                                        "notes": "contact_notes"})

    # ------------------------------------------------------------------ witnesses' tracks and handovers
    def _care_list(self, request, visit, case_id, what: str) -> list[str]:
        """The ids of the case's witness tracks or handovers, as aftercare answers them to this person: a form
        names one of these, never another case's."""
        answer = visit.hub.get("aftercare", f"/api/v1/aftercare/cases/{case_id.lower()}/{what}",
                               act_in=self._place(request, visit))
        key, ident = {"witnesses": ("tracks", "track_id"), "handovers": ("handovers", "handover_id")}[what]
        return [str(item[ident]) for item in answer.get(key) or []]

    @page("POST", "/zaken/<case_id>/nazorg/getuigen", needs="aftercare:write")
    def add_witness(self, request, visit, case_id):
        body, errors = domain.witness_form(request.form, self.clock.now())
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "aftercare", f"/api/v1/aftercare/cases/{case_id}/witnesses", body),
                            "getuige", {"role": "witness_role", "name": "witness_name", "phone": "witness_phone",
                                        "consent": "witness_consent", "consent_at": "witness_consent_at"},
                            codes={"consent": "consent", "phone": "phone", "consent_at": "moment"})

    @page("POST", "/zaken/<case_id>/nazorg/getuigen/contact", needs="aftercare:write")
    def witness_contact(self, request, visit, case_id):
        if not domain.is_case_id(case_id):
            return visit.refused(404)
        track, body, errors = domain.witness_contact_form(
            request.form, self._care_list(request, visit, case_id, "witnesses"), visit.person.sub, self.clock.now())
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "aftercare", f"/api/v1/aftercare/witnesses/{track}/contacts", body),
                            "getuigecontact", {"moment": "wc_moment", "method": "wc_method", "outcome": "wc_outcome",
                                               "notes": "wc_notes"})

    @page("POST", "/zaken/<case_id>/nazorg/getuigen/afsluiten", needs="aftercare:write")
    def close_witness(self, request, visit, case_id):
        if not domain.is_case_id(case_id):
            return visit.refused(404)
        track, body, errors = domain.witness_close_form(request.form,
                                                        self._care_list(request, visit, case_id, "witnesses"))
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "aftercare", f"/api/v1/aftercare/witnesses/{track}/close", body),
                            "getuigeklaar", {"reason": "wclose_reason"})

    @page("POST", "/zaken/<case_id>/nazorg/overdrachten", needs="aftercare:write")
    def propose_handover(self, request, visit, case_id):
        if not domain.is_case_id(case_id):
            return visit.refused(404)
        body, errors = domain.handover_form(request.form, self._care_list(request, visit, case_id, "witnesses"))
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "aftercare", f"/api/v1/aftercare/cases/{case_id}/handovers", body),
                            "overdracht", {"partner": "handover_partner", "consent": "handover_consent",
                                           "track_id": "handover_for"},
                            codes={"partner": "partner", "consent": "consent", "track_id": "track"})

    @page("POST", "/zaken/<case_id>/nazorg/overdrachten/stap", needs="aftercare:write")
    def handover_step(self, request, visit, case_id):
        if not domain.is_case_id(case_id):
            return visit.refused(404)
        handover, body, errors = domain.handover_step_form(request.form,
                                                           self._care_list(request, visit, case_id, "handovers"))
        return self._change(request, visit, case_id, errors,
                            self._post(visit, "aftercare", f"/api/v1/aftercare/handovers/{handover}/steps", body),
                            "overdrachtstap", {"status": "handover_status", "shared_fields": "shared_fields"})

    @page("POST", "/zaken/<case_id>/verwijzing/<referral_id>/ela", needs="referral:ela")
    def set_ela(self, request, visit, case_id, referral_id):
        if not domain.is_case_id(referral_id):
            return visit.refused(404)
        flags = domain.ela_form(request.form)
        return self._change(request, visit, case_id, {},
                            lambda place: visit.hub.patch("police_liaison", f"/api/v1/referrals/{referral_id}/ela",
                                                          flags, act_in=place),
                            "ela", {"body": "ela"})

    # ------------------------------------------------------------------ evidence
    @page("GET", "/zaken/<case_id>/bewijs/<evidence_id>", needs="case:work")
    def evidence(self, request, visit, case_id, evidence_id):
        """One evidence file, downloaded through intake (which checks its content against the recorded kind
        and audits the read); served here only as an attachment of a kind on the hub's list."""
        if not (domain.is_case_id(case_id) and domain.is_case_id(evidence_id)):
            return visit.refused(404)
        try:
            answer = visit.hub.call("intake", "GET", f"/api/v1/incidents/{case_id}/evidence/{evidence_id}",
                                    act_in=self._place(request, visit))
        except HubRefused as refused:
            if refused.status != 409:
                raise
            return visit.page("error.html", 409, title=visit._("Bestand niet beschikbaar"),
                              message=visit._("De inhoud van dit bestand past niet bij het soort bestand dat is "
                                              "vastgelegd. Het wordt niet getoond."))
        kind, disposition = answer.headers.get("Content-Type"), answer.headers.get("Content-Disposition")
        if not domain.evidence_may_be_served(kind, disposition):
            log.warning("evidence of an unexpected kind was not served", extra={"case_id": case_id})
            return visit.refused(404)
        return Response(answer.content, status=200, content_type=kind.split(";")[0], headers={
            **web.page_headers(), "Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "no-store"})


def _or_none(fetch):
    """A part of the case another service may not have (no triage result yet, no referral, no plan)."""
    try:
        return fetch()
    except HubRefused as refused:
        if refused.status in (403, 404):
            return None
        raise
