"""Aftercare's HTTP entrypoints for witnesses' and colleagues' own care tracks and for handovers to help
(issue 20); AftercareService inherits them, as the workbench's services inherit their pages."""
from __future__ import annotations

from shared import auth
from shared.http import Problem, api, json_response, path_uuid
from shared.schemas import instance

from services.aftercare import handlers, store
from services.aftercare.schemas import (CloseSchema, HandoverSchema, HandoverStepSchema, WitnessContactSchema,
                                        WitnessSchema)

CLOSED = {409: "the care track is closed, or the handover's step is not allowed"}


class CareTracksApi:
    """The /witnesses and /handovers routes of the aftercare API."""

    def _case(self, principal, uow, case_id):
        case_uuid = path_uuid(case_id, "case")
        if not auth.may_see_case(principal, uow, case_uuid):
            raise Problem(404, "Not Found", "no such case")
        return case_uuid

    def _row_case(self, principal, uow, row, what: str):
        if row is None or not auth.visible(principal, uow, row["case_id"]):
            raise Problem(404, "Not Found", f"no such {what}")
        return row

    @api("POST", "/api/v1/aftercare/cases/<case_id>/witnesses", body=WitnessSchema, status=201)
    def add_witness(self, request, case_id):
        """A witness or colleague gets a care track of their own, with their own consent."""
        principal = self._principal(request, "aftercare:write")
        person = self._body(request, instance(WitnessSchema))
        with self.storage.case_store(principal.municipality) as uow:
            track = handlers.add_witness(self._case(principal, uow, case_id), person, uow, principal.actor,
                                         self.options, self.clock.now(), self.correlation_id)
        return json_response(track, 201)

    @api("GET", "/api/v1/aftercare/cases/<case_id>/witnesses")
    def list_witnesses(self, request, case_id):
        """The case's witnesses' and colleagues' tracks, each with who they are; the read is audited."""
        principal = self._principal(request, "aftercare:read")
        with self.storage.case_store(principal.municipality) as uow:
            case_uuid = self._case(principal, uow, case_id)
            tracks = [handlers.witness_track(row["track_id"], uow, principal.actor)
                      for row in store.tracks_of_case(uow, case_uuid)]
        return json_response({"case_id": case_id, "tracks": tracks})

    @api("POST", "/api/v1/aftercare/witnesses/<track_id>/contacts", body=WitnessContactSchema, status=201,
         errors=CLOSED)
    def witness_contact(self, request, track_id):
        principal = self._principal(request, "aftercare:write")
        contact = self._body(request, instance(WitnessContactSchema))
        track_uuid = path_uuid(track_id, "care track")
        with self.storage.case_store(principal.municipality) as uow:
            self._row_case(principal, uow, store.get_track(uow, track_uuid), "care track")
            body = handlers.witness_contact(track_uuid, contact, uow, principal.actor, self.correlation_id)
        return json_response(body, 201)

    @api("POST", "/api/v1/aftercare/witnesses/<track_id>/close", body=CloseSchema, errors=CLOSED)
    def close_witness(self, request, track_id):
        principal = self._principal(request, "aftercare:write")
        reason = self._body(request, instance(CloseSchema))["reason"]
        track_uuid = path_uuid(track_id, "care track")
        with self.storage.case_store(principal.municipality) as uow:
            self._row_case(principal, uow, store.get_track(uow, track_uuid), "care track")
            handlers.close_witness(track_uuid, "closed", reason, uow, principal.actor, self.clock.now(),
                                   self.correlation_id)
        return json_response({"track_id": track_id, "status": "closed", "reason": reason})

    @api("POST", "/api/v1/aftercare/cases/<case_id>/handovers", body=HandoverSchema, status=201)
    def propose_handover(self, request, case_id):
        """A referral to help as a handover to a partner, with the person's consent."""
        principal = self._principal(request, "aftercare:write")
        proposal = self._body(request, instance(HandoverSchema))
        with self.storage.case_store(principal.municipality) as uow:
            body = handlers.propose_handover(self._case(principal, uow, case_id), proposal, uow, principal.actor,
                                             self.options, self.clock.now(), self.correlation_id)
        return json_response(body, 201)

    @api("GET", "/api/v1/aftercare/cases/<case_id>/handovers")
    def list_handovers(self, request, case_id):
        principal = self._principal(request, "aftercare:read")
        with self.storage.case_store(principal.municipality) as uow:
            rows = store.handovers_of_case(uow, self._case(principal, uow, case_id))
            uow.audit(principal.actor, "read", f"handovers to help ({len(rows)})", case_id=path_uuid(case_id, "case"))
        return json_response({"case_id": case_id, "handovers": [handlers.handover_view(r, self.options) for r in rows]})

    @api("POST", "/api/v1/aftercare/handovers/<handover_id>/steps", body=HandoverStepSchema, errors=CLOSED)
    def handover_step(self, request, handover_id):
        """Handed over (the fields the partner got: a ledger row), finished or refused."""
        principal = self._principal(request, "aftercare:write")
        step = self._body(request, instance(HandoverStepSchema))
        handover_uuid = path_uuid(handover_id, "handover")
        with self.storage.case_store(principal.municipality) as uow:
            self._row_case(principal, uow, store.get_handover(uow, handover_uuid), "handover")
            body = handlers.handover_step(handover_uuid, step, uow, principal.actor, self.options, self.clock.now(),
                                          self.correlation_id)
        return json_response(body)
