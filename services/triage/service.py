"""The triage service's nameko shell: triage incidents, re-triage updates, watch deadlines,
and let staff confirm or override (docs/triage.md)."""
from __future__ import annotations

import contextvars
import logging
import uuid

import eventlet

from nameko.timer import timer
from prometheus_client import Counter

from shared import auth
from shared.db.migrate import REPEAT_INDEX
from shared.dependencies import RegionSecret, Storage
from shared.http import Problem, api, json_response, load_or_422, path_uuid, read_json
from shared.openapi import listing
from shared.messaging.consumer import event_handler
from shared.names import INTAKE, TRIAGE
from shared.dependencies import Encryption
from shared.service import HubService
from shared.schemas import instance

from services.triage import handlers, store
from services.triage.options import region_secret
from services.triage.rules import default_rules
from services.triage.schemas import ConfirmSchema, OverrideSchema, QueueQuerySchema, ResultViewSchema

log = logging.getLogger(__name__)

TRIAGE_OVERDUE = Counter("meldpunt_triage_overdue_total", "Cases not confirmed before their triage deadline",
                         ["municipality", "urgency"])
OVERDUE_SCAN_SECONDS = 30


def _repeat_index(region):
    """(label, dsn) of the region's index of perpetrator keyed hashes, or None (repeat_index.py)."""
    dsn = (region.options.get(TRIAGE) or {}).get("index_dsn")
    return (REPEAT_INDEX, dsn) if dsn else None


# How many other municipalities' stores one repeat check tells at once: each link is a short transaction on
# a store this process most likely holds no connection to (a new PostgreSQL connection costs a fork and
# several milliseconds), so told one after the other the n-th report naming a perpetrator waited n-1 of them
# (issue 25). A few at a time keep one check from taking the whole connection pool.
LINKS_AT_ONCE = 4


def side_by_side(work, items) -> list:
    """`work(item)` for each item in green threads, at most LINKS_AT_ONCE at a time; the results in the
    items' order once every one has ended, or the first failure raised once every one has ended."""
    if len(items) < 2:
        return [work(item) for item in items]
    pool = eventlet.GreenPool(min(LINKS_AT_ONCE, len(items)))
    # each in a copy of this worker's context: its log lines keep the incident's correlation id
    threads = [pool.spawn(contextvars.copy_context().run, work, item) for item in items]
    results, failure = [], None
    for thread in threads:
        try:
            results.append(thread.wait())
        except Exception as exc:  # the others still end (their transactions commit or roll back by themselves)
            failure = failure or exc
    if failure is not None:
        raise failure
    return results


