"""The intake API's OpenAPI 3 document, built from its marshmallow schemas (apispec's MarshmallowPlugin).

Served at GET /api/v1/openapi.json; `python -m hub.openapi` writes docs/openapi/intake.json (with
every other service's), which a test keeps equal to what the service serves and complete for every
intake route. shared/openapi.finish gives it what the API design rules ask of every document.
"""
from __future__ import annotations

import functools
import json
import sys

from apispec import APISpec

from services.intake.schemas import AssignSchema, ConflictSchema, MessageSchema, NoteSchema, StaffCloseSchema
from services.intake.schemas import (DraftSchema, EvidenceAddedSchema, IncidentCreatedSchema, IncidentReportSchema,
                                     IncidentViewSchema)
from shared import vocabulary
from shared.openapi import finish, new_spec
from shared.openapi import problem as _problem
from shared.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER

DOCS_COPY = "docs/openapi/intake.json"
API_VERSION = "1.1.0"  # IntakeService.api_version; docs/api.md#changelog


def _json(description: str, schema: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _html(description: str) -> dict:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


KEYED = {"401": _problem("no key, an unknown key, or (for a signing key) a missing, wrong, expired or "
                         "replayed signature; invalid-params names the header"),
         "403": _problem("the key's role lacks the permission"),
         "429": _problem("over the key's rate limit; Retry-After says when to try again")}
CASE_ID = {"name": "case_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
CODE = {"name": "code", "in": "path", "required": True, "description": "CBS gemeentecode, e.g. GM0687",
        "schema": {"type": "string", "pattern": "^GM\\d{4}$"}}
LANG = {"name": "lang", "in": "query", "required": False, "schema": {"type": "string", "enum": ["nl", "en"]}}
SIGNED = [{"name": TIMESTAMP_HEADER, "in": "header", "required": False,
           "description": "unix seconds; required for a key with a signing secret",
           "schema": {"type": "string", "pattern": "^\\d+$"}},
          {"name": SIGNATURE_HEADER, "in": "header", "required": False,
           "description": "sha256=<hex of HMAC-SHA256(signing secret, timestamp LF method LF path LF query LF body)>; "
                          "required for a key with a signing secret",
           "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"}}]
ACCEPT_LANGUAGE = {"name": "Accept-Language", "in": "header", "required": False,
                   "description": "nl or en: the language of every rejection's reasons (default en)",
                   "schema": {"type": "string"}}


def _paths(spec: APISpec) -> None:
    spec.path(path="/api/v1/incidents", operations={"post": {
        "summary": "Report an incident (municipality channel or staff registration)",
        "description": "Staff keys (staff, coordinator) must give `channel`: telefoon, balie or brief; "
                       "a municipality channel reports as `api`.",
        "security": [{"apiKey": []}],
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "description": "a retry with the same key and body returns the first answer",
                        "schema": {"type": "string", "maxLength": 200}}, *SIGNED, ACCEPT_LANGUAGE],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "IncidentReport"}}},
        "responses": {"201": _json("stored, with its incident_reported event", "IncidentCreated"),
                      "400": _problem("not JSON, or a malformed Idempotency-Key"), **KEYED,
                      "409": _problem("the Idempotency-Key was used for another body"),
                      "413": _problem("body too large"), "415": _problem("not application/json"),
                      "422": _problem("invalid fields, each named in invalid-params")}}})
    spec.path(path="/api/v1/incidents/{case_id}", operations={"get": {
        "summary": "A case as the municipality holds it", "security": [{"apiKey": []}],
        "parameters": [CASE_ID, *SIGNED, ACCEPT_LANGUAGE],
        "responses": {"200": _json("the case", "IncidentView"), **KEYED,
                      "404": _problem("no such case in the key's municipality")}}})
    spec.path(path="/api/v1/incidents/{case_id}/evidence", operations={"post": {
        "summary": "Add one evidence file to a case",
        "description": "The raw body is the file (name in `Content-Disposition: attachment; filename=...` or "
                       "`X-Filename`), or multipart/form-data with the field `file`. The kind is decided by "
                       "content: PNG, JPEG, GIF, WebP, PDF, plain text or an e-mail (message/rfc822).",
        "security": [{"apiKey": []}],
        "parameters": [CASE_ID, {"name": "X-Filename", "in": "header", "required": False,
                                 "schema": {"type": "string"}}, *SIGNED, ACCEPT_LANGUAGE],
        "requestBody": {"required": True, "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}},
        "responses": {"201": _json("stored in the case store", "EvidenceAdded"), **KEYED,
                      "404": _problem("no such case in the key's municipality"),
                      "409": _problem("the case is closed or withdrawn"),
                      "413": _problem("the file exceeds max_file_bytes, or the case max_case_bytes"),
                      "415": _problem("not an accepted kind of file (by content)"),
                      "422": _problem("empty file or no `file` field")}}})
    spec.path(path="/api/v1/drafts", operations={"get": {
        "summary": "Cases read from a meldpunt mailbox, waiting for staff to complete them (staff, coordinator)",
        "security": [{"apiKey": []}], "parameters": [*SIGNED, ACCEPT_LANGUAGE],
        "responses": {"200": {"description": "the drafts, oldest first", "content": {"application/json": {
            "schema": {"type": "object", "properties": {"drafts": {"type": "array", "items": "Draft"}}}}}},
            **KEYED}}})
    spec.path(path="/api/v1/incidents/{case_id}/complete", operations={"post": {
        "summary": "Complete a draft (staff, coordinator): it becomes a case and is reported",
        "description": "The body is a full report, as for POST /api/v1/incidents (without `channel`); it "
                       "replaces the draft's fields. The case keeps its channel (email) and evidence.",
        "security": [{"apiKey": []}], "parameters": [CASE_ID, *SIGNED, ACCEPT_LANGUAGE],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "IncidentReport"}}},
        "responses": {"200": _json("completed; incident_reported recorded", "IncidentCreated"), **KEYED,
                      "404": _problem("no such case in the key's municipality"),
                      "409": _problem("the case is not a draft (any more)"),
                      "422": _problem("invalid fields, each named in invalid-params")}}})
    _casework_paths(spec)
    spec.path(path="/api/v1/openapi.json", operations={"get": {
        "summary": "This document", "responses": {"200": {"description": "OpenAPI 3 document",
                                                          "content": {"application/json": {}}}}}})
    spec.path(path="/meld", operations={"get": {
        "summary": "Public form: the municipality picker", "parameters": [LANG],
        "responses": {"200": _html("picker")}}})
    spec.path(path="/meld/static/meld.css", operations={"get": {
        "summary": "The public form's stylesheet",
        "responses": {"200": {"description": "CSS", "content": {"text/css": {"schema": {"type": "string"}}}}}}})
    spec.path(path="/meld/privacy", operations={"get": {
        "summary": "The privacy statement (AVG art. 13), linked from every page", "parameters": [LANG],
        "responses": {"200": _html("privacy statement")}}})
    spec.path(path="/meld/toegankelijkheid", operations={"get": {
        "summary": "The accessibility statement (Besluit digitale toegankelijkheid overheid)", "parameters": [LANG],
        "responses": {"200": _html("accessibility statement")}}})
    spec.path(path="/favicon.ico", operations={"get": {
        "summary": "The form's icon",
        "responses": {"200": {"description": "ICO", "content": {"image/x-icon": {"schema": {"type": "string"}}}}}}})
    spec.path(path="/robots.txt", operations={"get": {
        "summary": "What crawlers may index: the form, not the follow-up page or the API",
        "responses": {"200": {"description": "robots.txt",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}}}})
    form_post = {"200": _html("page"), "400": _html("expired form (CSRF) or honeypot"),
                 "413": _html("too large"), "422": _html("inline errors; what was typed is kept"),
                 "429": _html("too many posts from this address")}
    spec.path(path="/meld/{code}", operations={
        "get": {"summary": "Public form (nl, or en with ?lang=en)", "parameters": [CODE, LANG],
                "responses": {"200": _html("form"), "404": _html("unknown municipality: the picker")}},
        "post": {"summary": "Submit the public form", "parameters": [CODE],
                 "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}},
                                             "application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
                 "responses": {"201": _html("receipt code and secret"), "404": _html("unknown municipality"),
                               **form_post}}})
    spec.path(path="/meld/{code}/volg", operations={
        "get": {"summary": "Follow-up: enter receipt code and secret", "parameters": [CODE, LANG],
                "responses": {"200": _html("follow-up form"), "404": _html("unknown municipality")}},
        "post": {"summary": "Follow-up: status, add information or evidence, withdraw", "parameters": [CODE],
                 "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}},
                 "responses": {**form_post, "404": _html("unknown receipt code or wrong secret"),
                               "409": _html("the case is closed or withdrawn")}}})
    spec.path(path="/api/v1/dead-letters", operations={"get": {
        "summary": "Intake's parked messages for an operator: ids, codes and the error line, never the body",
        "responses": {"200": {"description": "the dead-letter queue's summary",
                              "content": {"application/json": {"schema": {"type": "object"}}}}, **KEYED}}})
    spec.path(path="/health", operations={"get": {
        "summary": "Broker and databases reachable",
        "responses": {"200": {"description": "healthy", "content": {"application/json": {}}},
                      "503": {"description": "unavailable, with the reason", "content": {"application/json": {}}}}}})
    spec.path(path="/metrics", operations={"get": {
        "summary": "Prometheus metrics",
        "responses": {"200": {"description": "text exposition format", "content": {"text/plain": {}}}}}})


