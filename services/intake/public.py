"""The public form `/meld/<code>` and the reporter's follow-up page: reading the form, guarding it
(rate limit, size, CSRF, honeypot) and rendering the pages; the use cases are in handlers.py."""
from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from shared import case_views, icons, triage_rules
from shared import vocabulary
from shared.http import PAGE_HEADERS, invalid_params
from shared.ratelimit import client_address
from shared.schemas import instance

from services.intake import domain, handlers, store, web
from services.intake.schemas import IncidentReportSchema

STATIC = Path(__file__).with_name("static")


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


def page(html: str, status: int = 200, headers: dict | None = None) -> Response:
    return Response(html, status=status, mimetype="text/html", headers={**PAGE_HEADERS, **(headers or {})})


ACCESSIBILITY_STATEMENT_DATE = "2026-12-06"  # when the accessibility statement was last drawn up (review yearly)
ROBOTS = (b"User-agent: *\n"
          b"Allow: /meld\n"
          b"Disallow: /meld/*/volg\n"   # a reporter's follow-up is nobody's search result
          b"Disallow: /api/\n")


@lru_cache(maxsize=None)
def _favicon() -> bytes:
    """The form's blue with a white exclamation mark (shared/icons.py)."""
    blue, white = (11, 61, 102, 255), (255, 255, 255, 255)
    return icons.ico(32, lambda x, y: white if 14 <= x < 18 and (5 <= y < 20 or 23 <= y < 27) else blue)


def favicon() -> Response:
    return Response(_favicon(), mimetype="image/x-icon", headers={"Cache-Control": "max-age=86400"})


def robots() -> Response:
    return Response(ROBOTS, mimetype="text/plain", headers={"Cache-Control": "max-age=86400"})


def stylesheet() -> Response:
    return Response((STATIC / "meld.css").read_bytes(), mimetype="text/css", headers={"Cache-Control": "max-age=3600"})


