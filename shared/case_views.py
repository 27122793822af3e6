"""The few synchronous reads across the services' tables, in one place with its own SQL.

Each service writes and reads only its own schema in the case store; what it needs of another comes
in events, through that service's HTTP API, or from here. Each read below names who asks and why;
under least privilege these are the grants on other schemas (docs/architecture.md). This module
imports no service.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared import vocabulary

INCIDENTS = "intake.incidents"  # its `personal` column is sealed (shared/personal_data.py)
ADDITIONS = "intake.additions"  # so is this one's

_FROM = ("FROM intake.incidents i "
         "LEFT JOIN triage.results t ON t.case_id = i.case_id "
         "LEFT JOIN police_liaison.referrals r ON r.case_id = i.case_id "
         "LEFT JOIN aftercare.care_plans p ON p.case_id = i.case_id")

# Closed: staff confirmed or overrode triage, and the referral and care plan the case got, if
# any, are finished (the police closed or refused the referral; the plan was closed or
# declined). Closed since the last of those moments. Only a re-triage (a proposal again) or
# a referral or plan made later would open it again; intake refuses changes to a closed case.
_CLOSED_SINCE = ("CASE WHEN t.status IN ('bevestigd', 'overschreven') "
                 "AND (r.case_id IS NULL OR r.status IN ('afgesloten', 'afgewezen')) "
                 "AND (p.case_id IS NULL OR p.status <> 'open') "
                 "THEN greatest(t.decided_at, r.updated_at, p.closed_at, p.declined_at) END")


# The last change to a case in any service (reads do not count).
_LAST_CHANGE = ("greatest(i.received_at, i.status_changed_at, i.withdrawn_at, t.updated_at, t.decided_at, "
                "r.updated_at, p.planned_at, p.closed_at, p.declined_at)")


# ---------------------------------------------------------------- how far a case has come

@dataclass(frozen=True)
class Progress:
    own_status: str  # intake's own column: ontvangen, or ingetrokken once withdrawn
    triaged: bool
    referred: bool
    planned: bool
    closed_since: datetime | None
    referral_status: str | None = None
    referral_outcome: str | None = None
    referral_updated_at: datetime | None = None


def progress_of(uow, case_id) -> Progress | None:
    """For intake (the status the reporter sees, the police status on the follow-up page): the case's
    progress across the services in one statement; None for an unknown case."""
    row = uow.fetchone(f"SELECT i.status, t.case_id IS NOT NULL AS triaged, r.case_id IS NOT NULL AS referred, "
                       f"p.case_id IS NOT NULL AS planned, {_CLOSED_SINCE} AS closed_since, "
                       f"r.status AS referral_status, r.outcome AS referral_outcome, "
                       f"r.updated_at AS referral_updated_at "
                       f"{_FROM} WHERE i.case_id = %s", (case_id,))
    if row is None:
        return None
    return Progress(row["status"], row["triaged"], row["referred"], row["planned"], row["closed_since"],
                    row["referral_status"], row["referral_outcome"], row["referral_updated_at"])


def police_referred_at(uow, case_id):
    """When the case was referred to the police (police_liaison's referral, not withdrawn), or None: aftercare's
    handover to Slachtofferhulp is due within 48 hours of it."""
    row = uow.fetchone("SELECT created_at FROM police_liaison.referrals WHERE case_id = %s AND status <> 'ingetrokken'",
                       (case_id,))
    return row["created_at"] if row else None


def police_status(case_id, status: str | None, outcome: str | None = None, updated_at=None) -> dict:
    """A case's police status in plain words, no police details (`status` None: no referral): the
    answer of police_liaison's `GET /api/v1/cases/<id>/police-status`, and what intake's follow-up
    page shows (from `progress_of`)."""
    if status is None:
        return {"case_id": str(case_id), "referred": False, "status": None, "status_text": vocabulary.NO_REFERRAL_WORDS}
    return {"case_id": str(case_id), "referred": True, "status": status, "outcome": outcome,
            "status_text": vocabulary.referral_status_words(status, outcome), "updated_at": updated_at.isoformat()}


def closed_before(uow, before: datetime, limit: int = 100) -> list:
    """For retention (shared/personal_data.py): cases not yet erased that were withdrawn or closed
    before `before`, or have not changed since (cases that never close), in case order; never a case under
    legal hold.

    An `afgesloten` in intake's own column (set by hand or by an earlier release) counts from
    when it was set.
    """
    rows = uow.fetchall(
        f"SELECT i.case_id {_FROM} WHERE i.erased_at IS NULL AND ("
        "(i.status = 'ingetrokken' AND coalesce(i.withdrawn_at, i.status_changed_at, i.received_at) < %s) "
        "OR (i.status = 'afgesloten' AND coalesce(i.status_changed_at, i.received_at) < %s) "
        f"OR (i.status <> 'ingetrokken' AND {_CLOSED_SINCE} < %s) "
        # a case that never closes (a proposal nobody confirmed, an e-mail draft nobody completed) counts from
        # its last change: nothing is kept forever (issue 21, item 5)
        f"OR {_LAST_CHANGE} < %s) "
        f"AND NOT EXISTS (SELECT 1 FROM hub.legal_holds h WHERE h.case_id = i.case_id AND h.lifted_at IS NULL) "
        "ORDER BY i.case_id LIMIT %s",
        (before, before, before, before, limit))
    return [r["case_id"] for r in rows]


# ---------------------------------------------------------------- the incident, as others may read it

def _incident(uow, case_id, columns: tuple[str, ...], personal: tuple[str, ...], extra: tuple[str, ...] = (),
              claim=None) -> dict | None:
    """Some of the incident's columns and some of its personal fields (decrypted); `erased` says
    whether its personal data was erased. None for an unknown case. `extra`: more select items
    (`... AS name`, the incident as `i`), in the view under their names. `claim`: an event to claim in
    the reader's inbox in the same statement (`UnitOfWork.inbox_claim`); the view then says in
    `first_delivery` whether it was new, and is {"first_delivery": …} alone for an unknown case."""
    names = tuple(item.rsplit(" AS ", 1)[1] for item in extra)
    items = ', '.join(tuple(f'i.{c}' for c in ('case_id', 'erased_at', 'personal') + columns) + extra)
    if claim is None:
        row = uow.fetchone(f"SELECT {items} FROM {INCIDENTS} i WHERE i.case_id = %s", (case_id,))
        first = None
    else:
        inbox, params = uow.inbox_claim(claim)
        row = uow.fetchone(f"WITH claimed AS ({inbox}) SELECT {items}, EXISTS (SELECT 1 FROM claimed) AS first_delivery "
                           f"FROM (SELECT 1) AS one LEFT JOIN {INCIDENTS} i ON i.case_id = %s", (*params, case_id))
        first = row.pop("first_delivery")
        if row["case_id"] is None:
            return {"first_delivery": first}
    if row is None:
        return None
    opened = uow.unseal(INCIDENTS, "personal", row["case_id"], row.pop("personal")) or {}
    view = {name: row[name] for name in ("case_id",) + columns + names}
    view.update({name: opened.get(name) for name in personal})
    view["erased"] = row["erased_at"] is not None
    if first is not None:
        view["first_delivery"] = first
    return view


def incident_for_triage(uow, case_id, claim=None) -> dict | None:
    """For triage: when the incident came in, its description with what the reporter added later
    (the rules read it again on incident_updated: "hij staat nu voor de deur") and the people's
    identifiers (hashed for repeats). Triage audits this read. `claim`: the event triage handles, claimed
    in its inbox in the same statement (one round trip fewer, issue 25): the view's `first_delivery` says
    whether it was new ({"first_delivery": …} alone for an unknown case)."""
    # the additions with the incident, in one statement (issue 25)
    view = _incident(uow, case_id, ("received_at",), ("description", "reporter", "perpetrators"), claim=claim, extra=(
        f"(SELECT coalesce(array_agg(a.id ORDER BY a.id), '{{}}') FROM {ADDITIONS} a WHERE a.case_id = i.case_id) "
        "AS addition_ids",
        f"(SELECT coalesce(array_agg(a.personal ORDER BY a.id), '{{}}') FROM {ADDITIONS} a "
        "WHERE a.case_id = i.case_id) AS addition_personal"))
    if view is None or "case_id" not in view:
        return view
    ids, sealed = view.pop("addition_ids"), view.pop("addition_personal")
    if view["description"]:
        added = [(uow.unseal(ADDITIONS, "personal", i, p) or {}).get("text") for i, p in zip(ids, sealed)]
        view["description"] = "\n".join([view["description"], *[text for text in added if text]])
    return view


def incident_for_police(uow, case_id) -> dict | None:
    """For police_liaison's referral view: what the police may read of the incident (description,
    perpetrators, when and where); not the reporter's contact data, not aftercare."""
    return _incident(uow, case_id, ("occurred_at", "location_type", "target_role", "reported_categories"),
                     ("description", "perpetrators"))


