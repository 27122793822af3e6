"""The intake service's nameko shell: every channel in — partner API, staff, public form, follow-up —
read (api_requests.py, public.py), handled (handlers.py) and answered."""
from __future__ import annotations

import hashlib

from shared import auth
from shared.dependencies import Encryption
from shared.http import Problem, api, json_response, path_uuid
from shared.names import INTAKE
from shared.service import HubService
from shared.schemas import instance

from services.intake import api_requests, domain, handlers, openapi, public, store, web
from services.intake.casework import Casework
from services.intake.options import intake_options
from services.intake.schemas import DraftSchema, IncidentCreatedSchema, IncidentViewSchema


class IntakeService(Casework, HubService):
    api_version = openapi.API_VERSION
    name = INTAKE
    form_guard = public.PublicFormGuard()
    keyring = Encryption()  # personal data and keys' signing secrets are encrypted at rest (shared/personal_data.py)

    @property
    def _options(self):
        return intake_options(self.storage.region)

    @property
    def signature_window_seconds(self) -> int:
        return self._options["signature_window_seconds"]

    def _principal(self, request, permission: str) -> auth.Principal:
        """The caller's key or person (HubService, which also checks a signing key's signature), refusals in
        the caller's language."""
        try:
            principal, _ = self._authenticated(request, permission)
        except (auth.Unauthorized, auth.Forbidden) as refused:
            raise self._refusal(request, refused) from None
        return principal

    def _principal_to_confirm(self, request, permission: str):
        """HubService's, refusals in the caller's language; `confirm(uow)` as well."""
        try:
            principal, confirm = super()._principal_to_confirm(request, permission)
        except (auth.Unauthorized, auth.Forbidden) as refused:
            raise self._refusal(request, refused) from None

        def confirmed(uow):
            try:
                confirm(uow)
            except auth.Unauthorized as refused:
                raise self._refusal(request, refused) from None
        return principal, confirmed

    @staticmethod
    def _refusal(request, refused: Exception) -> Problem:
        lang = web.api_language(request)
        unauthorized = isinstance(refused, auth.Unauthorized)
        reason = web.auth_reason(str(refused), lang)
        return Problem(401 if unauthorized else 403, "Unauthorized" if unauthorized else "Forbidden", reason,
                       invalid_params=[{"name": "Authorization", "reason": reason}],
                       headers={"WWW-Authenticate": 'Bearer realm="meldpunt"'} if unauthorized else None)

    def _max_upload_bytes(self) -> int:
        return api_requests.max_upload_bytes(self.storage.settings, self._options)

    _max_signed_body_bytes = _max_upload_bytes  # a signed evidence upload is signed over the whole file

    # ============================================================ partner API and staff

    @api("POST", "/api/v1/incidents")
    def create_incident(self, request):
        # a key this process found good before is read again in the incident's own transaction (docs/security.md)
        principal, confirm = self._principal_to_confirm(request, "incident:create")
        idempotency_key = api_requests.idempotency_key(request)
        data = api_requests.read_json(request, self.storage.settings.max_body_bytes)
        request_hash = hashlib.sha256(request.get_data(cache=True)).hexdigest()
        with self.storage.case_store(principal.municipality) as uow:
            confirm(uow)
            if idempotency_key is not None:
                first = self._first_answer(request, uow, principal, idempotency_key, request_hash)
                if first is not None:
                    return first
            channel = api_requests.channel_of(principal, data, web.api_language(request))
            report = api_requests.load_report(request, data)
            receipt_code, secret = handlers.new_receipt()
            case_id = handlers.report_incident(report, channel, uow, principal.actor, self.correlation_id,
                                               receipt=(receipt_code, domain.hash_secret(secret)))
            body = instance(IncidentCreatedSchema).dump({"case_id": case_id, "status": "ontvangen",
                                                         "receipt_code": receipt_code, "secret": secret})
            if idempotency_key is not None:
                store.remember_answer(uow, principal.key_id, idempotency_key, request_hash, 201, body, case_id)
        return json_response(body, 201, headers={"Location": f"/api/v1/incidents/{case_id}"})

    @staticmethod
    def _first_answer(request, uow, principal, idempotency_key: str, request_hash: str):
        """The first answer to a retried key, or None the first time."""
        # Serialise retries of one key: the second waits here, then finds the first answer.
        uow.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"{principal.key_id}:{idempotency_key}",)).close()
        first = store.idempotent_answer(uow, principal.key_id, idempotency_key)
        if first is None:
            return None
        if first["request_hash"] != request_hash:
            raise web.api_problem(409, "Conflict", web.api_language(request), "idempotency_key_used",
                                  "Idempotency-Key")
        case_id = first["response"]["case_id"]
        return json_response(first["response"], first["status_code"],
                             headers={"Location": f"/api/v1/incidents/{case_id}", "Idempotent-Replayed": "true"})

    @api("GET", "/api/v1/incidents/<case_id>")
    def get_incident(self, request, case_id):
        principal = self._principal(request, "incident:read")
        case_uuid = path_uuid(case_id, "case")
        with self.storage.case_store(principal.municipality) as uow:
            if not auth.may_see_case(principal, uow, case_uuid):
                raise Problem(404, "Not Found", "no such case")
            row = handlers.case_for(principal, uow, case_uuid)
        return json_response(instance(IncidentViewSchema).dump(row))

    @api("POST", "/api/v1/incidents/<case_id>/evidence")
    def add_evidence(self, request, case_id):
        """One evidence file, as the raw body or the `file` field of a multipart/form-data body; its kind
        is decided by its content, never its name."""
        principal = self._principal(request, "evidence:add")
        case_uuid = path_uuid(case_id, "case")
        lang = web.api_language(request)
        options = self._options
        with self.storage.case_store(principal.municipality) as uow:
            self._locked_case(uow, principal, case_uuid)  # another's case is 404 before the upload is read
        filename, content = api_requests.upload(request, options, self._max_upload_bytes(), lang)
        with self.storage.case_store(principal.municipality) as uow:
            self._locked_case(uow, principal, case_uuid)
            if not domain.may_change(handlers.status(uow, case_uuid)):
                raise web.api_problem(409, "Conflict", lang, "case_closed", "case_id")
            try:
                evidence_id, media_type, count = handlers.add_evidence(
                    case_uuid, filename, content, uow, principal.actor, "api", options, self.correlation_id)
            except domain.EvidenceRefused as refused:
                raise web.evidence_problem(refused, lang) from None
        return json_response({"evidence_id": str(evidence_id), "case_id": str(case_uuid), "media_type": media_type,
                              "size_bytes": len(content), "sha256": hashlib.sha256(content).hexdigest(),
                              "evidence_count": count}, 201, headers={"Location": f"/api/v1/incidents/{case_uuid}"})

    @api("GET", "/api/v1/drafts")
    def drafts(self, request):
        """Cases read from the meldpunt mailbox that staff have yet to complete."""
        principal = self._principal(request, "draft:complete")
        with self.storage.case_store(principal.municipality) as uow:
            rows = store.list_drafts(uow)
        return json_response({"drafts": DraftSchema(many=True).dump(rows)})

    @api("POST", "/api/v1/incidents/<case_id>/complete")
    def complete(self, request, case_id):
        """Staff complete a draft with the full report (same body as POST /api/v1/incidents): from now on it
        is a case like any other, and its incident_reported event goes out."""
        principal = self._principal(request, "draft:complete")
        case_uuid = path_uuid(case_id, "case")
        with self.storage.case_store(principal.municipality) as uow:
            if not auth.may_see_case(principal, uow, case_uuid):  # another's case is 404 before the body is read
                raise Problem(404, "Not Found", "no such case")
        # the body is read (and checked) holding no connection and no lock: a slow client holds neither
        report = api_requests.load_report(request, api_requests.read_json(
            request, self.storage.settings.max_body_bytes))
        with self.storage.case_store(principal.municipality) as uow:
            row = self._locked_case(uow, principal, case_uuid)
            if not handlers.complete_draft(case_uuid, report, uow, principal.actor, row["channel"],
                                           self.correlation_id):
                raise web.api_problem(409, "Conflict", web.api_language(request), "not_a_draft", "case_id")
            receipt_code, secret = handlers.issue_receipt(uow, case_uuid)  # staff reply to the mail with them
        return json_response(instance(IncidentCreatedSchema).dump({
            "case_id": case_uuid, "status": "ontvangen", "receipt_code": receipt_code, "secret": secret}), 200,
            headers={"Location": f"/api/v1/incidents/{case_uuid}"})

    @staticmethod
    def _locked_case(uow, principal, case_uuid) -> dict:
        """The case, locked for a change; 404 for no such case or one this key may not see."""
        row = store.lock_incident(uow, case_uuid)
        if row is None or not auth.may_see_case(principal, uow, case_uuid):
            raise Problem(404, "Not Found", "no such case")
        return row

    @classmethod
    def openapi_document(cls) -> dict:
        """The intake API's OpenAPI 3 document, written out in services/intake/openapi.py (served by
        HubService.openapi; also docs/openapi/intake.json)."""
        return openapi.document()

    # ============================================================ public form and follow-up

    def _pages(self) -> public.Pages:
        return public.Pages(self.storage.region, self._options, self.form_guard, self.storage.case_store,
                            self.correlation_id, self.storage.settings.trusted_proxies)

    @api("GET", "/meld")
    def picker(self, request):
        return self._pages().picker(request)

    @api("GET", "/meld/privacy")
    def privacy_statement(self, request):
        """The privacy statement (AVG art. 13): who processes, why, how long, who receives, rights, the FG."""
        return self._pages().statement(request, "privacy.html")

    @api("GET", "/meld/toegankelijkheid")
    def accessibility_statement(self, request):
        """The accessibility statement the Besluit digitale toegankelijkheid overheid asks for."""
        return self._pages().statement(request, "accessibility.html")

    @api("GET", "/favicon.ico")
    def favicon(self, request):
        return public.favicon()

    @api("GET", "/robots.txt")
    def robots(self, request):
        return public.robots()

    @api("GET", "/meld/static/meld.css")
    def stylesheet(self, request):
        return public.stylesheet()

    @api("GET", "/meld/<code>")
    def form(self, request, code):
        pages = self._pages()
        if pages.municipality(code) is None:
            return pages.picker(request, 404)
        return pages.form_page(request, code, "form.html", values={"reporter_relation": "target"})

    @api("POST", "/meld/<code>")
    def submit(self, request, code):
        pages = self._pages()
        return pages.picker(request, 404) if pages.municipality(code) is None else pages.submit(request, code)

    @api("GET", "/meld/<code>/volg")
    def follow_form(self, request, code):
        pages = self._pages()
        if pages.municipality(code) is None:
            return pages.picker(request, 404)
        return pages.form_page(request, code, "follow.html", case=None)

    @api("POST", "/meld/<code>/volg")
    def follow(self, request, code):
        pages = self._pages()
        return pages.picker(request, 404) if pages.municipality(code) is None else pages.follow(request, code)
