"""Police liaison's use cases as plain functions of a command or event and a unit of work.

The nameko entrypoints (service.py) and the tests call them; `store` defaults to the real SQL
(store.py), and tests/fakes.py hands in an in-memory one. `options` are the region's
`police_liaison:` section (options.options_of).
"""
from __future__ import annotations

import logging
import uuid

from shared import case_views, disclosures, metrics
from shared import vocabulary
from shared.errors import Conflict, Gone, Invalid, Refused
from shared.events import dump_event

from services.police_liaison import domain, ela, store, webhooks
from services.police_liaison.options import webhook_secret
from services.police_liaison.schemas import ela_of

log = logging.getLogger(__name__)


def refer(events, uow, unit: str, options: dict, now, *, store=store) -> None:
    """incident_triaged (a batch of one municipality's), each event once: the case's referral follows
    triage's decision (`decide`)."""
    if len(events) == 1:  # the usual case: the inbox claim rides on the decision's statement (issue 25)
        decide(events[0], uow, unit, options, now, store=store, claim=True)
        return
    for event in uow.first_deliveries(events):
        decide(event, uow, unit, options, now, store=store)


def carry_out_override(event, uow, unit: str, options: dict, now, *, store=store) -> None:
    """triage_overridden, once: a person's decision reaches the referral (`decide`)."""
    decide(event, uow, unit, options, now, store=store, claim=True)


def decide(event, uow, unit: str, options: dict, now, *, store=store, claim: bool = False) -> None:
    """The referral follows the newest decision about the case (domain.react): made, withdrawn with the
    police told (`referral_withdrawn`), back again, or its urgency and acceptance deadline changed
    (`referral_updated`). An older decision arriving late, or any decision about a withdrawn or closed
    case, changes nothing."""
    if not store.take_decision(uow, event.case_id, event.occurred_at, claim=event if claim else None):
        return  # (`claim`: the event is claimed in the inbox in the same statement; a redelivery changes nothing)
    referral = store.referral_of_case(uow, event.case_id, lock=True)
    reaction = domain.react(referral, event.payload["decisions"], event.payload["urgency"])
    if reaction.create:
        _create(event, uow, unit, options, now, store)
    elif reaction.withdraw:
        withdraw(referral, "decision_removed", uow, options, now, event.correlation_id, store=store)
    elif reaction.restore:
        _restore(referral, event, uow, options, now, store)
    elif reaction.urgency:
        _change_urgency(referral, reaction.urgency, uow, options, now, event.correlation_id, store)


def _create(event, uow, unit, options, now, store) -> None:
    if "occurred_at" not in event.payload:  # an override recorded before overrides carried the incident's codes
        return
    referral = domain.referral_for(event.case_id, event.payload, unit)
    deadline = domain.acceptance_deadline(now, referral.urgency, options["acute_accept_minutes"],
                                          options["accept_working_days"])
    ela = domain.initial_ela(event.payload.get("consent"))
    option = domain.initial_option(event.payload.get("consent"))
    aangifte = {"aangifte_by": option.by, "onder_nummer": option.onder_nummer,
                "aangifte_advice_due": domain.aangifte_advice_due(now, options["aangifte_advice_working_days"])}
    if not store.insert_referral(uow, referral, "triage" if event.event_type == "incident_triaged" else
                                 "triage_overridden", {**ela, "domiciliekeuze": option.domiciliekeuze}, deadline,
                                 aangifte, (options.get("ela") or {}).get("version")):
        return
    payload = domain.referral_created_payload(referral, event.payload, ela,
                                              contact_route=f"gemeente:{event.municipality}",
                                              aangifte=option.codes())
    emit(uow, options, "referral_created", event.case_id, payload, unit, referral.urgency, event.correlation_id,
         store=store)