def reporter_for_police(uow, case_id) -> dict | None:
    """For police_liaison, once the aangifte option is chosen with the victim: the reporter's name, phone,
    e-mail and home address. What of it the police may read is police_liaison's domain.aangever_for_police
    (with onder nummer or domiciliekeuze, no home address or private phone). None when erased or anonymous."""
    view = _incident(uow, case_id, (), ("reporter",))
    if view is None or view["erased"]:
        return None
    return view.get("reporter") or None


def reporter_contact(uow, case_id) -> dict | None:
    """For aftercare (the worker who calls the reporter): the reporter's name and only the contact
    details the reporter allowed — nothing without consent to contact, and only the chosen way
    (`consent.contact_method`) when one was chosen. None for an unknown or erased case, or no consent.
    Aftercare audits this read."""
    row = uow.fetchone(f"SELECT case_id, consent, personal FROM {INCIDENTS} WHERE case_id = %s AND erased_at IS NULL",
                       (case_id,))
    consent = (row or {}).get("consent") or {}
    if row is None or not consent.get("contact"):
        return None
    reporter = (uow.unseal(INCIDENTS, "personal", row["case_id"], row["personal"]) or {}).get("reporter") or {}
    method = consent.get("contact_method")
    allowed = {"email", "phone"} if method is None else {method}
    contact = {"name": reporter.get("name"), "contact_method": method,
               **{way: reporter.get(way) for way in ("email", "phone") if way in allowed and reporter.get(way)}}
    return contact if ("email" in contact or "phone" in contact) else None


