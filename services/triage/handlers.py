"""Triage's use cases as plain functions of a command or event and a unit of work.

The nameko entrypoints (service.py) and the tests call them; `store` and `views` default to the real
SQL (store.py, shared/case_views.py), and tests/fakes.py hands in in-memory ones.
"""
from __future__ import annotations

import uuid

from shared import case_views
from shared import vocabulary
from shared.errors import Invalid, NotFound

from services.triage import domain, identity, repeat_index, store


def triage(event, case_store, codes, rules, secret, *, index=None, store=store, views=case_views,
           each=None) -> None:
    """incident_reported or incident_updated: decide in one transaction and let the decision go out;
    only then ask the region about a perpetrator new to the case, and settle that repeat in a second
    transaction. The referral never waits for the region, nor for a store that does not answer: that
    failure retries the repeat check alone.

    `case_store(code)` opens a unit of work on a municipality's case store; `codes` are the region's.
    `index()` opens one on the region's index of keyed hashes (repeat_index.py): one query there
    instead of one per other store; without it (a region file without `triage.index_dsn`) every
    other store is asked. `each(work, codes)`: how the other stores are told (`link_elsewhere`); the
    service tells them side by side."""
    with case_store(event.municipality) as uow:
        asks = decide(event, uow, rules, secret, store=store, views=views)
    if not asks:
        return
    if index is None:
        elsewhere = known_elsewhere(event.municipality, asks, codes, case_store, store=store, why=event.event_type)
    else:
        with index() as iuow:
            elsewhere = repeat_index.note_and_ask(iuow, event.municipality, asks,
                                                  f"{event.event_type} {event.event_id}")
    links = link_elsewhere(event, asks, elsewhere, case_store, store=store, audit=index is not None, each=each)
    with case_store(event.municipality) as uow:
        # a municipality the index names but whose store no longer has a case with the perpetrator
        # (a re-triage or an erasure the index has not followed yet) is no repeat
        settle_repeat(event, uow, [code for code in elsewhere if code in links], links, store=store)


def decide(event, uow, rules, secret, *, store=store, views=case_views) -> set[bytes]:
    """Triage the incident once per event; the perpetrator keyed hashes still to ask the other
    municipalities about (empty: nothing to ask)."""
    incident = views.incident_for_triage(uow, event.case_id, claim=event)  # the inbox claim rides along
    first = incident.pop("first_delivery")
    keys = identity.keys_of(secret, incident.get("perpetrators") or [], incident.get("reporter"))
    if first:
        asks = _decide(event, uow, incident, keys, rules, store)
    else:  # redelivered: the decision stands; a repeat check it left may still be open
        asks = bool(keys["perpetrator"]) and store.repeat_check(uow, event.event_id) is not None
    return set(keys["perpetrator"]) if asks else set()


def _decide(event, uow, incident, keys, rules, store) -> bool:
    """Store the result and its keyed hashes, record what it brings. True when a perpetrator new to
    the case is still to be asked about elsewhere."""
    result = domain.triage(event.payload, rules, incident.get("description"))
    received_at = incident.get("received_at") or event.occurred_at
    # the service itself read the description and identifiers: that too is a read of personal data
    uow.audit("service:triage", "read", "incident (description, identifiers) for triage",
              case_id=event.case_id, reason=f"{event.event_type} {event.event_id}")
    store.save_result(uow, event.case_id, result, received_at, domain.due_at(received_at, result.urgency, rules))
    known_before, linked_by_kind = store.replace_keys_and_count(uow, event.case_id, keys)
    uow.record("incident_triaged", event.case_id, {
        "categories": result.categories, "urgency": result.urgency, "decisions": result.decisions,
        "rules_version": result.rules_version, "occurred_at": event.payload["occurred_at"],
        "location_type": event.payload["location_type"], "target_role": event.payload["target_role"],
        "consent": event.payload["consent"],
    }, correlation_id=event.correlation_id, priority=result.priority)
    asks_elsewhere = False
    for kind in vocabulary.REPEAT_KINDS:
        if keys[kind] <= known_before.get(kind, set()):
            continue  # a re-triage with no new identifiers: this repeat was reported already
        linked = linked_by_kind.get(kind, 0)
        if kind == "perpetrator":  # the region's answer comes after this transaction
            store.open_repeat_check(uow, event.event_id, event.case_id, linked, result.priority)
            asks_elsewhere = True
        elif linked:
            uow.record("repeat_detected", event.case_id, {
                "kind": kind, "cases_in_municipality": linked, "other_municipalities": 0,
            }, correlation_id=event.correlation_id, priority=result.priority)
    return asks_elsewhere