def _restore(referral, event, uow, options, now, store) -> None:
    """A person decided on the referral again after removing it: the police get it back, as new."""
    if "occurred_at" not in event.payload:  # an override recorded before overrides carried the incident's codes
        return
    urgency = event.payload["urgency"]
    deadline = domain.acceptance_deadline(now, urgency, options["acute_accept_minutes"], options["accept_working_days"])
    store.update_referral(uow, referral["referral_id"], {
        "status": "created", "urgency": urgency, "accept_deadline": deadline, "escalated_at": None,
        "withdrawn_at": None, "withdrawal_reason": None})
    store.add_step(uow, referral["referral_id"], "created", event.event_type, at=now)
    row = store.get_referral(uow, referral["referral_id"])
    restored = domain.Referral(row["referral_id"], row["case_id"], row["police_unit"], list(row["categories"]),
                               urgency)
    emit(uow, options, "referral_created", row["case_id"], domain.referral_created_payload(
        restored, event.payload, ela_of(row), contact_route=f"gemeente:{uow.municipality}",
        aangifte=domain.option_of(row).codes()), row["police_unit"], urgency, event.correlation_id, store=store)


def _change_urgency(referral, urgency, uow, options, now, correlation_id, store) -> None:
    """Another urgency: while the police have not accepted, the acceptance deadline follows it (counted
    from when the referral was made: acuut shortens it, maybe into the past, and the next escalation
    round escalates it)."""
    waiting = referral["status"] == "created"
    deadline = domain.acceptance_deadline(referral["created_at"], urgency, options["acute_accept_minutes"],
                                          options["accept_working_days"]) if waiting else None
    changes = {"urgency": urgency, **({"accept_deadline": deadline} if waiting else {})}
    store.update_referral(uow, referral["referral_id"], changes)
    store.add_step(uow, referral["referral_id"], referral["status"], f"urgency {referral['urgency']} -> {urgency}",
                   at=now)
    row = store.get_referral(uow, referral["referral_id"])
    emit(uow, options, "referral_updated", row["case_id"], {
        "referral_id": row["referral_id"], "police_unit": row["police_unit"], "status": row["status"],
        "previous_status": row["status"], "outcome": row["outcome"], "ela": ela_of(row),
        "aangifte": domain.option_of(row).codes(), "urgency": urgency,
        "previous_urgency": referral["urgency"], "accept_deadline": deadline}, row["police_unit"], urgency,
        correlation_id, store=store)


def stop(event, uow, options: dict, now, *, store=store) -> None:
    """incident_withdrawn or incident_closed, once: the referral is withdrawn with the police told, and no
    later decision makes one; the liaison's details answer 410 from now on."""
    if not uow.first_delivery(event):
        return
    case = store.case_state(uow, event.case_id)
    if case["stopped_at"] is not None:
        return
    reason = domain.stop_reason(event.event_type, event.payload)
    store.stop_case(uow, event.case_id, reason, now)
    referral = store.referral_of_case(uow, event.case_id, lock=True)
    if referral is not None and referral["status"] in domain.ACTIVE:
        withdraw(referral, reason, uow, options, now, event.correlation_id, store=store)


def withdraw(referral: dict, reason: str, uow, options: dict, now, correlation_id=None, *, store=store) -> None:
    """The police stop working on the meldpunt's behalf: `referral_withdrawn` to the unit's queue and
    webhook, the step in the referral's history, and what they already received in the ledger."""
    store.update_referral(uow, referral["referral_id"], {
        "status": "ingetrokken", "withdrawn_at": now, "withdrawal_reason": reason})
    store.add_step(uow, referral["referral_id"], "ingetrokken", f"hub: {reason}", at=now)
    emit(uow, options, "referral_withdrawn", referral["case_id"], {
        "referral_id": referral["referral_id"], "police_unit": referral["police_unit"],
        "previous_status": referral["status"], "reason": reason}, referral["police_unit"], referral["urgency"],
        correlation_id, store=store)
    record_what_the_police_received(uow, referral, reason, now, store=store)


def record_what_the_police_received(uow, referral: dict, reason: str, now, *, store=store) -> None:
    """At a withdrawal, what of the case the police already received is written in the referral's history
    (a step `ingetrokken` by `hub: ledger`, counts and field names from the disclosure ledger, no values),
    so that whoever reads the referral sees what the police may still hold. Each disclosure itself was
    recorded in the ledger when it left (`emit`, `details_read`, `form_disclosed`)."""
    rows = [r for r in uow.disclosed(referral["case_id"]) if r["recipient_kind"] == "police_unit"]
    received = [r for r in rows if r["status"] == "delivered"]
    fields = sorted({name for r in received for name in r["fields"]})
    detail = (f"received before withdrawal ({reason}): {len(received)} of {len(rows)} disclosures delivered"
              + (f"; fields: {', '.join(fields)}" if fields else ""))
    store.add_step(uow, referral["referral_id"], "ingetrokken", "hub: ledger", detail, at=now)


