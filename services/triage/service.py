"""The triage service's nameko shell: triage incidents, re-triage updates, watch deadlines,
and let staff confirm or override (docs/triage.md)."""
from __future__ import annotations

import logging
import uuid

from nameko.timer import timer
from prometheus_client import Counter

from shared import vocabulary as v
from shared.dependencies import RegionSecret
from shared.http import Problem, api, json_response, load_or_422, path_uuid, read_json
from shared.messaging.consumer import event_handler
from shared.names import INTAKE, TRIAGE
from shared.dependencies import Encryption
from shared.service import HubService
from shared.schemas import instance

from services.triage import domain, identity, store
from services.triage.options import region_secret
from services.triage.rules import default_rules
from services.triage.schemas import ConfirmSchema, OverrideSchema, ResultViewSchema

log = logging.getLogger(__name__)

TRIAGE_OVERDUE = Counter("meldpunt_triage_overdue_total", "Cases not confirmed before their triage deadline",
                         ["municipality", "urgency"])
OVERDUE_SCAN_SECONDS = 30


class TriageService(HubService):
    name = TRIAGE
    keyring = Encryption()  # personal data is encrypted at rest (shared/personal_data.py)
    region_secret = RegionSecret()

    @staticmethod
    def check_settings(settings):
        """Called by the runner before start: one clear line when the region secret is missing."""
        region_secret(settings)

    # ------------------------------------------------------------ events
    @event_handler(INTAKE, "incident_reported")
    def on_incident_reported(self, event):
        self._triage(event)

    @event_handler(INTAKE, "incident_updated")
    def on_incident_updated(self, event):
        self._triage(event)

    def _options(self) -> dict:
        return self.storage.region.options.get(TRIAGE) or {}

    def _triage(self, event):
        """Decide in one transaction, and let the decision go out; only then ask the other
        municipalities about a perpetrator new to the case (one query per store), and settle
        that repeat in a second transaction. The referral never waits for the region, nor for
        a store that does not answer: that failure retries the repeat check alone."""
        rules = self._options().get("rules") or default_rules()
        with self.storage.case_store(event.municipality) as uow:
            incident = store.get_incident(uow, event.case_id) or {}
            keys = identity.keys_of(self.region_secret, incident.get("perpetrators") or [], incident.get("reporter"))
            if uow.first_delivery(event):
                asks_elsewhere = self._decide(uow, event, incident, keys, rules)
            else:  # redelivered: the decision stands; a repeat check it left may still be open
                asks_elsewhere = bool(keys["perpetrator"]) and store.repeat_check(uow, event.event_id) is not None
        if asks_elsewhere:
            self._settle_repeat_elsewhere(event, keys["perpetrator"])

    def _decide(self, uow, event, incident, keys, rules) -> bool:
        """Triage the incident, store the result and its keyed hashes, record what it brings.
        True when a perpetrator new to the case is still to be asked about elsewhere."""
        result = domain.triage(event.payload, rules, incident.get("description"))
        received_at = incident.get("received_at") or event.occurred_at
        # the service itself read the description and identifiers: that too is a read of personal data
        uow.audit("service:triage", "read", "incident (description, identifiers) for triage",
                  case_id=event.case_id, reason=f"{event.event_type} {event.event_id}")
        store.save_result(uow, event.case_id, result, received_at,
                          domain.due_at(received_at, result.urgency, rules))
        known_before = store.replace_keys(uow, event.case_id, keys)
        uow.record("incident_triaged", event.case_id, {
            "categories": result.categories,
            "urgency": result.urgency,
            "decisions": result.decisions,
            "rules_version": result.rules_version,
            "occurred_at": event.payload["occurred_at"],
            "location_type": event.payload["location_type"],
            "target_role": event.payload["target_role"],
        }, correlation_id=event.correlation_id, priority=result.priority)
        asks_elsewhere = False
        for kind in v.REPEAT_KINDS:
            if keys[kind] <= known_before.get(kind, set()):
                continue  # a re-triage with no new identifiers: this repeat was reported already
            linked = store.count_linked(uow, event.case_id, kind, keys[kind])
            if kind == "perpetrator":  # the region's answer comes after this transaction
                store.open_repeat_check(uow, event.event_id, event.case_id, linked, result.priority)
                asks_elsewhere = True
            elif linked:
                uow.record("repeat_detected", event.case_id, {
                    "kind": kind, "cases_in_municipality": linked, "other_municipalities": 0,
                }, correlation_id=event.correlation_id, priority=result.priority)
        return asks_elsewhere

    def _settle_repeat_elsewhere(self, event, hashes):
        """Ask the other stores (no transaction held meanwhile), then close the check and record
        the repeat once: a second delivery finds the check closed."""
        elsewhere = self._known_elsewhere(event.municipality, hashes)
        with self.storage.case_store(event.municipality) as uow:
            check = store.close_repeat_check(uow, event.event_id)
            if check is not None and (check["linked"] or elsewhere):
                uow.record("repeat_detected", event.case_id, {
                    "kind": "perpetrator", "cases_in_municipality": check["linked"],
                    "other_municipalities": len(elsewhere),
                }, correlation_id=event.correlation_id, priority=check["priority"])

    def _known_elsewhere(self, municipality: str, hashes) -> list[str]:
        """Codes of the other municipalities whose store knows any of these keyed hashes; they
        answer yes or no, nothing about their cases."""
        if not hashes:
            return []
        known = []
        for code in self.storage.region.codes:
            if code != municipality:
                with self.storage.case_store(code) as uow:
                    if store.knows_perpetrator(uow, hashes):
                        known.append(code)
        return known

    # --------------------------------------------------------- deadlines
    @timer(interval=OVERDUE_SCAN_SECONDS)
    def scan_overdue(self):
        """Report each case past its triage deadline once, however many triage instances run
        (a large region's stores in turn, shared/scan.py)."""
        now = self.clock.now()
        for code in self.rotations.due("overdue", self.storage.region.codes, OVERDUE_SCAN_SECONDS):
            claimed = store.OVERDUE_BATCH
            while claimed == store.OVERDUE_BATCH:  # catch up completely, one batch per transaction
                with self.storage.case_store(code) as uow:
                    rows = store.claim_overdue(uow, now)
                    for row in rows:
                        uow.record("triage_overdue", row["case_id"],
                                   {"urgency": row["urgency"], "due_at": row["due_at"]},
                                   priority=v.URGENCY_PRIORITY[row["urgency"]])
                        TRIAGE_OVERDUE.labels(code, row["urgency"]).inc()
                claimed = len(rows)

    # -------------------------------------------------------------- HTTP
    @api("GET", "/api/v1/triage/queue")
    def get_queue(self, request):
        """Results waiting for staff, most urgent and earliest deadline first."""
        principal = self._principal(request, "triage:read")
        with self.storage.case_store(principal.municipality) as uow:
            rows = store.queue(uow)
            uow.audit(principal.actor, "read", "triage queue", reason="GET /api/v1/triage/queue")
        return json_response({"items": ResultViewSchema(many=True).dump(rows)})

    @api("GET", "/api/v1/triage/<case_id>")
    def get_result(self, request, case_id):
        principal = self._principal(request, "triage:read")
        case_uuid = _case_uuid(case_id)
        with self.storage.case_store(principal.municipality) as uow:
            row = store.get_result(uow, case_uuid)
            if row is None:
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
        row["repeats"]["other_municipalities"] = self._contacts(
            self._known_elsewhere(principal.municipality, perpetrator_keys))
        return json_response(instance(ResultViewSchema).dump(row))

    def _contacts(self, codes) -> list[dict]:
        contacts = self._options().get("contacts") or {}
        region = self.storage.region
        return [{"municipality": c, "name": region.municipality(c).name,
                 "contact": contacts.get(c, "meldpunt van de gemeente (geen contact in de regio-instellingen)")}
                for c in codes]

    @api("POST", "/api/v1/triage/<case_id>/confirm")
    def confirm(self, request, case_id):
        principal = self._principal(request, "triage:decide")
        body = load_or_422(instance(ConfirmSchema), read_json(request, self.storage.settings.max_body_bytes))
        case_uuid = _case_uuid(case_id)
        with self.storage.case_store(principal.municipality) as uow:
            row = store.get_result(uow, case_uuid, lock=True)
            if row is None:
                raise Problem(404, "Not Found", "no triage result for this case")
            store.decide(uow, case_uuid, "bevestigd", principal.actor, self.clock.now(), row["categories"],
                         row["urgency"], row["decisions"], row["reasons"])
            uow.audit(principal.actor, "confirm", "triage result", case_id=case_uuid, reason=body["reason"])
        return json_response({"case_id": str(case_uuid), "status": "bevestigd"})

    @api("POST", "/api/v1/triage/<case_id>/override")
    def override(self, request, case_id):
        principal = self._principal(request, "triage:decide")
        body = load_or_422(instance(OverrideSchema), read_json(request, self.storage.settings.max_body_bytes))
        case_uuid = _case_uuid(case_id)
        with self.storage.case_store(principal.municipality) as uow:
            row = store.get_result(uow, case_uuid, lock=True)
            if row is None:
                raise Problem(404, "Not Found", "no triage result for this case")
            consent = (uow.fetchone("SELECT consent FROM intake.incidents WHERE case_id = %s", (case_uuid,))
                       or {}).get("consent") or {}
            refused = domain.refused_by_consent(body["decisions"], consent)
            if refused:
                raise Problem(422, "Unprocessable Content", "the reporter did not consent to this",
                              invalid_params=[{"name": "decisions", "reason": r} for r in refused])
            categories = [c for c in v.CATEGORIES if c in body["categories"]]
            decisions = [d for d in v.DECISIONS if d in body["decisions"]]
            reasons = list(row["reasons"]) + [f"Aangepast door medewerker: {body['reason']}"]
            store.decide(uow, case_uuid, "overschreven", principal.actor, self.clock.now(), categories,
                         body["urgency"], decisions, reasons)
            uow.audit(principal.actor, "override", "triage result", case_id=case_uuid, reason=(
                f"{body['reason']} (was {row['urgency']} {','.join(row['categories'])} "
                f"[{','.join(row['decisions'])}], nu {body['urgency']} {','.join(categories)} "
                f"[{','.join(decisions)}])"))
            uow.record("triage_overridden", case_uuid, {
                "categories": categories, "urgency": body["urgency"], "decisions": decisions,
                "previous_urgency": row["urgency"], "previous_decisions": list(row["decisions"]),
                "rules_version": row["rules_version"],
            }, correlation_id=self.correlation_id, priority=v.URGENCY_PRIORITY[body["urgency"]])
        return json_response({"case_id": str(case_uuid), "status": "overschreven"})


def _case_uuid(case_id: str) -> uuid.UUID:
    return path_uuid(case_id, "case")


SERVICE = TriageService
