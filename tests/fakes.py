"""In-memory doubles of the hub's storage and broker, so that unit tests run the services' real handlers
(services/<name>/handlers.py) with no RabbitMQ and no PostgreSQL.

- `FakeDatabase`: one database (a municipality's case store, or statistics) as rows in dicts, with its
  outbox, inbox and audit log.
- `FakeUnitOfWork`: the unit of work's API over a FakeDatabase (record, audit, first_delivery, seal); it
  records what was stored, recorded and audited, and rolls all of it back when its block raises.
- `FakeIntakeStore` … `FakeStatisticsStore`, `FakeCaseViews`: the functions of each store.py and of
  shared/case_views.py that the handlers call, over the same rows. A handler takes them as `store=`/`views=`.
- `InMemoryHub`: the region's case stores and the statistics database in memory, and a bus that hands each
  event recorded (and committed) to the handlers of its consumers in the catalogue (shared/events.py).
"""
from __future__ import annotations

import contextlib
import copy
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from shared import case_views
from shared.events import CATALOGUE, Event, new_event

from services.aftercare import domain as aftercare_domain, handlers as aftercare
from services.intake import handlers as intake
from services.police_liaison import handlers as police_liaison
from services.signals import handlers as signals
from services.signals.options import DEFAULTS as SIGNALS_DEFAULTS
from services.statistics import handlers as statistics
from services.triage import handlers as triage
from services.triage.rules import default_rules
from services.zaaksysteem import handlers as zaaksysteem
from services.zaaksysteem.options import DEFAULTS as ZAAKSYSTEEM_DEFAULTS

NOW = datetime(2026, 11, 20, 13, 30, tzinfo=timezone.utc)
SECRET = b"in-memory-region-secret-0123456789abcdef"


class FakeDatabase:
    def __init__(self):
        self.tables: dict[str, dict] = defaultdict(dict)
        self.outbox: list[tuple[str, Event, int]] = []  # (service, event, priority)
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.audit: list[dict] = []
        self.disclosures: list[dict] = []

    def rows(self, table: str) -> list[dict]:
        return list(self.tables[table].values())

    def events(self, *types: str) -> list[Event]:
        return [event for _, event, _ in self.outbox if not types or event.event_type in types]


class SQLNotHere(AssertionError):
    """A handler ran SQL in a unit test: it should reach storage through its `store` (a fake here)."""


class FakeUnitOfWork:
    """`service`: whose unit of work (it may record only its own events); `consumer`: its inbox name."""

    def __init__(self, db: FakeDatabase, municipality: str | None, service: str | None = None,
                 consumer: str | None = None, clock=lambda: NOW):
        self.db, self.municipality, self.service, self.consumer = db, municipality, service, consumer
        self.clock = clock
        self.recorded: list[Event] = []

    def __enter__(self):
        self._before = copy.deepcopy((dict(self.db.tables), self.db.outbox, self.db.inbox, self.db.audit,
                                      self.db.disclosures))
        return self

    def __exit__(self, kind, exc, tb):
        if kind is not None:  # roll back: nothing half-done
            tables, self.db.outbox, self.db.inbox, self.db.audit, self.db.disclosures = self._before
            self.db.tables = defaultdict(dict, tables)
            self.recorded = []
        return False

    def execute(self, *args, **kwargs):
        raise SQLNotHere(f"SQL in a unit test: {args[0] if args else ''}")

    fetchone = fetchall = cursor = execute

    def record(self, event_type: str, case_id, payload: dict, correlation_id=None, priority: int = 0) -> Event:
        if self.service is not None:
            assert CATALOGUE[event_type].producer == self.service, f"{self.service} may not record {event_type}"
        event = new_event(event_type, self.municipality, case_id, payload, correlation_id, occurred_at=self.clock())
        self.recorded.append(event)
        self.db.outbox.append((self.service, event, priority))
        return event

    def first_delivery(self, event: Event) -> bool:
        return bool(self.first_deliveries([event]))

    def first_deliveries(self, events: list[Event]) -> list[Event]:
        assert self.consumer, "only an event handler's unit of work has an inbox"
        new = []
        for event in events:
            if (self.consumer, event.event_id) not in self.db.inbox:
                self.db.inbox.add((self.consumer, event.event_id))
                new.append(event)
        return new

    def audit(self, actor: str, action: str, subject: str, case_id=None, reason: str | None = None) -> None:
        self.db.audit.append({"actor": actor, "action": action, "subject": subject, "case_id": case_id,
                              "reason": reason})

    def disclose(self, disclosure, at=None, later: bool = False) -> int:
        row = {**{k: getattr(disclosure, k) for k in disclosure.__dataclass_fields__ if k != "extra"},
               "id": len(self.db.disclosures) + 1, "at": at or self.clock(), "service": self.service,
               "fields": sorted(disclosure.fields)}
        self.db.disclosures.append(row)
        return row["id"]

    def disclosed(self, case_id) -> list[dict]:
        return [dict(row) for row in self.db.disclosures if row["case_id"] == case_id]

    def seal(self, table: str, column: str, row_id, value, raw: bool = False, case_id=None, new_case: bool = False):
        return ("sealed", table, column, str(row_id), copy.deepcopy(value))

    def new_case_id(self) -> uuid.UUID:
        return uuid.uuid4()

    def unseal(self, table: str, column: str, row_id, sealed, raw: bool = False):
        if sealed is None:
            return None
        assert sealed[1:4] == (table, column, str(row_id)), "sealed for another place"
        return copy.deepcopy(sealed[4])