POLICE_BASIS = {"legal_basis": "consent", "consent_version": disclosures.CONSENT_TEXTS,
                "purpose": "police_referral"}


def emit(uow, options: dict, event_type: str, case_id, payload: dict, unit: str, urgency: str, correlation_id,
         *, store=store):
    """Record a referral event in the outbox and, when the unit has a webhook, its one delivery; each way
    it leaves for the police is a row in the disclosure ledger, pending until it is confirmed (AMQP: the
    broker confirmed the publish; webhook: the unit answered 2xx)."""
    recorded = uow.record(event_type, case_id, payload, correlation_id=correlation_id,
                          priority=vocabulary.URGENCY_PRIORITY[urgency])
    names = tuple(disclosures.field_names(payload))
    # with the event's outbox row, in the commit's one statement (issue 25)
    uow.disclose(disclosures.Disclosure(
        case_id, "amqp", "police_unit", unit, names, status="pending", event_id=recorded.event_id,
        **POLICE_BASIS), later=True)
    if unit in options["webhooks"]:
        delivery_id = uuid.uuid4()
        if store.add_delivery(uow, delivery_id, recorded.event_id, unit, event_type, dump_event(recorded)):
            uow.disclose(disclosures.Disclosure(
                case_id, "webhook", "police_unit", unit, names, status="pending", event_id=recorded.event_id,
                delivery_id=delivery_id, **POLICE_BASIS))
    return recorded


def details_read(uow, row: dict, details: dict, actor: str, now) -> None:
    """The liaison read the incident's details: one ledger row (field names of the answer), delivered
    with the answer (it commits before the answer is sent)."""
    uow.disclose(disclosures.Disclosure(
        row["case_id"], "details_api", "police_unit", row["police_unit"], tuple(disclosures.field_names(details)),
        actor=actor, **POLICE_BASIS), at=now)


def take_step(row: dict, step: domain.Step, uow, actor: str, role: str, options: dict, now, correlation_id=None,
              *, store=store) -> dict:
    """The liaison moves the (locked) referral a step in its lifecycle; the referral as it is now."""
    try:
        changes = domain.check_step(row["status"], step, ela.codes(options.get("ela")))
    except domain.IllegalTransition as exc:
        raise Conflict(str(exc), invalid_params=[
            {"name": "status", "reason": f"allowed from {row['status']}: "
                                         f"{', '.join(domain.TRANSITIONS[row['status']]) or 'none'}"}]) from None
    except domain.InvalidStep as exc:
        raise Invalid("one or more fields are invalid",
                      invalid_params=[{"name": exc.field_name, "reason": exc.reason}]) from None
    return change(row, changes, uow, actor, role, options, now, correlation_id,
                  detail=step.reason or step.registration_number, store=store)


def change(row: dict, changes: dict, uow, actor: str, role: str, options: dict, now, correlation_id=None,
           detail=None, step_status=None, *, store=store) -> dict:
    """Apply checked changes (a step, or ELA flags with `step_status` the current status): the step in
    the referral's history, the audit entry and referral_updated; the referral as it is now."""
    previous = row["status"]
    store.update_referral(uow, row["referral_id"], domain.ela_columns(changes, row, actor, now))
    store.add_step(uow, row["referral_id"], changes.get("status", step_status), actor, detail, at=now)
    uow.audit(actor, "update", f"police referral ({', '.join(sorted(changes))})",
              case_id=row["case_id"], reason=f"{role}: step {changes.get('status', step_status)}")
    row = store.get_referral(uow, row["referral_id"])
    emit(uow, options, "referral_updated", row["case_id"], {
        "referral_id": row["referral_id"], "police_unit": row["police_unit"], "status": row["status"],
        "previous_status": previous, "outcome": row["outcome"], "ela": ela_of(row),
        **domain.ela_checklist_codes(row, options.get("ela")), "aangifte": domain.option_of(row).codes()},
        row["police_unit"], row["urgency"], correlation_id, store=store)
    return row


