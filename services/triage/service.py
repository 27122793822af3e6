"""The triage service's nameko shell: receive incident_reported, decide, store and emit."""
from __future__ import annotations

from shared.messaging.consumer import event_handler
from shared.names import INTAKE, TRIAGE
from shared.service import HubService

from services.triage import domain, store


class TriageService(HubService):
    name = TRIAGE

    @event_handler(INTAKE, "incident_reported")
    def on_incident_reported(self, event):
        result = domain.triage(event.payload)
        with self.storage.case_store(event.municipality) as uow:
            if not uow.first_delivery(event) or not store.save_result(uow, event.case_id, result):
                return
            uow.record("incident_triaged", event.case_id, {
                "categories": result.categories,
                "urgency": result.urgency,
                "decisions": result.decisions,
                "rules_version": result.rules_version,
                "occurred_at": event.payload["occurred_at"],
                "location_type": event.payload["location_type"],
                "target_role": event.payload["target_role"],
            }, correlation_id=event.correlation_id, priority=result.priority)


SERVICE = TriageService
