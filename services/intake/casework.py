"""Intake's API for the meldpunt's casework (what the workbench shows and does on a person's behalf):
the case list and its numbers, the reporter's additions and evidence, a case's timeline, internal
notes, assignment, closing or withdrawing, and conflicts of interest. Every endpoint asks for
`case:work`; which cases a caller sees is `shared.auth.case_visibility`; every read of personal data
is audited with the caller (a person: `person:<sub> (<name>, <role>)`)."""
from __future__ import annotations

from werkzeug.wrappers import Response

from shared import assertion, auth, case_views
from shared import disclosures as ledger
from shared.http import Problem, api, json_response, load_or_422, path_uuid, read_json
from shared.schemas import instance

from services.intake import domain, handlers, store
from services.intake.schemas import (AssignSchema, CaseListQuerySchema, ConflictSchema, MessageSchema,
                                     NoteSchema, StaffCloseSchema)

MULTI = ("status", "category", "urgency", "channel")


class Casework:
    """Mixed into IntakeService (its `_principal`, `storage`, `clock`, `correlation_id`)."""

    def _visible_case(self, uow, principal, case_id: str, lock: bool = False) -> dict:
        """The case if the caller may see it (the one rule, shared/auth.py); 404 otherwise."""
        case_uuid = path_uuid(case_id, "case")
        row = store.lock_incident(uow, case_uuid) if lock else store.get_incident(uow, case_uuid)
        if row is None or row.get("draft") or not auth.may_see_case(principal, uow, case_uuid):
            raise Problem(404, "Not Found", "no such case")
        return row

    def _json_body(self, request, schema):
        return load_or_422(instance(schema), read_json(request, self.storage.settings.max_body_bytes))

    @api("GET", "/api/v1/cases")
    def list_cases(self, request):
        """The municipality's cases the caller may see, filtered and paged, most urgent first."""
        principal = self._principal(request, "case:work")
        args = {key: (request.args.getlist(key) if key in MULTI else request.args.get(key)) for key in request.args}
        query = load_or_422(instance(CaseListQuerySchema), args)
        with self.storage.case_store(principal.municipality) as uow:
            total, rows = case_views.case_list(
                uow, auth.case_visibility(principal), status=query["status"], categories=query["category"],
                urgency=query["urgency"], channel=query["channel"], assigned_to=query.get("assigned_to"),
                unassigned=query["unassigned"], search=query.get("q"), limit=query["limit"], offset=query["offset"])
            # which cases exist and who works them is itself sensitive: the read is audited (no personal data shown)
            uow.audit(principal.actor, "read", f"case list ({len(rows)} of {total})", reason="GET /api/v1/cases")
        return json_response({"municipality": principal.municipality, "total": total, "limit": query["limit"],
                              "offset": query["offset"], "items": rows})

    @api("GET", "/api/v1/cases/counts")
    def case_counts(self, request):
        """How many cases the municipality has per status (numbers only: the regional view)."""
        principal = self._principal(request, "case:work")
        with self.storage.case_store(principal.municipality) as uow:
            counts = case_views.case_counts(uow, auth.case_visibility(principal, counting=True))
        return json_response({"municipality": principal.municipality, "counts": counts,
                              "total": sum(counts.values())})

    @api("GET", "/api/v1/incidents/<case_id>/additions")
    def additions(self, request, case_id):
        """What the reporter added later (follow-up page) and the evidence list (never contents)."""
        principal = self._principal(request, "case:work")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id)
            texts = store.list_additions(uow, row["case_id"])
            files = store.list_evidence(uow, row["case_id"])
            uow.audit(principal.actor, "read", "additions and evidence list", case_id=row["case_id"],
                      reason="GET /api/v1/incidents/{case_id}/additions")
        return json_response({"case_id": str(row["case_id"]), "additions": texts, "evidence": files})

    @api("GET", "/api/v1/incidents/<case_id>/evidence/<evidence_id>")
    def evidence_file(self, request, case_id, evidence_id):
        """One evidence file, as an attachment, with the kind its content shows (checked again now)."""
        principal = self._principal(request, "case:work")
        evidence_uuid = path_uuid(evidence_id, "evidence")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id)
            described = next((e for e in store.list_evidence(uow, row["case_id"])
                              if e["evidence_id"] == evidence_uuid), None)
            if described is None:
                raise Problem(404, "Not Found", "no such evidence in this case")
            content = store.evidence_content(uow, evidence_uuid)
            if content is None:
                raise Problem(404, "Not Found", "no such evidence in this case")
            uow.audit(principal.actor, "read", "evidence file", case_id=row["case_id"],
                      reason=f"GET /api/v1/incidents/{{case_id}}/evidence/{{evidence_id}} ({described['media_type']})")
        # the stored kind came from the content when it arrived; the content must still say the same
        if domain.sniff_media_type(content) != described["media_type"]:
            raise Problem(409, "Conflict", "the file's content does not match its recorded kind; it is not served")
        name = domain.safe_filename(described.get("filename"), described["media_type"])
        return Response(content, status=200, content_type=described["media_type"], headers={
            "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "no-store"})

    @api("GET", "/api/v1/incidents/<case_id>/timeline")
    def timeline(self, request, case_id):
        """What happened to the case: its audit entries and the events it caused, oldest first."""
        principal = self._principal(request, "case:work")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id)
            entries = store.timeline(uow, row["case_id"])
            uow.audit(principal.actor, "read", "case timeline", case_id=row["case_id"],
                      reason="GET /api/v1/incidents/{case_id}/timeline")
        return json_response({"case_id": str(row["case_id"]), "entries": entries})

    @api("GET", "/api/v1/incidents/<case_id>/notes")
    def notes(self, request, case_id):
        principal = self._principal(request, "case:work")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id)
            notes = store.list_notes(uow, row["case_id"])
            uow.audit(principal.actor, "read", "internal notes", case_id=row["case_id"],
                      reason="GET /api/v1/incidents/{case_id}/notes")
        return json_response({"case_id": str(row["case_id"]), "notes": notes})

    @api("POST", "/api/v1/incidents/<case_id>/notes")
    def add_note(self, request, case_id):
        """An internal note (never shown to the reporter), encrypted like all personal data."""
        principal = self._principal(request, "case:work")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id)  # another's case is 404 before the body is read
            body = self._json_body(request, NoteSchema)
            note_id = store.add_note(uow, row["case_id"], principal.actor, body["text"])
            uow.audit(principal.actor, "create", "internal note", case_id=row["case_id"])
        return json_response({"case_id": str(row["case_id"]), "note_id": note_id}, 201)

    @api("GET", "/api/v1/incidents/<case_id>/messages")
    def messages(self, request, case_id):
        """The messages between staff and the reporter (follow-up page), decrypted; the read is audited."""
        principal = self._principal(request, "case:work")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id)
            rows = handlers.messages(row["case_id"], uow, principal.actor)
        return json_response({"case_id": str(row["case_id"]), "messages": rows})

    @api("POST", "/api/v1/incidents/<case_id>/messages")
    def post_message(self, request, case_id):
        """A message for the reporter: it appears on the follow-up page (encrypted at rest, audited)."""
        principal = self._principal(request, "case:work")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id, lock=True)
            body = self._json_body(request, MessageSchema)
            message_id = handlers.post_message(row["case_id"], body["text"], uow, principal.actor,
                                               self.correlation_id)
        return json_response({"case_id": str(row["case_id"]), "message_id": str(message_id)}, 201)

    @api("POST", "/api/v1/incidents/<case_id>/assign")
    def assign(self, request, case_id):
        """Who works the case (a person's sub and name), or nobody."""
        principal = self._principal(request, "case:work")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id, lock=True)
            body = self._json_body(request, AssignSchema)
            store.assign(uow, row["case_id"], body["assignee"], body.get("assignee_name"), principal.actor)
            uow.audit(principal.actor, "update", "assignment", case_id=row["case_id"],
                      reason=f"assigned to person:{body['assignee']}" if body["assignee"] else "unassigned")
        return json_response({"case_id": str(row["case_id"]), "assigned_to": body["assignee"],
                              "assigned_name": body.get("assignee_name")})

    @api("POST", "/api/v1/incidents/<case_id>/close")
    def staff_close(self, request, case_id):
        """Staff close the case with a reason: final, like a withdrawal."""
        principal = self._principal(request, "case:work")
        return self._finish(request, principal, case_id, "afgesloten")

    @api("POST", "/api/v1/incidents/<case_id>/withdraw")
    def staff_withdraw(self, request, case_id):
        """Staff withdraw the case with a reason (e.g. the reporter asked by phone): incident_withdrawn."""
        principal = self._principal(request, "case:work")
        return self._finish(request, principal, case_id, "ingetrokken")

    def _finish(self, request, principal, case_id, kind: str):
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id, lock=True)
            body = self._json_body(request, StaffCloseSchema)
            if not domain.may_change(self._status_of(uow, row["case_id"])):
                raise Problem(409, "Conflict", "the case is already closed or withdrawn",
                              invalid_params=[{"name": "case_id", "reason": "closed or withdrawn"}])
            store.close(uow, row["case_id"], kind, body["reason"], body.get("note"), principal.actor)
            # either way the case's work stops everywhere: referral, care plan, signals, deadlines (issue 19)
            if kind == "ingetrokken":
                uow.record("incident_withdrawn", row["case_id"], {"channel": row["channel"], "withdrawn_by": "staff"},
                           correlation_id=self.correlation_id)
            else:
                uow.record("incident_closed", row["case_id"], {"channel": row["channel"], "reason": body["reason"]},
                           correlation_id=self.correlation_id)
            uow.audit(principal.actor, "close" if kind == "afgesloten" else "withdraw", "case",
                      case_id=row["case_id"], reason=body["reason"])
        return json_response({"case_id": str(row["case_id"]), "status": kind, "reason": body["reason"]})

    @api("POST", "/api/v1/incidents/<case_id>/conflict")
    def mark_conflict(self, request, case_id):
        """A conflict of interest: the case goes to the region (or the meldpunt the region file names)
        and the people named are excluded from it, matched on their sign-in identity."""
        principal = self._principal(request, "case:work")
        secret = self._region_secret()
        if secret is None:
            raise Problem(503, "Service Unavailable", "the hub has no region secret to match people by")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id, lock=True)
            body = self._json_body(request, ConflictSchema)
            handled_by = self.storage.region.municipality(principal.municipality).conflicts_to
            excluded = store.mark_conflict(uow, row["case_id"], handled_by, body["kind"], principal.actor,
                                           exclusions(secret, body["exclude_emails"], body["exclude_persons"]))
            uow.audit(principal.actor, "route", "conflict of interest", case_id=row["case_id"],
                      reason=f"{body['kind']}: handled by {handled_by}, {excluded} person(s) excluded")
        return json_response({"case_id": str(row["case_id"]), "handled_by": handled_by, "excluded": excluded})

    @api("GET", "/api/v1/incidents/<case_id>/disclosures")
    def disclosures(self, request, case_id):
        """The case's disclosure ledger (shared/disclosures.py): which fields left, to whom, when, why, how."""
        principal = self._principal(request, "case:work")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id)
            rows = uow.disclosed(row["case_id"])
            uow.audit(principal.actor, "read", f"disclosure ledger ({len(rows)} rows)", case_id=row["case_id"],
                      reason="GET /api/v1/incidents/{case_id}/disclosures")
        return json_response({"case_id": str(row["case_id"]), "disclosures": [ledger.as_json(r) for r in rows]})

    @api("GET", "/api/v1/incidents/<case_id>/access-export")
    def access_export(self, request, case_id):
        """AVG art. 15: what the meldpunt holds of the reporter's own case and to whom it went, for staff to
        hand over on the reporter's request (after checking who asks). The export is itself audited and
        recorded in the ledger (channel access_export, to the data subject)."""
        principal = self._principal(request, "case:work")
        with self.storage.case_store(principal.municipality) as uow:
            row = self._visible_case(uow, principal, case_id)
            body = handlers.access_export(uow, row, principal.actor, self.clock.now())
        return json_response(body)

    def _status_of(self, uow, case_id):
        return handlers.status(uow, case_id)


def exclusions(secret: bytes, emails, subs) -> list[tuple[str, dict]]:
    """(keyed identity hash, what staff named) for each person to exclude."""
    found = [(assertion.email_hash(secret, email), {"email": email}) for email in emails]
    found += [(assertion.identity_hashes(secret, sub, None)[0], {"person": sub}) for sub in subs]
    return found

