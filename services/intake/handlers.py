"""Intake's use cases as plain functions of a command and a unit of work.

Every channel in — the partner API and staff (service.py), the public form, the follow-up page,
`meldpunt import` (bulk_import.py), the meldpunt mailbox (mail.py) — stores an incident through
`receive`, the one place where an incident and its incident_reported event go in together. `store`
and `views` default to the real SQL (store.py, shared/case_views.py); tests/fakes.py hands in
in-memory ones.
"""
from __future__ import annotations

import secrets
import uuid

from shared import case_views, disclosures, triage_rules
from shared.errors import NotFound

from services.intake import domain, store


def _record(uow, event_type: str, case_id, payload: dict, description, correlation_id, rules) -> None:
    """incident_reported or incident_updated, at the acute priority when the region's triage rules find
    acute danger in it (their acute floor: an acute report overtakes every backlog from the first hop)."""
    rules = rules or triage_rules.region_rules()
    uow.record(event_type, case_id, payload, correlation_id=correlation_id,
               priority=domain.priority_of(payload, description, rules))


def receive(uow, report: dict, channel: str, received_by: str, correlation_id=None, *, draft: bool = False,
            case_id=None, store=store, rules=None, receipt: tuple[str, str] | None = None) -> uuid.UUID:
    """Store an incident and, unless it is a draft (completed later by staff), record its
    incident_reported event in the same unit of work; the case id. `receipt`: (receipt code, secret
    hash) stored with it (`new_receipt`)."""
    case_id = case_id or uow.new_case_id()
    store.insert_incident(uow, case_id, report, channel=channel, received_by=received_by, draft=draft,
                          receipt=receipt)
    if not draft:
        _record(uow, "incident_reported", case_id, domain.reported_payload(report, channel), report["description"],
                correlation_id, rules)
    return case_id


def report_incident(report: dict, channel: str, uow, actor: str, correlation_id=None, *, store=store,
                    receipt: tuple[str, str] | None = None) -> uuid.UUID:
    """A municipality's channel (`api`) or staff (telefoon, balie, brief) report an incident; `receipt`:
    (receipt code, secret hash) of `new_receipt`, stored with it."""
    case_id = receive(uow, report, channel, actor, correlation_id, store=store, receipt=receipt)
    uow.audit(actor, "create" if channel == "api" else "register", "incident", case_id=case_id,
              reason="POST /api/v1/incidents" if channel == "api" else f"staff: {channel}")
    return case_id


def issue_receipt(uow, case_id, *, store=store) -> tuple[str, str]:
    """The reporter's way back (issue 19): a receipt code and a secret for the follow-up page, for every
    channel; staff hand them over, a channel returns them to its reporter. Only the secret's hash is kept."""
    receipt_code, secret = new_receipt()
    store.set_receipt(uow, case_id, receipt_code, domain.hash_secret(secret))
    return receipt_code, secret


def new_receipt() -> tuple[str, str]:
    """A receipt code and a secret (`issue_receipt`), for a case not yet stored: stored with it, one
    statement fewer (issue 25)."""
    return domain.new_receipt_code(secrets.randbelow), secrets.token_urlsafe(16)


def report_by_form(report: dict, files: list, uow, receipt_code: str, secret_hash: str, correlation_id=None,
                   *, store=store) -> uuid.UUID:
    """The public form: the incident, its receipt for the reporter's follow-up (only the secret's
    hash is kept) and its evidence files [(filename, media_type, content)]."""
    case_id = receive(uow, report, "formulier", "formulier", correlation_id, store=store)
    store.set_receipt(uow, case_id, receipt_code, secret_hash)
    for filename, media_type, content in files:
        store.add_evidence(uow, uuid.uuid4(), case_id, filename, media_type, content, "melder")
    uow.audit("melder", "create", "incident", case_id=case_id, reason="POST /meld/{code} (public form)")
    return case_id