# ---------------------------------------------------------------- intake

INCIDENTS, EVIDENCE = "intake.incidents", "intake.evidence"
PERSONAL = ("description", "own_kind", "location_detail", "target", "reporter", "perpetrators", "witnesses",
            "injuries", "damage")


class FakeIntakeStore:
    def insert_incident(self, uow, case_id, report: dict, channel: str, received_by: str, draft: bool = False,
                        receipt=None):
        uow.db.tables[INCIDENTS][case_id] = {
            "case_id": case_id, "channel": channel, "received_by": received_by, "received_at": uow.clock(),
            "occurred_at": report["occurred_at"], "location_type": report["location_type"],
            "target_role": report["target_role"], "reported_categories": list(report["categories"]),
            "consent": dict(report["consent"]), "draft": draft, "status": "ontvangen", "withdrawn_at": None,
            "erased_at": None, "receipt_code": receipt and receipt[0], "secret_hash": receipt and receipt[1],
            "personal": uow.seal(INCIDENTS, "personal", case_id, {k: report.get(k) for k in PERSONAL})}

    def get_incident(self, uow, case_id) -> dict | None:
        row = copy.deepcopy(uow.db.tables[INCIDENTS].get(case_id))
        if row is None:
            return None
        row.update(uow.unseal(INCIDENTS, "personal", case_id, row.pop("personal")) or {})
        row["erased"] = row["erased_at"] is not None
        return row

    lock_incident = get_incident

    def set_receipt(self, uow, case_id, receipt_code: str, secret_hash: str) -> None:
        uow.db.tables[INCIDENTS][case_id].update(receipt_code=receipt_code, secret_hash=secret_hash)

    def set_status(self, uow, case_id, status: str) -> None:
        withdrawn = uow.clock() if status == "ingetrokken" else None
        uow.db.tables[INCIDENTS][case_id].update(status=status, withdrawn_at=withdrawn)

    def add_evidence(self, uow, evidence_id, case_id, filename, media_type, content, added_by) -> None:
        uow.db.tables[EVIDENCE][evidence_id] = {"evidence_id": evidence_id, "case_id": case_id,
                                                "media_type": media_type, "size": len(content)}

    def evidence_total(self, uow, case_id) -> tuple[int, int]:
        mine = [e for e in uow.db.rows(EVIDENCE) if e["case_id"] == case_id]
        return len(mine), sum(e["size"] for e in mine)

    def closure(self, uow, case_id) -> dict | None:
        return copy.deepcopy(uow.db.tables["intake.closures"].get(case_id))

    def add_message(self, uow, message_id, case_id, direction: str, author: str, text: str) -> None:
        uow.db.tables["intake.messages"][message_id] = {
            "message_id": message_id, "case_id": case_id, "direction": direction, "author": author,
            "posted_at": uow.clock(), "personal": uow.seal("intake.messages", "personal", message_id, {"text": text})}

    def list_messages(self, uow, case_id) -> list[dict]:
        rows = []
        for row in uow.db.rows("intake.messages"):
            if row["case_id"] == case_id:
                row = copy.deepcopy(row)
                row.update(uow.unseal("intake.messages", "personal", row["message_id"], row.pop("personal")))
                rows.append(row)
        return rows

    def add_text(self, uow, case_id, channel, added_by, text) -> None:
        uow.db.tables["intake.additions"][uuid.uuid4()] = {"case_id": case_id, "channel": channel}

    def complete_draft(self, uow, case_id, report: dict) -> bool:
        row = uow.db.tables[INCIDENTS].get(case_id)
        if row is None or not row["draft"]:
            return False
        self.insert_incident(uow, case_id, report, row["channel"], row["received_by"])
        return True


# ---------------------------------------------------------------- triage

RESULTS, KEYS, CHECKS = "triage.results", "triage.identity_keys", "triage.repeat_checks"


