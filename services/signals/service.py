"""The signals service's nameko shell: events in, signals for people (HTTP API), and the mails that
tell them (and reporters) without any case content. The use cases are in handlers.py."""
from __future__ import annotations

import logging
from datetime import timedelta

from shared.dependencies import Encryption
from shared.http import Problem, api, json_response, load_or_422, path_uuid, read_json
from shared.openapi import listing
from shared.messaging.consumer import event_handler
from shared.events import CATALOGUE
from shared.names import SIGNALS, TRIAGE
from shared.schemas import instance
from shared.service import HubService

from services.signals import handlers, store
from services.signals.partner_queues import Publisher
from services.signals.timers import DEFAULT_MAIL_SECONDS, MAIL_ATTEMPTS, PARTNER_DELIVERIES, mail_seconds, mail_timer, \
    partner_timer
from services.signals.options import options_of
from services.signals.schemas import (STATES, HandleSchema, MailQuerySchema, RepeatContactSchema, RepeatViewSchema,
                                      SignalQuerySchema, SignalViewSchema, TakeSchema)

log = logging.getLogger(__name__)

# Events that come at the acute priority when their case is acuut: their signals may not wait behind a
# backlog (the acute lane, shared/messaging/consumer.py).
ACUTE_LANE = ("incident_triaged", "triage_overridden", "triage_overdue", "referral_escalated",
              "aftercare_contact_due", "aftercare_overdue")


def _consumes(source: str, event_type: str):
    """An event handler of the service for one event type: they all do the same (handlers.on_event)."""
    @event_handler(source, event_type, acute=event_type in ACUTE_LANE)
    def handler(self, event):
        self._on(event)
    handler.__name__ = handler.__qualname__ = f"on_{event_type}"
    handler.__doc__ = f"{event_type}: what it means for the case's signals and its reporter's mail."
    return handler


