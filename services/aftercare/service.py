"""The aftercare service's nameko shell: plan care after triage, remind on time, and the worklist API.

Health data (wellbeing checks, notes, referrals) is encrypted with the municipality's
data key before it is stored and every read of it is audited; events carry only codes,
counts and timings.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from nameko.timer import Timer

from shared import auth
from shared.dependencies import Encryption
from shared.events import by_municipality
from shared.http import Problem, api, json_response, load_or_422, path_uuid, read_json
from shared.messaging.consumer import event_handler
from shared.names import AFTERCARE, INTAKE, TRIAGE
from shared.service import HubService
from shared.workdays import AMSTERDAM
from shared.schemas import instance

from services.aftercare import domain, handlers, store
from services.aftercare.care_api import CareTracksApi
from services.aftercare.schemas import (AssignSchema, CloseSchema, ContactSchema, DeclineSchema,
                                        ReferralResultSchema, ReferralSchema, WorklistQuerySchema)

REMINDER_SECONDS = 60.0  # the default of aftercare.reminder_interval_seconds
# Seconds the first triage result waits for others to plan in the same transaction (issue 25: at 5 ms, the
# default, a quiet hub planned each case in a transaction of its own). A care plan is not on the way to the
# referral, and its first contact is due hours later; an acute case's copy is planned at once (its acute lane).
PLAN_WINDOW = 0.5
# Triage results planned in one transaction per municipality when they queue up. The handler's prefetch follows
# from PLAN_BATCH and PLAN_WINDOW (shared.messaging.consumer.batch_prefetch): it holds at most that many unacked
# while its window runs (when it was the batch, 20 allowed 40/s and the hub's sustained rate fell to 35/s).
PLAN_BATCH = 200


CLOSED = {409: "the care plan is closed or declined"}

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


class AftercareService(CareTracksApi, HubService):
    name = AFTERCARE
    api_version = "1.2.0"  # docs/api.md#changelog: witnesses' care tracks and handovers to help
    keyring = Encryption()

    @property
    def options(self):
        return self.storage.settings.region.options.get(AFTERCARE) or domain.DEFAULT_OPTIONS

    # ------------------------------------------------------------ planning
    @event_handler(TRIAGE, "incident_triaged", batch=PLAN_BATCH, window=PLAN_WINDOW, acute=True)
    def on_incident_triaged(self, events):
        now = self.clock.now()
        for municipality, theirs in by_municipality(events):
            with self.storage.case_store(municipality) as uow:
                handlers.plan(theirs, uow, self.options, now)

    @event_handler(TRIAGE, "triage_overridden", acute=True)
    def on_triage_overridden(self, event):
        with self.storage.case_store(event.municipality) as uow:
            handlers.replan_after_override(event, uow, self.options, self.clock.now())

    @event_handler(INTAKE, "incident_withdrawn")
    def on_incident_withdrawn(self, event):
        with self.storage.case_store(event.municipality) as uow:
            handlers.stop(event, uow, self.clock.now())

    @event_handler(INTAKE, "incident_closed")
    def on_incident_closed(self, event):
        with self.storage.case_store(event.municipality) as uow:
            handlers.stop(event, uow, self.clock.now())

    # ----------------------------------------------------------- reminders
    @reminder_timer(interval=REMINDER_SECONDS, eager=True)
    def send_reminders(self):
        """Emit aftercare_contact_due and aftercare_overdue once per contact moment (handlers.send_reminders),
        one transaction per municipality, a large region's stores in turn (shared/scan.py)."""
        now = self.clock.now()

        options = self.options

        def remind(code):
            with self.storage.case_store(code) as uow:
                handlers.send_reminders(uow, options, now)
                handlers.follow_up_handovers(uow, now)
                handlers.remind_witness_moments(uow, options, now)
                due = [store.next_reminder(uow, options["remind_before_hours"], options["overdue_after_hours"]),
                       store.next_follow_up(uow), store.next_witness_reminder(uow, options["remind_before_hours"])]
                return min((d for d in due if d is not None), default=None)
        # only the stores with a reminder due, and now and then each (shared/scan.py); a deadline told
        # by a commit counts from when its first reminder is due
        self.rotations.each_due(store.REMINDERS_TASK, self.storage.region.codes, reminder_seconds(options), now,
                                remind, lead=timedelta(hours=options["remind_before_hours"]))

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

    @api("GET", "/api/v1/aftercare/worklist", query=WorklistQuerySchema)
    def get_worklist(self, request):
        """Contact moments due today, overdue, or open; optionally of one worker."""
        principal = self._principal(request, "aftercare:read")
        query = load_or_422(instance(WorklistQuerySchema), request.args.to_dict())
        now = self.clock.now()
        tomorrow = datetime.combine(now.astimezone(AMSTERDAM).date() + timedelta(days=1), time(0), AMSTERDAM)
        overdue_before = now - timedelta(hours=self.options["overdue_after_hours"])
        with self.storage.case_store(principal.municipality) as uow:
            total, items = handlers.worklist(uow, principal.actor, auth.case_visibility(principal, "p.case_id"), query,
                                             due_before=tomorrow, overdue_before=overdue_before)
        return json_response({"view": query["view"], "worker": query.get("worker"), "now": now.isoformat(),
                              "total": total, "limit": query["limit"], "offset": query["offset"], "items": items})

    @api("GET", "/api/v1/aftercare/cases/<case_id>")
    def get_plan_of_case(self, request, case_id):
        """A case's plan (as GET …/plans/{plan_id}) with the contact details the reporter allowed."""
        principal = self._principal(request, "aftercare:read")
        case_uuid = path_uuid(case_id, "case")
        with self.storage.case_store(principal.municipality) as uow:
            plan_row = store.plan_of_case(uow, case_uuid)
            if plan_row is None or not auth.visible(principal, uow, case_uuid):
                raise Problem(404, "Not Found", "no care plan for this case")
            body = handlers.plan_with_health_data(plan_row["plan_id"], uow, principal.actor)
            body["contact"] = handlers.reporter_contact(uow, case_uuid, principal.actor,
                                                        "GET /api/v1/aftercare/cases/{case_id}")
        return json_response(body)

    @api("GET", "/api/v1/aftercare/plans/<plan_id>")
    def get_plan(self, request, plan_id):
        """The whole plan with its health data, decrypted for an aftercare role; the read is audited."""
        principal = self._principal(request, "aftercare:read")
        with self.storage.case_store(principal.municipality) as uow:
            body = handlers.plan_with_health_data(_visible_plan(principal, uow, plan_id), uow, principal.actor)
        return json_response(body)

    @api("POST", "/api/v1/aftercare/plans/<plan_id>/contacts", body=ContactSchema, status=201, errors=CLOSED)
    def record_contact(self, request, plan_id):
        principal = self._principal(request, "aftercare:write")
        contact = self._body(request, instance(ContactSchema))
        with self.storage.case_store(principal.municipality) as uow:
            body = handlers.record_contact(_visible_plan(principal, uow, plan_id), contact, uow, principal.actor, self.options,
                                           self.clock.now(), self.correlation_id)
        return json_response(body, 201)

    @api("POST", "/api/v1/aftercare/plans/<plan_id>/referrals", body=ReferralSchema, status=201, errors=CLOSED)
    def record_referral(self, request, plan_id):
        principal = self._principal(request, "aftercare:write")
        referral = self._body(request, instance(ReferralSchema))
        with self.storage.case_store(principal.municipality) as uow:
            referral_id = handlers.refer_to_help(_visible_plan(principal, uow, plan_id), referral, uow, principal.actor,
                                                 self.correlation_id)
        return json_response({"referral_id": str(referral_id)}, 201)

    @api("POST", "/api/v1/aftercare/referrals/<referral_id>/result", body=ReferralResultSchema)
    def record_referral_result(self, request, referral_id):
        principal = self._principal(request, "aftercare:write")
        body = self._body(request, instance(ReferralResultSchema))
        referral_uuid = path_uuid(referral_id, "referral")
        with self.storage.case_store(principal.municipality) as uow:
            row = store.get_referral(uow, referral_uuid)
            if row is not None and not auth.visible(principal, uow, row["case_id"]):
                raise Problem(404, "Not Found", "no such referral")
            handlers.record_referral_result(referral_uuid, body, uow, principal.actor)
        return json_response({"referral_id": referral_id, "result_at": body["result_at"].isoformat()})

    @api("POST", "/api/v1/aftercare/plans/<plan_id>/assign", body=AssignSchema, errors=CLOSED)
    def assign(self, request, plan_id):
        principal = self._principal(request, "aftercare:write")
        body = self._body(request, instance(AssignSchema))
        with self.storage.case_store(principal.municipality) as uow:
            handlers.assign(_visible_plan(principal, uow, plan_id), body["worker"], uow, principal.actor)
        return json_response({"plan_id": plan_id, "assigned_to": body["worker"]})

    @api("POST", "/api/v1/aftercare/plans/<plan_id>/close", body=CloseSchema, errors=CLOSED)
    def close_plan(self, request, plan_id):
        principal = self._principal(request, "aftercare:write")
        body = self._body(request, instance(CloseSchema))
        return self._close(principal, plan_id, "closed", body["reason"])

    @api("POST", "/api/v1/aftercare/plans/<plan_id>/decline", body=DeclineSchema, errors=CLOSED)
    def decline(self, request, plan_id):
        """The reporter declines aftercare: recorded, and no reminder goes out any more."""
        principal = self._principal(request, "aftercare:write")
        self._body(request, instance(DeclineSchema))
        return self._close(principal, plan_id, "declined", "declined")

    def _close(self, principal, plan_id, status, reason):
        with self.storage.case_store(principal.municipality) as uow:
            handlers.close(_visible_plan(principal, uow, plan_id), status, reason, uow, principal.actor, self.clock.now(),
                           self.correlation_id)
        return json_response({"plan_id": plan_id, "status": status, "reason": reason})


def _plan_uuid(plan_id: str):
    return path_uuid(plan_id, "care plan")


def _visible_plan(principal, uow, plan_id: str):
    """The plan's id when the caller may see its case (a conflict of interest, shared/auth.py); 404 otherwise."""
    plan_uuid = _plan_uuid(plan_id)
    plan_row = store.get_plan(uow, plan_uuid)
    if plan_row is not None and not auth.visible(principal, uow, plan_row["case_id"]):
        raise Problem(404, "Not Found", "no such care plan")
    return plan_uuid