def consent_of(uow, case_id) -> dict:
    """For triage's override: the consent the reporter gave ({} for an unknown case)."""
    row = uow.fetchone(f"SELECT consent FROM {INCIDENTS} WHERE case_id = %s", (case_id,))
    return (row or {}).get("consent") or {}


def incident_codes(uow, case_id) -> dict:
    """For triage's override (triage_overridden carries them, so that police liaison and aftercare can
    carry out a decision a person added): when and where the incident happened, whom it targeted, and the
    reporter's consent, as codes. {} for an unknown case."""
    row = uow.fetchone(f"SELECT occurred_at, location_type, target_role, consent FROM {INCIDENTS} WHERE case_id = %s",
                       (case_id,))
    if row is None:
        return {}
    consent = row["consent"] or {}
    return {"occurred_at": row["occurred_at"], "location_type": row["location_type"],
            "target_role": row["target_role"],
            "consent": {name: bool(consent.get(name)) for name in vocabulary.CONSENTS}}


def reporter_wants_mail(uow, case_id) -> bool:
    """For signals (the reporter's mails): whether the reporter agreed to contact and did not ask for
    the phone only. Whether they left an e-mail address is read when a mail goes out."""
    consent = consent_of(uow, case_id)
    return bool(consent.get("contact")) and consent.get("contact_method") != "phone"


