"""Reading the partner API's requests: the JSON body and the report in the caller's language, an
evidence upload, the channel staff name, and a signed request's signature."""
from __future__ import annotations

import re

from werkzeug.exceptions import RequestEntityTooLarge

from shared import auth
from shared.http import Problem, load_or_422, read_json as read_json_body
from shared.schemas import instance

from services.intake import domain, web
from services.intake.schemas import IncidentReportSchema

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
STAFF_CHANNELS = ("telefoon", "balie", "brief")


def read_json(request, max_bytes: int):
    """shared.http.read_json, its refusal naming the body (or its Content-Type) in the caller's language."""
    try:
        return read_json_body(request, max_bytes)
    except Problem as problem:
        lang = web.api_language(request)
        field, key = {415: ("Content-Type", "json_type"), 413: ("body", "body_size"),
                      400: ("body", "json_syntax")}[problem.status]
        raise web.api_problem(problem.status, problem.title, lang, key, field, limit=max_bytes) from None


def body(request, max_bytes: int) -> bytes:
    request.max_content_length = max_bytes
    if request.content_length is not None and request.content_length > max_bytes:
        raise Problem(413, "Content Too Large", f"the body may be at most {max_bytes} bytes")
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise Problem(413, "Content Too Large", f"the body may be at most {max_bytes} bytes") from None


def max_upload_bytes(settings, options: dict) -> int:
    # an evidence upload (one file, maybe in a multipart envelope) or a JSON body
    return max(settings.max_body_bytes, options["max_file_bytes"] + 64 * 1024)


def load_report(request, data) -> dict:
    try:
        return load_or_422(instance(IncidentReportSchema), data)
    except Problem as problem:
        lang = web.api_language(request)
        if lang != "en" and problem.invalid_params:
            for param in problem.invalid_params:
                param["reason"] = web.message(param["reason"], lang)
            problem.detail = "een of meer velden kloppen niet"
        raise


def channel_of(principal: auth.Principal, data, lang: str) -> str:
    """Staff say how the report came in (telefoon, balie, brief); a municipality's channel is `api`."""
    asked = data.pop("channel", None) if isinstance(data, dict) else None
    if principal.role in (auth.STAFF, auth.COORDINATOR):
        if asked not in STAFF_CHANNELS:
            raise web.api_problem(422, "Unprocessable Content", lang, "staff_channel", "channel")
        return asked
    if asked not in (None, "api"):
        raise web.api_problem(422, "Unprocessable Content", lang, "api_channel", "channel")
    return "api"


def idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise web.api_problem(400, "Bad Request", web.api_language(request), "idempotency_key_format",
                              "Idempotency-Key")
    return key


def upload(request, options: dict, max_bytes: int, lang: str) -> tuple[str, bytes]:
    """One evidence file: the raw body (file name in Content-Disposition or X-Filename) or the `file`
    field of a multipart/form-data body."""
    limit = options["max_file_bytes"]
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        raise web.evidence_problem(domain.EvidenceRefused("too_large", limit=limit), lang)
    raw = body(request, max_bytes)
    if (request.mimetype or "").lower() == "multipart/form-data":
        file = request.files.get("file")
        if file is None:
            raise web.api_problem(422, "Unprocessable Content", lang, "required", "file")
        return file.filename or "bestand", file.read()
    filename = request.headers.get("X-Filename") or ""
    disposition = request.headers.get("Content-Disposition")
    if disposition and not filename:
        from werkzeug.http import parse_options_header

        filename = parse_options_header(disposition)[1].get("filename", "")
    return (filename.strip().replace("/", "_")[:200] or "bestand"), raw