OBJECT = {"type": "object"}
EVIDENCE_ID = {"name": "evidence_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
CASEWORK = "Permission case:work (staff, coordinator; people through the workbench with a person assertion). "


def _object(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": OBJECT}}}


def _casework_paths(spec: APISpec) -> None:
    """The meldpunt's casework, used by the workbench (docs/api.md#casework)."""
    not_found = {"404": _problem("no such case, or one the caller may not see (routed away, excluded)")}
    multi = [{"name": name, "in": "query", "required": False, "explode": True,
              "schema": {"type": "array", "items": {"type": "string", "enum": list(values)}}}
             for name, values in (("status", ("ontvangen", "in_behandeling", "doorverwezen", "nazorg", "afgesloten",
                                              "ingetrokken")),
                                  ("category", vocabulary.CATEGORIES), ("urgency", vocabulary.URGENCIES), ("channel", vocabulary.CHANNELS))]
    spec.path(path="/api/v1/cases", operations={"get": {
        "summary": "The case list: filters, search, paging; most urgent first, then by deadline",
        "description": CASEWORK + "Codes and dates only, never personal data.", "security": [{"apiKey": []}],
        "parameters": [*multi,
                       {"name": "assigned_to", "in": "query", "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 300}},
                       {"name": "unassigned", "in": "query", "required": False, "schema": {"type": "boolean"}},
                       {"name": "q", "in": "query", "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 100}},
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                       {"name": "offset", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 1000000}}, ACCEPT_LANGUAGE],
        "responses": {"200": _object("total, limit, offset and the page's items"), **KEYED,
                      "422": _problem("a filter value that does not exist")}}})
    spec.path(path="/api/v1/cases/counts", operations={"get": {
        "summary": "How many cases per status (numbers only; the regional view)", "description": CASEWORK,
        "security": [{"apiKey": []}], "parameters": [ACCEPT_LANGUAGE],
        "responses": {"200": _object("counts per status and the total"), **KEYED}}})
    for suffix, summary in (("additions", "What the reporter added later, and the evidence list"),
                            ("timeline", "The case's audit entries and events, oldest first"),
                            ("notes", "Internal notes"),
                            ("messages", "The messages between staff and the reporter (follow-up page)"),
                            ("disclosures", "The case's disclosure ledger: which fields left, to whom, when, why, how"),
                            ("access-export", "AVG art. 15: the reporter's own case and its ledger, for staff to "
                                              "hand over")):
        operations = {"get": {"summary": summary, "description": CASEWORK + "Audited.",
                              "security": [{"apiKey": []}], "parameters": [CASE_ID, ACCEPT_LANGUAGE],
                              "responses": {"200": _object(summary), **KEYED, **not_found}}}
        if suffix == "notes":
            operations["post"] = {
                "summary": "Add an internal note (encrypted at rest)", "description": CASEWORK,
                "security": [{"apiKey": []}], "parameters": [CASE_ID, ACCEPT_LANGUAGE],
                "requestBody": {"required": True, "content": {"application/json": {"schema": "Note"}}},
                "responses": {"201": _object("the note's id"), **KEYED, **not_found,
                              "415": _problem("not application/json"), "422": _problem("invalid fields")}}
        if suffix == "messages":
            operations["post"] = {
                "summary": "A message for the reporter: shown on the follow-up page (encrypted at rest); a "
                           "reporter who asked for contact gets a mail without content (case_message_posted)",
                "description": CASEWORK + "Audited.", "security": [{"apiKey": []}],
                "parameters": [CASE_ID, ACCEPT_LANGUAGE],
                "requestBody": {"required": True, "content": {"application/json": {"schema": "Message"}}},
                "responses": {"201": _object("the message's id"), **KEYED, **not_found,
                              "415": _problem("not application/json"), "422": _problem("invalid fields")}}
        spec.path(path=f"/api/v1/incidents/{{case_id}}/{suffix}", operations=operations)
    spec.path(path="/api/v1/incidents/{case_id}/evidence/{evidence_id}", operations={"get": {
        "summary": "Download one evidence file (an attachment, with the kind its content shows)",
        "description": CASEWORK + "Audited. The content is checked again against its recorded kind.",
        "security": [{"apiKey": []}], "parameters": [CASE_ID, EVIDENCE_ID, ACCEPT_LANGUAGE],
        "responses": {"200": {"description": "the file", "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}, **KEYED, **not_found,
            "409": _problem("the content no longer matches its recorded kind")}}})
    for suffix, schema, summary in (
            ("assign", "Assign", "Assign the case to a person (or to nobody)"),
            ("close", "StaffClose", "Close the case with a reason (final)"),
            ("withdraw", "StaffClose", "Withdraw the case with a reason (final; incident_withdrawn)"),
            ("conflict", "Conflict", "Mark a conflict of interest: route the case away, exclude people")):
        spec.path(path=f"/api/v1/incidents/{{case_id}}/{suffix}", operations={"post": {
            "summary": summary, "description": CASEWORK + "Audited.", "security": [{"apiKey": []}],
            "parameters": [CASE_ID, ACCEPT_LANGUAGE],
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
            "responses": {"200": _object("done"), **KEYED, **not_found, "400": _problem("not JSON"),
                          "409": _problem("the case is closed or withdrawn"),
                          "413": _problem("body too large"), "415": _problem("not application/json"),
                          "422": _problem("invalid fields"), "503": _problem("no region secret")}}})


@functools.lru_cache(maxsize=1)
def _built() -> str:
    spec = new_spec("Meldpunt Hub intake API", API_VERSION,
                    "Incidents in from municipality channels, staff, the public form and e-mail. Rejections are "
                    "application/problem+json naming each bad field, in the caller's language "
                    "(Accept-Language: nl or en).")
    for name, schema in (("IncidentReport", IncidentReportSchema), ("IncidentCreated", IncidentCreatedSchema),
                         ("IncidentView", IncidentViewSchema), ("EvidenceAdded", EvidenceAddedSchema),
                         ("Draft", DraftSchema), ("Note", NoteSchema), ("Message", MessageSchema),
                         ("Assign", AssignSchema), ("StaffClose", StaffCloseSchema), ("Conflict", ConflictSchema),
                         ):
        spec.components.schema(name, schema=schema)
    _paths(spec)
    document = finish(spec.to_dict())
    # `channel` is read by the service before the schema (it decides who may send what), so it is not a
    # schema field; the document still shows it.
    document["components"]["schemas"]["IncidentReport"]["properties"]["channel"] = {
        "type": "string", "enum": ["api", "telefoon", "balie", "brief"],
        "description": "staff and coordinator keys: required, telefoon, balie or brief; "
                       "a municipality channel: absent or api"}
    return json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"


def document() -> dict:
    return json.loads(_built())


def text() -> str:
    """The document as written to docs/openapi/intake.json."""
    return _built()


if __name__ == "__main__":
    sys.stdout.write(text())