def reporter_mail_address(uow, case_id) -> str | None:
    """For signals, when it sends a reporter's content-free mail: their e-mail address, if they left one
    and agreed to contact, the case is not erased and its reporter is still to be mailed. Never stored
    elsewhere; signals audits this read."""
    if not reporter_wants_mail(uow, case_id):
        return None
    view = _incident(uow, case_id, (), ("reporter",))
    if view is None or view["erased"]:
        return None
    return ((view.get("reporter") or {}).get("email")) or None


def is_closed(uow, case_id) -> bool:
    """For signals (the reporter's "closed" mail): whether the case's work is done (`progress_of`)."""
    progress = progress_of(uow, case_id)
    return progress is not None and (progress.closed_since is not None or progress.own_status == "afgesloten")


def received_by(uow, case_id, condition: str = "TRUE", params=()) -> str | None:
    """For shared/auth.py (may this caller see the case?): who brought the case in; None for an unknown
    case, or one `condition` (shared/auth.py `case_visibility`, on `i.case_id`) hides."""
    row = uow.fetchone(f"SELECT i.received_by FROM {INCIDENTS} i WHERE i.case_id = %s AND {condition}",
                       (case_id, *params))
    return row["received_by"] if row else None


# ---------------------------------------------------------------- the reporter's own case (AVG art. 15)

def processing_of(uow, case_id) -> dict:
    """For intake's access export (AVG art. 15, produced by staff on the reporter's request): what the
    other services did with the case, as codes and dates — triage's result, the police referral with its
    history and aangifte option, the care plan with its contact moments and contacts (when and how,
    not the health data: that the aftercare worker adds, docs/aftercare.md)."""
    triage = uow.fetchone("SELECT categories, urgency, decisions, status, triaged_at, decided_at "
                          "FROM triage.results WHERE case_id = %s", (case_id,))
    referral = uow.fetchone("SELECT referral_id, police_unit, status, outcome, categories, urgency, created_at, "
                            "updated_at, withdrawn_at, withdrawal_reason FROM police_liaison.referrals "
                            "WHERE case_id = %s", (case_id,))
    if referral is not None:
        referral["steps"] = uow.fetchall("SELECT status, at FROM police_liaison.referral_steps "
                                         "WHERE referral_id = %s ORDER BY id", (referral["referral_id"],))
    plan = uow.fetchone("SELECT plan_id, urgency, status, planned_at, closed_at, close_reason, declined_at "
                        "FROM aftercare.care_plans WHERE case_id = %s", (case_id,))
    if plan is not None:
        plan["moments"] = uow.fetchall("SELECT kind, due_at, done_at FROM aftercare.contact_moments "
                                       "WHERE plan_id = %s ORDER BY due_at", (plan["plan_id"],))
        plan["contacts"] = uow.fetchall("SELECT moment, contacted_at, method, outcome FROM aftercare.contacts "
                                        "WHERE plan_id = %s ORDER BY contacted_at", (plan["plan_id"],))
    return {"triage": triage, "police_referral": referral, "care_plan": plan}


# ---------------------------------------------------------------- the meldpunt's case list

_STATUS = ("CASE WHEN i.status IN ('ingetrokken', 'afgesloten') THEN i.status "
           f"WHEN ({_CLOSED_SINCE}) IS NOT NULL THEN 'afgesloten' "
           "WHEN p.case_id IS NOT NULL THEN 'nazorg' WHEN r.case_id IS NOT NULL THEN 'doorverwezen' "
           "WHEN t.case_id IS NOT NULL THEN 'in_behandeling' ELSE 'ontvangen' END")
_URGENCY_RANK = "CASE t.urgency WHEN 'acuut' THEN 0 WHEN 'hoog' THEN 1 WHEN 'normaal' THEN 2 WHEN 'laag' THEN 3 ELSE 4 END"


