"""`meldpunt stats rebuild`: the read model recomputed from what the case stores hold.

Events are not kept forever (the outbox is pruned after a week), so the facts are worked out
from each service's own tables instead: the same columns, by the same rules as domain.facts_from,
with days from the stored moments. The whole read model is replaced in one transaction and the
daily and monthly counts are recomputed from it. docs/statistics.md lists what cannot be told
again exactly (the day of a change, repeat flags of cases triaged at the same moment).
"""
from __future__ import annotations

from shared import case_views

from services.statistics import domain, store


def _day(moment):
    return domain.day(moment) if moment is not None else None


def hours_between(later, earlier) -> int:
    """Whole hours, as aftercare counts them for hours_after_due."""
    return int((later - earlier).total_seconds() // 3600)


def facts_of_case(row: dict) -> dict:
    """The incident_facts columns of one case, from its row of case_views.cases_for_statistics
    (repeat flags apart)."""
    facts = {
        "reported_on": _day(row["received_at"]), "channel": row["channel"], "location_type": row["location_type"],
        "target_role": row["target_role"], "reported_categories": list(row["reported_categories"] or []),
        "withdrawn": row["withdrawn_at"] is not None, "withdrawn_on": _day(row["withdrawn_at"]),
        "closed_by_staff": row["staff_closed_at"] is not None, "staff_close_reason": row["staff_close_reason"],
        "closed_on": _day(row["staff_closed_at"]),
        # a signal raised again after its decision came back counts once here (the events count each raise)
        "signals_raised": row["signals_raised"], "signals_handled": row["signals_handled"],
        "signals_handled_late": row["signals_handled_late"], "messages_to_reporter": row["messages_to_reporter"],
        "messages_from_reporter": row["messages_from_reporter"],
        # witnesses' own care and handovers to help (issue 20); a handover's follow-ups told before it was handed
        # over leave no mark once the next follow-up is set, so a rebuild counts the last one of each
        **{name: row.get(name, 0) for name in ("witness_tracks", "witness_contacts", "witness_reminders",
                                               "handovers_proposed", "handovers_made", "handover_follow_ups")},
    }
    if row["triaged_at"] is not None:
        facts.update(triaged_on=_day(row["triaged_at"]), categories=list(row["categories"]), urgency=row["urgency"],
                     overridden=row["triage_status"] == "overschreven",
                     triage_overdue=row["overdue_reported_at"] is not None,
                     triage_overdue_on=_day(row["overdue_reported_at"]))
    if row["referred_at"] is not None:
        closed = row["referral_status"] == "afgesloten"
        facts.update(referred=True, referred_on=_day(row["referred_at"]),
                     aangifte=row["aangifte_at"] is not None, aangifte_on=_day(row["aangifte_at"]),
                     referral_rejected=bool(row["referral_rejected"]),
                     referral_outcome=row["referral_outcome"] if closed else None,
                     referral_closed_on=_day(row["referral_closed_at"]) if closed else None,
                     referral_escalated=row["escalated_at"] is not None,
                     aangifte_reminded=row["aangifte_reminded_at"] is not None,
                     referral_withdrawn=row["withdrawal_reason"] is not None,
                     referral_withdrawn_reason=row["withdrawal_reason"])
    if row["plan_id"] is not None:
        facts.update(aftercare_planned=True, first_contact_due_on=_day(row["first_contact_due_at"]),
                     aftercare_closed_reason=row["close_reason"], aftercare_closed_on=_day(row["closed_at"]),
                     aftercare_reminders=row["reminders"], aftercare_overdue=row["overdue"],
                     aftercare_contacts=row["contacts"], aftercare_help_referrals=row["help_referrals"])
        if row["first_contacted_at"] is not None:
            incident_at = row["plan_occurred_at"] or row["planned_at"]
            facts.update(first_contact_on=_day(row["first_contact_recorded_at"]),
                         first_contact_hours_after_due=hours_between(row["first_contacted_at"],
                                                                     row["first_contact_due_at"])
                         if row["first_contact_due_at"] else None,
                         first_contact_days=(row["first_contacted_at"] - incident_at).days)
    return facts


def repeat_flags(keys: list[tuple[str, object, bytes, object]]) -> dict[tuple[str, object], dict]:
    """{(municipality, case_id): flags} from (municipality, case_id, keyed hash, triaged_at) of every
    perpetrator key in the region. Triage reported a repeat when, at the case's triage, another case
    of the same municipality or any case elsewhere already held one of its keys: here, a case
    triaged earlier."""
    by_hash: dict[bytes, list[tuple[object, str, object]]] = {}
    for municipality, case_id, keyed_hash, triaged_at in keys:
        by_hash.setdefault(bytes(keyed_hash), []).append((triaged_at, municipality, case_id))
    flags: dict[tuple[str, object], dict] = {}
    for holders in by_hash.values():
        for triaged_at, municipality, case_id in holders:
            earlier = [m for (t, m, c) in holders if c != case_id and t < triaged_at]
            if earlier:
                mine = flags.setdefault((municipality, case_id), {"repeat_perpetrator": True})
                if any(m != municipality for m in earlier):
                    mine["repeat_elsewhere"] = True
    return flags


def rebuild(stores, key: bytes) -> dict[str, int]:
    """Replace the read model with facts from every case store; returns incidents per municipality."""
    with stores.statistics() as stats:
        # folds wait from here until the commit: whatever they bring is in the case stores already
        # (a service commits its state before the event goes out), so none is lost
        store.lock_facts(stats)
        rows, keys = [], []
        for code in stores.region.codes:
            with stores.case_store(code) as uow:
                cases = case_views.cases_for_statistics(uow)
                keys += [(code, r["case_id"], r["keyed_hash"], r["triaged_at"])
                         for r in case_views.perpetrator_keys_for_statistics(uow)]
            rows += [(code, case) for case in cases]
        flags = repeat_flags(keys)
        store.replace_facts(stats, [
            {"municipality": code, "case_ref": domain.case_ref(key, case["case_id"]), **facts_of_case(case),
             **flags.get((code, case["case_id"]), {})} for code, case in rows])
        store.refresh_all(stats)
    counted: dict[str, int] = {code: 0 for code in stores.region.codes}
    for code, _ in rows:
        counted[code] += 1
    return counted