def known_elsewhere(municipality: str, hashes, codes, case_store, *, store=store, why: str = "") -> list[str]:
    """Codes of the other municipalities whose store knows any of these keyed hashes; they answer
    yes or no, nothing about their cases. No transaction of the asking case is held meanwhile.
    Each answering municipality audits the question — who asked, why and what it answered, never the
    identifier (issue 21, item 14)."""
    if not hashes:
        return []
    known = []
    for code in codes:
        if code != municipality:
            with case_store(code) as uow:
                answer = store.knows_perpetrator(uow, hashes)
                uow.audit("service:triage", "lookup", f"perpetrator look-up by {municipality}",
                          reason=f"{why}; answered {'known' if answer else 'not known'}".lstrip("; "))
                if answer:
                    known.append(code)
    return known


def link_elsewhere(event, hashes, elsewhere: list[str], case_store, *, store=store, audit: bool = False,
                   each=None) -> dict:
    """Tell each other municipality that knows the perpetrator about the repeat, about its own latest
    case with them (`repeat_linked`, side `earlier_case`), once however often this event comes: the link
    id follows from the event and the municipality. Returns {code: link id} for this case's side.
    `audit`: the question reached these stores through the region's index, not `known_elsewhere`, so
    each audits it here (issue 21, item 14), once per link.

    Each store's link is a transaction of its own, independent of the others' (the ids make each once), so
    `each(work, codes)` may run them side by side (the service does: the check then waits for about the
    slowest store, not their sum); it returns every work's result, or raises when one failed (the handler
    is retried, and what was linked stays linked). Default: one after the other."""
    def link(code):
        link_id = repeat_link_id(event.event_id, code)
        with case_store(code) as uow:
            theirs = store.latest_case_with_perpetrator(uow, hashes)
            if theirs is None:
                return None
            if store.add_repeat_link(uow, link_id, theirs, event.municipality):
                if audit:
                    uow.audit(repeat_index.LOOKUP_ACTOR, "lookup", f"perpetrator look-up by {event.municipality}",
                              reason=f"{event.event_type}; answered known")
                uow.record("repeat_linked", theirs, {
                    "link_id": link_id, "kind": "perpetrator", "other_municipality": event.municipality,
                    "side": "earlier_case"}, correlation_id=event.correlation_id)
        return link_id

    linked = (each or _one_after_the_other)(link, list(elsewhere))
    return {code: link_id for code, link_id in zip(elsewhere, linked) if link_id is not None}


def _one_after_the_other(work, items) -> list:
    return [work(item) for item in items]


def repeat_link_id(event_id, code: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"meldpunt:repeat:{event_id}:{code}")


def settle_repeat(event, uow, elsewhere: list[str], links: dict | None = None, *, store=store) -> None:
    """Close the repeat check and record the repeat once: a second delivery finds the check closed.
    Each other municipality that knows the perpetrator is linked to this case (`repeat_linked`, side
    `new_case`): both coordinators hear of it, each about their own case."""
    check = store.close_repeat_check(uow, event.event_id)
    if check is not None and (check["linked"] or elsewhere):
        uow.record("repeat_detected", event.case_id, {
            "kind": "perpetrator", "cases_in_municipality": check["linked"],
            "other_municipalities": len(elsewhere),
        }, correlation_id=event.correlation_id, priority=check["priority"])
    if check is not None and elsewhere:
        store.add_known_elsewhere(uow, event.case_id, elsewhere)
    if check is not None:
        for code, link_id in sorted((links or {}).items()):
            uow.record("repeat_linked", event.case_id, {
                "link_id": link_id, "kind": "perpetrator", "other_municipality": code, "side": "new_case",
            }, correlation_id=event.correlation_id)


def stop(event, uow, now, *, store=store) -> None:
    """incident_withdrawn or incident_closed: the case has no triage deadline any more."""
    if uow.first_delivery(event):
        store.stop(uow, event.case_id, event.event_type, now)