def case_list(uow, visibility: tuple[str, list], *, status=(), categories=(), urgency=(), channel=(),
              assigned_to: str | None = None, unassigned: bool = False, search: str | None = None,
              limit: int = 25, offset: int = 0) -> tuple[int, list[dict]]:
    """For intake's casework API (the workbench's case list): a page of the case store's cases, as (total, rows): codes, dates and
    who is assigned, never personal data. Sorted by urgency (acuut first), then deadline, then newest.

    `visibility` is `shared.auth.case_visibility` of the caller (on `i.case_id`): the one rule of which
    cases someone sees, so a case routed away or one a person is excluded from is in no list."""
    condition, params = visibility
    where, args = ["NOT i.draft", condition], list(params)
    if status:
        where.append(f"({_STATUS}) = ANY(%s)")
        args.append(list(status))
    if categories:
        where.append("coalesce(t.categories, i.reported_categories) && %s")
        args.append(list(categories))
    if urgency:
        where.append("t.urgency = ANY(%s)")
        args.append(list(urgency))
    if channel:
        where.append("i.channel = ANY(%s)")
        args.append(list(channel))
    if assigned_to:
        where.append("a.assigned_to = %s")
        args.append(assigned_to)
    if unassigned:
        where.append("a.case_id IS NULL")
    if search:
        where.append("(i.case_id::text LIKE %s OR i.receipt_code = %s)")
        args += [search.lower() + "%", search.upper()]
    sql_from = f"{_FROM} LEFT JOIN intake.assignments a ON a.case_id = i.case_id WHERE {' AND '.join(where)}"
    total = uow.fetchone(f"SELECT count(*) AS n {sql_from}", args)["n"]
    rows = uow.fetchall(
        f"SELECT i.case_id, i.received_at, i.channel, coalesce(t.categories, i.reported_categories) AS categories, "
        f"t.urgency, t.due_at AS deadline, t.status AS triage_status, ({_STATUS}) AS status, "
        f"a.assigned_to, a.assigned_name, "
        f"EXISTS (SELECT 1 FROM hub.case_access ca WHERE ca.case_id = i.case_id) AS conflict_of_interest "
        f"{sql_from} ORDER BY {_URGENCY_RANK}, t.due_at ASC NULLS LAST, i.received_at DESC, i.case_id "
        f"LIMIT %s OFFSET %s", args + [limit, offset])
    return total, rows


def case_counts(uow, visibility: tuple[str, list]) -> dict:
    """For intake's casework API (the workbench's regional view): how many cases per status, no content."""
    condition, params = visibility
    rows = uow.fetchall(f"SELECT ({_STATUS}) AS status, count(*) AS n {_FROM} WHERE NOT i.draft AND {condition} "
                        "GROUP BY 1", params)
    return {row["status"]: row["n"] for row in rows}


# ---------------------------------------------------------------- statistics' rebuild

