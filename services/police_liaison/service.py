"""The police liaison service's nameko shell: referrals from triage, the liaison's API, the
acceptance deadline and webhook delivery. Decisions live in domain.py, SQL in store.py."""
from __future__ import annotations

import logging
import uuid

from nameko.timer import timer

from shared import auth, metrics
from shared.events import by_municipality, dump_event
from shared.http import Problem, api, json_response, load_or_422, path_uuid, read_json
from shared.messaging.consumer import event_handler
from shared.names import POLICE_LIAISON, TRIAGE
from shared.dependencies import Encryption
from shared.service import HubService
from shared.vocabulary import URGENCY_PRIORITY
from shared.schemas import instance

from services.police_liaison import domain, store, webhooks
from services.police_liaison.options import options_of, webhook_secret
from services.police_liaison.schemas import ElaFlagsSchema, ReferralViewSchema, StepSchema, ela_of

log = logging.getLogger(__name__)

REFERRAL_EVENTS = ("referral_created", "referral_updated", "referral_escalated")
ESCALATION_TICK_SECONDS = 5
REFERRAL_BATCH = 20  # triage results taken in one transaction per municipality when they queue up


class PoliceLiaisonService(HubService):
    name = POLICE_LIAISON
    keyring = Encryption()  # personal data is encrypted at rest (shared/personal_data.py)

    # ------------------------------------------------------------------ from triage
    @event_handler(TRIAGE, "incident_triaged", batch=REFERRAL_BATCH)
    def on_incident_triaged(self, events):
        options = options_of(self.storage.settings)
        for municipality, theirs in by_municipality(events):
            unit = self.storage.municipality(municipality).police_unit
            with self.storage.case_store(municipality) as uow:
                for event in uow.first_deliveries(theirs):
                    self._refer(uow, event, unit, options)

    def _refer(self, uow, event, unit, options):
        """A referral to the police unit when triage and the reporter's consent call for one."""
        referral = domain.referral_for(event.case_id, event.payload, unit)
        if referral is None:
            return
        deadline = domain.acceptance_deadline(self.clock.now(), referral.urgency, options["acute_accept_minutes"],
                                              options["accept_working_days"])
        ela = domain.initial_ela(store.incident_consent(uow, event.case_id))
        if not store.insert_referral(uow, referral, "triage", ela, deadline):
            return
        payload = domain.referral_created_payload(referral, event.payload, ela,
                                                  contact_route=f"gemeente:{event.municipality}")
        self._emit(uow, "referral_created", event.case_id, payload, unit, referral.urgency, event.correlation_id)

    def _emit(self, uow, event_type, case_id, payload, unit, urgency, correlation_id):
        """Record the event in the outbox and, when the unit has a webhook, its one delivery."""
        recorded = uow.record(event_type, case_id, payload, correlation_id=correlation_id,
                              priority=URGENCY_PRIORITY[urgency])
        if unit in options_of(self.storage.settings)["webhooks"]:
            store.add_delivery(uow, uuid.uuid4(), recorded.event_id, unit, event_type, dump_event(recorded))
        return recorded

    # ------------------------------------------------------------------ HTTP
    def _load(self, uow, principal, referral_id, for_update=False) -> dict:
        """The referral, if it is in the key's municipality and (for a liaison) their unit."""
        ref_uuid = path_uuid(referral_id, "referral")
        row = store.get_referral(uow, ref_uuid, for_update=for_update)
        unit = self.storage.region.municipality(principal.municipality).police_unit
        if row is None or (principal.role == auth.POLICE_LIAISON and row["police_unit"] != unit):
            raise Problem(404, "Not Found", "no such referral")
        return row

    def _view(self, uow, principal, row) -> dict:
        contact = options_of(self.storage.settings)["contacts"].get(principal.municipality)
        return instance(ReferralViewSchema).dump({
            **row, "municipality": principal.municipality, "ela": ela_of(row), "contact": contact,
            "status_text": domain.plain_status(row["status"], row["outcome"]),
            "steps": [{**s, "at": s["at"].isoformat()} for s in store.steps(uow, row["referral_id"])]})

    @api("GET", "/api/v1/referrals")
    def list_referrals(self, request):
        principal = self._principal(request, "referral:read")
        unit = self.storage.region.municipality(principal.municipality).police_unit
        with self.storage.case_store(principal.municipality) as uow:
            rows = store.list_referrals(uow, unit)
            body = [self._view(uow, principal, row) for row in rows]
            uow.audit(principal.actor, "read", f"police referrals of {unit} ({len(rows)})",
                      reason="GET /api/v1/referrals")
        return json_response({"referrals": body})

    @api("GET", "/api/v1/referrals/<referral_id>")
    def get_referral(self, request, referral_id):
        principal = self._principal(request, "referral:read")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._load(uow, principal, referral_id)
            body = self._view(uow, principal, row)
            uow.audit(principal.actor, "read", "police referral (registration number, reason, steps)",
                      case_id=row["case_id"], reason="GET /api/v1/referrals/{referral_id}")
        return json_response(body)

    @api("GET", "/api/v1/referrals/<referral_id>/details")
    def get_details(self, request, referral_id):
        """The incident's details for the unit's liaison; every read lands in the audit log."""
        principal = self._principal(request, "referral:details")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._load(uow, principal, referral_id)
            details = store.incident_details(uow, row["case_id"])
            if details is None:
                raise Problem(404, "Not Found", "the referral's incident is no longer stored")
            uow.audit(principal.actor, "read", "incident details (police referral)", case_id=row["case_id"],
                      reason=f"GET /api/v1/referrals/{row['referral_id']}/details")
        return json_response({"referral_id": str(row["referral_id"]), **details})

    @api("POST", "/api/v1/referrals/<referral_id>/steps")
    def add_step(self, request, referral_id):
        principal = self._principal(request, "referral:update")
        data = load_or_422(instance(StepSchema), read_json(request, self.storage.settings.max_body_bytes))
        step = domain.Step(data["status"], data.get("registration_number"), data.get("outcome"),
                           data.get("reason"), data.get("ela") or {})
        with self.storage.case_store(principal.municipality) as uow:
            row = self._load(uow, principal, referral_id, for_update=True)
            try:
                changes = domain.check_step(row["status"], step)
            except domain.IllegalTransition as exc:
                raise Problem(409, "Conflict", str(exc), invalid_params=[
                    {"name": "status", "reason": f"allowed from {row['status']}: "
                                                 f"{', '.join(domain.TRANSITIONS[row['status']]) or 'none'}"}])
            except domain.InvalidStep as exc:
                raise Problem(422, "Unprocessable Content", "one or more fields are invalid",
                              invalid_params=[{"name": exc.field_name, "reason": exc.reason}])
            body = self._apply(uow, principal, row, changes, detail=step.reason or step.registration_number)
        return json_response(body)

    @api("PATCH", "/api/v1/referrals/<referral_id>/ela")
    def set_ela(self, request, referral_id):
        """Either side records what of the ELA checklist applies."""
        principal = self._principal(request, "referral:ela")
        flags = load_or_422(instance(ElaFlagsSchema), read_json(request, self.storage.settings.max_body_bytes))
        if not flags:
            raise Problem(422, "Unprocessable Content", "give at least one ELA flag",
                          invalid_params=[{"name": "body", "reason": "no ELA flag given"}])
        with self.storage.case_store(principal.municipality) as uow:
            row = self._load(uow, principal, referral_id, for_update=True)
            body = self._apply(uow, principal, row, dict(flags), detail="ela", step_status=row["status"])
        return json_response(body)

    def _apply(self, uow, principal, row, changes, detail=None, step_status=None) -> dict:
        previous = row["status"]
        store.update_referral(uow, row["referral_id"], changes)
        store.add_step(uow, row["referral_id"], changes.get("status", step_status), principal.actor, detail,
                       at=self.clock.now())
        uow.audit(principal.actor, "update", f"police referral ({', '.join(sorted(changes))})",
                  case_id=row["case_id"], reason=f"{principal.role}: step {changes.get('status', step_status)}")
        row = store.get_referral(uow, row["referral_id"])
        self._emit(uow, "referral_updated", row["case_id"], {
            "referral_id": row["referral_id"], "police_unit": row["police_unit"], "status": row["status"],
            "previous_status": previous, "outcome": row["outcome"], "ela": ela_of(row)},
            row["police_unit"], row["urgency"], self.correlation_id)
        return self._view(uow, principal, row)

    @api("GET", "/api/v1/cases/<case_id>/police-status")
    def police_status(self, request, case_id):
        """The police status of a case in plain words (for the case view and the follow-up page)."""
        principal = self._principal(request, "police_status:read")
        case_uuid = path_uuid(case_id, "case")
        with self.storage.case_store(principal.municipality) as uow:
            if not auth.may_see_case(principal, uow, case_uuid):
                raise Problem(404, "Not Found", "no such case")
            body = police_status_of(uow, case_uuid)
        return json_response(body)

    # ------------------------------------------------------------------ deadlines
    @timer(interval=ESCALATION_TICK_SECONDS)
    def escalate_overdue(self):
        """Referrals not accepted in time: one referral_escalated each (SKIP LOCKED + escalated_at).
        A large region's stores are visited in turn (shared/scan.py)."""
        now = self.clock.now()
        for code in self.rotations.due("escalate", self.storage.region.codes, ESCALATION_TICK_SECONDS):
            with self.storage.case_store(code) as uow:
                for row in store.overdue_referrals(uow, now):
                    store.mark_escalated(uow, row["referral_id"], now)
                    self._emit(uow, "referral_escalated", row["case_id"], {
                        "referral_id": row["referral_id"], "police_unit": row["police_unit"],
                        "urgency": row["urgency"], "deadline": row["accept_deadline"]},
                        row["police_unit"], row["urgency"], uuid.uuid4())
                    metrics.REFERRALS_ESCALATED.labels(code, row["urgency"]).inc()

    # ------------------------------------------------------------------ webhooks
    @timer(interval=0.5)
    def deliver_webhooks(self):
        hooks = options_of(self.storage.settings)["webhooks"]
        if not hooks:
            return
        # only the stores of municipalities whose police unit has a webhook can hold deliveries
        for municipality in self.storage.region.municipalities:
            if municipality.police_unit in hooks:
                deliver_due(self.storage, municipality.code, hooks, self.clock.now())


