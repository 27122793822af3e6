"""The aftercare service's nameko shell: plan care after triage, remind on time, and the worklist API.

Health data (wellbeing checks, notes, referrals) is encrypted with the municipality's
data key before it is stored and every read of it is audited; events carry only codes,
counts and timings.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta

from nameko.timer import Timer

from shared.dependencies import Encryption
from shared.events import by_municipality
from shared.http import Problem, api, json_response, load_or_422, path_uuid, read_json
from shared.messaging.consumer import event_handler
from shared.names import AFTERCARE, TRIAGE
from shared.service import HubService
from shared.vocabulary import URGENCY_PRIORITY
from shared.workdays import AMSTERDAM
from shared.schemas import instance

from services.aftercare import domain, store
from services.aftercare.schemas import (AssignSchema, CloseSchema, ContactSchema, DeclineSchema,
                                        ReferralResultSchema, ReferralSchema, WorklistQuerySchema)

CONTACTS, REFERRALS = "aftercare.contacts", "aftercare.referrals"
REMINDER_SECONDS = 60.0  # the default of aftercare.reminder_interval_seconds
PLAN_BATCH = 20  # triage results planned in one transaction per municipality when they queue up
REMINDERS = (("due_notified_at", "aftercare_contact_due"), ("overdue_notified_at", "aftercare_overdue"))


class ReminderTimer(Timer):
    """nameko's @timer with its interval from the region's `aftercare.reminder_interval_seconds`."""

    def setup(self):
        from shared.config import settings_from_nameko

        region = settings_from_nameko(self.container.config).region
        self.interval = reminder_seconds(region.options.get(AFTERCARE, {}))
        super().setup()


def reminder_seconds(options: dict) -> float:
    """How often the reminder timer looks: the region's `aftercare.reminder_interval_seconds`."""
    return options.get("reminder_interval_seconds", REMINDER_SECONDS)


reminder_timer = ReminderTimer.decorator