def complete_draft(case_id, report: dict, uow, actor: str, channel: str, correlation_id=None, *, store=store) -> bool:
    """Staff complete a draft (from the mailbox) with the full report: from now on it is a case like any
    other, and its incident_reported event goes out. False when the case is not a draft."""
    if not store.complete_draft(uow, case_id, report):
        return False
    _record(uow, "incident_reported", case_id, domain.reported_payload(report, channel), report["description"],
            correlation_id, None)
    uow.audit(actor, "complete", "incident", case_id=case_id, reason=f"draft: {channel}")
    return True


def status(uow, case_id, progress=None, *, views=case_views) -> str:
    """The status the reporter sees (domain.reporter_status), read where the work was done
    (shared/case_views.py: triage's result, the referral, the care plan, in this same case store)."""
    p = progress or views.progress_of(uow, case_id)
    return domain.reporter_status(p.own_status, triaged=p.triaged, referred=p.referred, planned=p.planned,
                                  closed=p.closed_since is not None)


def add_evidence(case_id, filename: str, content: bytes, uow, actor: str, channel: str, options: dict,
                 correlation_id=None, *, store=store) -> tuple[uuid.UUID, str, int]:
    """One evidence file to a (locked) case, its kind decided by its content (domain.EvidenceRefused when
    refused); incident_updated unless the case is a draft (its completion reports it). The file's id,
    media type and how many files the case has now."""
    count, total = store.evidence_total(uow, case_id)
    media_type = domain.check_evidence(content, total, options["max_file_bytes"], options["max_case_bytes"])
    evidence_id = uuid.uuid4()
    store.add_evidence(uow, evidence_id, case_id, filename, media_type, content, actor)
    uow.audit(actor, "add", "evidence", case_id=case_id, reason=media_type)
    current = store.get_incident(uow, case_id)
    if not current["draft"]:
        _record(uow, "incident_updated", case_id, domain.updated_payload(current, channel, ["evidence"], count + 1),
                current["description"], correlation_id, None)
    return evidence_id, media_type, count + 1


def add_to_case(case_id, text: str, files: list, uow, correlation_id=None, *, store=store) -> None:
    """The reporter adds words and files on the follow-up page; triage decides again (incident_updated)."""
    count, _ = store.evidence_total(uow, case_id)
    changes = []
    if text:
        store.add_text(uow, case_id, "formulier", "melder", text)
        changes.append("description")
    for filename, media_type, content in files:
        store.add_evidence(uow, uuid.uuid4(), case_id, filename, media_type, content, "melder")
    if files:
        changes.append("evidence")
    current = store.get_incident(uow, case_id)
    _record(uow, "incident_updated", case_id, domain.updated_payload(current, "formulier", changes, count + len(files)),
            "\n".join(t for t in (current["description"], text) if t), correlation_id, None)


def withdraw(case_id, uow, channel: str, withdrawn_by: str, correlation_id=None, *, store=store) -> None:
    """The reporter withdraws the report; downstream work on the case stops (incident_withdrawn)."""
    store.set_status(uow, case_id, "ingetrokken")
    uow.record("incident_withdrawn", case_id, {"channel": channel, "withdrawn_by": withdrawn_by},
               correlation_id=correlation_id)


def case_for(principal, uow, case_id, *, store=store) -> dict:
    """The incident (personal data decrypted) for a caller who may see it (auth.may_see_case), its read
    audited; NotFound for no such case."""
    row = store.get_incident(uow, case_id)
    if row is None:
        raise NotFound("no such case")
    uow.audit(principal.actor, "read", "incident", case_id=case_id, reason="GET /api/v1/incidents/{case_id}")
    row["evidence"] = store.list_evidence(uow, case_id)
    row["status"] = status(uow, case_id)
    row["municipality"] = principal.municipality
    row["anonymous"] = domain.is_anonymous(row)
    row["ended"] = ended(uow, row, store=store)
    return row