class TriageService(HubService):
    name = TRIAGE
    api_version = "1.2.0"  # docs/api.md#changelog: the queue paged (limit, offset, total)
    storage = Storage(own_database=_repeat_index)
    keyring = Encryption()  # personal data is encrypted at rest (shared/personal_data.py)
    region_secret = RegionSecret()

    @staticmethod
    def check_settings(settings):
        """Called by the runner before start: one clear line when the region secret is missing."""
        region_secret(settings)

    # ------------------------------------------------------------ events
    @event_handler(INTAKE, "incident_reported", acute=True)
    def on_incident_reported(self, event):
        self._triage(event)

    @event_handler(INTAKE, "incident_updated", acute=True)
    def on_incident_updated(self, event):
        self._triage(event)

    @event_handler(INTAKE, "incident_withdrawn")
    def on_incident_withdrawn(self, event):
        with self.storage.case_store(event.municipality) as uow:
            handlers.stop(event, uow, self.clock.now())

    @event_handler(INTAKE, "incident_closed")
    def on_incident_closed(self, event):
        with self.storage.case_store(event.municipality) as uow:
            handlers.stop(event, uow, self.clock.now())

    def _options(self) -> dict:
        return self.storage.region.options.get(TRIAGE) or {}

    def _triage(self, event):
        rules = self._options().get("rules") or default_rules()
        handlers.triage(event, self.storage.case_store, self.storage.region.codes, rules, self.region_secret,
                        index=self._index(), each=side_by_side)

    def _index(self):
        return self.storage.own if self.storage.has_own else None

    # --------------------------------------------------------- deadlines
    @timer(interval=OVERDUE_SCAN_SECONDS)
    def scan_overdue(self):
        """Report each case past its triage deadline once, however many triage instances run; visit
        only the stores with a deadline passed (their due-time index, shared/scan.py)."""
        now = self.clock.now()

        def report(code):
            claimed = store.OVERDUE_BATCH
            while claimed == store.OVERDUE_BATCH:  # catch up completely, one batch per transaction
                with self.storage.case_store(code) as uow:
                    rows = handlers.report_overdue(uow, now)
                for row in rows:
                    TRIAGE_OVERDUE.labels(code, row["urgency"]).inc()
                claimed = len(rows)
        def visit(code):
            report(code)
            if self._index() is not None:  # what the index has not followed yet (repeat_index.py)
                handlers.reconcile_index(code, self.storage.case_store, self._index())
            with self.storage.case_store(code) as uow:
                return store.next_overdue(uow)
        # only the stores with a deadline passed, and now and then each (shared/scan.py)
        self.rotations.each_due(store.OVERDUE_TASK, self.storage.region.codes, OVERDUE_SCAN_SECONDS, now, visit)

    # -------------------------------------------------------------- HTTP
    @api("GET", "/api/v1/triage/queue", query=QueueQuerySchema,
         answer=listing("items", ResultViewSchema, paged=True))
    def get_queue(self, request):
        """Results waiting for staff, most urgent and earliest deadline first, a page at a time."""
        principal = self._principal(request, "triage:read")
        query = load_or_422(instance(QueueQuerySchema), request.args.to_dict())
        with self.storage.case_store(principal.municipality) as uow:
            total, rows = store.queue(uow, auth.case_visibility(principal, "r.case_id"), limit=query["limit"],
                                      offset=query["offset"])
            uow.audit(principal.actor, "read", f"triage queue ({len(rows)} of {total})",
                      reason="GET /api/v1/triage/queue")
        return json_response({"total": total, "limit": query["limit"], "offset": query["offset"],
                              "items": ResultViewSchema(many=True).dump(rows)})

    @api("GET", "/api/v1/triage/<case_id>", answer=ResultViewSchema)
    def get_result(self, request, case_id):
        principal = self._principal(request, "triage:read")
        case_uuid = _case_uuid(case_id)
        with self.storage.case_store(principal.municipality) as uow:
            row = store.get_result(uow, case_uuid)
            if row is None or not auth.visible(principal, uow, case_uuid):
                raise Problem(404, "Not Found", "no triage result for this case")
            row["overdue"] = row["overdue_reported_at"] is not None
            perpetrator_keys = store.keys_of_case(uow, case_uuid, "perpetrator")
            row["repeats"] = {
                "perpetrator_cases": [str(c) for c in store.linked_cases(uow, case_uuid, "perpetrator",
                                                                         perpetrator_keys)],
                "victim_cases": [str(c) for c in store.linked_cases(
                    uow, case_uuid, "victim", store.keys_of_case(uow, case_uuid, "victim"))],
            }
            uow.audit(principal.actor, "read", "triage result", case_id=case_uuid,
                      reason="GET /api/v1/triage/{case_id}")
        # what the other municipalities answered when triage asked them, not a new question: reading a result
        # does not let staff look a perpetrator up across the region at will (issue 21, item 14)
        row["repeats"]["other_municipalities"] = self._contacts(row.get("known_elsewhere") or [])
        return json_response(instance(ResultViewSchema).dump(row))

    def _contacts(self, codes) -> list[dict]:
        contacts = self._options().get("contacts") or {}
        region = self.storage.region
        return [{"municipality": c, "name": region.municipality(c).name,
                 "contact": contacts.get(c, "meldpunt van de gemeente (geen contact in de regio-instellingen)")}
                for c in codes]

    @api("POST", "/api/v1/triage/<case_id>/confirm", body=ConfirmSchema)
    def confirm(self, request, case_id):
        principal = self._principal(request, "triage:decide")
        body = load_or_422(instance(ConfirmSchema), read_json(request, self.storage.settings.max_body_bytes))
        case_uuid = _case_uuid(case_id)
        with self.storage.case_store(principal.municipality) as uow:
            _visible_or_404(principal, uow, case_uuid)
            handlers.confirm(case_uuid, uow, principal.actor, body["reason"], self.clock.now())
        return json_response({"case_id": str(case_uuid), "status": "bevestigd"})

    @api("POST", "/api/v1/triage/<case_id>/override", body=OverrideSchema)
    def override(self, request, case_id):
        principal = self._principal(request, "triage:decide")
        body = load_or_422(instance(OverrideSchema), read_json(request, self.storage.settings.max_body_bytes))
        case_uuid = _case_uuid(case_id)
        with self.storage.case_store(principal.municipality) as uow:
            _visible_or_404(principal, uow, case_uuid)
            handlers.override(case_uuid, uow, principal.actor, body, self.clock.now(), self.correlation_id)
        return json_response({"case_id": str(case_uuid), "status": "overschreven"})


def _case_uuid(case_id: str) -> uuid.UUID:
    return path_uuid(case_id, "case")


def _visible_or_404(principal, uow, case_id) -> None:
    """A case the caller may not see (a conflict of interest, shared/auth.py) looks like no result."""
    if not auth.visible(principal, uow, case_id):
        raise Problem(404, "Not Found", "no triage result for this case")
