"""The police liaison service's nameko shell: referrals from triage, the liaison's API, the
acceptance deadline and webhook delivery. Decisions live in domain.py, SQL in store.py."""
from __future__ import annotations

from nameko.timer import timer
from werkzeug.wrappers import Response

from shared import auth, metrics
from shared import vocabulary
from shared.events import by_municipality
from shared.http import Problem, api, json_response, load_or_422, path_uuid, read_json
from shared.openapi import listing
from shared.messaging.consumer import event_handler
from shared.names import INTAKE, POLICE_LIAISON, TRIAGE
from shared.dependencies import Encryption
from shared.service import HubService
from shared.timers import configured_timer
from shared.schemas import instance

from services.police_liaison import domain, form_pdf, handlers, liaisons, store
from services.police_liaison.options import options_of
from services.police_liaison.schemas import (CASE_FILTER, FORM_FORMAT, AangifteOptionSchema, ElaFlagsSchema, ReferralViewSchema,
                                             StepSchema, ela_of)

REFERRAL_EVENTS = ("referral_created", "referral_updated", "referral_escalated", "referral_withdrawn")
ESCALATION_TICK_SECONDS = 5
REFERRAL_BATCH = 20  # triage results taken in one transaction per municipality when they queue up


class PoliceLiaisonService(HubService):
    name = POLICE_LIAISON
    api_version = "1.4.0"  # docs/api.md#changelog: the ELA checklist in full
    keyring = Encryption()  # personal data is encrypted at rest (shared/personal_data.py)

    def _measure_queues(self, connection) -> None:
        """Each police unit's AMQP queue and its parked overflow (liaisons.measure_queues)."""
        liaisons.measure_queues(connection, {m.police_unit for m in self.storage.region.municipalities},
                                options_of(self.storage.settings)["unit_queue_max_length"])

    # ------------------------------------------------------------------ from triage
    @event_handler(TRIAGE, "incident_triaged", batch=REFERRAL_BATCH, acute=True)
    def on_incident_triaged(self, events):
        options = options_of(self.storage.settings)
        for municipality, theirs in by_municipality(events):
            unit = self.storage.municipality(municipality).police_unit
            with self.storage.case_store(municipality) as uow:
                handlers.refer(theirs, uow, unit, options, self.clock.now())

    @event_handler(TRIAGE, "triage_overridden", acute=True)
    def on_triage_overridden(self, event):
        """A person changed the decision: the referral follows (made, withdrawn, back, another urgency)."""
        with self.storage.case_store(event.municipality) as uow:
            handlers.carry_out_override(event, uow, self.storage.municipality(event.municipality).police_unit,
                                        options_of(self.storage.settings), self.clock.now())

    @event_handler(INTAKE, "incident_withdrawn")
    def on_incident_withdrawn(self, event):
        """The report was withdrawn (or closed, below): the referral is withdrawn with the police told."""
        with self.storage.case_store(event.municipality) as uow:
            handlers.stop(event, uow, options_of(self.storage.settings), self.clock.now())

    @event_handler(INTAKE, "incident_closed")
    def on_incident_closed(self, event):
        self.on_incident_withdrawn(event)

    # ------------------------------------------------------------------ HTTP
    def _load(self, uow, principal, referral_id, for_update=False) -> dict:
        """The referral, if it is in the key's municipality and (for a liaison) their unit."""
        ref_uuid = path_uuid(referral_id, "referral")
        row = store.get_referral(uow, ref_uuid, for_update=for_update)
        unit = self.storage.region.municipality(principal.municipality).police_unit
        if row is None or (principal.has_role(auth.POLICE_LIAISON) and row["police_unit"] != unit) \
                or not auth.visible(principal, uow, row["case_id"]):
            raise Problem(404, "Not Found", "no such referral")
        return row

    def _view(self, uow, principal, row) -> dict:
        contact = options_of(self.storage.settings)["contacts"].get(principal.municipality)
        withdrawn = None
        if row.get("withdrawn_at") is not None:
            withdrawn = {"at": row["withdrawn_at"].isoformat(), "reason": row["withdrawal_reason"],
                         "text": domain.withdrawal_words(row["withdrawal_reason"], row["withdrawn_at"])}
        option = domain.option_of(row)
        aangifte = {**option.codes(), "mandate": option.mandate,
                    **{k: (row.get(f"aangifte_{k}").isoformat() if row.get(f"aangifte_{k}") else None)
                       for k in ("chosen_at", "advice_due", "reminded_at")}}
        return instance(ReferralViewSchema).dump({
            **row, "municipality": principal.municipality, "ela": ela_of(row), "contact": contact,
            "ela_checklist": domain.checklist_view(options_of(self.storage.settings)["ela"], row),
            "aangifte": aangifte,
            "withdrawn": withdrawn,
            "status_text": vocabulary.referral_status_words(row["status"], row["outcome"]),
            "next_steps": list(domain.TRANSITIONS.get(row["status"], ())),
            "steps": [{**s, "at": s["at"].isoformat()} for s in store.steps(uow, row["referral_id"])]})

    @api("GET", "/api/v1/referrals", query=[CASE_FILTER], answer=listing("referrals", ReferralViewSchema),
         errors={404: "case_id is not a case id"})
    def list_referrals(self, request):
        principal = self._principal(request, "referral:read")
        unit = self.storage.region.municipality(principal.municipality).police_unit
        case_id = request.args.get("case_id")
        case_uuid = path_uuid(case_id, "case") if case_id else None
        with self.storage.case_store(principal.municipality) as uow:
            rows = store.list_referrals(uow, unit, auth.case_visibility(principal, "r.case_id"), case_uuid)
            body = [self._view(uow, principal, row) for row in rows]
            uow.audit(principal.actor, "read", f"police referrals of {unit} ({len(rows)})",
                      reason="GET /api/v1/referrals")
        return json_response({"referrals": body})

    @api("GET", "/api/v1/referrals/<referral_id>", answer=ReferralViewSchema)
    def get_referral(self, request, referral_id):
        principal = self._principal(request, "referral:read")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._load(uow, principal, referral_id)
            body = self._view(uow, principal, row)
            uow.audit(principal.actor, "read", "police referral (registration number, reason, steps)",
                      case_id=row["case_id"], reason="GET /api/v1/referrals/{referral_id}")
        return json_response(body)

    @api("GET", "/api/v1/referrals/<referral_id>/details",
         errors={410: "the referral or its case was withdrawn: the details are no longer the police's"})
    def get_details(self, request, referral_id):
        """The incident's details for the unit's liaison; every read lands in the audit log."""
        principal = self._principal(request, "referral:details")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._load(uow, principal, referral_id)
            handlers.refuse_when_withdrawn(uow, row)
            details = handlers.details_for_police(uow, row, options_of(self.storage.settings)["contacts"].get(
                principal.municipality))
            if details is None:
                raise Problem(404, "Not Found", "the referral's incident is no longer stored")
            uow.audit(principal.actor, "read", "incident details (police referral)", case_id=row["case_id"],
                      reason=f"GET /api/v1/referrals/{row['referral_id']}/details")
            handlers.details_read(uow, row, details, principal.actor, self.clock.now())
        return json_response({"referral_id": str(row["referral_id"]), **details})

    @api("GET", "/api/v1/referrals/<referral_id>/information-form", query=[FORM_FORMAT],
         content=("application/json", "application/pdf"), errors={410: "the referral or its case was withdrawn"})
    def information_form(self, request, referral_id):
        """The police information form (7 W's) as JSON, or as PDF (?format=pdf or Accept: application/pdf),
        respecting the aangifte option."""
        principal = self._principal(request, "referral:form")
        as_pdf = handlers.wants_pdf(request.args.get("format"), request.accept_mimetypes)
        with self.storage.case_store(principal.municipality) as uow:
            row = self._load(uow, principal, referral_id)
            handlers.refuse_when_withdrawn(uow, row)
            form = handlers.information_form(
                uow, row, options_of(self.storage.settings)["contacts"].get(principal.municipality), principal.actor,
                principal.has_role(auth.POLICE_LIAISON), self.clock.now())
            if form is None:
                raise Problem(404, "Not Found", "the referral's incident is no longer stored")
        if as_pdf:
            return Response(form_pdf.render(form), status=200, content_type="application/pdf", headers={
                "Content-Disposition": f'attachment; filename="informatieformulier-{row["referral_id"]}.pdf"'})
        return json_response(form)

    @api("POST", "/api/v1/referrals/<referral_id>/steps", body=StepSchema, answer=ReferralViewSchema,
         errors={409: "the step is not allowed from the referral's status; invalid-params says which are"})
    def add_step(self, request, referral_id):
        principal = self._principal(request, "referral:update")
        data = load_or_422(instance(StepSchema), read_json(request, self.storage.settings.max_body_bytes))
        step = domain.Step(data["status"], data.get("registration_number"), data.get("outcome"),
                           data.get("reason"), data.get("ela") or {})
        with self.storage.case_store(principal.municipality) as uow:
            row = self._load(uow, principal, referral_id, for_update=True)
            row = handlers.take_step(row, step, uow, principal.actor, principal.role,
                                     options_of(self.storage.settings), self.clock.now(), self.correlation_id)
            body = self._view(uow, principal, row)
        return json_response(body)

    @api("PUT", "/api/v1/referrals/<referral_id>/aangifte", body=AangifteOptionSchema, answer=ReferralViewSchema,
         errors={409: "the aangifte is already made, or the referral ended or was withdrawn"})
    def choose_aangifte(self, request, referral_id):
        """The meldpunt records the aangifte option chosen with the victim."""
        principal = self._principal(request, "referral:aangifte")
        data = load_or_422(instance(AangifteOptionSchema), read_json(request, self.storage.settings.max_body_bytes))
        mandate = data.get("mandate")
        if mandate:
            mandate = {**mandate, "signed_at": mandate["signed_at"].isoformat()}
        option = domain.AangifteOption(data["by"], data["onder_nummer"], data["domiciliekeuze"], mandate)
        with self.storage.case_store(principal.municipality) as uow:
            row = self._load(uow, principal, referral_id, for_update=True)
            row = handlers.choose_aangifte(row, option, uow, principal.actor, principal.role,
                                           options_of(self.storage.settings), self.clock.now(), self.correlation_id)
            body = self._view(uow, principal, row)
        return json_response(body)

    @api("PATCH", "/api/v1/referrals/<referral_id>/ela", body=ElaFlagsSchema, answer=ReferralViewSchema,
         errors={409: "the referral was withdrawn"})
    def set_ela(self, request, referral_id):
        """Either side records what of the ELA checklist applies."""
        principal = self._principal(request, "referral:ela")
        flags = load_or_422(instance(ElaFlagsSchema), read_json(request, self.storage.settings.max_body_bytes))
        with self.storage.case_store(principal.municipality) as uow:
            row = self._load(uow, principal, referral_id, for_update=True)
            row = handlers.set_ela(row, flags, uow, principal.actor, principal.role, options_of(self.storage.settings),
                                   self.clock.now(), self.correlation_id)
            body = self._view(uow, principal, row)
        return json_response(body)

    @api("GET", "/api/v1/cases/<case_id>/police-status")
    def police_status(self, request, case_id):
        """The police status of a case in plain words (for the case view and the follow-up page)."""
        principal = self._principal(request, "police_status:read")
        case_uuid = path_uuid(case_id, "case")
        with self.storage.case_store(principal.municipality) as uow:
            if not auth.may_see_case(principal, uow, case_uuid):
                raise Problem(404, "Not Found", "no such case")
            body = handlers.police_status_of(uow, case_uuid)
        return json_response(body)

    # ------------------------------------------------------------------ deadlines
    @timer(interval=ESCALATION_TICK_SECONDS)
    def escalate_overdue(self):
        """Referrals not accepted in time: one referral_escalated each (handlers.escalate_overdue); only
        the stores with a deadline passed are visited, and each now and then (shared/scan.py)."""
        now = self.clock.now()
        options = options_of(self.storage.settings)

        def escalate(code):
            with self.storage.case_store(code) as uow:
                for row in handlers.escalate_overdue(uow, options, now):
                    metrics.REFERRALS_ESCALATED.labels(code, row["urgency"]).inc()
                handlers.remind_aangifte(uow, options, now)
                return store.next_escalation(uow)
        self.rotations.each_due(store.ESCALATE_TASK, self.storage.region.codes, ESCALATION_TICK_SECONDS, now, escalate)

    # ------------------------------------------------------------------ webhooks
    # only in a region whose police units have webhooks (the region file, read at start): without any, a
    # worker twice a second found nothing to do, 0.2 % of a core of an idle hub (issue 25)
    @configured_timer(interval=0.5, wanted=lambda settings: options_of(settings)["webhooks"])
    def deliver_webhooks(self):
        hooks = options_of(self.storage.settings)["webhooks"]
        if not hooks:
            return
        # only the stores of municipalities whose police unit has a webhook can hold deliveries
        codes = [m.code for m in self.storage.region.municipalities if m.police_unit in hooks]
        formats = options_of(self.storage.settings)["formats"]
        self.rotations.each("webhooks", codes, 0.5,
                            lambda c: handlers.deliver_due(self.storage, c, hooks, self.clock.now(), formats))

