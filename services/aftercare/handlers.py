"""Aftercare's use cases as plain functions of a command or event and a unit of work.

The nameko entrypoints (service.py) and the tests call them; `store` defaults to the real SQL
(store.py), and tests/fakes.py hands in an in-memory one. `options` are the region's `aftercare:`
section. Health data is sealed with the municipality's data key (uow.seal) before it is stored.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from shared import case_views, disclosures
from shared import vocabulary
from shared.errors import Conflict, Invalid, NotFound

from services.aftercare import domain, store

CONTACTS, REFERRALS = "aftercare.contacts", "aftercare.referrals"
TRACKS, TRACK_CONTACTS = "aftercare.witness_tracks", "aftercare.witness_contacts"
REMINDERS = (("due_notified_at", "aftercare_contact_due"), ("overdue_notified_at", "aftercare_overdue"))


# ------------------------------------------------------------------ from triage

def plan(events, uow, options: dict, now, *, store=store) -> None:
    """incident_triaged (a batch of one municipality's), each event once: the case's care plan follows
    triage's decision (`decide`)."""
    if len(events) == 1:  # the usual case: the inbox claim rides on the decision's statement (issue 25)
        decide(events[0], uow, options, now, store=store, claim=True)
        return
    for event in uow.first_deliveries(events):
        decide(event, uow, options, now, store=store)


def replan_after_override(event, uow, options: dict, now, *, store=store) -> None:
    """triage_overridden, once: a person's decision reaches the care plan (`decide`)."""
    decide(event, uow, options, now, store=store, claim=True)


def decide(event, uow, options: dict, now, *, store=store, claim: bool = False) -> None:
    """The care plan follows the newest decision about the case (domain.react): planned when aftercare is
    decided, closed when it no longer is (reason `decision_removed`), open again when it is decided again,
    re-planned for another urgency. An older decision arriving late, or any decision about a withdrawn or
    closed case, changes nothing."""
    if not store.take_decision(uow, event.case_id, event.occurred_at, claim=event if claim else None):
        return  # (`claim`: the event is claimed in the inbox in the same statement; a redelivery changes nothing)
    urgency = event.payload["urgency"]
    existing = store.plan_of_case(uow, event.case_id, lock=True)
    reaction = domain.react(existing, event.payload["decisions"], urgency)
    if reaction.create:
        new = domain.plan_care(event.case_id, urgency, event.payload["decisions"], now=now, options=options)
        if store.insert_plan(uow, new, event.payload.get("occurred_at")):
            _record_planned(uow, event, new.plan_id, urgency, new.first_contact_due, len(new.moments))
    elif reaction.close:
        close_by_hub(existing, "decision_removed", uow, now, event.correlation_id, store=store)
    elif reaction.reopen:
        open_kinds = {m["kind"] for m in store.moments(uow, existing["plan_id"]) if m["done_at"] is None}
        store.reopen(uow, existing["plan_id"], urgency, domain.replan(urgency, now, open_kinds, options), now)
        _record_planned_now(uow, event, existing["plan_id"], urgency, store)
    elif reaction.replan:
        _replan(uow, event, existing, urgency, options, now, store)


def stop(event, uow, now, *, store=store) -> None:
    """incident_withdrawn or incident_closed, once: the open plan closes (reason `withdrawn` or
    `case_closed`), no reminder goes out any more, and no later decision plans care."""
    if not uow.first_delivery(event):
        return
    case = store.case_state(uow, event.case_id)
    if case["stopped_at"] is not None:
        return
    reason = domain.stop_reason(event.event_type)
    store.stop_case(uow, event.case_id, reason, now)
    existing = store.plan_of_case(uow, event.case_id, lock=True)
    if existing is not None and existing["status"] == "open":
        close_by_hub(existing, reason, uow, now, event.correlation_id, store=store)


def close_by_hub(plan_row: dict, reason: str, uow, now, correlation_id=None, *, store=store) -> None:
    """The hub closes the plan because of a decision elsewhere (who decided is in that service's audit)."""
    counts = store.counts(uow, plan_row["plan_id"])
    store.close(uow, plan_row["plan_id"], "closed", reason, now)
    uow.record("aftercare_closed", plan_row["case_id"], {
        "plan_id": plan_row["plan_id"], "reason": reason, "contacts": counts["contacts"],
        "referrals": counts["referrals"], "days_open": max(0, (now - plan_row["planned_at"]).days),
    }, correlation_id=correlation_id)


def _record_planned_now(uow, event, plan_id, urgency, store) -> None:
    moments = store.moments(uow, plan_id)
    first_open = next((m["due_at"] for m in moments if m["done_at"] is None), moments[0]["due_at"])
    _record_planned(uow, event, plan_id, urgency, first_open, len(moments))


def _replan(uow, event, plan_row, urgency, options, now, store) -> None:
    if plan_row["status"] != "open" or plan_row["urgency"] == urgency:
        return
    open_kinds = {m["kind"] for m in store.moments(uow, plan_row["plan_id"]) if m["done_at"] is None}
    new_due = domain.replan(urgency, plan_row["planned_at"], open_kinds, options)
    store.replan(uow, plan_row["plan_id"], urgency, new_due, now)
    moments = store.moments(uow, plan_row["plan_id"])
    first_open = next((m["due_at"] for m in moments if m["done_at"] is None), moments[0]["due_at"])
    _record_planned(uow, event, plan_row["plan_id"], urgency, first_open, len(moments))


def _record_planned(uow, event, plan_id, urgency, first_due, count) -> None:
    uow.record("aftercare_planned", event.case_id, {
        "plan_id": plan_id, "urgency": urgency, "first_contact_due": first_due, "contact_moments": count,
    }, correlation_id=event.correlation_id, priority=vocabulary.URGENCY_PRIORITY[urgency])


def send_reminders(uow, options: dict, now, *, store=store) -> None:
    """aftercare_contact_due and aftercare_overdue once per contact moment: the moments are locked
    (SKIP LOCKED, so another instance takes other moments or none), marked, and their events put in
    the outbox together. Anything missed while the service was down is caught up here."""
    thresholds = {"due_notified_at": now + timedelta(hours=options["remind_before_hours"]),
                  "overdue_notified_at": now - timedelta(hours=options["overdue_after_hours"])}
    for marker, event_type in REMINDERS:
        for row in store.claim_reminders(uow, marker, thresholds[marker]):
            payload = {"plan_id": row["plan_id"], "moment": row["kind"], "urgency": row["urgency"],
                       "due_at": row["due_at"]}
            if event_type == "aftercare_overdue":
                payload["hours_overdue"] = max(0, domain.hours_between(now, row["due_at"]))
            uow.record(event_type, row["case_id"], payload, priority=vocabulary.URGENCY_PRIORITY[row["urgency"]])
            store.mark_reminded(uow, marker, row["id"], now)


# ------------------------------------------------------------------ the worker's commands

def open_plan(uow, plan_id, lock: bool = True, must_be_open: bool = True, *, store=store) -> dict:
    plan_row = store.get_plan(uow, plan_id, lock=lock)
    if plan_row is None:
        raise NotFound("no such care plan")
    if must_be_open and plan_row["status"] != "open":
        raise Conflict(f"the care plan is {plan_row['status']}")
    return plan_row


def plan_with_health_data(plan_id, uow, actor: str, *, store=store) -> dict:
    """The whole plan with its health data decrypted; the read is audited."""
    plan_row = open_plan(uow, plan_id, lock=False, must_be_open=False, store=store)
    contacts = []
    for row in store.contacts(uow, plan_row["plan_id"]):
        row["wellbeing"] = uow.unseal(CONTACTS, "health", row["contact_id"], row.pop("health"))
        contacts.append(row)
    referrals = []
    for row in store.referrals(uow, plan_row["plan_id"]):
        details = uow.unseal(REFERRALS, "details", row["referral_id"], row.pop("details"))
        result = uow.unseal(REFERRALS, "result", row["referral_id"], row.pop("result"))
        referrals.append({**row, **(details or {}), "result": result})
    moments = store.moments(uow, plan_row["plan_id"])
    uow.audit(actor, "read", "aftercare plan (health data)", case_id=plan_row["case_id"],
              reason="GET /api/v1/aftercare/plans/{plan_id}")
    return {**plan_row, "moments": moments, "contacts": contacts, "referrals": referrals}


def record_contact(plan_id, contact: dict, uow, actor: str, options: dict, now, correlation_id=None,
                   *, store=store) -> dict:
    """A contact moment (or an extra contact) as it went, with the wellbeing check (health data)."""
    plan_row = open_plan(uow, plan_id, store=store)
    kind = contact.get("moment") or store.first_open_moment(uow, plan_row["plan_id"]) or "extra"
    planned = store.moment(uow, plan_row["plan_id"], kind) if kind != "extra" else None
    if kind != "extra" and (planned is None or planned["done_at"] is not None):
        raise Invalid("one or more fields are invalid", invalid_params=[
            {"name": "moment", "reason": f"{kind} is not an open contact moment of this plan"}])
    incident_at = plan_row["occurred_at"] or plan_row["planned_at"]
    health, advice = _health(contact, incident_at, options)
    contact_id = uuid.uuid4()
    sealed = uow.seal(CONTACTS, "health", contact_id, health, case_id=plan_row["case_id"]) if health else None
    store.insert_contact(uow, contact_id, plan_row["plan_id"], kind, contact, sealed, now)
    # a moment counts as done when the reporter was reached (or said no to contact)
    if planned is not None and contact["outcome"] in ("reached", "contact_refused"):
        store.complete_moment(uow, plan_row["plan_id"], kind, contact["contacted_at"])
    uow.record("aftercare_contact_recorded", plan_row["case_id"], {
        "plan_id": plan_row["plan_id"], "moment": kind, "method": contact["method"], "outcome": contact["outcome"],
        "hours_after_due": domain.hours_between(contact["contacted_at"], planned["due_at"]) if planned else None,
        "days_since_incident": (contact["contacted_at"] - incident_at).days,
        "wellbeing_checked": "tsq_answers" in contact,
    }, correlation_id=correlation_id)
    uow.audit(actor, "create", "aftercare contact (health data)", case_id=plan_row["case_id"])
    return {"contact_id": str(contact_id), "moment": kind, "wellbeing": advice}


def _health(contact: dict, incident_at, options: dict) -> tuple[dict, dict | None]:
    """What of a contact is health data (the TSQ answers and score, notes), and the TSQ advice."""
    health, advice = {}, None
    if "tsq_answers" in contact:
        try:
            tsq = domain.score_tsq(contact["tsq_answers"], incident_at, contact["contacted_at"], options)
        except domain.TsqTooEarly as exc:
            raise Invalid("the TSQ screening is refused before four weeks",
                          invalid_params=[{"name": "tsq_answers", "reason": str(exc)}]) from None
        advice = {"score": tsq.score, "advise_referral": tsq.advise_referral, "too_early": tsq.too_early,
                  "threshold": domain.TSQ_THRESHOLD, "refer_to": list(tsq.refer_to)}
        health.update(tsq_answers=contact["tsq_answers"], tsq=advice)
    if contact.get("notes"):
        health["notes"] = contact["notes"]
    return health, advice


def refer_to_help(plan_id, referral: dict, uow, actor: str, correlation_id=None, *, store=store) -> uuid.UUID:
    """The reporter is referred to help; which help is health data and stays sealed here."""
    plan_row = open_plan(uow, plan_id, store=store)
    referral_id = uuid.uuid4()
    details = {"kind": referral["kind"], "notes": referral.get("notes")}
    store.insert_referral(uow, referral_id, plan_row["plan_id"], referral["referred_at"], referral["referred_by"],
                          uow.seal(REFERRALS, "details", referral_id, details, case_id=plan_row["case_id"]))
    incident_at = plan_row["occurred_at"] or plan_row["planned_at"]
    uow.record("aftercare_referred", plan_row["case_id"], {
        "plan_id": plan_row["plan_id"], "referral_id": referral_id,
        "days_since_incident": (referral["referred_at"] - incident_at).days,
    }, correlation_id=correlation_id)
    uow.audit(actor, "create", "aftercare referral (health data)", case_id=plan_row["case_id"])
    return referral_id


def record_referral_result(referral_id, result: dict, uow, actor: str, *, store=store) -> None:
    row = store.get_referral(uow, referral_id)
    if row is None:
        raise NotFound("no such referral")
    sealed = uow.seal(REFERRALS, "result", referral_id, {"result": result["result"], "notes": result.get("notes")},
                      case_id=row["case_id"])
    store.set_referral_result(uow, referral_id, sealed, result["result_at"])
    uow.audit(actor, "update", "aftercare referral result (health data)", case_id=row["case_id"])


def assign(plan_id, worker: str, uow, actor: str, *, store=store) -> None:
    plan_row = open_plan(uow, plan_id, store=store)
    store.assign(uow, plan_row["plan_id"], worker)
    uow.audit(actor, "update", f"aftercare plan assigned to {worker}", case_id=plan_row["case_id"])


def close(plan_id, status: str, reason: str, uow, actor: str, now, correlation_id=None, *, store=store) -> None:
    """The plan is closed (`closed`, with a reason) or the reporter declined aftercare (`declined`):
    no reminder goes out any more."""
    plan_row = open_plan(uow, plan_id, store=store)
    counts = store.counts(uow, plan_row["plan_id"])
    store.close(uow, plan_row["plan_id"], status, reason, now)
    uow.record("aftercare_closed", plan_row["case_id"], {
        "plan_id": plan_row["plan_id"], "reason": reason, "contacts": counts["contacts"],
        "referrals": counts["referrals"], "days_open": max(0, (now - plan_row["planned_at"]).days),
    }, correlation_id=correlation_id)
    uow.audit(actor, "update", f"aftercare plan {status} ({reason})", case_id=plan_row["case_id"])


def worklist(uow, actor: str, visible, query: dict, *, due_before, overdue_before, store=store,
             views=case_views) -> tuple[int, list[dict]]:
    """A page of open contact moments the caller may see (`visible`: shared.auth.case_visibility), and how
    many there are in all; with `query["contact"]` each with the contact details the reporter allowed."""
    total, items = store.worklist(uow, due_before=due_before, overdue_before=overdue_before, view=query["view"],
                                  worker=query.get("worker"), visible=visible, limit=query["limit"],
                                  offset=query["offset"])
    # which cases are in aftercare is itself sensitive: the read is audited too
    uow.audit(actor, "read", f"aftercare worklist {query['view']} ({len(items)} of {total} moments)",
              reason="GET /api/v1/aftercare/worklist")
    if query.get("contact"):
        for item in items:
            item["contact"] = reporter_contact(uow, item["case_id"], actor, "worklist", views=views)
    return total, items


def reporter_contact(uow, case_id, actor: str, where: str, *, views=case_views) -> dict | None:
    """The contact details the reporter allowed (shared/case_views.py), each read audited."""
    contact = views.reporter_contact(uow, case_id)
    if contact is not None:
        uow.audit(actor, "read", "reporter contact details (aftercare)", case_id=case_id, reason=where)
    return contact



# ------------------------------------------------------------------ witnesses and colleagues (issue 20)

def add_witness(case_id, person: dict, uow, actor: str, options: dict, now, correlation_id=None, *, store=store,
                views=case_views) -> dict:
    """Staff give a witness or colleague named in the report (or known otherwise) a care track of their own: with
    their own consent (its moment and text version), their own contact moments counted from that consent, linked to
    the case and independent of the victim's plan. Who they are is sealed with the case's key."""
    if not views.incident_codes(uow, case_id):
        raise NotFound("no such case")
    if not person["consent"]:
        raise Invalid("one or more fields are invalid", invalid_params=[
            {"name": "consent", "reason": "a care track needs the witness's or colleague's own consent"}])
    track_id = uuid.uuid4()
    who = {k: person.get(k) for k in ("name", "phone", "email") if person.get(k)}
    moments = domain.witness_moments(person["consent_at"], options)
    store.insert_track(uow, track_id, case_id, person["role"], person["consent_at"], person["consent_version"], actor,
                       uow.seal(TRACKS, "personal", track_id, who, case_id=case_id), moments)
    uow.wake(store.REMINDERS_TASK, moments[0].due_at)
    uow.record("witness_care_started", case_id, {
        "track_id": track_id, "role": person["role"], "first_contact_due": moments[0].due_at,
        "contact_moments": len(moments)}, correlation_id=correlation_id)
    uow.audit(actor, "create", f"care track of a {person['role']} (personal data)", case_id=case_id)
    return witness_track(track_id, uow, actor, store=store, audited=False)


def witness_track(track_id, uow, actor: str, *, store=store, audited: bool = True) -> dict:
    """A witness's or colleague's track with who they are (decrypted) and its own moments; the read is audited."""
    row = store.get_track(uow, track_id)
    if row is None:
        raise NotFound("no such care track")
    person = uow.unseal(TRACKS, "personal", row["track_id"], row.pop("personal")) or {}
    if audited:
        uow.audit(actor, "read", "care track of a witness or colleague", case_id=row["case_id"])
    return {**row, "person": person, "moments": store.track_moments(uow, row["track_id"]),
            "contacts": store.track_contacts(uow, row["track_id"])}


def witness_contact(track_id, contact: dict, uow, actor: str, correlation_id=None, *, store=store) -> dict:
    """A contact with the witness or colleague: their own moment done when reached; the victim's plan is untouched."""
    row = store.get_track(uow, track_id, lock=True)
    if row is None:
        raise NotFound("no such care track")
    if row["status"] != "open":
        raise Conflict(f"the care track is {row['status']}")
    open_kinds = [m["kind"] for m in store.track_moments(uow, track_id) if m["done_at"] is None]
    kind = contact.get("moment") or (open_kinds[0] if open_kinds else "extra")
    if kind != "extra" and kind not in open_kinds:
        raise Invalid("one or more fields are invalid", invalid_params=[
            {"name": "moment", "reason": f"{kind} is not an open contact moment of this track"}])
    contact_id = uuid.uuid4()
    notes = uow.seal(TRACK_CONTACTS, "notes", contact_id, {"notes": contact["notes"]}, case_id=row["case_id"]) \
        if contact.get("notes") else None
    store.insert_track_contact(uow, contact_id, track_id, kind, contact, notes)
    if kind != "extra" and contact["outcome"] in ("reached", "contact_refused"):
        store.complete_track_moment(uow, track_id, kind, contact["contacted_at"])
    uow.record("witness_contact_recorded", row["case_id"], {
        "track_id": track_id, "role": row["role"], "moment": kind, "method": contact["method"],
        "outcome": contact["outcome"]}, correlation_id=correlation_id)
    uow.audit(actor, "create", "contact with a witness or colleague", case_id=row["case_id"])
    return {"contact_id": str(contact_id), "moment": kind}


def close_witness(track_id, status: str, reason: str, uow, actor: str, now, correlation_id=None, *,
                  store=store) -> None:
    """The track ends (completed, or the witness declined): its own moments stop; the victim's plan goes on."""
    row = store.get_track(uow, track_id, lock=True)
    if row is None:
        raise NotFound("no such care track")
    if row["status"] != "open":
        raise Conflict(f"the care track is {row['status']}")
    store.close_track(uow, track_id, status, reason, now)
    uow.record("witness_care_closed", row["case_id"], {
        "track_id": track_id, "role": row["role"], "reason": reason,
        "contacts": store.track_contacts(uow, track_id)}, correlation_id=correlation_id)
    uow.audit(actor, "update", f"care track of a {row['role']} {status} ({reason})", case_id=row["case_id"])


# ------------------------------------------------------------------ handovers to help (issue 20)

def propose_handover(case_id, proposal: dict, uow, actor: str, options: dict, now, correlation_id=None, *,
                     store=store, views=case_views) -> dict:
    """A referral to help as a handover to a partner, proposed with the person's consent: its contact point from the
    region file, a follow-up, and for Slachtofferhulp after a police referral the 48 hours to hand over in."""
    codes = views.incident_codes(uow, case_id)
    if not codes:
        raise NotFound("no such case")
    track = None
    if proposal.get("track_id"):
        track = store.get_track(uow, proposal["track_id"])
        if track is None or track["case_id"] != case_id:
            raise Invalid("one or more fields are invalid",
                          invalid_params=[{"name": "track_id", "reason": "not a care track of this case"}])
    try:
        domain.check_handover(proposal["partner"], codes.get("target_role") if track is None else None,
                              proposal["consent"], vocabulary.POLITICAL_ROLES)
    except domain.HandoverRefused as exc:
        raise Invalid("one or more fields are invalid",
                      invalid_params=[{"name": exc.field_name, "reason": exc.reason}]) from None
    deadlines = domain.handover_deadlines(proposal["partner"], now, views.police_referred_at(uow, case_id), options)
    handover_id = uuid.uuid4()
    store.insert_handover(uow, {
        "handover_id": handover_id, "case_id": case_id, "track_id": track and track["track_id"],
        "partner": proposal["partner"], "status": "voorgesteld", "consent_at": now,
        "consent_version": proposal["consent_version"], "proposed_by": actor, "proposed_at": now, **deadlines})
    row = store.get_handover(uow, handover_id)
    _record_handover(uow, row, None, correlation_id, track)
    uow.audit(actor, "create", f"handover to {proposal['partner']} (proposed)", case_id=case_id)
    return handover_view(row, options)


def handover_step(handover_id, step: dict, uow, actor: str, options: dict, now, correlation_id=None, *, store=store,
                  views=case_views) -> dict:
    """The handover moves on: handed over (the fields the partner got are a row in the disclosure ledger, on the
    person's consent), finished, or refused; an open one gets its next follow-up."""
    row = store.get_handover(uow, handover_id, lock=True)
    if row is None:
        raise NotFound("no such handover")
    try:
        domain.check_handover_step(row["status"], step["status"])
    except domain.HandoverRefused as exc:
        raise Conflict(str(exc), invalid_params=[{"name": exc.field_name, "reason": exc.reason}]) from None
    changes = {"status": step["status"]}
    if step["status"] == "overgedragen":
        changes.update(handed_over_at=now, shared_fields=sorted(step.get("shared_fields") or []),
                       follow_up_due=domain.on_a_working_day(now + timedelta(days=options["handover_follow_up_days"])),
                       follow_up_notified_at=None)
        if step.get("shared_fields"):
            uow.disclose(disclosures.Disclosure(
                row["case_id"], "partner_referral", "partner", row["partner"],
                tuple(f"person.{f}" for f in step["shared_fields"]), legal_basis="consent",
                consent_version=row["consent_version"], purpose="aftercare_handover", actor=actor), at=now)
    elif step["status"] in ("afgerond", "afgewezen"):
        changes["finished_at"] = now
    store.update_handover(uow, handover_id, changes)
    track = store.get_track(uow, row["track_id"]) if row["track_id"] else None
    new = store.get_handover(uow, handover_id)
    _record_handover(uow, new, row["status"], correlation_id, track)
    uow.audit(actor, "update", f"handover to {row['partner']} ({step['status']})", case_id=row["case_id"])
    return handover_view(new, options)


def _record_handover(uow, row: dict, previous: str | None, correlation_id, track) -> None:
    uow.record("aftercare_handover", row["case_id"], {
        "handover_id": row["handover_id"], "partner": row["partner"], "status": row["status"],
        "previous_status": previous, "person": track["role"] if track else "victim",
        "follow_up_due": row["follow_up_due"], "hand_over_by": row["hand_over_by"]}, correlation_id=correlation_id)


def handover_view(row: dict, options: dict) -> dict:
    """A handover as the API answers it: with the partner's contact point from the region file."""
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if isinstance(v, uuid.UUID) else v)
           for k, v in row.items()}
    out["contact_point"] = (options.get("help_contacts") or {}).get(row["partner"])
    out["next_steps"] = list(domain.HANDOVER_STEPS.get(row["status"], ()))
    return out


def remind_witness_moments(uow, options: dict, now, *, store=store) -> None:
    """A witness's or colleague's contact moment coming due: witness_contact_due once each (SKIP LOCKED + marker),
    `remind_before_hours` ahead, as for the victim's moments."""
    for row in store.claim_witness_reminders(uow, now + timedelta(hours=options["remind_before_hours"])):
        uow.record("witness_contact_due", row["case_id"], {
            "track_id": row["track_id"], "role": row["role"], "moment": row["kind"], "due_at": row["due_at"]})
        store.mark_witness_reminded(uow, row["id"], now)


def follow_up_handovers(uow, now, *, store=store) -> None:
    """Open handovers past their follow-up: aftercare_handover_follow_up_due once each (SKIP LOCKED + marker)."""
    for row in store.claim_handover_follow_ups(uow, now):
        store.update_handover(uow, row["handover_id"], {"follow_up_notified_at": now})
        uow.record("aftercare_handover_follow_up_due", row["case_id"], {
            "handover_id": row["handover_id"], "partner": row["partner"], "status": row["status"],
            "follow_up_due": row["follow_up_due"]})