# One row per incident in a case store, with what triage, police liaison and aftercare hold of it.
# Schemas of every service exist in every case store (they are migrated together).
_CASES_FOR_STATISTICS = """
SELECT i.case_id, i.received_at, i.channel, i.location_type, i.target_role, i.reported_categories, i.withdrawn_at,
       t.triaged_at, t.categories, t.urgency, t.status AS triage_status, t.overdue_reported_at,
       r.created_at AS referred_at, r.status AS referral_status, r.outcome AS referral_outcome,
       r.escalated_at, r.aangifte_reminded_at,
       (SELECT min(s.at) FROM police_liaison.referral_steps s
         WHERE s.referral_id = r.referral_id AND s.status = 'aangifte_gedaan') AS aangifte_at,
       (SELECT min(s.at) FROM police_liaison.referral_steps s
         WHERE s.referral_id = r.referral_id AND s.status = 'afgesloten') AS referral_closed_at,
       EXISTS (SELECT 1 FROM police_liaison.referral_steps s
                WHERE s.referral_id = r.referral_id AND s.status = 'afgewezen') AS referral_rejected,
       p.plan_id, p.planned_at, p.occurred_at AS plan_occurred_at, p.close_reason, p.closed_at,
       (SELECT min(m.due_at) FROM aftercare.contact_moments m
         WHERE m.plan_id = p.plan_id AND m.kind = 'first_contact') AS first_contact_due_at,
       (SELECT count(*) FROM aftercare.contact_moments m
         WHERE m.plan_id = p.plan_id AND m.due_notified_at IS NOT NULL) AS reminders,
       (SELECT count(*) FROM aftercare.contact_moments m
         WHERE m.plan_id = p.plan_id AND m.overdue_notified_at IS NOT NULL) AS overdue,
       (SELECT count(*) FROM aftercare.contacts c WHERE c.plan_id = p.plan_id) AS contacts,
       (SELECT count(*) FROM aftercare.referrals a WHERE a.plan_id = p.plan_id) AS help_referrals,
       fc.contacted_at AS first_contacted_at, fc.recorded_at AS first_contact_recorded_at,
       r.withdrawal_reason, cl.reason AS staff_close_reason, cl.closed_at AS staff_closed_at,
       (SELECT count(*) FROM signals.signals g WHERE g.case_id = i.case_id) AS signals_raised,
       (SELECT count(*) FROM signals.signals g WHERE g.case_id = i.case_id AND g.state = 'handled') AS signals_handled,
       (SELECT count(*) FROM signals.signals g WHERE g.case_id = i.case_id AND g.state = 'handled'
          AND g.handled_at > g.due_at) AS signals_handled_late,
       (SELECT count(*) FROM intake.messages ms WHERE ms.case_id = i.case_id
          AND ms.direction = 'to_reporter') AS messages_to_reporter,
       (SELECT count(*) FROM intake.messages ms WHERE ms.case_id = i.case_id
          AND ms.direction = 'from_reporter') AS messages_from_reporter,
       (SELECT count(*) FROM aftercare.witness_tracks w WHERE w.case_id = i.case_id) AS witness_tracks,
       (SELECT count(*) FROM aftercare.witness_contacts wc JOIN aftercare.witness_tracks w USING (track_id)
         WHERE w.case_id = i.case_id) AS witness_contacts,
       (SELECT count(*) FROM aftercare.witness_moments wm JOIN aftercare.witness_tracks w USING (track_id)
         WHERE w.case_id = i.case_id AND wm.due_notified_at IS NOT NULL) AS witness_reminders,
       (SELECT count(*) FROM aftercare.handovers h WHERE h.case_id = i.case_id) AS handovers_proposed,
       (SELECT count(*) FROM aftercare.handovers h WHERE h.case_id = i.case_id
          AND h.handed_over_at IS NOT NULL) AS handovers_made,
       (SELECT count(*) FROM aftercare.handovers h WHERE h.case_id = i.case_id
          AND h.follow_up_notified_at IS NOT NULL) AS handover_follow_ups
FROM intake.incidents i
LEFT JOIN intake.closures cl ON cl.case_id = i.case_id AND cl.kind = 'afgesloten'
LEFT JOIN triage.results t ON t.case_id = i.case_id
LEFT JOIN police_liaison.referrals r ON r.case_id = i.case_id
LEFT JOIN aftercare.care_plans p ON p.case_id = i.case_id
LEFT JOIN LATERAL (
    SELECT c.contacted_at, c.recorded_at FROM aftercare.contacts c
    WHERE c.plan_id = p.plan_id AND c.moment = 'first_contact' AND c.outcome = 'reached'
    ORDER BY c.recorded_at DESC LIMIT 1) fc ON true
WHERE NOT i.draft
"""

_PERPETRATOR_KEYS = """
SELECT k.case_id, k.keyed_hash, t.triaged_at FROM triage.identity_keys k
JOIN triage.results t ON t.case_id = k.case_id WHERE k.kind = 'perpetrator'
"""


def cases_for_statistics(uow) -> list[dict]:
    """For `meldpunt stats rebuild`: every incident (drafts apart) with the codes and moments the
    other services hold of it, nothing personal."""
    return uow.fetchall(_CASES_FOR_STATISTICS)


def perpetrator_keys_for_statistics(uow) -> list[dict]:
    """For `meldpunt stats rebuild`'s repeat flags: each perpetrator keyed hash with its case and
    when that case was triaged."""
    return uow.fetchall(_PERPETRATOR_KEYS)