def ended(uow, row: dict, *, store=store) -> dict | None:
    """Who withdrew or closed the case, when and why (a code): staff's closing names the person; a
    withdrawal on the follow-up page is the reporter's."""
    closure = store.closure(uow, row["case_id"])
    if closure is not None:
        return {"kind": closure["kind"], "by": closure["closed_by"], "reason": closure["reason"],
                "at": closure["closed_at"].isoformat()}
    if row.get("status") == "ingetrokken" or row.get("withdrawn_at"):
        at = row.get("withdrawn_at")
        return {"kind": "ingetrokken", "by": "melder", "reason": None, "at": at.isoformat() if at else None}
    return None


# ---------------------------------------------------------------- messages between staff and the reporter

def post_message(case_id, text: str, uow, actor: str, correlation_id=None, *, store=store) -> uuid.UUID:
    """Staff write to the reporter: the text (encrypted) appears on the follow-up page; a reporter who
    asked for contact is mailed that there is news (signals, case_message_posted)."""
    message_id = uuid.uuid4()
    store.add_message(uow, message_id, case_id, "to_reporter", actor, text)
    uow.audit(actor, "create", "message to the reporter", case_id=case_id)
    uow.record("case_message_posted", case_id, {"message_id": message_id, "direction": "to_reporter"},
               correlation_id=correlation_id)
    return message_id


def reporter_answers(case_id, text: str, uow, correlation_id=None, *, store=store) -> uuid.UUID:
    """The reporter answers on the follow-up page: it reaches the case (encrypted, audited) and staff get
    a signal (reporter_replied)."""
    message_id = uuid.uuid4()
    store.add_message(uow, message_id, case_id, "from_reporter", "melder", text)
    uow.audit("melder", "create", "message from the reporter", case_id=case_id,
              reason="POST /meld/{code}/volg (answer, with receipt code and secret)")
    uow.record("case_message_posted", case_id, {"message_id": message_id, "direction": "from_reporter"},
               correlation_id=correlation_id)
    return message_id


def messages(case_id, uow, actor: str, *, store=store) -> list[dict]:
    """The messages between staff and the reporter, decrypted; the read is audited."""
    rows = store.list_messages(uow, case_id)
    uow.audit(actor, "read", f"messages with the reporter ({len(rows)})", case_id=case_id)
    return rows


# Incident columns that are the meldpunt's bookkeeping, not data about the reporter.
_NOT_EXPORTED = ("personal", "secret_hash", "received_by", "draft")


def access_export(uow, row: dict, actor: str, now, *, store=store) -> dict:
    """AVG art. 15: the reporter's own case as the meldpunt holds it — the report (decrypted), what they
    added, the messages, what the other services did with it (case_views.processing_of), and the disclosure
    ledger. Audited, and itself a ledger row (to the data subject, on their request)."""
    case_id = row["case_id"]
    incident = {k: v for k, v in row.items() if k not in _NOT_EXPORTED}
    ledger_rows = [disclosures.as_json(r) for r in uow.disclosed(case_id)]
    export = {
        "case_id": str(case_id), "produced_at": now.isoformat(), "produced_by": actor,
        "legal_basis": "AVG art. 15 (recht van inzage)",
        "incident": incident,
        "additions": store.list_additions(uow, case_id),
        "evidence": store.list_evidence(uow, case_id),
        "messages": store.list_messages(uow, case_id),
        "processing": case_views.processing_of(uow, case_id),
        "disclosures": ledger_rows,
    }
    uow.audit(actor, "export", "access export (AVG art. 15)", case_id=case_id,
              reason="GET /api/v1/incidents/{case_id}/access-export")
    uow.disclose(disclosures.Disclosure(
        case_id, "access_export", "data_subject", "melder", tuple(sorted(
            disclosures.field_names({k: v for k, v in incident.items() if v not in (None, "", [], {})}))),
        "data_subject_request", "avg_art_15", actor=actor), at=now)
    return export