def police_status_of(uow, case_id) -> dict:
    """For intake's follow-up page: the case's police status in plain words (no police details)."""
    row = store.referral_of_case(uow, case_id)
    if row is None:
        return {"case_id": str(case_id), "referred": False, "status": None,
                "status_text": "Er is geen doorverwijzing naar de politie."}
    return {"case_id": str(case_id), "referred": True, "status": row["status"], "outcome": row["outcome"],
            "status_text": domain.plain_status(row["status"], row["outcome"]),
            "updated_at": row["updated_at"].isoformat()}


def deliver_due(storage, code: str, hooks: dict, now) -> int:
    """Claim due deliveries (SKIP LOCKED, leased by moving next_attempt), POST them outside the
    transaction, then record the result. Returns how many were delivered."""
    with storage.case_store(code) as uow:
        due = store.due_deliveries(uow, now)
        for row in due:
            hook = hooks.get(row["police_unit"])
            lease = (hook or {}).get("timeout_seconds", 10.0) + 5
            uow.execute("UPDATE police_liaison.webhook_deliveries SET next_attempt = %s + make_interval(secs => %s) "
                        "WHERE delivery_id = %s", (now, lease, row["delivery_id"])).close()
    delivered = 0
    for row in due:
        hook = hooks.get(row["police_unit"])
        if hook is None:
            error = "no webhook configured for this unit"
        else:
            try:
                error = webhooks.deliver(hook["url"], webhook_secret(hook), str(row["delivery_id"]),
                                         row["event_type"], row["body"], now, hook["timeout_seconds"])
            except (LookupError, OSError) as exc:
                error = str(exc)
        attempts = row["attempts"] + 1
        max_attempts = (hook or {}).get("max_attempts", 1)
        retry_at = webhooks.next_attempt(now, attempts, (hook or {}).get("first_delay_seconds", 2.0),
                                         (hook or {}).get("max_delay_seconds", 600.0))
        with storage.case_store(code) as uow:
            store.delivery_result(uow, row["delivery_id"], error is None, error, retry_at,
                                  give_up=attempts >= max_attempts)
        metrics.WEBHOOK_ATTEMPTS.labels(row["police_unit"], "ok" if error is None else "failed").inc()
        if error is None:
            delivered += 1
        else:
            log.warning("webhook delivery %s to %s failed (attempt %d): %s", row["delivery_id"],
                        row["police_unit"], attempts, error)
    return delivered


SERVICE = PoliceLiaisonService