class FakeTriageStore:
    def get_result(self, uow, case_id, lock: bool = False) -> dict | None:
        return copy.deepcopy(uow.db.tables[RESULTS].get(case_id))

    def save_result(self, uow, case_id, result, received_at, due_at) -> None:
        uow.db.tables[RESULTS][case_id] = {
            "case_id": case_id, "categories": list(result.categories), "urgency": result.urgency,
            "decisions": list(result.decisions), "reasons": list(result.reasons), "rules_version": result.rules_version,
            "aftercare_intensity": result.aftercare_intensity, "received_at": received_at, "due_at": due_at,
            "triaged_at": uow.clock(), "status": "voorstel", "decided_by": None, "decided_at": None,
            "overdue_reported_at": None}

    def decide(self, uow, case_id, status, actor, now, categories, urgency, decisions, reasons) -> None:
        uow.db.tables[RESULTS][case_id].update(status=status, decided_by=actor, decided_at=now, categories=categories,
                                               urgency=urgency, decisions=decisions, reasons=reasons)

    def add_known_elsewhere(self, uow, case_id, codes) -> None:
        row = uow.db.tables[RESULTS][case_id]
        row["known_elsewhere"] = sorted(set(row.get("known_elsewhere") or []) | set(codes))

    def claim_overdue(self, uow, now, limit: int = 100) -> list[dict]:
        rows = sorted((r for r in uow.db.rows(RESULTS) if r["status"] == "voorstel"
                       and r["overdue_reported_at"] is None and r["due_at"] <= now), key=lambda r: r["due_at"])
        for row in rows[:limit]:
            row["overdue_reported_at"] = now
        return copy.deepcopy(rows[:limit])

    def replace_keys(self, uow, case_id, keys: dict) -> dict[str, set[bytes]]:
        table = uow.db.tables[KEYS]
        before: dict[str, set[bytes]] = {}
        for key in [k for k in table if k[0] == case_id]:
            before.setdefault(key[1], set()).add(key[2])
            del table[key]
        for kind, hashes in keys.items():
            for h in hashes:
                table[(case_id, kind, h)] = {"case_id": case_id, "kind": kind, "keyed_hash": h}
        return before

    def replace_keys_and_count(self, uow, case_id, keys: dict):
        before = self.replace_keys(uow, case_id, keys)
        return before, {kind: n for kind, hashes in keys.items() if (n := self.count_linked(uow, case_id, kind, hashes))}

    def count_linked(self, uow, case_id, kind: str, hashes) -> int:
        return len({c for (c, k, h) in uow.db.tables[KEYS] if k == kind and h in hashes and c != case_id})

    def knows_perpetrator(self, uow, hashes) -> bool:
        return any(k == "perpetrator" and h in hashes for (_, k, h) in uow.db.tables[KEYS])

    def open_repeat_check(self, uow, event_id, case_id, linked: int, priority: int) -> None:
        uow.db.tables[CHECKS].setdefault(event_id, {"case_id": case_id, "linked": linked, "priority": priority})

    def repeat_check(self, uow, event_id) -> dict | None:
        return copy.deepcopy(uow.db.tables[CHECKS].get(event_id))

    def close_repeat_check(self, uow, event_id) -> dict | None:
        return uow.db.tables[CHECKS].pop(event_id, None)

    def stop(self, uow, case_id, reason: str, now) -> bool:
        if case_id in uow.db.tables["triage.stopped_cases"]:
            return False
        uow.db.tables["triage.stopped_cases"][case_id] = {"case_id": case_id, "reason": reason, "stopped_at": now}
        return True

    def latest_case_with_perpetrator(self, uow, hashes):
        cases = [c for (c, k, h) in uow.db.tables[KEYS] if k == "perpetrator" and h in hashes]
        return max(cases, key=lambda c: uow.db.tables[RESULTS][c]["triaged_at"]) if cases else None

    def add_repeat_link(self, uow, link_id, case_id, other: str) -> bool:
        if link_id in uow.db.tables["triage.repeat_links"]:
            return False
        uow.db.tables["triage.repeat_links"][link_id] = {"case_id": case_id, "other_municipality": other}
        return True


# ---------------------------------------------------------------- a person's decisions, per service