def choose_aangifte(row: dict, option: domain.AangifteOption, uow, actor: str, role: str, options: dict, now,
                    correlation_id=None, *, store=store) -> dict:
    """The meldpunt records the aangifte option chosen with the victim (who files, with which mandate, onder
    nummer, domiciliekeuze); from now on what the police read follows it (domain.aangever_for_police)."""
    if row["status"] not in domain.ACTIVE or row["status"] in ("aangifte_gedaan", "bij_om"):
        raise Conflict(f"the aangifte option cannot change once the referral is {row['status']}",
                       invalid_params=[{"name": "status", "reason": f"the referral is {row['status']}"}])
    try:
        domain.check_option(option)
    except domain.InvalidStep as exc:
        raise Invalid("one or more fields are invalid",
                      invalid_params=[{"name": exc.field_name, "reason": exc.reason}]) from None
    changes = domain.option_changes(option, now)
    return change(row, changes, uow, actor, role, options, now, correlation_id,
                  detail=f"aangifte: {option.by}" + (", onder nummer" if option.onder_nummer else "")
                  + (", domiciliekeuze" if option.domiciliekeuze else ""), step_status=row["status"], store=store)


def remind_aangifte(uow, options: dict, now, *, store=store) -> list[dict]:
    """Past the advice to file within two working days with no aangifte planned: one aangifte_reminder_due each
    (for the meldpunt's staff, through signals; not for the police), each once however many instances run."""
    rows = store.unreminded_aangifte(uow, now)
    for row in rows:
        store.update_referral(uow, row["referral_id"], {"aangifte_reminded_at": now})
        uow.record("aangifte_reminder_due", row["case_id"], {
            "referral_id": row["referral_id"], "police_unit": row["police_unit"], "status": row["status"],
            "urgency": row["urgency"], "advice_due": row["aangifte_advice_due"]},
            priority=vocabulary.URGENCY_PRIORITY[row["urgency"]])
    return rows


def escalate_overdue(uow, options: dict, now, *, store=store) -> list[dict]:
    """Referrals not accepted in time: one referral_escalated each (SKIP LOCKED + escalated_at), each
    once however many instances run; the referrals it escalated."""
    rows = store.overdue_referrals(uow, now)
    for row in rows:
        store.mark_escalated(uow, row["referral_id"], now)
        emit(uow, options, "referral_escalated", row["case_id"], {
            "referral_id": row["referral_id"], "police_unit": row["police_unit"],
            "urgency": row["urgency"], "deadline": row["accept_deadline"]},
            row["police_unit"], row["urgency"], uuid.uuid4(), store=store)
    return rows


def refuse_when_withdrawn(uow, row: dict, *, store=store) -> None:
    """Gone (410), in plain words, once the referral was withdrawn or its case withdrawn or closed: the
    police no longer read the case's details."""
    stopped = store.stopped(uow, row["case_id"])
    if row["status"] == "ingetrokken" or stopped is not None:
        reason = row["withdrawal_reason"] or stopped["stop_reason"]
        raise Gone(domain.withdrawal_words(reason, row["withdrawn_at"] or stopped["stopped_at"]),
                   invalid_params=[{"name": "referral_id", "reason": f"withdrawn: {reason}"}])


def details_for_police(uow, row: dict, employer: dict | None) -> dict | None:
    """What the unit's liaison reads of the incident (shared/case_views.py incident_for_police) and, once the
    aangifte option is chosen with the victim, who files it as far as that option lets it leave
    (domain.aangever_for_police). None when the incident is no longer stored."""
    details = case_views.incident_for_police(uow, row["case_id"])
    if details is not None and row.get("aangifte_chosen_at") is not None:
        details["aangever"] = domain.aangever_for_police(
            domain.option_of(row), case_views.reporter_for_police(uow, row["case_id"]), employer)
    return details


