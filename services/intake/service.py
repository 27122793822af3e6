"""The intake service's nameko shell: every channel in — partner API, staff, public form, follow-up —
validated, stored with its event through the outbox, and answered."""
from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from pathlib import Path

from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from shared import auth, case_progress
from shared import vocabulary as v
from shared.http import (PAGE_HEADERS, Problem, api, invalid_params, json_response, load_or_422, path_uuid,
                         read_json)
from shared.names import INTAKE
from shared.dependencies import Encryption
from shared.service import HubService
from shared.schemas import instance

from services.police_liaison.service import police_status_of

from services.intake import domain, openapi, signatures, store, web
from services.intake.options import intake_options
from services.intake.schemas import (DraftSchema, IncidentCreatedSchema, IncidentReportSchema,
                                     IncidentViewSchema)

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
STATIC = Path(__file__).with_name("static")
STAFF_CHANNELS = ("telefoon", "balie", "brief")


class PublicFormGuard(DependencyProvider):
    """One CSRF signer and one rate limiter per intake process, shared by all its workers."""

    def setup(self):
        self._made = None

    def get_dependency(self, worker_ctx):
        return self

    def for_options(self, options: dict):
        if self._made is None:
            self._made = (web.FormGuard(options["form_secret"]),
                          web.TokenBucket(options["form_rate_per_minute"], options["form_burst"]))
        return self._made


def status_shown(uow, case_id) -> str:
    """The status the reporter sees (domain.reporter_status), read where the work was done
    (shared/case_progress.py: triage's result, the referral, the care plan, in this same case
    store)."""
    p = case_progress.progress_of(uow, case_id)
    return domain.reporter_status(p.own_status, triaged=p.triaged, referred=p.referred, planned=p.planned,
                                  closed=p.closed_since is not None)


def _page(html: str, status: int = 200, headers: dict | None = None) -> Response:
    return Response(html, status=status, mimetype="text/html", headers={**PAGE_HEADERS, **(headers or {})})