class FakeCaseState:
    """The per-case decision state police liaison, aftercare and signals keep (`<schema>.cases`)."""
    schema = ""

    def case_state(self, uow, case_id, claim=None, decision_at=None) -> dict | None:
        if claim is not None and not uow.first_delivery(claim):
            return None
        table = uow.db.tables[f"{self.schema}.cases"]
        case = table.setdefault(case_id, {"case_id": case_id, "decided_at": None, "stopped_at": None,
                                          "stop_reason": None, "stopped_outcome": None, "reporter_stages": []})
        if decision_at is not None and case["stopped_at"] is None and (case["decided_at"] is None
                                                                      or case["decided_at"] <= decision_at):
            case["decided_at"] = decision_at
        return copy.deepcopy(case)

    def take_decision(self, uow, case_id, at, claim=None) -> bool:
        case = self.case_state(uow, case_id, claim=claim, decision_at=at)
        return case is not None and case["stopped_at"] is None and case["decided_at"] == at

    def stop_case(self, uow, case_id, reason: str, at) -> None:
        uow.db.tables[f"{self.schema}.cases"][case_id].update(stopped_at=at, stop_reason=reason, stopped_outcome=reason)

    def stopped(self, uow, case_id) -> dict | None:
        row = uow.db.tables[f"{self.schema}.cases"].get(case_id)
        return copy.deepcopy(row) if row and row["stopped_at"] else None


# ---------------------------------------------------------------- police liaison

REFERRALS, STEPS, DELIVERIES = "police_liaison.referrals", "police_liaison.referral_steps", "police_liaison.deliveries"


class FakePoliceLiaisonStore(FakeCaseState):
    schema = "police_liaison"

    def referral_of_case(self, uow, case_id, lock: bool = False) -> dict | None:
        return copy.deepcopy(next((r for r in uow.db.rows(REFERRALS) if r["case_id"] == case_id), None))

    def insert_referral(self, uow, referral, actor: str, ela: dict, accept_deadline, aangifte=None,
                        ela_version=None) -> bool:
        if any(r["case_id"] == referral.case_id for r in uow.db.rows(REFERRALS)):
            return False
        uow.db.tables[REFERRALS][referral.referral_id] = {
            "referral_id": referral.referral_id, "case_id": referral.case_id, "police_unit": referral.police_unit,
            "status": referral.status, "categories": list(referral.categories), "urgency": referral.urgency,
            "accept_deadline": accept_deadline, "escalated_at": None, "outcome": None, "registration_number": None,
            "reason": None, "created_at": uow.clock(), "updated_at": uow.clock(), "withdrawn_at": None,
            "withdrawal_reason": None, "mandate": None, "aangifte_chosen_at": None, "aangifte_reminded_at": None,
            "aangifte_by": None, "onder_nummer": False, "aangifte_advice_due": None, "ela_version": ela_version,
            "ela_items": {}, **ela, **(aangifte or {})}
        self.add_step(uow, referral.referral_id, referral.status, actor)
        return True

    def add_step(self, uow, referral_id, status: str, actor: str, detail=None, at=None) -> None:
        uow.db.tables[STEPS][uuid.uuid4()] = {"referral_id": referral_id, "status": status, "actor": actor,
                                              "at": at or uow.clock(), "detail": detail}

    def get_referral(self, uow, referral_id, for_update: bool = False) -> dict | None:
        return copy.deepcopy(uow.db.tables[REFERRALS].get(referral_id))

    def update_referral(self, uow, referral_id, changes: dict) -> None:
        uow.db.tables[REFERRALS][referral_id].update(changes, updated_at=uow.clock())

    def overdue_referrals(self, uow, now, limit: int = 100) -> list[dict]:
        return copy.deepcopy([r for r in uow.db.rows(REFERRALS) if r["status"] == "created"
                              and r["escalated_at"] is None and r["accept_deadline"] <= now][:limit])

    def mark_escalated(self, uow, referral_id, now) -> None:
        uow.db.tables[REFERRALS][referral_id]["escalated_at"] = now

    def unreminded_aangifte(self, uow, now, limit: int = 100) -> list[dict]:
        return copy.deepcopy([r for r in uow.db.rows(REFERRALS) if r["status"] in ("created", "accepted")
                              and r["aangifte_reminded_at"] is None and r["aangifte_advice_due"] is not None
                              and r["aangifte_advice_due"] <= now][:limit])

    def add_delivery(self, uow, delivery_id, event_id, police_unit, event_type, body) -> bool:
        uow.db.tables[DELIVERIES][delivery_id] = {"event_id": event_id, "police_unit": police_unit}
        return True


# ---------------------------------------------------------------- aftercare

PLANS, MOMENTS = "aftercare.care_plans", "aftercare.contact_moments"


