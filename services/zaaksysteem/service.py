"""The zaaksysteem service: each case of a municipality that has a zaaksysteem becomes a zaak there (ZGW Zaken API
1.5) and follows the case: statuses as it is assessed, a resultaat when it closes. Its HTTP API is the hub's common
part only (health, dead letters, this document).

The nameko shell (issue 24, item 5): a case's events become deliveries in the outbox of deliveries of its case store
(handlers.on_event, with the inbox in the same unit of work), and a timer hands the due ones to the municipality's
zaaksysteem (handlers.deliver_due). Municipalities without a zaaksysteem (`zaaksysteem.municipalities.<code>.enabled`,
default false) get nothing recorded and nothing sent.
"""
from __future__ import annotations

from nameko.timer import Timer

from shared.messaging.consumer import event_handler
from shared.events import CATALOGUE
from shared.names import ZAAKSYSTEEM
from shared.service import HubService

from services.zaaksysteem import domain, handlers, options as zs_options

DEFAULT_POLL_SECONDS = 2.0


class DeliveryTimer(Timer):
    """nameko's @timer with its interval from the region's `zaaksysteem.poll_seconds`."""

    def setup(self):
        from shared.config import settings_from_nameko

        self.interval = zs_options.options_of(settings_from_nameko(self.container.config).region)["poll_seconds"]
        super().setup()


delivery_timer = DeliveryTimer.decorator


def _consumes(event_type: str):
    """An event handler of the service for one event type: they all do the same (`_on`)."""
    @event_handler(CATALOGUE[event_type].producer, event_type)
    def handler(self, event):
        self._on(event)
    handler.__name__ = handler.__qualname__ = f"on_{event_type}"
    handler.__doc__ = f"{event_type}: what it asks of the case's zaak ({domain.step_of(event_type)[0]})."
    return handler


class ZaaksysteemService(HubService):
    name = ZAAKSYSTEEM

    @property
    def options(self) -> dict:
        return zs_options.options_of(self.storage.region)

    def _on(self, event):
        if zs_options.of(self.options, event.municipality) is None:
            return  # no zaaksysteem: not even an inbox row in a store that will never need one
        with self.storage.case_store(event.municipality) as uow:
            if uow.first_delivery(event):
                handlers.on_event(event, uow, self.options)

    on_incident_reported = _consumes("incident_reported")
    on_incident_triaged = _consumes("incident_triaged")
    on_triage_overridden = _consumes("triage_overridden")
    on_incident_closed = _consumes("incident_closed")
    on_incident_withdrawn = _consumes("incident_withdrawn")

    @delivery_timer(interval=DEFAULT_POLL_SECONDS)
    def deliver(self):
        """Each municipality with a zaaksysteem in turn: its due deliveries, one short transaction each."""
        options = self.options
        now = self.clock.now()
        for code in sorted(options["municipalities"]):
            if zs_options.of(options, code) is not None:
                handlers.deliver_due(lambda c=code: self.storage.case_store(c), code, options, now)
