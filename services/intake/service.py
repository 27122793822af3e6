"""The intake service's nameko shell: authenticate, validate, store with its event, answer."""
from __future__ import annotations

import hashlib
import re
import uuid

from shared import auth
from shared.http import Problem, api, json_response, load_or_422, read_json
from shared.names import INTAKE
from shared.service import HubService

from services.intake import domain, store
from services.intake.schemas import IncidentCreatedSchema, IncidentReportSchema, IncidentViewSchema


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


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
        idempotency_key = request.headers.get("Idempotency-Key")
        if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
            raise Problem(400, "Bad Request", "Idempotency-Key must be 1 to 200 visible ASCII characters",
                          invalid_params=[{"name": "Idempotency-Key", "reason": "1 to 200 visible ASCII characters"}])
        data = read_json(request, self.storage.settings.max_body_bytes)
        request_hash = hashlib.sha256(request.get_data(cache=True)).hexdigest()
        with self.storage.case_store(principal.municipality) as uow:
            if idempotency_key is not None:
                # Serialise retries of one key: the second waits here, then finds the first answer.
                uow.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                            (f"{principal.key_id}:{idempotency_key}",)).close()
                first = store.idempotent_answer(uow, principal.key_id, idempotency_key)
                if first is not None:
                    if first["request_hash"] != request_hash:
                        raise Problem(409, "Conflict", "this Idempotency-Key was used for a different body",
                                      invalid_params=[{"name": "Idempotency-Key",
                                                       "reason": "already used for a different body"}])
                    case_id = first["response"]["case_id"]
                    return json_response(first["response"], first["status_code"],
                                         headers={"Location": f"/api/v1/incidents/{case_id}",
                                                  "Idempotent-Replayed": "true"})
            report = load_or_422(IncidentReportSchema(), data)
            case_id = uuid.uuid4()
            store.insert_incident(uow, case_id, report, channel="api", received_by=principal.actor)
            uow.record("incident_reported", case_id, domain.reported_payload(report, "api"),
                       correlation_id=self.correlation_id)
            body = IncidentCreatedSchema().dump({"case_id": case_id, "status": "ontvangen"})
            if idempotency_key is not None:
                store.remember_answer(uow, principal.key_id, idempotency_key, request_hash, 201, body, case_id)
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
        row["anonymous"] = row["reporter"] is None
        return json_response(IncidentViewSchema().dump(row))


SERVICE = IntakeService