class FakeAftercareStore(FakeCaseState):
    schema = "aftercare"

    def reopen(self, uow, plan_id, urgency: str, new_due: dict, now) -> None:
        uow.db.tables[PLANS][plan_id].update(status="open", urgency=urgency, closed_at=None, close_reason=None,
                                             replanned_at=now)
        for kind, due_at in new_due.items():
            moment = uow.db.tables[MOMENTS][(plan_id, kind)]
            if moment["done_at"] is None:
                moment.update(due_at=due_at, due_notified_at=None, overdue_notified_at=None)

    def insert_plan(self, uow, plan, occurred_at) -> bool:
        if any(p["case_id"] == plan.case_id for p in uow.db.rows(PLANS)):
            return False
        uow.db.tables[PLANS][plan.plan_id] = {
            "plan_id": plan.plan_id, "case_id": plan.case_id, "urgency": plan.urgency, "status": "open",
            "planned_at": plan.planned_at, "occurred_at": occurred_at, "assigned_to": None, "closed_at": None,
            "close_reason": None, "declined_at": None, "replanned_at": None}
        for moment in plan.moments:
            uow.db.tables[MOMENTS][(plan.plan_id, moment.kind)] = {
                "plan_id": plan.plan_id, "kind": moment.kind, "due_at": moment.due_at, "done_at": None,
                "due_notified_at": None, "overdue_notified_at": None}
        return True

    def plan_of_case(self, uow, case_id, lock: bool = False) -> dict | None:
        return copy.deepcopy(next((p for p in uow.db.rows(PLANS) if p["case_id"] == case_id), None))

    def get_plan(self, uow, plan_id, lock: bool = False) -> dict | None:
        return copy.deepcopy(uow.db.tables[PLANS].get(plan_id))

    def moments(self, uow, plan_id) -> list[dict]:
        return copy.deepcopy(sorted((m for m in uow.db.rows(MOMENTS) if m["plan_id"] == plan_id),
                                    key=lambda m: m["due_at"]))

    def replan(self, uow, plan_id, urgency: str, new_due: dict, now) -> None:
        uow.db.tables[PLANS][plan_id].update(urgency=urgency, replanned_at=now)
        for kind, due_at in new_due.items():
            moment = uow.db.tables[MOMENTS][(plan_id, kind)]
            if moment["done_at"] is None:
                moment["due_at"] = due_at

    def counts(self, uow, plan_id) -> dict:
        return {"contacts": 0, "referrals": 0}

    def claim_reminders(self, uow, marker: str, due_before, limit: int = 200) -> list[dict]:
        rows = []
        for key, m in sorted(uow.db.tables[MOMENTS].items(), key=lambda item: item[1]["due_at"]):
            plan_row = uow.db.tables[PLANS][m["plan_id"]]
            if plan_row["status"] == "open" and m["done_at"] is None and m[marker] is None and m["due_at"] <= due_before:
                rows.append({"id": key, "plan_id": m["plan_id"], "kind": m["kind"], "due_at": m["due_at"],
                             "case_id": plan_row["case_id"], "urgency": plan_row["urgency"]})
        return rows[:limit]

    def mark_reminded(self, uow, marker: str, moment_id, now) -> None:
        uow.db.tables[MOMENTS][moment_id][marker] = now

    def close(self, uow, plan_id, status: str, reason: str, now) -> None:
        uow.db.tables[PLANS][plan_id].update(status=status, close_reason=reason, closed_at=now)


# ---------------------------------------------------------------- signals

SIGNALS, LINKS, NOTICES, MAILS = "signals.signals", "signals.repeat_links", "signals.notices", "signals.mails"


