"""The police liaison service's nameko shell: turn a recommended referral into a referral event."""
from __future__ import annotations

from shared.messaging.consumer import event_handler
from shared.names import POLICE_LIAISON, TRIAGE
from shared.vocabulary import URGENCY_PRIORITY
from shared.service import HubService

from services.police_liaison import domain, store


class PoliceLiaisonService(HubService):
    name = POLICE_LIAISON

    @event_handler(TRIAGE, "incident_triaged")
    def on_incident_triaged(self, event):
        unit = self.storage.municipality(event.municipality).police_unit
        referral = domain.referral_for(event.case_id, event.payload, unit)
        if referral is None:
            return
        with self.storage.case_store(event.municipality) as uow:
            if not uow.first_delivery(event) or not store.insert_referral(uow, referral, actor="triage"):
                return
            uow.record("referral_created", event.case_id, domain.referral_created_payload(referral, event.payload),
                       correlation_id=event.correlation_id,
                       priority=URGENCY_PRIORITY[referral.urgency])


SERVICE = PoliceLiaisonService