def reconcile_index(code: str, case_store, index) -> tuple[int, int]:
    """Bring the region's index in line with one municipality's store (repeat_index.reconcile)."""
    with index() as iuow, case_store(code) as uow:
        return repeat_index.reconcile(iuow, uow, code)


def report_overdue(uow, now, *, store=store) -> list[dict]:
    """One triage_overdue for each unconfirmed result past its deadline, each once however many
    triage instances run; the rows it reported (a batch: call again while it returns a full one)."""
    rows = store.claim_overdue(uow, now)
    for row in rows:
        uow.record("triage_overdue", row["case_id"], {"urgency": row["urgency"], "due_at": row["due_at"]},
                   priority=vocabulary.URGENCY_PRIORITY[row["urgency"]])
    return rows


def confirm(case_id, uow, actor: str, reason: str, now, *, store=store) -> None:
    """Staff confirm the proposal as it stands."""
    row = _result(uow, case_id, store)
    # the staff's words are personal data: with the result's reasons, under the case's key; the audit keeps codes
    store.decide(uow, case_id, "bevestigd", actor, now, row["categories"], row["urgency"], row["decisions"],
                 list(row["reasons"]) + [f"Bevestigd door medewerker: {reason}"])
    uow.audit(actor, "confirm", "triage result", case_id=case_id,
              reason=f"{row['urgency']} {','.join(row['categories'])} [{','.join(row['decisions'])}]")


def override(case_id, uow, actor: str, change: dict, now, correlation_id=None, *, store=store,
             views=case_views) -> None:
    """Staff confirm with changes (categories, urgency, decisions) and a reason; never a decision the
    reporter did not consent to. triage_overridden tells police liaison, aftercare and signals, which
    carry it out, and statistics."""
    row = _result(uow, case_id, store)
    refused = domain.refused_by_consent(change["decisions"], views.consent_of(uow, case_id))
    if refused:
        raise Invalid("the reporter did not consent to this",
                      invalid_params=[{"name": "decisions", "reason": r} for r in refused])
    categories = [c for c in vocabulary.CATEGORIES if c in change["categories"]]
    decisions = [d for d in vocabulary.DECISIONS if d in change["decisions"]]
    reasons = list(row["reasons"]) + [f"Aangepast door medewerker: {change['reason']}"]
    store.decide(uow, case_id, "overschreven", actor, now, categories, change["urgency"], decisions, reasons)
    uow.audit(actor, "override", "triage result", case_id=case_id, reason=(
        f"was {row['urgency']} {','.join(row['categories'])} [{','.join(row['decisions'])}], "
        f"nu {change['urgency']} {','.join(categories)} [{','.join(decisions)}]"))
    uow.record("triage_overridden", case_id, {
        "categories": categories, "urgency": change["urgency"], "decisions": decisions,
        "previous_urgency": row["urgency"], "previous_decisions": list(row["decisions"]),
        "rules_version": row["rules_version"],
        # what police liaison and aftercare need to carry out a decision a person added
        **views.incident_codes(uow, case_id),
    }, correlation_id=correlation_id, priority=vocabulary.URGENCY_PRIORITY[change["urgency"]])


def _result(uow, case_id, store) -> dict:
    row = store.get_result(uow, case_id, lock=True)
    if row is None:
        raise NotFound("no triage result for this case")
    return row


def rehash_identities(open_store, secret: bytes, batch: int = 200) -> int:
    """Give every case of one municipality its identity hashes anew from its (decrypted) incident, with the
    current key: after the identity key became one derived from the region secret (issue 21, item 2), stored
    hashes made with the secret itself match no new one. Short transactions; how many cases."""
    done, after = 0, None
    while True:
        with open_store() as uow:
            rows = uow.fetchall("SELECT DISTINCT case_id FROM triage.identity_keys WHERE (%s::uuid IS NULL OR "
                                "case_id > %s::uuid) ORDER BY case_id LIMIT %s", (after, after, batch))
            for row in rows:
                incident = case_views.incident_for_triage(uow, row["case_id"]) or {}
                store.replace_keys(uow, row["case_id"], identity.keys_of(
                    secret, incident.get("perpetrators") or [], incident.get("reporter")))
        done += len(rows)
        if len(rows) < batch:
            return done
        after = rows[-1]["case_id"]