class FakeSignalsStore(FakeCaseState):
    schema = "signals"

    def add_reporter_stage(self, uow, case_id, stage: str) -> bool:
        stages = uow.db.tables["signals.cases"][case_id]["reporter_stages"]
        if stage in stages:
            return False
        stages.append(stage)
        return True

    def signal_by_key(self, uow, case_id, key: str) -> dict | None:
        return copy.deepcopy(next((r for r in uow.db.rows(SIGNALS) if r["case_id"] == case_id and r["key"] == key),
                                  None))

    def insert_signal(self, uow, signal_id, case_id, action, now) -> None:
        uow.db.tables[SIGNALS][signal_id] = {
            "signal_id": signal_id, "case_id": case_id, "kind": action.kind, "owner_role": action.owner_role,
            "scope": action.scope, "acute": action.acute, "key": action.key, "details": dict(action.details),
            "follows_decision": action.follows_decision, "state": "open", "raised_at": now, "due_at": action.due_at,
            "taken_by": None, "taken_by_name": None, "taken_at": None, "handled_by": None, "handled_by_name": None,
            "handled_at": None, "outcome": None}

    def reopen_signal(self, uow, signal_id, acute: bool, due_at, now) -> None:
        uow.db.tables[SIGNALS][signal_id].update(state="open", acute=acute, due_at=due_at, raised_at=now, taken_by=None,
                                                 taken_by_name=None, taken_at=None, handled_by=None,
                                                 handled_by_name=None, handled_at=None, outcome=None)

    def set_urgency(self, uow, signal_id, acute: bool, due_at) -> None:
        uow.db.tables[SIGNALS][signal_id].update(acute=acute, due_at=due_at)

    def unhandled(self, uow, case_id, keys=None) -> list[dict]:
        return copy.deepcopy(sorted((r for r in uow.db.rows(SIGNALS) if r["case_id"] == case_id
                                     and r["state"] != "handled" and (keys is None or r["key"] in keys)),
                                    key=lambda r: r["raised_at"]))

    def get_signal(self, uow, signal_id, lock: bool = False) -> dict | None:
        return copy.deepcopy(uow.db.tables[SIGNALS].get(signal_id))

    def visible(self, uow, signal_id, visible) -> bool:
        return signal_id in uow.db.tables[SIGNALS]  # who may see which case is shared/auth.py's SQL: tested on a store

    def take(self, uow, signal_id, actor: str, name, now) -> None:
        uow.db.tables[SIGNALS][signal_id].update(state="taken", taken_by=actor, taken_by_name=name, taken_at=now)

    def handle(self, uow, signal_id, outcome: str, actor: str, name, now) -> None:
        uow.db.tables[SIGNALS][signal_id].update(state="handled", outcome=outcome, handled_by=actor,
                                                 handled_by_name=name, handled_at=now)
        for notice in uow.db.rows(NOTICES):
            if notice["signal_id"] == signal_id and notice["state"] == "waiting":
                notice["state"] = "cancelled"

    def insert_link(self, uow, link_id, case_id, kind, other, side, now) -> bool:
        if link_id in uow.db.tables[LINKS]:
            return False
        uow.db.tables[LINKS][link_id] = {
            "link_id": link_id, "case_id": case_id, "kind": kind, "other_municipality": other, "side": side,
            "linked_at": now, "contacted_on": None, "contact_outcome": None, "contact_by": None,
            "contact_by_name": None, "contact_by_municipality": None, "contact_recorded_at": None}
        return True

    def get_link(self, uow, link_id, lock: bool = False) -> dict | None:
        return copy.deepcopy(uow.db.tables[LINKS].get(link_id))

    def record_contact(self, uow, link_id, contacted_on, outcome, actor, name, municipality, now) -> None:
        uow.db.tables[LINKS][link_id].update(contacted_on=contacted_on, contact_outcome=outcome, contact_by=actor,
                                             contact_by_name=name, contact_by_municipality=municipality,
                                             contact_recorded_at=now)

    def insert_notice(self, uow, notice_id, signal_id, case_id, audience, scope, acute, now, send_after) -> None:
        uow.db.tables[NOTICES][notice_id] = {
            "notice_id": notice_id, "signal_id": signal_id, "case_id": case_id, "audience": audience,
            "scope": scope, "acute": acute, "created_at": now, "send_after": send_after, "state": "waiting",
            "mail_id": None}

    def hurry_notice(self, uow, signal_id, now) -> None:
        for notice in uow.db.rows(NOTICES):
            if notice["signal_id"] == signal_id and notice["state"] == "waiting":
                notice.update(acute=True, send_after=now)

    def composing(self, uow) -> bool:
        return True

    def waiting_notices(self, uow, now, limit: int = 1000) -> list[dict]:
        return copy.deepcopy(sorted((n for n in uow.db.rows(NOTICES) if n["state"] == "waiting"
                                     and n["send_after"] <= now), key=lambda n: n["send_after"])[:limit])

    def mark_notices(self, uow, notice_ids, state: str, mail_id=None) -> None:
        for notice_id in notice_ids:
            uow.db.tables[NOTICES][notice_id].update(state=state, mail_id=mail_id)

    def insert_mail(self, uow, mail_id, kind, recipient, case_id, link_path, notices, now) -> None:
        uow.db.tables[MAILS][mail_id] = {
            "mail_id": mail_id, "kind": kind, "recipient": recipient, "case_id": case_id, "link_path": link_path,
            "notices": notices, "status": "pending", "attempts": 0, "next_attempt": now, "last_error": None,
            "created_at": now, "sent_at": None}


# ---------------------------------------------------------------- statistics

FACTS = "statistics.incident_facts"


class FakeStatisticsStore:
    def upsert_facts_many(self, uow, rows, mark: bool = False) -> set:
        days = set()
        for municipality, ref, facts, counts in rows:
            row = uow.db.tables[FACTS].setdefault((municipality, ref), {"municipality": municipality})
            row.update(facts)
            for name, n in counts.items():
                row[name] = row.get(name, 0) + n
            if row.get("reported_on") is not None:
                days.add((municipality, row["reported_on"]))
        if mark:
            self.mark_dirty(uow, days)
        return days

    def mark_dirty(self, uow, days) -> None:
        uow.db.tables["statistics.dirty_days"].update({day: True for day in days})