class SignalsService(HubService):
    name = SIGNALS
    # a reporter's status mail reads their e-mail address from intake's encrypted personal data
    keyring = Encryption()

    @property
    def options(self) -> dict:
        return options_of(self.storage.region)

    # ------------------------------------------------------------------ events in
    def _on(self, event):
        with self.storage.case_store(event.municipality) as uow:
            handlers.on_event(event, uow, self.options, self.clock.now())
            handlers.offer([event, *uow.recorded], uow)  # to partner subscribers, with what it recorded
        if event.event_type == "repeat_linked":
            self._copy_recorded_contact(event)

    def _copy_recorded_contact(self, event):
        """The other municipality may have recorded the contact before this side knew the link."""
        other = event.payload["other_municipality"]
        with self.storage.case_store(other) as uow:
            theirs = store.get_link(uow, event.payload["link_id"])
        if theirs is not None and theirs["contact_recorded_at"] is not None:
            with self.storage.case_store(event.municipality) as uow:
                handlers.mirror_contact(theirs, uow, self.clock.now(), event.correlation_id)

    # ------------------------------------------------------------------ mails out
    @mail_timer(interval=DEFAULT_MAIL_SECONDS, eager=True)
    def send_mail(self):
        """Compose waiting notices into mails and hand due mails to the mail server, in the stores where
        something is due; a mail the server does not take now waits and is tried again (docs/signals.md#mail).
        Only the stores with work are visited: this process's commits tell when a notice waits, each visit
        reads when the store's next mail work falls, and every store is looked at once an hour as a net
        (another instance's work, a command's) and once at start (shared/scan.py, issue 25)."""
        options = self.options
        if options["mail"] is None:
            return  # no mail server configured: notices wait in the outbox
        now = self.clock.now()

        def counted(kind, result):
            MAIL_ATTEMPTS.labels(kind, result).inc()

        def visit(code):
            handlers.send_mails(lambda: self.storage.case_store(code), code, options, self.clock.now, counted)
            with self.storage.case_store(code) as uow:
                return store.next_mail_work(uow)
        self.rotations.each_due(store.MAIL_TASK, self.storage.region.codes, mail_seconds(options), now, visit)

    # ------------------------------------------------------------------ partner subscribers
    @event_handler(SIGNALS, "partner_delivery_replayed")
    def on_partner_delivery_replayed(self, event):
        """`meldpunt subscriber replay` (another process) made a delivery due: send it now."""
        handlers.replayed(event, self.rotations.tell)

    @partner_timer(interval=DEFAULT_MAIL_SECONDS, eager=True)
    def deliver_partners(self):
        """Send due deliveries to partner subscribers, in the stores where one is due; one that fails waits
        its backoff in the outbox of deliveries (docs/partners.md). Only the stores with a delivery due are
        visited: this process's commits tell of new deliveries (and replays), each visit reads when the
        store's next attempt falls, a replay by a command wakes it (`partner_delivery_replayed`), and every store
        is looked at once an hour as a net (what another instance left) and once at start (shared/scan.py)."""
        now = self.clock.now()
        publisher = Publisher(self.storage.settings.amqp_uri)  # connects only for an AMQP delivery

        def counted(subscriber, result):
            PARTNER_DELIVERIES.labels(subscriber, result).inc()

        def visit(code):
            handlers.deliver_partners(lambda: self.storage.case_store(code), now, publisher.publish, counted)
            with self.storage.case_store(code) as uow:
                return store.next_partner_delivery(uow)
        try:
            self.rotations.each_due(store.PARTNERS_TASK, self.storage.region.codes,
                                    self.options["partners"]["poll_seconds"], now, visit)
        finally:
            publisher.close()

    # ------------------------------------------------------------------ people
    def _view(self, row: dict) -> dict:
        view = {**row, "overdue": row["state"] != "handled" and self.clock.now() > row["due_at"], "repeat": None}
        if row["kind"] == "repeat":
            view["repeat"] = {"link_id": row["details"].get("link_id"),
                              "other_municipality": self._contact_point(row["details"]["other_municipality"])}
        return instance(SignalViewSchema).dump(view)

    def _contact_point(self, code: str) -> dict:
        """The other municipality's meldpunt as the region file names it (triage.contacts): never a case."""
        contacts = (self.storage.region.options.get(TRIAGE) or {}).get("contacts") or {}
        try:
            name = self.storage.region.municipality(code).name
        except KeyError:
            name = code
        return {"code": code, "name": name,
                "contact": contacts.get(code, "meldpunt van de gemeente (geen contact in de regio-instellingen)")}

    @api("GET", "/api/v1/signals", query=SignalQuerySchema)
    def list_signals(self, request):
        """The signals of the caller's municipality for their role(s), most urgent first (handled: newest first)."""
        principal = self._principal(request, "signals:read")
        query = load_or_422(instance(SignalQuerySchema), request.args.to_dict())
        with self.storage.case_store(principal.municipality) as uow:
            total, rows = store.list_signals(uow, handlers.visibility(principal), handlers.roles_seen(principal),
                                             STATES[query["state"]], query.get("kind"), query.get("case_id"),
                                             query["limit"], query["offset"])
            uow.audit(principal.actor, "read", f"signals ({len(rows)} of {total})", reason="GET /api/v1/signals")
        return json_response({"municipality": principal.municipality, "state": query["state"], "total": total,
                              "limit": query["limit"], "offset": query["offset"],
                              "items": [self._view(row) for row in rows]})

    @api("GET", "/api/v1/signals/<signal_id>", answer=SignalViewSchema)
    def get_signal(self, request, signal_id):
        principal = self._principal(request, "signals:read")
        signal_uuid = path_uuid(signal_id, "signal")
        with self.storage.case_store(principal.municipality) as uow:
            row = handlers.visible_signal(uow, principal, signal_uuid)
            uow.audit(principal.actor, "read", f"signal {row['kind']}", case_id=row["case_id"],
                      reason="GET /api/v1/signals/{signal_id}")
        return json_response(self._view(row))

    @api("POST", "/api/v1/signals/<signal_id>/take", body=TakeSchema, answer=SignalViewSchema,
         errors={409: "the signal is handled already"})
    def take(self, request, signal_id):
        principal = self._principal(request, "signals:handle")
        load_or_422(instance(TakeSchema), read_json(request, self.storage.settings.max_body_bytes))
        signal_uuid = path_uuid(signal_id, "signal")
        with self.storage.case_store(principal.municipality) as uow:
            row = handlers.take(signal_uuid, uow, principal, self.clock.now())
        return json_response(self._view(row))

    @api("POST", "/api/v1/signals/<signal_id>/handle", body=HandleSchema, answer=SignalViewSchema,
         errors={409: "the signal is handled already"})
    def handle(self, request, signal_id):
        principal = self._principal(request, "signals:handle")
        body = load_or_422(instance(HandleSchema), read_json(request, self.storage.settings.max_body_bytes))
        signal_uuid = path_uuid(signal_id, "signal")
        with self.storage.case_store(principal.municipality) as uow:
            row = handlers.handle(signal_uuid, body["outcome"], uow, principal, self.clock.now(),
                                  self.correlation_id)
            handlers.offer(uow.recorded, uow)
        return json_response(self._view(row))

    # ------------------------------------------------------------------ repeats both ways
    def _repeat_view(self, link: dict) -> dict:
        contact = None
        if link["contact_recorded_at"] is not None:
            contact = {"contacted_on": link["contacted_on"].isoformat(), "outcome": link["contact_outcome"],
                       "by": link["contact_by_name"], "municipality": link["contact_by_municipality"],
                       "recorded_at": link["contact_recorded_at"].isoformat()}
        return instance(RepeatViewSchema).dump({**link, "contact": contact,
                                                "other_municipality": self._contact_point(link["other_municipality"])})

    @api("GET", "/api/v1/repeats", answer=listing("items", RepeatViewSchema))
    def list_repeats(self, request):
        """The municipality's repeats across municipalities, with the other's contact point and the contact
        the coordinators recorded (dates and codes; nothing of either case)."""
        principal = self._principal(request, "repeat:read")
        with self.storage.case_store(principal.municipality) as uow:
            links = store.links(uow)
            uow.audit(principal.actor, "read", f"repeats with other municipalities ({len(links)})",
                      reason="GET /api/v1/repeats")
        return json_response({"municipality": principal.municipality,
                              "items": [self._repeat_view(link) for link in links]})

    @api("POST", "/api/v1/repeats/<link_id>/contact", body=RepeatContactSchema, answer=RepeatViewSchema)
    def record_contact(self, request, link_id):
        """Either coordinator records that the two have been in touch: both municipalities see it, and
        both repeat signals are handled."""
        principal = self._principal(request, "repeat:contact")
        body = load_or_422(instance(RepeatContactSchema), read_json(request, self.storage.settings.max_body_bytes))
        if body["contacted_on"] > (self.clock.now() + timedelta(days=1)).date():
            raise Problem(422, "Unprocessable Content", "one or more fields are invalid",
                          invalid_params=[{"name": "contacted_on", "reason": "lies in the future"}])
        link_uuid = path_uuid(link_id, "repeat")
        now = self.clock.now()
        with self.storage.case_store(principal.municipality) as uow:
            link = handlers.record_contact(link_uuid, body, uow, principal, now,
                                                             self.correlation_id)
        with self.storage.case_store(link["other_municipality"]) as uow:
            handlers.mirror_contact(link, uow, now, self.correlation_id)
        return json_response(self._repeat_view(link))

    # ------------------------------------------------------------------ the delivery log
    @api("GET", "/api/v1/signals-mail", query=MailQuerySchema)
    def mail_log(self, request):
        """The outbox of mails and its delivery log for an operator: kinds, counts, attempts, errors;
        never an address or a case."""
        principal = self._principal(request, "operations:read")
        query = load_or_422(instance(MailQuerySchema), request.args.to_dict())
        with self.storage.case_store(principal.municipality) as uow:
            rows = store.mails(uow, query.get("status"), query["limit"])
            for row in rows:
                row["attempt_log"] = store.mail_attempts(uow, row["mail_id"])
        return json_response({"municipality": principal.municipality, "items": rows})


# Every event the catalogue names this service a consumer of (shared/events.py) gets its handler: a new
# kind of signal is a rule in domain.RULES and the service in the event's consumers, nothing here.
for _spec in CATALOGUE.values():
    if SIGNALS in _spec.consumers and not _spec.wakes_producer:
        setattr(SignalsService, f"on_{_spec.name}", _consumes(_spec.producer, _spec.name))
