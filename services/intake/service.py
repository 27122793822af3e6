"""The intake service's nameko shell: authenticate, validate, store with its event, answer."""
from __future__ import annotations

import uuid

from shared import auth
from shared.http import Problem, api, json_response, load_or_422, read_json
from shared.names import INTAKE
from shared.service import HubService

from services.intake import domain, store
from services.intake.schemas import IncidentCreatedSchema, IncidentReportSchema, IncidentViewSchema


class IntakeService(HubService):
    name = INTAKE

    def _principal(self, request, permission: str) -> auth.Principal:
        principal = auth.authenticate(request.headers.get("Authorization"), self.storage.region,
                                      self.storage.case_store)
        auth.authorize(principal, permission)
        return principal

    @api("POST", "/api/v1/incidents")
    def create_incident(self, request):
        principal = self._principal(request, "incident:create")
        report = load_or_422(IncidentReportSchema(), read_json(request, self.storage.settings.max_body_bytes))
        case_id = uuid.uuid4()
        with self.storage.case_store(principal.municipality) as uow:
            store.insert_incident(uow, case_id, report, channel="api", received_by=principal.actor)
            uow.record("incident_reported", case_id, domain.reported_payload(report, "api"),
                       correlation_id=self.correlation_id)
        body = IncidentCreatedSchema().dump({"case_id": case_id, "status": "ontvangen"})
        return json_response(body, 201, headers={"Location": f"/api/v1/incidents/{case_id}"})

    @api("GET", "/api/v1/incidents/<case_id>")
    def get_incident(self, request, case_id):
        principal = self._principal(request, "incident:read")
        try:
            case_uuid = uuid.UUID(case_id)
        except ValueError:
            raise Problem(404, "Not Found", "no such case") from None
        with self.storage.case_store(principal.municipality) as uow:
            row = store.get_incident(uow, case_uuid)
            if row is None:
                raise Problem(404, "Not Found", "no such case")
            uow.audit(principal.actor, "read", "incident", case_id=case_uuid,
                      reason="GET /api/v1/incidents/{case_id}")
        row["municipality"] = principal.municipality
        row["anonymous"] = domain.is_anonymous(row)
        return json_response(IncidentViewSchema().dump(row))


SERVICE = IntakeService