# ---------------------------------------------------------------- shared/case_views.py

class FakeCaseViews:
    """case_views' reads over the fake rows; its pure parts (police_status) are the real ones."""
    police_status = staticmethod(case_views.police_status)

    def incident_for_triage(self, uow, case_id, claim=None) -> dict | None:
        row = FakeIntakeStore().get_incident(uow, case_id)
        view = None if row is None else {k: row.get(k) for k in ("case_id", "received_at", "description", "reporter",
                                                                  "perpetrators", "erased")}
        if claim is None:
            return view
        return {**(view or {}), "first_delivery": uow.first_delivery(claim)}

    def consent_of(self, uow, case_id) -> dict:
        return dict((uow.db.tables[INCIDENTS].get(case_id) or {}).get("consent") or {})

    def incident_codes(self, uow, case_id) -> dict:
        row = uow.db.tables[INCIDENTS].get(case_id)
        if row is None:
            return {}
        return {"occurred_at": row["occurred_at"], "location_type": row["location_type"],
                "target_role": row["target_role"],
                "consent": {k: bool(row["consent"].get(k)) for k in ("contact", "police_referral", "inform_manager",
                                                                      "employer_reports")}}

    def reporter_wants_mail(self, uow, case_id) -> bool:
        consent = self.consent_of(uow, case_id)
        return bool(consent.get("contact")) and consent.get("contact_method") != "phone"

    def reporter_mail_address(self, uow, case_id) -> str | None:
        row = FakeIntakeStore().get_incident(uow, case_id)
        if row is None or not self.reporter_wants_mail(uow, case_id):
            return None
        return (row.get("reporter") or {}).get("email")

    def is_closed(self, uow, case_id) -> bool:
        row = uow.db.tables[INCIDENTS].get(case_id)
        return row is not None and row["status"] == "afgesloten"

    def progress_of(self, uow, case_id):
        incident = uow.db.tables[INCIDENTS].get(case_id)
        if incident is None:
            return None
        result = uow.db.tables[RESULTS].get(case_id)
        referral = next((r for r in uow.db.rows(REFERRALS) if r["case_id"] == case_id), None)
        plan = next((p for p in uow.db.rows(PLANS) if p["case_id"] == case_id), None)
        return case_views.Progress(incident["status"], result is not None, referral is not None, plan is not None,
                                   None, referral and referral["status"], referral and referral["outcome"],
                                   referral and referral["updated_at"])


STORES = {"intake": FakeIntakeStore(), "triage": FakeTriageStore(), "police_liaison": FakePoliceLiaisonStore(),
          "aftercare": FakeAftercareStore(), "statistics": FakeStatisticsStore(), "signals": FakeSignalsStore()}
VIEWS = FakeCaseViews()


# ---------------------------------------------------------------- the hub in memory

class InMemoryHub:
    """A region's case stores and statistics database in memory, and the bus between the handlers.

    `deliver()` hands every event committed so far to the handlers of its consumers (by the
    catalogue), until none is left; each consumer sees each event once (FIFO, no priorities)."""

    def __init__(self, units: dict | None = None, rules=None, options: dict | None = None):
        self.units = units or {"GM0687": "zwb-walcheren", "GM0718": "zwb-walcheren", "GM0664": "zwb-de-bevelanden"}
        self.databases = {code: FakeDatabase() for code in self.units}
        self.statistics = FakeDatabase()
        self.rules = rules or default_rules()
        self.options = {"police_liaison": {"acute_accept_minutes": 60, "accept_working_days": 1, "webhooks": {},
                                           "contacts": {}, "aangifte_advice_working_days": 2},
                        "aftercare": aftercare_domain.DEFAULT_OPTIONS, "signals": SIGNALS_DEFAULTS,
                        **(options or {})}
        self.now = NOW
        self.delivered: list[tuple[str, Event]] = []  # (consumer, event) in the order handled
        self._sent = {code: 0 for code in self.units}

    @contextlib.contextmanager
    def case_store(self, code: str, service: str | None = None, consumer: str | None = None):
        with FakeUnitOfWork(self.databases[code], code, service, consumer, clock=lambda: self.now) as uow:
            yield uow

    def tick(self, **delta) -> None:
        self.now += timedelta(**delta)

    def events(self, *types: str) -> list[Event]:
        return [e for db in self.databases.values() for e in db.events(*types)]

    def deliver(self) -> int:
        """Hand out every committed event not handed out yet, and what those cause; how many."""
        handled = 0
        while True:
            pending = [(code, db.outbox[self._sent[code]]) for code, db in self.databases.items()
                       if self._sent[code] < len(db.outbox)]
            if not pending:
                return handled
            for code, (_, event, _) in pending:
                self._sent[code] += 1
                for consumer in CATALOGUE[event.event_type].consumers:
                    self.redeliver(consumer, event)
                    handled += 1

    def redeliver(self, consumer: str, event: Event) -> None:
        """Hand one event to one consumer (again: its inbox makes a second delivery change nothing)."""
        self.delivered.append((consumer, event))
        HANDLERS[(consumer, event.event_type)](self, event)


