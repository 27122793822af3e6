"""The aftercare service's nameko shell: plan care when triage decided on it."""
from __future__ import annotations

from shared.messaging.consumer import event_handler
from shared.names import AFTERCARE, TRIAGE
from shared.service import HubService
from shared.vocabulary import URGENCY_PRIORITY

from services.aftercare import domain, store


class AftercareService(HubService):
    name = AFTERCARE

    @event_handler(TRIAGE, "incident_triaged")
    def on_incident_triaged(self, event):
        plan = domain.plan_care(event.case_id, event.payload["urgency"], event.payload["decisions"],
                                now=self.clock.now())
        if plan is None:
            return
        with self.storage.case_store(event.municipality) as uow:
            if not uow.first_delivery(event) or not store.insert_plan(uow, plan):
                return
            uow.record("aftercare_planned", event.case_id, {
                "plan_id": plan.plan_id,
                "urgency": plan.urgency,
                "first_contact_due": plan.first_contact_due,
                "contact_moments": len(plan.moments),
            }, correlation_id=event.correlation_id, priority=URGENCY_PRIORITY[plan.urgency])


SERVICE = AftercareService