def deliver_due(storage, code: str, hooks: dict, now, formats: dict | None = None) -> int:
    """Claim due deliveries (SKIP LOCKED, leased by moving next_attempt), POST them outside the
    transaction (in the unit's format: `formats`, the region's police_liaison.formats), then record
    the result. Returns how many were delivered."""
    with storage.case_store(code) as uow:
        due = store.due_deliveries(uow, now)
        for row in due:
            hook = hooks.get(row["police_unit"])
            lease = (hook or {}).get("timeout_seconds", 10.0) + 5
            uow.execute("UPDATE police_liaison.webhook_deliveries SET next_attempt = %s + make_interval(secs => %s) "
                        "WHERE delivery_id = %s", (now, lease, row["delivery_id"])).close()
    delivered = 0
    for row in due:
        hook = hooks.get(row["police_unit"])
        if hook is None:
            error = "no webhook configured for this unit"
        else:
            try:
                error = webhooks.deliver(hook["url"], webhook_secret(hook), str(row["delivery_id"]),
                                         row["event_type"], row["body"], now, hook["timeout_seconds"],
                                         (formats or {}).get(row["police_unit"], "envelope"))
            except (LookupError, OSError) as exc:
                error = str(exc)
        attempts = row["attempts"] + 1
        max_attempts = (hook or {}).get("max_attempts", 1)
        retry_at = webhooks.next_attempt(now, attempts, (hook or {}).get("first_delay_seconds", 2.0),
                                         (hook or {}).get("max_delay_seconds", 600.0))
        with storage.case_store(code) as uow:
            store.delivery_result(uow, row["delivery_id"], error is None, error, retry_at,
                                  give_up=attempts >= max_attempts)
            # the ledger row says delivered only once the unit answered 2xx; failed once given up
            disclosures.delivery_result(uow, row["delivery_id"], error is None, error,
                                        give_up=attempts >= max_attempts, at=now)
        metrics.WEBHOOK_ATTEMPTS.labels(row["police_unit"], "ok" if error is None else "failed").inc()
        if error is None:
            delivered += 1
        else:
            log.warning("webhook delivery %s to %s failed (attempt %d): %s", row["delivery_id"],
                        row["police_unit"], attempts, error)
    return delivered


def information_form(uow, row: dict, employer: dict | None, actor: str, to_police: bool, now) -> dict | None:
    """The police information form of the referral's case (domain.information_form); read by the unit's
    liaison it is a disclosure (one ledger row, its field names), read by staff it goes to the victim.
    None when the incident is no longer stored."""
    details = details_for_police(uow, row, employer)
    if details is None:
        return None
    form = domain.information_form(row, details, details.get("aangever"))
    uow.audit(actor, "read", "police information form", case_id=row["case_id"],
              reason=f"GET /api/v1/referrals/{row['referral_id']}/information-form")
    if to_police:
        uow.disclose(disclosures.Disclosure(
            row["case_id"], "information_form", "police_unit", row["police_unit"],
            tuple(disclosures.field_names(form)), actor=actor, **POLICE_BASIS), at=now)
    return form



def wants_pdf(format_: str | None, accept) -> bool:
    """The information form as PDF: asked with ?format=pdf, or by an Accept header preferring it (a
    ?format=json wins over the header). Any other format is 400."""
    if format_ not in (None, "json", "pdf"):
        raise Refused("unknown format", invalid_params=[{"name": "format", "reason": "json or pdf"}])
    if format_ is not None:
        return format_ == "pdf"
    return accept.best_match(["application/json", "application/pdf"]) == "application/pdf"


def police_status_of(uow, case_id) -> dict:
    """The case's police status in plain words (no police details): the case view and intake's follow-up page."""
    row = store.referral_of_case(uow, case_id)
    if row is None:
        return case_views.police_status(case_id, None)
    return case_views.police_status(case_id, row["status"], row["outcome"], row["updated_at"])


def set_ela(row: dict, flags: dict, uow, actor: str, role: str, options: dict, now, correlation_id=None,
            *, store=store) -> dict:
    """Either side ticks items of the region's ELA checklist (PATCH .../ela): refused on a withdrawn referral,
    for a code not in the checklist and for the items that follow the aangifte option."""
    if row["status"] == "ingetrokken":
        raise Conflict("the referral was withdrawn", invalid_params=[{"name": "referral_id", "reason": "withdrawn"}])
    if not flags:
        raise Invalid("give at least one ELA item", invalid_params=[{"name": "body", "reason": "no ELA item given"}])
    try:
        flags = domain.check_ela(flags, ela.codes(options.get("ela")))
    except domain.InvalidStep as exc:
        raise Invalid("one or more fields are invalid",
                      invalid_params=[{"name": exc.field_name, "reason": exc.reason}]) from None
    return change(row, flags, uow, actor, role, options, now, correlation_id, detail="ela",
                  step_status=row["status"], store=store)