def _triage(hub: InMemoryHub, event: Event) -> None:
    def case_store(code):
        return hub.case_store(code, "triage", f"triage.on_{event.event_type}")

    triage.triage(event, case_store, list(hub.units), hub.rules, SECRET, store=STORES["triage"], views=VIEWS)


def _refer(hub: InMemoryHub, event: Event) -> None:
    with hub.case_store(event.municipality, "police_liaison", "police_liaison.on_incident_triaged") as uow:
        police_liaison.refer([event], uow, hub.units[event.municipality], hub.options["police_liaison"], hub.now,
                             store=STORES["police_liaison"])


def _plan(hub: InMemoryHub, event: Event) -> None:
    with hub.case_store(event.municipality, "aftercare", "aftercare.on_incident_triaged") as uow:
        aftercare.plan([event], uow, hub.options["aftercare"], hub.now, store=STORES["aftercare"])


def _replan(hub: InMemoryHub, event: Event) -> None:
    with hub.case_store(event.municipality, "aftercare", "aftercare.on_triage_overridden") as uow:
        aftercare.replan_after_override(event, uow, hub.options["aftercare"], hub.now, store=STORES["aftercare"])


def _override(hub: InMemoryHub, event: Event) -> None:
    with hub.case_store(event.municipality, "police_liaison", "police_liaison.on_triage_overridden") as uow:
        police_liaison.carry_out_override(event, uow, hub.units[event.municipality], hub.options["police_liaison"],
                                          hub.now, store=STORES["police_liaison"])


def _stop(service: str):
    def handler(hub: InMemoryHub, event: Event) -> None:
        with hub.case_store(event.municipality, service, f"{service}.on_{event.event_type}") as uow:
            if service == "triage":
                triage.stop(event, uow, hub.now, store=STORES["triage"])
            elif service == "police_liaison":
                police_liaison.stop(event, uow, hub.options["police_liaison"], hub.now, store=STORES["police_liaison"])
            else:
                aftercare.stop(event, uow, hub.now, store=STORES["aftercare"])
    return handler


def _signal(hub: InMemoryHub, event: Event) -> None:
    with hub.case_store(event.municipality, "signals", f"signals.on_{event.event_type}") as uow:
        signals.on_event(event, uow, hub.options["signals"], hub.now, store=STORES["signals"], views=VIEWS)


def _zaak(hub: InMemoryHub, event: Event) -> None:
    """The in-memory region has no zaaksysteem (the default): the real handler records nothing."""
    with hub.case_store(event.municipality, "zaaksysteem", f"zaaksysteem.on_{event.event_type}") as uow:
        assert not zaaksysteem.on_event(event, uow, ZAAKSYSTEEM_DEFAULTS)


def _fold(hub: InMemoryHub, event: Event) -> None:
    with FakeUnitOfWork(hub.statistics, None, "statistics", f"statistics.on_{event.event_type}") as uow:
        statistics.fold([event], uow, SECRET, store=STORES["statistics"])


# (consumer, event type) -> its handler, for every consumer the catalogue names (tests check both agree).
HANDLERS = {
    ("triage", "incident_reported"): _triage,
    ("triage", "incident_updated"): _triage,
    ("police_liaison", "incident_triaged"): _refer,
    ("aftercare", "incident_triaged"): _plan,
    ("aftercare", "triage_overridden"): _replan,
    ("police_liaison", "triage_overridden"): _override,
    **{(service, name): _stop(service) for service in ("triage", "police_liaison", "aftercare")
       for name in ("incident_withdrawn", "incident_closed")},
    **{("signals", name): _signal for name, spec in CATALOGUE.items()
       if "signals" in spec.consumers and not spec.wakes_producer},
    # the wake of running signals instances: the in-memory hub has no timers to wake
    ("signals", "partner_delivery_replayed"): lambda hub, event: None,
    **{("statistics", name): _fold for name, spec in CATALOGUE.items() if "statistics" in spec.consumers},
    **{("zaaksysteem", name): _zaak for name, spec in CATALOGUE.items() if "zaaksysteem" in spec.consumers},
}


def case_ref(case_id) -> bytes:
    """The statistics' row key of a case (services/statistics/domain.case_ref with the hub's secret)."""
    from services.statistics.domain import case_ref as ref

    return ref(SECRET, case_id)

