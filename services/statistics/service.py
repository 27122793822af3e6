"""The statistics service's nameko shell: fold every event into the read model; answer figures."""
from __future__ import annotations

from shared.dependencies import Storage
from shared.http import api, json_response
from shared.messaging.consumer import event_handler
from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, STATISTICS, TRIAGE
from shared.service import HubService

from services.statistics import domain, store


class StatisticsService(HubService):
    name = STATISTICS
    storage = Storage(relay_outbox=False, uses_case_stores=False, uses_statistics=True)

    def _fold(self, event):
        self.storage.municipality(event.municipality)  # a code outside the region is parked, never counted
        with self.storage.statistics() as uow:
            if uow.first_delivery(event):
                store.upsert_facts(uow, event.municipality, event.case_id, domain.facts_from(event),
                                   domain.counts_from(event))

    @event_handler(INTAKE, "incident_reported")
    def on_incident_reported(self, event):
        self._fold(event)

    @event_handler(TRIAGE, "incident_triaged")
    def on_incident_triaged(self, event):
        self._fold(event)

    @event_handler(INTAKE, "incident_updated")
    def on_incident_updated(self, event):
        self._fold(event)

    @event_handler(INTAKE, "incident_withdrawn")
    def on_incident_withdrawn(self, event):
        self._fold(event)

    @event_handler(TRIAGE, "triage_overridden")
    def on_triage_overridden(self, event):
        self._fold(event)

    @event_handler(TRIAGE, "triage_overdue")
    def on_triage_overdue(self, event):
        self._fold(event)

    @event_handler(TRIAGE, "repeat_detected")
    def on_repeat_detected(self, event):
        self._fold(event)

    @event_handler(POLICE_LIAISON, "referral_created")
    def on_referral_created(self, event):
        self._fold(event)

    @event_handler(POLICE_LIAISON, "referral_updated")
    def on_referral_updated(self, event):
        self._fold(event)

    @event_handler(POLICE_LIAISON, "referral_escalated")
    def on_referral_escalated(self, event):
        self._fold(event)

    @event_handler(AFTERCARE, "aftercare_planned")
    def on_aftercare_planned(self, event):
        self._fold(event)

    @event_handler(AFTERCARE, "aftercare_contact_due")
    def on_aftercare_contact_due(self, event):
        self._fold(event)

    @event_handler(AFTERCARE, "aftercare_overdue")
    def on_aftercare_overdue(self, event):
        self._fold(event)

    @event_handler(AFTERCARE, "aftercare_contact_recorded")
    def on_aftercare_contact_recorded(self, event):
        self._fold(event)

    @event_handler(AFTERCARE, "aftercare_referred")
    def on_aftercare_referred(self, event):
        self._fold(event)

    @event_handler(AFTERCARE, "aftercare_closed")
    def on_aftercare_closed(self, event):
        self._fold(event)

    @api("GET", "/api/v1/statistics/summary")
    def summary(self, request):
        """The caller's own municipality's exact figures (regional, suppressed views come later)."""
        principal = self._principal(request, "statistics:read")
        with self.storage.statistics() as uow:
            figures = store.summary(uow, principal.municipality)
        return json_response({"municipality": principal.municipality, **figures})


SERVICE = StatisticsService