class AftercareService(HubService):
    name = AFTERCARE
    keyring = Encryption()

    @property
    def options(self):
        return self.storage.settings.region.options.get(AFTERCARE) or domain.DEFAULT_OPTIONS

    # ------------------------------------------------------------ planning
    @event_handler(TRIAGE, "incident_triaged", batch=PLAN_BATCH)
    def on_incident_triaged(self, events):
        now = self.clock.now()
        for municipality, theirs in by_municipality(events):
            with self.storage.case_store(municipality) as uow:
                for event in uow.first_deliveries(theirs):
                    self._plan(uow, event, now)

    def _plan(self, uow, event, now):
        """Plan care; on a later triage of the same case (a re-triage after incident_updated)
        with another urgency, re-plan it."""
        urgency = event.payload["urgency"]
        plan = domain.plan_care(event.case_id, urgency, event.payload["decisions"], now=now, options=self.options)
        if plan is not None and store.insert_plan(uow, plan, event.payload["occurred_at"]):  # the usual case
            self._record_planned(uow, event, plan.plan_id, urgency, plan.first_contact_due, len(plan.moments))
            return
        existing = store.plan_of_case(uow, event.case_id, lock=True)
        if existing is not None:
            self._replan(uow, event, existing, urgency, now)

    @event_handler(TRIAGE, "triage_overridden")
    def on_triage_overridden(self, event):
        """Staff changed the urgency: re-plan the open plan. (A case without a plan gets one
        from the incident_triaged of its next triage.)"""
        with self.storage.case_store(event.municipality) as uow:
            if not uow.first_delivery(event):
                return
            existing = store.plan_of_case(uow, event.case_id, lock=True)
            if existing is not None:
                self._replan(uow, event, existing, event.payload["urgency"], self.clock.now())

    def _replan(self, uow, event, plan, urgency, now):
        if plan["status"] != "open" or plan["urgency"] == urgency:
            return
        open_kinds = {m["kind"] for m in store.moments(uow, plan["plan_id"]) if m["done_at"] is None}
        new_due = domain.replan(urgency, plan["planned_at"], open_kinds, self.options)
        store.replan(uow, plan["plan_id"], urgency, new_due, now)
        moments = store.moments(uow, plan["plan_id"])
        first_open = next((m["due_at"] for m in moments if m["done_at"] is None), moments[0]["due_at"])
        self._record_planned(uow, event, plan["plan_id"], urgency, first_open, len(moments))

    @staticmethod
    def _record_planned(uow, event, plan_id, urgency, first_due, count):
        uow.record("aftercare_planned", event.case_id, {
            "plan_id": plan_id, "urgency": urgency, "first_contact_due": first_due,
            "contact_moments": count,
        }, correlation_id=event.correlation_id, priority=URGENCY_PRIORITY[urgency])

    # ----------------------------------------------------------- reminders
    @reminder_timer(interval=REMINDER_SECONDS, eager=True)
    def send_reminders(self):
        """Emit aftercare_contact_due and aftercare_overdue once per contact moment.

        Each municipality is one transaction: the moments are locked (SKIP LOCKED, so
        another instance takes other moments or none), marked, and their events put in
        the outbox together. Anything missed while the service was down is caught up here.
        """
        now = self.clock.now()
        options = self.options
        thresholds = {"due_notified_at": now + timedelta(hours=options["remind_before_hours"]),
                      "overdue_notified_at": now - timedelta(hours=options["overdue_after_hours"])}
        for code in self.rotations.due("reminders", self.storage.region.codes, reminder_seconds(self.options)):
            with self.storage.case_store(code) as uow:
                for marker, event_type in REMINDERS:
                    for row in store.claim_reminders(uow, marker, thresholds[marker]):
                        payload = {"plan_id": row["plan_id"], "moment": row["kind"], "urgency": row["urgency"],
                                   "due_at": row["due_at"]}
                        if event_type == "aftercare_overdue":
                            payload["hours_overdue"] = max(0, domain.hours_between(now, row["due_at"]))
                        uow.record(event_type, row["case_id"], payload, priority=URGENCY_PRIORITY[row["urgency"]])
                        store.mark_reminded(uow, marker, row["id"], now)

    # ------------------------------------------------------------ HTTP API
    def _body(self, request, schema):
        body = load_or_422(schema, read_json(request, self.storage.settings.max_body_bytes))
        # what happened cannot be recorded ahead of time (a little slack for clock skew)
        latest = self.clock.now() + timedelta(minutes=5)
        future = [{"name": name, "reason": "lies in the future"} for name, value in body.items()
                  if isinstance(value, datetime) and value > latest]
        if future:
            raise Problem(422, "Unprocessable Content", "one or more fields are invalid", invalid_params=future)
        return body

    @staticmethod
    def _open_plan(uow, plan_id, lock=True, must_be_open=True):
        plan_uuid = path_uuid(plan_id, "care plan")
        plan = store.get_plan(uow, plan_uuid, lock=lock)
        if plan is None:
            raise Problem(404, "Not Found", "no such care plan")
        if must_be_open and plan["status"] != "open":
            raise Problem(409, "Conflict", f"the care plan is {plan['status']}")
        return plan

    @api("GET", "/api/v1/aftercare/worklist")
    def get_worklist(self, request):
        """Contact moments due today, overdue, or open; optionally of one worker."""
        principal = self._principal(request, "aftercare:read")
        query = load_or_422(instance(WorklistQuerySchema), request.args.to_dict())
        now = self.clock.now()
        tomorrow = datetime.combine(now.astimezone(AMSTERDAM).date() + timedelta(days=1), time(0), AMSTERDAM)
        overdue_before = now - timedelta(hours=self.options["overdue_after_hours"])
        with self.storage.case_store(principal.municipality) as uow:
            items = store.worklist(uow, due_before=tomorrow, overdue_before=overdue_before,
                                   view=query["view"], worker=query.get("worker"))
            # which cases are in aftercare is itself sensitive: the read is audited too
            uow.audit(principal.actor, "read", f"aftercare worklist {query['view']} ({len(items)} moments)",
                      reason="GET /api/v1/aftercare/worklist")
        return json_response({"view": query["view"], "worker": query.get("worker"), "now": now.isoformat(),
                              "items": items})

    @api("GET", "/api/v1/aftercare/plans/<plan_id>")
    def get_plan(self, request, plan_id):
        """The whole plan with its health data, decrypted for an aftercare role; the read is audited."""
        principal = self._principal(request, "aftercare:read")
        with self.storage.case_store(principal.municipality) as uow:
            plan = self._open_plan(uow, plan_id, lock=False, must_be_open=False)
            contacts = []
            for row in store.contacts(uow, plan["plan_id"]):
                health = row.pop("health")
                row["wellbeing"] = self._decrypt(uow, CONTACTS, "health", row["contact_id"], health)
                contacts.append(row)
            referrals = []
            for row in store.referrals(uow, plan["plan_id"]):
                details = self._decrypt(uow, REFERRALS, "details", row["referral_id"], row.pop("details"))
                result = self._decrypt(uow, REFERRALS, "result", row["referral_id"], row.pop("result"))
                referrals.append({**row, **(details or {}), "result": result})
            moments = store.moments(uow, plan["plan_id"])
            uow.audit(principal.actor, "read", "aftercare plan (health data)", case_id=plan["case_id"],
                      reason="GET /api/v1/aftercare/plans/{plan_id}")
        return json_response({**plan, "moments": moments, "contacts": contacts, "referrals": referrals})

    @api("POST", "/api/v1/aftercare/plans/<plan_id>/contacts")
    def record_contact(self, request, plan_id):
        principal = self._principal(request, "aftercare:write")
        contact = self._body(request, instance(ContactSchema))
        now = self.clock.now()
        with self.storage.case_store(principal.municipality) as uow:
            plan = self._open_plan(uow, plan_id)
            kind = contact.get("moment") or store.first_open_moment(uow, plan["plan_id"]) or "extra"
            planned = store.moment(uow, plan["plan_id"], kind) if kind != "extra" else None
            if kind != "extra" and (planned is None or planned["done_at"] is not None):
                raise Problem(422, "Unprocessable Content", "one or more fields are invalid", invalid_params=[
                    {"name": "moment", "reason": f"{kind} is not an open contact moment of this plan"}])
            incident_at = plan["occurred_at"] or plan["planned_at"]
            health, advice = {}, None
            if "tsq_answers" in contact:
                tsq = domain.score_tsq(contact["tsq_answers"], incident_at, contact["contacted_at"], self.options)
                advice = {"score": tsq.score, "advise_referral": tsq.advise_referral, "too_early": tsq.too_early}
                health.update(tsq_answers=contact["tsq_answers"], tsq=advice)
            if contact.get("notes"):
                health["notes"] = contact["notes"]
            contact_id = uuid.uuid4()
            sealed = self._encrypt(uow, CONTACTS, "health", contact_id, health) if health else None
            store.insert_contact(uow, contact_id, plan["plan_id"], kind, contact, sealed, now)
            # a moment counts as done when the reporter was reached (or said no to contact)
            if planned is not None and contact["outcome"] in ("reached", "contact_refused"):
                store.complete_moment(uow, plan["plan_id"], kind, contact["contacted_at"])
            uow.record("aftercare_contact_recorded", plan["case_id"], {
                "plan_id": plan["plan_id"], "moment": kind, "method": contact["method"],
                "outcome": contact["outcome"],
                "hours_after_due": domain.hours_between(contact["contacted_at"], planned["due_at"])
                if planned else None,
                "days_since_incident": (contact["contacted_at"] - incident_at).days,
                "wellbeing_checked": "tsq_answers" in contact,
            }, correlation_id=self.correlation_id)
            uow.audit(principal.actor, "create", "aftercare contact (health data)", case_id=plan["case_id"])
        return json_response({"contact_id": str(contact_id), "moment": kind, "wellbeing": advice}, 201)

    @api("POST", "/api/v1/aftercare/plans/<plan_id>/referrals")
    def record_referral(self, request, plan_id):
        principal = self._principal(request, "aftercare:write")
        referral = self._body(request, instance(ReferralSchema))
        with self.storage.case_store(principal.municipality) as uow:
            plan = self._open_plan(uow, plan_id)
            referral_id = uuid.uuid4()
            details = {"kind": referral["kind"], "notes": referral.get("notes")}
            store.insert_referral(uow, referral_id, plan["plan_id"], referral["referred_at"],
                                  referral["referred_by"], self._encrypt(uow, REFERRALS, "details", referral_id,
                                                                         details))
            incident_at = plan["occurred_at"] or plan["planned_at"]
            uow.record("aftercare_referred", plan["case_id"], {
                "plan_id": plan["plan_id"], "referral_id": referral_id,
                "days_since_incident": (referral["referred_at"] - incident_at).days,
            }, correlation_id=self.correlation_id)
            uow.audit(principal.actor, "create", "aftercare referral (health data)", case_id=plan["case_id"])
        return json_response({"referral_id": str(referral_id)}, 201)

    @api("POST", "/api/v1/aftercare/referrals/<referral_id>/result")
    def record_referral_result(self, request, referral_id):
        principal = self._principal(request, "aftercare:write")
        body = self._body(request, instance(ReferralResultSchema))
        referral_uuid = path_uuid(referral_id, "referral")
        with self.storage.case_store(principal.municipality) as uow:
            row = store.get_referral(uow, referral_uuid)
            if row is None:
                raise Problem(404, "Not Found", "no such referral")
            sealed = self._encrypt(uow, REFERRALS, "result", referral_uuid,
                                   {"result": body["result"], "notes": body.get("notes")})
            store.set_referral_result(uow, referral_uuid, sealed, body["result_at"])
            uow.audit(principal.actor, "update", "aftercare referral result (health data)", case_id=row["case_id"])
        return json_response({"referral_id": referral_id, "result_at": body["result_at"].isoformat()})

    @api("POST", "/api/v1/aftercare/plans/<plan_id>/assign")
    def assign(self, request, plan_id):
        principal = self._principal(request, "aftercare:write")
        body = self._body(request, instance(AssignSchema))
        with self.storage.case_store(principal.municipality) as uow:
            plan = self._open_plan(uow, plan_id)
            store.assign(uow, plan["plan_id"], body["worker"])
            uow.audit(principal.actor, "update", f"aftercare plan assigned to {body['worker']}",
                      case_id=plan["case_id"])
        return json_response({"plan_id": plan_id, "assigned_to": body["worker"]})

    @api("POST", "/api/v1/aftercare/plans/<plan_id>/close")
    def close_plan(self, request, plan_id):
        principal = self._principal(request, "aftercare:write")
        body = self._body(request, instance(CloseSchema))
        return self._close(principal, plan_id, "closed", body["reason"])

    @api("POST", "/api/v1/aftercare/plans/<plan_id>/decline")
    def decline(self, request, plan_id):
        """The reporter declines aftercare: recorded, and no reminder goes out any more."""
        principal = self._principal(request, "aftercare:write")
        self._body(request, instance(DeclineSchema))
        return self._close(principal, plan_id, "declined", "declined")

    def _close(self, principal, plan_id, status, reason):
        now = self.clock.now()
        with self.storage.case_store(principal.municipality) as uow:
            plan = self._open_plan(uow, plan_id)
            counts = store.counts(uow, plan["plan_id"])
            store.close(uow, plan["plan_id"], status, reason, now)
            uow.record("aftercare_closed", plan["case_id"], {
                "plan_id": plan["plan_id"], "reason": reason, "contacts": counts["contacts"],
                "referrals": counts["referrals"], "days_open": max(0, (now - plan["planned_at"]).days),
            }, correlation_id=self.correlation_id)
            uow.audit(principal.actor, "update", f"aftercare plan {status} ({reason})", case_id=plan["case_id"])
        return json_response({"plan_id": plan_id, "status": status, "reason": reason})

    # ----------------------------------------------------------- encryption
    def _encrypt(self, uow, table, column, row_id, value) -> bytes:
        return self.keyring.encrypt(uow, table, column, row_id, json.dumps(value, default=str).encode())

    def _decrypt(self, uow, table, column, row_id, sealed):
        if sealed is None:
            return None
        return json.loads(self.keyring.decrypt(uow, table, column, row_id, sealed))


SERVICE = AftercareService