class Pages:
    """The public pages of one request. `case_store(code)` opens a unit of work on a case store."""

    def __init__(self, region, options: dict, guard: PublicFormGuard, case_store, correlation_id=None,
                 trusted_proxies: tuple = ()):
        self.region, self.options, self.case_store = region, options, case_store
        self.trusted_proxies = trusted_proxies  # MELDPUNT_TRUSTED_PROXIES: whose X-Forwarded-For counts
        self.guard, self.bucket = guard.for_options(options)
        self.correlation_id = correlation_id

    # ------------------------------------------------------------ rendering
    def municipality(self, code):
        try:
            return self.region.municipality(code)
        except Exception:
            return None

    def context(self, request, code=None, **extra) -> dict:
        lang = web.language(request)
        municipality = self.municipality(code) if code else None
        rules = triage_rules.region_rules(self.region)
        return {"lang": lang, "t": web.TEXTS[lang], "labels": {**rules.own_categories, **web.CODE_LABELS[lang]},
                "code": code,
                # the code lists the form offers (with the region's own categories, named in its rules)
                "categories": [c for c in vocabulary.category_codes() if c in rules.categories],
                "location_types": vocabulary.LOCATION_TYPES, "target_roles": vocabulary.TARGET_ROLES,
                "relations": vocabulary.REPORTER_RELATIONS, "perp_relations": vocabulary.PERPETRATOR_RELATIONS,
                "municipality_name": municipality.name if municipality else None,
                "errors": {}, "values": {}, "notice": None,
                "evidence_hint": web.TEXTS[lang]["evidence_hint"].format(
                    size=web.human_size(self.options["max_file_bytes"])), **extra}

    def form_page(self, request, code, template, status=200, **extra) -> Response:
        nonce = request.cookies.get(web.FORM_COOKIE)
        fresh = not (nonce and len(nonce) <= 64)
        nonce = web.new_nonce() if fresh else nonce
        html = web.render(template, **self.context(request, code, csrf_token=self.guard.token(nonce, code), **extra))
        response = page(html, status)
        if fresh:
            response.set_cookie(web.FORM_COOKIE, nonce, httponly=True, samesite="Strict", path="/meld",
                                secure=request.scheme == "https")
        return response

    def statement(self, request, template: str) -> Response:
        """The privacy statement (AVG art. 13) or the accessibility statement, linked from every page."""
        return page(web.render(template, **self.context(
            request, municipalities=self.region.municipalities, region_name=self.region.name,
            privacy_officer=self.options.get("privacy_officer"),
            accessibility_contact=self.options.get("accessibility_contact"),
            statement_date=ACCESSIBILITY_STATEMENT_DATE)))

    def picker(self, request, status: int = 200) -> Response:
        return page(web.render("picker.html", **self.context(request, municipalities=self.region.municipalities)),
                    status)

    # ------------------------------------------------------------ guarding a POST
    def max_post_bytes(self) -> int:
        return min(self.options["max_case_bytes"], self.options["max_file_bytes"] * 3) + 256 * 1024

    def refused(self, request, code, template) -> Response | None:
        """Rate limit, size limit and CSRF for a public POST: a Response to send back, or None to go on."""
        max_bytes = self.max_post_bytes()
        too_large = request.content_length is not None and request.content_length > max_bytes
        lang = "nl" if too_large else web.language(request)
        who = client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), self.trusted_proxies)
        if not self.bucket.allow(who):
            return page(web.render("follow.html" if template == "follow.html" else "form.html",
                                   **self.context(request, code, csrf_token="", notice=web.TEXTS[lang]["too_many"],
                                                  case=None)), 429, {"Retry-After": "60"})
        request.max_content_length = max_bytes
        if too_large:
            return page(web.render(template, **self.context(
                request, code, csrf_token="", case=None,
                notice=web.MESSAGES["too_large"][lang].format(limit=web.human_size(max_bytes)))), 413)
        try:
            request.form  # parse now, inside the size limit
        except RequestEntityTooLarge:
            return page("Too large", 413)
        if not self.guard.valid(request.cookies.get(web.FORM_COOKIE), code, request.form.get("csrf_token")):
            return self.form_page(request, code, template, 400, values=web.form_values(request.form),
                                  notice=web.TEXTS[web.language(request)]["expired"], case=None)
        return None

    def evidence(self, request, case_total: int, lang: str):
        """[(filename, media_type, content)] of the uploaded files, or an error message for the evidence field."""
        files, total = [], case_total
        for upload in request.files.getlist("evidence"):
            if not upload or not upload.filename:
                continue
            content = upload.read(self.options["max_file_bytes"] + 1)
            try:
                media_type = domain.check_evidence(content, total, self.options["max_file_bytes"],
                                                   self.options["max_case_bytes"])
            except domain.EvidenceRefused as refused:
                limit = refused.params.get("limit")
                return None, web.MESSAGES[refused.code][lang].format(limit=web.human_size(limit) if limit else "")
            total += len(content)
            files.append((upload.filename, media_type, content))
        return files, None

    # ------------------------------------------------------------ the form
    def submit(self, request, code) -> Response:
        refused = self.refused(request, code, "form.html")
        if refused is not None:
            return refused
        lang = web.language(request)
        values = web.form_values(request.form)
        if request.form.get("website"):
            # The honeypot: people never see it, scripts fill it in. Store nothing, say little.
            return self.form_page(request, code, "form.html", 400, values=values, notice=web.TEXTS[lang]["expired"])
        report, errors = self._report(values, lang)
        files, evidence_error = self.evidence(request, 0, lang)
        if evidence_error:
            errors["evidence"] = evidence_error
        if errors:
            return self.form_page(request, code, "form.html", 422, values=values, errors=errors)
        receipt_code = domain.new_receipt_code(secrets.randbelow)
        secret = secrets.token_urlsafe(16)
        with self.case_store(code) as uow:
            handlers.report_by_form(report, files, uow, receipt_code, domain.hash_secret(secret), self.correlation_id)
        return self.form_page(request, code, "receipt.html", 201, receipt_code=receipt_code, secret=secret,
                              direct_danger=report["direct_danger"])

    @staticmethod
    def _report(values: dict, lang: str) -> tuple[dict | None, dict]:
        """The report the form's values make, and the message per field that is wrong."""
        body, form_errors = web.report_from_form(values)
        errors = {field: web.MESSAGES[key][lang] for field, key in form_errors.items()}
        try:
            return instance(IncidentReportSchema).load(body), errors
        except ValidationError as exc:
            schema_errors = web.form_errors(invalid_params(exc.messages), lang)
            if "occurred_time" in form_errors:
                schema_errors.pop("occurred_date", None)  # the date is fine; the time kept occurred_at out
            return None, {**schema_errors, **errors}

    # ------------------------------------------------------------ follow-up by the reporter
    def follow(self, request, code) -> Response:
        refused = self.refused(request, code, "follow.html")
        if refused is not None:
            return refused
        t = web.TEXTS[web.language(request)]
        receipt_code = domain.normalise_receipt_code(request.form.get("receipt_code", ""))
        secret = (request.form.get("secret") or "").strip()
        values = {"receipt_code": receipt_code or request.form.get("receipt_code", ""), "secret": secret,
                  "addition": request.form.get("addition", ""), "answer": request.form.get("answer", "")}
        action = request.form.get("action", "show")
        with self.case_store(code) as uow:
            row = store.find_by_receipt(uow, receipt_code) if receipt_code else None
            if row is None or not domain.secret_matches(secret, row["secret_hash"]):
                return self.form_page(request, code, "follow.html", 404, case=None,
                                      values={"receipt_code": values["receipt_code"]},
                                      errors={"receipt_code": t["not_found"]})
            uow.audit("melder", "read" if action not in ("add", "withdraw", "answer") else "update", "incident status",
                      case_id=row["case_id"],
                      reason=f"POST /meld/{{code}}/volg ({action}, with receipt code and secret)")
            shown = self._act(request, uow, row["case_id"], action, values)
        return self.form_page(request, code, "follow.html", shown.pop("status_code"), values=values, **shown)

    def _act(self, request, uow, case_id, action: str, values: dict) -> dict:
        """Show the case, or add to it, or withdraw it; what the page shows (and its status code)."""
        lang = web.language(request)
        progress = case_views.progress_of(uow, case_id)  # one read for the status and the police's
        police = case_views.police_status(case_id, progress.referral_status, progress.referral_outcome,
                                          progress.referral_updated_at)
        status = handlers.status(uow, case_id, progress)
        shown = {"errors": {}, "notice": None, "status_code": 200}
        if action in ("add", "withdraw") and not domain.may_change(status):
            shown.update(errors={"addition": web.TEXTS[lang]["closed"]}, status_code=409)
        elif action == "add":
            self._add(request, uow, case_id, values, lang, shown)
        elif action == "withdraw":
            if request.form.get("confirm") != "on":
                shown.update(errors={"confirm": web.MESSAGES["confirm"][lang]}, status_code=422)
            else:
                handlers.withdraw(case_id, uow, "formulier", "reporter", self.correlation_id)
                status, shown["notice"] = "ingetrokken", web.TEXTS[lang]["withdrawn"]
        elif action == "answer":
            self._answer(uow, case_id, status, values, lang, shown)
        shown["case"] = {"status": status, "status_words": web.STATUS_WORDS[lang][status],
                         "open": domain.may_change(status), "may_answer": status != "ingetrokken",
                         "police_words": police["status_text"] if police["referred"] else None,
                         "messages": store.list_messages(uow, case_id)}
        return shown

    def _answer(self, uow, case_id, status: str, values: dict, lang: str, shown: dict) -> None:
        """The reporter answers the meldpunt's messages: it reaches the case (encrypted, audited)."""
        text = values["answer"].strip()
        if status == "ingetrokken":
            shown.update(errors={"answer": web.TEXTS[lang]["closed"]}, status_code=409)
        elif not text:
            shown.update(errors={"answer": web.MESSAGES["required"][lang]}, status_code=422)
        elif len(text) > 4000:
            shown.update(errors={"answer": web.MESSAGES["length"][lang]}, status_code=422)
        else:
            handlers.reporter_answers(case_id, text, uow, self.correlation_id)
            values["answer"] = ""
            shown["notice"] = web.TEXTS[lang]["answered"]

    def _add(self, request, uow, case_id, values: dict, lang: str, shown: dict) -> None:
        count, total = store.evidence_total(uow, case_id)
        files, evidence_error = self.evidence(request, total, lang)
        text = values["addition"].strip()
        errors = shown["errors"]
        if evidence_error:
            errors["evidence"] = evidence_error
        elif not text and not files:
            errors["addition"] = web.MESSAGES["required"][lang]
        elif len(text) > 10000:
            errors["addition"] = web.MESSAGES["length"][lang]
        if errors:
            shown["status_code"] = 422
            return
        handlers.add_to_case(case_id, text, files, uow, self.correlation_id)
        values["addition"] = ""
        shown["notice"] = web.TEXTS[lang]["added"]