class IntakeService(HubService):
    name = INTAKE
    form_guard = PublicFormGuard()
    keyring = Encryption()  # personal data and keys' signing secrets are encrypted at rest (shared/personal_data.py)

    # ============================================================ keys and signatures

    def _principal(self, request, permission: str) -> auth.Principal:
        """The caller's key (HubService), and — for a key with a signing secret — its request signature."""
        lang = web.api_language(request)
        try:
            principal, secret = self._authenticated(request, permission, also=self._signing_secret)
        except auth.Unauthorized as refused:
            raise Problem(401, "Unauthorized", web.auth_reason(str(refused), lang),
                          invalid_params=[{"name": "Authorization", "reason": web.auth_reason(str(refused), lang)}],
                          headers={"WWW-Authenticate": 'Bearer realm="meldpunt"'}) from None
        except auth.Forbidden as refused:
            raise Problem(403, "Forbidden", web.auth_reason(str(refused), lang),
                          invalid_params=[{"name": "Authorization", "reason": web.auth_reason(str(refused), lang)}]) \
                from None
        if secret is None:
            return principal
        window = self._options["signature_window_seconds"]
        try:
            body = self._body(request, self._max_upload_bytes())
            signed = signatures.verify(secret, request.headers.get(signatures.TIMESTAMP_HEADER),
                                       request.headers.get(signatures.SIGNATURE_HEADER), body,
                                       self.clock.now().timestamp(), window)
            with self.storage.case_store(principal.municipality) as uow:
                # committed at once, whatever the request then does: a signature is good for one request
                if not store.first_sighting(uow, principal.key_id, signed, window):
                    raise signatures.SignatureRefused("replayed", signatures.SIGNATURE_HEADER)
        except signatures.SignatureRefused as refused:
            raise Problem(401, "Unauthorized", signatures.DETAIL[lang],
                          invalid_params=[{"name": refused.header,
                                           "reason": signatures.REASONS[refused.code][lang].format(window=window)}],
                          headers={"WWW-Authenticate": 'Bearer realm="meldpunt"'}) from None
        return principal

    def _signing_secret(self, uow, principal) -> str | None:
        """The key's signing secret, decrypted; None for a key that does not sign."""
        encrypted = store.signing_secret(uow, principal.key_id)
        if encrypted is None:
            return None
        return self.keyring.decrypt(uow, store.SIGNING_TABLE, "secret", principal.key_id, encrypted).decode("utf-8")

    @staticmethod
    def _read_json(request, max_bytes: int):
        """shared.http.read_json, its refusal naming the body (or its Content-Type) in the caller's language."""
        try:
            return read_json(request, max_bytes)
        except Problem as problem:
            lang = web.api_language(request)
            field, key = {415: ("Content-Type", "json_type"), 413: ("body", "body_size"),
                          400: ("body", "json_syntax")}[problem.status]
            raise web.api_problem(problem.status, problem.title, lang, key, field, limit=max_bytes) from None

    @staticmethod
    def _body(request, max_bytes: int) -> bytes:
        request.max_content_length = max_bytes
        if request.content_length is not None and request.content_length > max_bytes:
            raise Problem(413, "Content Too Large", f"the body may be at most {max_bytes} bytes")
        try:
            return request.get_data(cache=True)
        except RequestEntityTooLarge:
            raise Problem(413, "Content Too Large", f"the body may be at most {max_bytes} bytes") from None

    def _max_upload_bytes(self) -> int:
        # an evidence upload (one file, maybe in a multipart envelope) or a JSON body
        return max(self.storage.settings.max_body_bytes, self._options["max_file_bytes"] + 64 * 1024)

    # ============================================================ partner API and staff

    def _load_report(self, request, data):
        try:
            return load_or_422(instance(IncidentReportSchema), data)
        except Problem as problem:
            lang = web.api_language(request)
            if lang != "en" and problem.invalid_params:
                for param in problem.invalid_params:
                    param["reason"] = web.message(param["reason"], lang)
                problem.detail = "een of meer velden kloppen niet"
            raise

    @staticmethod
    def _channel_of(principal: auth.Principal, data, lang: str) -> str:
        """Staff say how the report came in (telefoon, balie, brief); a municipality's channel is `api`."""
        asked = data.pop("channel", None) if isinstance(data, dict) else None
        if principal.role in (auth.STAFF, auth.COORDINATOR):
            if asked not in STAFF_CHANNELS:
                raise web.api_problem(422, "Unprocessable Content", lang, "staff_channel", "channel")
            return asked
        if asked not in (None, "api"):
            raise web.api_problem(422, "Unprocessable Content", lang, "api_channel", "channel")
        return "api"

    @api("POST", "/api/v1/incidents")
    def create_incident(self, request):
        principal = self._principal(request, "incident:create")
        idempotency_key = request.headers.get("Idempotency-Key")
        if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
            raise web.api_problem(400, "Bad Request", web.api_language(request), "idempotency_key_format",
                                  "Idempotency-Key")
        data = self._read_json(request, self.storage.settings.max_body_bytes)
        request_hash = hashlib.sha256(request.get_data(cache=True)).hexdigest()
        with self.storage.case_store(principal.municipality) as uow:
            if idempotency_key is not None:
                # Serialise retries of one key: the second waits here, then finds the first answer.
                uow.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                            (f"{principal.key_id}:{idempotency_key}",)).close()
                first = store.idempotent_answer(uow, principal.key_id, idempotency_key)
                if first is not None:
                    if first["request_hash"] != request_hash:
                        raise web.api_problem(409, "Conflict", web.api_language(request), "idempotency_key_used",
                                              "Idempotency-Key")
                    case_id = first["response"]["case_id"]
                    return json_response(first["response"], first["status_code"],
                                         headers={"Location": f"/api/v1/incidents/{case_id}",
                                                  "Idempotent-Replayed": "true"})
            channel = self._channel_of(principal, data, web.api_language(request))
            report = self._load_report(request, data)
            case_id = uuid.uuid4()
            store.insert_incident(uow, case_id, report, channel=channel, received_by=principal.actor)
            uow.record("incident_reported", case_id, domain.reported_payload(report, channel),
                       correlation_id=self.correlation_id)
            uow.audit(principal.actor, "create" if channel == "api" else "register", "incident", case_id=case_id,
                      reason="POST /api/v1/incidents" if channel == "api" else f"staff: {channel}")
            body = instance(IncidentCreatedSchema).dump({"case_id": case_id, "status": "ontvangen"})
            if idempotency_key is not None:
                store.remember_answer(uow, principal.key_id, idempotency_key, request_hash, 201, body, case_id)
        return json_response(body, 201, headers={"Location": f"/api/v1/incidents/{case_id}"})

    @api("GET", "/api/v1/incidents/<case_id>")
    def get_incident(self, request, case_id):
        principal = self._principal(request, "incident:read")
        case_uuid = path_uuid(case_id, "case")
        with self.storage.case_store(principal.municipality) as uow:
            row = store.get_incident(uow, case_uuid)
            if row is None or not auth.may_see_case(principal, uow, case_uuid):
                raise Problem(404, "Not Found", "no such case")
            uow.audit(principal.actor, "read", "incident", case_id=case_uuid,
                      reason="GET /api/v1/incidents/{case_id}")
            row["evidence"] = store.list_evidence(uow, case_uuid)
            row["status"] = status_shown(uow, case_uuid)
        row["municipality"] = principal.municipality
        row["anonymous"] = domain.is_anonymous(row)
        return json_response(instance(IncidentViewSchema).dump(row))

    @api("POST", "/api/v1/incidents/<case_id>/evidence")
    def add_evidence(self, request, case_id):
        """One evidence file, as the raw body (file name in Content-Disposition or X-Filename) or as the
        `file` field of a multipart/form-data body; its kind is decided by its content, never its name."""
        principal = self._principal(request, "evidence:add")
        case_uuid = path_uuid(case_id, "case")
        lang = web.api_language(request)
        options = self._options
        with self.storage.case_store(principal.municipality) as uow:
            self._locked_case(uow, principal, case_uuid)  # another's case is 404 before the upload is read
        filename, content = self._upload(request, options, lang)
        with self.storage.case_store(principal.municipality) as uow:
            self._locked_case(uow, principal, case_uuid)
            if not domain.may_change(status_shown(uow, case_uuid)):
                raise web.api_problem(409, "Conflict", lang, "case_closed", "case_id")
            count, total = store.evidence_total(uow, case_uuid)
            try:
                media_type = domain.check_evidence(content, total, options["max_file_bytes"],
                                                   options["max_case_bytes"])
            except domain.EvidenceRefused as refused:
                raise web.evidence_problem(refused, lang) from None
            evidence_id = uuid.uuid4()
            store.add_evidence(uow, evidence_id, case_uuid, filename, media_type, content, principal.actor)
            uow.audit(principal.actor, "add", "evidence", case_id=case_uuid, reason=media_type)
            current = store.get_incident(uow, case_uuid)
            if not current["draft"]:  # a draft has not been reported yet; its completion reports it
                uow.record("incident_updated", case_uuid,
                           domain.updated_payload(current, "api", ["evidence"], count + 1),
                           correlation_id=self.correlation_id)
        body = {"evidence_id": str(evidence_id), "case_id": str(case_uuid), "media_type": media_type,
                "size_bytes": len(content), "sha256": hashlib.sha256(content).hexdigest(),
                "evidence_count": count + 1}
        return json_response(body, 201, headers={"Location": f"/api/v1/incidents/{case_uuid}"})

    def _upload(self, request, options, lang) -> tuple[str, bytes]:
        limit = options["max_file_bytes"]
        if request.content_length is not None and request.content_length > limit + 64 * 1024:
            raise web.evidence_problem(domain.EvidenceRefused("too_large", limit=limit), lang)
        body = self._body(request, self._max_upload_bytes())
        if (request.mimetype or "").lower() == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise web.api_problem(422, "Unprocessable Content", lang, "required", "file")
            return upload.filename or "bestand", upload.read()
        filename = request.headers.get("X-Filename") or ""
        disposition = request.headers.get("Content-Disposition")
        if disposition and not filename:
            from werkzeug.http import parse_options_header

            filename = parse_options_header(disposition)[1].get("filename", "")
        return (filename.strip().replace("/", "_")[:200] or "bestand"), body

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
        lang = web.api_language(request)
        with self.storage.case_store(principal.municipality) as uow:
            row = self._locked_case(uow, principal, case_uuid)  # another's case is 404 before the body is read
            report = self._load_report(request, self._read_json(request, self.storage.settings.max_body_bytes))
            if not store.complete_draft(uow, case_uuid, report):
                raise web.api_problem(409, "Conflict", lang, "not_a_draft", "case_id")
            uow.record("incident_reported", case_uuid, domain.reported_payload(report, row["channel"]),
                       correlation_id=self.correlation_id)
            uow.audit(principal.actor, "complete", "incident", case_id=case_uuid, reason=f"draft: {row['channel']}")
        return json_response(instance(IncidentCreatedSchema).dump({"case_id": case_uuid, "status": "ontvangen"}), 200,
                             headers={"Location": f"/api/v1/incidents/{case_uuid}"})

    @staticmethod
    def _locked_case(uow, principal, case_uuid) -> dict:
        """The case, locked for a change; 404 for no such case or one this key may not see."""
        row = store.lock_incident(uow, case_uuid)
        if row is None or not auth.may_see_case(principal, uow, case_uuid):
            raise Problem(404, "Not Found", "no such case")
        return row

    @api("GET", "/api/v1/openapi.json")
    def openapi_document(self, request):
        """The intake API's OpenAPI 3 document (also docs/openapi/intake.json)."""
        return json_response(openapi.document(), headers={"Cache-Control": "max-age=300"})

    # ============================================================ public form

    @property
    def _options(self):
        return intake_options(self.storage.region)

    def _context(self, request, code=None, **extra):
        lang = web.language(request)
        municipality = self._municipality(code) if code else None
        options = self._options
        return {"lang": lang, "t": web.TEXTS[lang], "labels": web.CODE_LABELS[lang], "code": code,
                # the code lists the form offers
                "categories": v.CATEGORIES, "location_types": v.LOCATION_TYPES, "target_roles": v.TARGET_ROLES,
                "relations": v.REPORTER_RELATIONS, "perp_relations": v.PERPETRATOR_RELATIONS,
                "municipality_name": municipality.name if municipality else None,
                "errors": {}, "values": {}, "notice": None,
                "evidence_hint": web.TEXTS[lang]["evidence_hint"].format(
                    size=web.human_size(options["max_file_bytes"])), **extra}

    def _municipality(self, code):
        try:
            return self.storage.region.municipality(code)
        except Exception:
            return None

    def _nonce(self, request):
        nonce = request.cookies.get(web.FORM_COOKIE)
        return (nonce, False) if nonce and len(nonce) <= 64 else (web.new_nonce(), True)

    def _form_page(self, request, code, template, status=200, **extra):
        nonce, fresh = self._nonce(request)
        guard, _ = self.form_guard.for_options(self._options)
        html = web.render(template, **self._context(request, code, csrf_token=guard.token(nonce, code), **extra))
        response = _page(html, status)
        if fresh:
            response.set_cookie(web.FORM_COOKIE, nonce, httponly=True, samesite="Strict", path="/meld",
                                secure=request.scheme == "https")
        return response

    def _not_found(self, request):
        return _page(web.render("picker.html", **self._context(
            request, municipalities=self.storage.region.municipalities)), 404)

    @api("GET", "/meld")
    def picker(self, request):
        return _page(web.render("picker.html", **self._context(request,
                                                               municipalities=self.storage.region.municipalities)))

    @api("GET", "/meld/static/meld.css")
    def stylesheet(self, request):
        return Response((STATIC / "meld.css").read_bytes(), mimetype="text/css",
                        headers={"Cache-Control": "max-age=3600"})

    @api("GET", "/meld/<code>")
    def form(self, request, code):
        if self._municipality(code) is None:
            return self._not_found(request)
        return self._form_page(request, code, "form.html", values={"reporter_relation": "target"})

    def _guard_post(self, request, code, template, max_bytes):
        """Rate limit, size limit and CSRF for a public POST: a Response to send back, or None to go on."""
        guard, bucket = self.form_guard.for_options(self._options)
        lang = web.language(request) if request.content_length is None or request.content_length <= max_bytes \
            else "nl"
        if not bucket.allow(request.remote_addr or "unknown"):
            return _page(web.render("follow.html" if template == "follow.html" else "form.html",
                                    **self._context(request, code, csrf_token="", notice=web.TEXTS[lang]["too_many"],
                                                    case=None)), 429, {"Retry-After": "60"})
        request.max_content_length = max_bytes
        if request.content_length is not None and request.content_length > max_bytes:
            return _page(web.render(template, **self._context(
                request, code, csrf_token="", case=None,
                notice=web.MESSAGES["too_large"][lang].format(limit=web.human_size(max_bytes)))), 413)
        try:
            request.form  # parse now, inside the size limit
        except RequestEntityTooLarge:
            return _page("Too large", 413)
        if not guard.valid(request.cookies.get(web.FORM_COOKIE), code, request.form.get("csrf_token")):
            return self._form_page(request, code, template, 400, values=web.form_values(request.form),
                                   notice=web.TEXTS[web.language(request)]["expired"], case=None)
        return None

    def _read_evidence(self, request, case_total: int, lang: str):
        """[(filename, media_type, content)] of the uploaded files, or an error message for the evidence field."""
        options = self._options
        files, total = [], case_total
        for upload in request.files.getlist("evidence"):
            if not upload or not upload.filename:
                continue
            content = upload.read(options["max_file_bytes"] + 1)
            try:
                media_type = domain.check_evidence(content, total, options["max_file_bytes"],
                                                   options["max_case_bytes"])
            except domain.EvidenceRefused as refused:
                limit = refused.params.get("limit")
                return None, web.MESSAGES[refused.code][lang].format(limit=web.human_size(limit) if limit else "")
            total += len(content)
            files.append((upload.filename, media_type, content))
        return files, None

    def _max_post_bytes(self):
        options = self._options
        return min(options["max_case_bytes"], options["max_file_bytes"] * 3) + 256 * 1024

    @api("POST", "/meld/<code>")
    def submit(self, request, code):
        if self._municipality(code) is None:
            return self._not_found(request)
        refused = self._guard_post(request, code, "form.html", self._max_post_bytes())
        if refused is not None:
            return refused
        lang = web.language(request)
        values = web.form_values(request.form)
        if request.form.get("website"):
            # The honeypot: people never see it, scripts fill it in. Store nothing, say little.
            return self._form_page(request, code, "form.html", 400, values=values, notice=web.TEXTS[lang]["expired"])
        body, form_errors = web.report_from_form(values)
        errors = {field: web.MESSAGES[key][lang] for field, key in form_errors.items()}
        report = None
        try:
            report = instance(IncidentReportSchema).load(body)
        except ValidationError as exc:
            schema_errors = web.form_errors(invalid_params(exc.messages), lang)
            if "occurred_time" in form_errors:
                schema_errors.pop("occurred_date", None)  # the date is fine; the time kept occurred_at out
            errors = {**schema_errors, **errors}
        files, evidence_error = self._read_evidence(request, 0, lang)
        if evidence_error:
            errors["evidence"] = evidence_error
        if errors:
            return self._form_page(request, code, "form.html", 422, values=values, errors=errors)
        case_id = uuid.uuid4()
        receipt_code = domain.new_receipt_code(secrets.randbelow)
        secret = secrets.token_urlsafe(16)
        with self.storage.case_store(code) as uow:
            store.insert_incident(uow, case_id, report, channel="formulier", received_by="formulier")
            store.set_receipt(uow, case_id, receipt_code, domain.hash_secret(secret))
            for filename, media_type, content in files:
                store.add_evidence(uow, uuid.uuid4(), case_id, filename, media_type, content, "melder")
            uow.record("incident_reported", case_id, domain.reported_payload(report, "formulier"),
                       correlation_id=self.correlation_id)
            uow.audit("melder", "create", "incident", case_id=case_id, reason="POST /meld/{code} (public form)")
        return self._form_page(request, code, "receipt.html", 201, receipt_code=receipt_code, secret=secret)

    # ============================================================ follow-up by the reporter

    @api("GET", "/meld/<code>/volg")
    def follow_form(self, request, code):
        if self._municipality(code) is None:
            return self._not_found(request)
        return self._form_page(request, code, "follow.html", case=None)

    @api("POST", "/meld/<code>/volg")
    def follow(self, request, code):
        if self._municipality(code) is None:
            return self._not_found(request)
        refused = self._guard_post(request, code, "follow.html", self._max_post_bytes())
        if refused is not None:
            return refused
        lang = web.language(request)
        t = web.TEXTS[lang]
        receipt_code = domain.normalise_receipt_code(request.form.get("receipt_code", ""))
        secret = (request.form.get("secret") or "").strip()
        values = {"receipt_code": receipt_code or request.form.get("receipt_code", ""), "secret": secret,
                  "addition": request.form.get("addition", "")}
        action = request.form.get("action", "show")
        with self.storage.case_store(code) as uow:
            row = store.find_by_receipt(uow, receipt_code) if receipt_code else None
            if row is None or not domain.secret_matches(secret, row["secret_hash"]):
                return self._form_page(request, code, "follow.html", 404, case=None,
                                       values={"receipt_code": values["receipt_code"]},
                                       errors={"receipt_code": t["not_found"]})
            case_id, status = row["case_id"], row["status"]
            uow.audit("melder", "read" if action not in ("add", "withdraw") else "update", "incident status",
                      case_id=case_id, reason=f"POST /meld/{{code}}/volg ({action}, with receipt code and secret)")
            police = police_status_of(uow, case_id)  # police_liaison's referral in this same case store
            status = status_shown(uow, case_id)
            errors, notice, result_status = {}, None, 200
            if action in ("add", "withdraw") and not domain.may_change(status):
                errors["addition"] = t["closed"]
                result_status = 409
            elif action == "add":
                count, total = store.evidence_total(uow, case_id)
                files, evidence_error = self._read_evidence(request, total, lang)
                text = values["addition"].strip()
                if evidence_error:
                    errors["evidence"] = evidence_error
                elif not text and not files:
                    errors["addition"] = web.MESSAGES["required"][lang]
                elif len(text) > 10000:
                    errors["addition"] = web.MESSAGES["length"][lang]
                if errors:
                    result_status = 422
                else:
                    changes = []
                    if text:
                        store.add_text(uow, case_id, "formulier", "melder", text)
                        changes.append("description")
                    for filename, media_type, content in files:
                        store.add_evidence(uow, uuid.uuid4(), case_id, filename, media_type, content, "melder")
                    if files:
                        changes.append("evidence")
                    current = store.get_incident(uow, case_id)
                    uow.record("incident_updated", case_id,
                               domain.updated_payload(current, "formulier", changes, count + len(files)),
                               correlation_id=self.correlation_id)
                    values["addition"] = ""
                    notice = t["added"]
            elif action == "withdraw":
                if request.form.get("confirm") != "on":
                    errors["confirm"] = web.MESSAGES["confirm"][lang]
                    result_status = 422
                else:
                    store.set_status(uow, case_id, "ingetrokken")
                    uow.record("incident_withdrawn", case_id, {"channel": "formulier", "withdrawn_by": "reporter"},
                               correlation_id=self.correlation_id)
                    status, notice = "ingetrokken", t["withdrawn"]
        case = {"status": status, "status_words": domain.STATUS_WORDS[lang][status],
                "open": domain.may_change(status),
                "police_words": police["status_text"] if police["referred"] else None}
        return self._form_page(request, code, "follow.html", result_status, case=case, values=values,
                               errors=errors, notice=notice)


SERVICE = IntakeService
