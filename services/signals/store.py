"""The signals service's tables in each municipality's case store (schema `signals`): signals, the
per-case state, repeat links, the outbox of mails with its delivery log, and partner subscribers with their
outbox of deliveries and its log (docs/partners.md). Codes and ids only."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from shared.db.decision_state import DecisionState

# The periodic tasks that send what these tables hold (services/signals/service.py): a commit that gives one
# work tells the process's due-time index of it (UnitOfWork.wake, shared/scan.py), so that an idle hub's
# deliverer and mailer visit no store (issue 25).
MAIL_TASK = "mail"
PARTNERS_TASK = "partners"
AT_ONCE = datetime(1970, 1, 1, tzinfo=timezone.utc)

SIGNAL_COLUMNS = ("signal_id, case_id, kind, owner_role, scope, acute, key, details, follows_decision, state, "
                  "raised_at, due_at, taken_by, taken_by_name, taken_at, handled_by, handled_by_name, handled_at, "
                  "outcome")

_DECISIONS = DecisionState("signals", stop_column="stopped_outcome")
case_state = _DECISIONS.case_state
stop_case = _DECISIONS.stop_case


# ------------------------------------------------------------------ per case

def add_reporter_stage(uow, case_id, stage: str) -> bool:
    """Note that the reporter is told of this step; False when they were told before."""
    cur = uow.execute("UPDATE signals.cases SET reporter_stages = array_append(reporter_stages, %s) "
                      "WHERE case_id = %s AND NOT (%s = ANY(reporter_stages))", (stage, case_id, stage))
    added = cur.rowcount == 1
    cur.close()
    return added


# ------------------------------------------------------------------ signals

def signal_by_key(uow, case_id, key: str) -> dict | None:
    return uow.fetchone(f"SELECT {SIGNAL_COLUMNS} FROM signals.signals WHERE case_id = %s AND key = %s FOR UPDATE",
                        (case_id, key))


def insert_signal(uow, signal_id, case_id, action, now) -> None:
    uow.execute("INSERT INTO signals.signals (signal_id, case_id, kind, owner_role, scope, acute, key, details, "
                "follows_decision, raised_at, due_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (signal_id, case_id, action.kind, action.owner_role, action.scope, action.acute, action.key,
                 json.dumps(action.details), action.follows_decision, now, action.due_at)).close()


def reopen_signal(uow, signal_id, acute: bool, due_at, now) -> None:
    """A decision a person removed and added back: the signal is open again, as new."""
    uow.execute("UPDATE signals.signals SET state = 'open', acute = %s, due_at = %s, raised_at = %s, taken_by = NULL, "
                "taken_by_name = NULL, taken_at = NULL, handled_by = NULL, handled_by_name = NULL, handled_at = NULL, "
                "outcome = NULL WHERE signal_id = %s", (acute, due_at, now, signal_id)).close()


def set_urgency(uow, signal_id, acute: bool, due_at) -> None:
    uow.execute("UPDATE signals.signals SET acute = %s, due_at = %s WHERE signal_id = %s",
                (acute, due_at, signal_id)).close()


def unhandled(uow, case_id, keys=None) -> list[dict]:
    """The case's signals not yet handled (of these keys), locked."""
    if keys is None:
        return uow.fetchall(f"SELECT {SIGNAL_COLUMNS} FROM signals.signals WHERE case_id = %s "
                            "AND state <> 'handled' ORDER BY raised_at FOR UPDATE", (case_id,))
    return uow.fetchall(f"SELECT {SIGNAL_COLUMNS} FROM signals.signals WHERE case_id = %s AND key = ANY(%s) "
                        "AND state <> 'handled' ORDER BY raised_at FOR UPDATE", (case_id, list(keys)))


def get_signal(uow, signal_id, lock: bool = False) -> dict | None:
    return uow.fetchone(f"SELECT {SIGNAL_COLUMNS} FROM signals.signals WHERE signal_id = %s"
                        + (" FOR UPDATE" if lock else ""), (signal_id,))


def visible(uow, signal_id, visible: tuple[str, list]) -> bool:
    """Whether the caller may see this signal (`visible` as for list_signals)."""
    condition, params = visible
    return uow.fetchone(f"SELECT EXISTS (SELECT 1 FROM signals.signals s WHERE s.signal_id = %s AND ({condition})) "
                        "AS ok", (signal_id, *params))["ok"]


def take(uow, signal_id, actor: str, name: str | None, now) -> None:
    uow.execute("UPDATE signals.signals SET state = 'taken', taken_by = %s, taken_by_name = %s, taken_at = %s "
                "WHERE signal_id = %s", (actor, name, now, signal_id)).close()


def handle(uow, signal_id, outcome: str, actor: str, name: str | None, now) -> None:
    uow.execute("UPDATE signals.signals SET state = 'handled', outcome = %s, handled_by = %s, handled_by_name = %s, "
                "handled_at = %s WHERE signal_id = %s", (outcome, actor, name, now, signal_id)).close()
    # a signal closed before its digest went out is not mailed any more
    uow.execute("UPDATE signals.notices SET state = 'cancelled' WHERE signal_id = %s AND state = 'waiting'",
                (signal_id,)).close()


def list_signals(uow, visible: tuple[str, list], roles, states, kind: str | None, case_id, limit: int,
                 offset: int) -> tuple[int, list[dict]]:
    """Signals the caller may see (`visible`: an SQL condition on s.case_id and s.scope, from
    handlers.visibility), owned by one of `roles`, in these states: open ones by due time, handled
    ones newest first."""
    condition, params = visible
    where = [f"({condition})", "s.owner_role = ANY(%s)", "s.state = ANY(%s)"]
    params = [*params, list(roles), list(states)]
    if kind:
        where.append("s.kind = %s")
        params.append(kind)
    if case_id:
        where.append("s.case_id = %s")
        params.append(case_id)
    clause = " AND ".join(where)
    total = uow.fetchone(f"SELECT count(*) AS n FROM signals.signals s WHERE {clause}", params)["n"]
    order = "s.handled_at DESC" if list(states) == ["handled"] else "s.acute DESC, s.due_at, s.raised_at"
    rows = uow.fetchall(f"SELECT {', '.join('s.' + c.strip() for c in SIGNAL_COLUMNS.split(','))} "
                        f"FROM signals.signals s WHERE {clause} ORDER BY {order} LIMIT %s OFFSET %s",
                        [*params, limit, offset])
    return total, rows


# ------------------------------------------------------------------ repeat links

def insert_link(uow, link_id, case_id, kind: str, other: str, side: str, now) -> bool:
    cur = uow.execute("INSERT INTO signals.repeat_links (link_id, case_id, kind, other_municipality, side, linked_at) "
                      "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                      (link_id, case_id, kind, other, side, now))
    inserted = cur.rowcount == 1
    cur.close()
    return inserted


def get_link(uow, link_id, lock: bool = False) -> dict | None:
    return uow.fetchone("SELECT * FROM signals.repeat_links WHERE link_id = %s" + (" FOR UPDATE" if lock else ""),
                        (link_id,))


def record_contact(uow, link_id, contacted_on, outcome: str, actor: str, name: str | None, municipality: str,
                   now) -> None:
    uow.execute("UPDATE signals.repeat_links SET contacted_on = %s, contact_outcome = %s, contact_by = %s, "
                "contact_by_name = %s, contact_by_municipality = %s, contact_recorded_at = %s WHERE link_id = %s",
                (contacted_on, outcome, actor, name, municipality, now, link_id)).close()


def links(uow, limit: int = 200) -> list[dict]:
    return uow.fetchall("SELECT * FROM signals.repeat_links ORDER BY linked_at DESC LIMIT %s", (limit,))


# ------------------------------------------------------------------ the outbox of mails

def insert_notice(uow, notice_id, signal_id, case_id, audience: str, scope: str, acute: bool, now,
                  send_after) -> None:
    uow.execute("INSERT INTO signals.notices (notice_id, signal_id, case_id, audience, scope, acute, created_at, "
                "send_after) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (notice_id, signal_id, case_id, audience, scope, acute, now, send_after)).close()
    uow.wake(MAIL_TASK, send_after)


def hurry_notice(uow, signal_id, now) -> None:
    """A signal that became acute: its notice, if still waiting for a digest, goes out at once."""
    uow.execute("UPDATE signals.notices SET acute = true, send_after = %s WHERE signal_id = %s AND state = 'waiting'",
                (now, signal_id)).close()
    uow.wake(MAIL_TASK, now)


def composing(uow) -> bool:
    """Whether this transaction may compose this store's mails (one composer per store at a time, so
    one digest per address)."""
    return uow.fetchone("SELECT pg_try_advisory_xact_lock(hashtext('meldpunt signals compose')) AS ok")["ok"]


def waiting_notices(uow, now, limit: int = 1000) -> list[dict]:
    return uow.fetchall("SELECT notice_id, signal_id, case_id, audience, scope, acute FROM signals.notices "
                        "WHERE state = 'waiting' AND send_after <= %s ORDER BY send_after LIMIT %s "
                        "FOR UPDATE SKIP LOCKED", (now, limit))


def next_mail_work(uow):
    """When the mailer next has work in this store: a waiting notice's send_after or a pending mail's next
    attempt (a lease's end included), whichever comes first; None when nothing waits."""
    return uow.fetchone("SELECT least((SELECT min(send_after) FROM signals.notices WHERE state = 'waiting'), "
                        "(SELECT min(next_attempt) FROM signals.mails WHERE status = 'pending')) AS at")["at"]


def mark_notices(uow, notice_ids, state: str, mail_id=None) -> None:
    uow.execute("UPDATE signals.notices SET state = %s, mail_id = %s WHERE notice_id = ANY(%s)",
                (state, mail_id, list(notice_ids))).close()


def insert_mail(uow, mail_id, kind: str, recipient: str | None, case_id, link_path: str, notices: int, now) -> None:
    uow.execute("INSERT INTO signals.mails (mail_id, kind, recipient, case_id, link_path, notices, next_attempt, "
                "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (mail_id, kind, recipient, case_id, link_path, notices, now, now)).close()


def due_mails(uow, now, lease_until, limit: int = 50) -> list[dict]:
    """Pending mails whose time has come, claimed (SKIP LOCKED) and leased until `lease_until`, so that
    another instance does not send them meanwhile."""
    rows = uow.fetchall("SELECT * FROM signals.mails WHERE status = 'pending' AND next_attempt <= %s "
                        "ORDER BY (kind = 'acute') DESC, next_attempt LIMIT %s FOR UPDATE SKIP LOCKED", (now, limit))
    if rows:
        uow.execute("UPDATE signals.mails SET next_attempt = %s WHERE mail_id = ANY(%s)",
                    (lease_until, [r["mail_id"] for r in rows])).close()
    return rows


def mail_result(uow, mail_id, now, *, ok: bool, error: str | None, status: str, next_attempt) -> None:
    """One attempt's outcome: in the mail, and in the delivery log."""
    uow.execute("UPDATE signals.mails SET status = %s, attempts = attempts + 1, last_error = %s, next_attempt = %s, "
                "sent_at = CASE WHEN %s THEN %s ELSE sent_at END WHERE mail_id = %s",
                (status, error, next_attempt, ok, now, mail_id)).close()
    uow.execute("INSERT INTO signals.mail_attempts (mail_id, at, ok, error) VALUES (%s, %s, %s, %s)",
                (mail_id, now, ok, error)).close()


def mails(uow, status: str | None = None, limit: int = 100) -> list[dict]:
    where, params = ("WHERE status = %s", [status]) if status else ("", [])
    return uow.fetchall("SELECT mail_id, kind, notices, status, attempts, next_attempt, last_error, created_at, "
                        f"sent_at FROM signals.mails {where} ORDER BY created_at DESC LIMIT %s", [*params, limit])


def mail_attempts(uow, mail_id) -> list[dict]:
    return uow.fetchall("SELECT at, ok, error FROM signals.mail_attempts WHERE mail_id = %s ORDER BY id", (mail_id,))


# ------------------------------------------------------------------ partner subscribers (docs/partners.md)

SUBSCRIBER_KEYS = "signals.subscriber_keys"
_SUBSCRIBER_COLUMNS = ("name", "transport", "url", "events", "fields", "legal_basis", "purpose", "consent_version",
                       "max_attempts", "first_delay_seconds", "max_delay_seconds", "timeout_seconds")


def add_subscriber(uow, subscriber: dict) -> bool:
    """False when the case store has a subscriber of that name already."""
    cur = uow.execute(
        f"INSERT INTO signals.subscribers ({', '.join(_SUBSCRIBER_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(_SUBSCRIBER_COLUMNS))}) ON CONFLICT (name) DO NOTHING",
        [subscriber[c] for c in _SUBSCRIBER_COLUMNS])
    added = cur.rowcount == 1
    cur.close()
    return added


def remove_subscriber(uow, name: str) -> bool:
    """Its keys go with it; its waiting deliveries fail (the log stays)."""
    uow.execute("UPDATE signals.partner_deliveries SET status = 'failed', last_error = 'subscriber removed' "
                "WHERE subscriber = %s AND status = 'pending'", (name,)).close()
    cur = uow.execute("DELETE FROM signals.subscribers WHERE name = %s", (name,))
    removed = cur.rowcount == 1
    cur.close()
    return removed


def subscribers(uow) -> list[dict]:
    return uow.fetchall("SELECT s.*, (SELECT count(*) FROM signals.subscriber_keys k WHERE k.subscriber = s.name) "
                        "AS keys FROM signals.subscribers s ORDER BY name")


def subscriber(uow, name: str) -> dict | None:
    return uow.fetchone("SELECT * FROM signals.subscribers WHERE name = %s", (name,))


def add_key(uow, name: str, key_id, sealed: bytes) -> None:
    import psycopg2

    # clock_timestamp(), not now(): two keys made in one transaction still have an order (newest signs first)
    uow.execute("INSERT INTO signals.subscriber_keys (key_id, subscriber, secret, created_at) "
                "VALUES (%s, %s, %s, clock_timestamp())", (key_id, name, psycopg2.Binary(sealed))).close()


def keys(uow, name: str) -> list[dict]:
    """The subscriber's signing keys, newest first (key_id, secret still sealed, created_at)."""
    return uow.fetchall("SELECT key_id, secret, created_at FROM signals.subscriber_keys WHERE subscriber = %s "
                        "ORDER BY created_at DESC, key_id", (name,))


def drop_keys_but_newest(uow, name: str) -> int:
    cur = uow.execute("DELETE FROM signals.subscriber_keys WHERE subscriber = %s AND key_id <> "
                      "(SELECT key_id FROM signals.subscriber_keys WHERE subscriber = %s "
                      " ORDER BY created_at DESC, key_id LIMIT 1)", (name, name))
    dropped = cur.rowcount
    cur.close()
    return dropped


def add_partner_delivery(uow, delivery_id, subscriber: dict, event, body: str) -> bool:
    """One delivery per subscriber and event; False when the event was offered before (seen twice)."""
    cur = uow.execute(
        "INSERT INTO signals.partner_deliveries (delivery_id, subscriber, event_id, event_type, case_id, transport, "
        "body) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (subscriber, event_id) DO NOTHING",
        (delivery_id, subscriber["name"], event.event_id, event.event_type, event.case_id, subscriber["transport"],
         body))
    added = cur.rowcount == 1
    cur.close()
    if added:
        uow.wake(PARTNERS_TASK, AT_ONCE)
    return added


def next_partner_delivery(uow):
    """When the deliverer next has work in this store (a pending delivery's next attempt, a lease's end
    included); None when nothing is pending."""
    return uow.fetchone("SELECT min(next_attempt) AS at FROM signals.partner_deliveries "
                        "WHERE status = 'pending'")["at"]


def claim_partner_deliveries(uow, now, lease_seconds: float, limit: int = 20) -> list[dict]:
    """Due deliveries with their subscriber, claimed (SKIP LOCKED) and leased by moving next_attempt, so that
    another instance does not send them while this one does, outside the transaction."""
    rows = uow.fetchall(
        "SELECT d.delivery_id, d.subscriber, d.event_id, d.event_type, d.case_id, d.transport, d.body, d.attempts, "
        "s.url, s.max_attempts, s.first_delay_seconds, s.max_delay_seconds, s.timeout_seconds "
        "FROM signals.partner_deliveries d JOIN signals.subscribers s ON s.name = d.subscriber "
        "WHERE d.status = 'pending' AND d.next_attempt <= %s ORDER BY d.next_attempt LIMIT %s "
        "FOR UPDATE OF d SKIP LOCKED", (now, limit))
    for row in rows:
        uow.execute("UPDATE signals.partner_deliveries SET next_attempt = %s + make_interval(secs => %s) "
                    "WHERE delivery_id = %s", (now, row["timeout_seconds"] + lease_seconds, row["delivery_id"])).close()
    return rows


def partner_delivery_result(uow, delivery_id, now, error: str | None, retry_at, give_up: bool) -> None:
    if error is None:
        uow.execute("UPDATE signals.partner_deliveries SET status = 'delivered', attempts = attempts + 1, "
                    "delivered_at = %s, last_error = NULL WHERE delivery_id = %s", (now, delivery_id)).close()
    else:
        uow.execute("UPDATE signals.partner_deliveries SET status = %s, attempts = attempts + 1, last_error = %s, "
                    "next_attempt = %s WHERE delivery_id = %s",
                    ("failed" if give_up else "pending", error[:500], retry_at, delivery_id)).close()
    uow.execute("INSERT INTO signals.partner_attempts (delivery_id, at, result, detail) VALUES (%s, %s, %s, %s)",
                (delivery_id, now, "delivered" if error is None else "failed", error and error[:500])).close()


def partner_deliveries(uow, subscriber: str | None = None, status: str | None = None, limit: int = 100) -> list[dict]:
    """The delivery log, newest first: each delivery with its attempts (result and detail, no body)."""
    query = ("SELECT delivery_id, subscriber, event_id, event_type, case_id, transport, status, attempts, "
             "next_attempt, last_error, created_at, delivered_at FROM signals.partner_deliveries WHERE true")
    params: list = []
    if subscriber is not None:
        query += " AND subscriber = %s"
        params.append(subscriber)
    if status is not None:
        query += " AND status = %s"
        params.append(status)
    rows = uow.fetchall(query + " ORDER BY created_at DESC, delivery_id LIMIT %s", [*params, limit])
    for row in rows:
        row["log"] = uow.fetchall("SELECT at, result, detail FROM signals.partner_attempts WHERE delivery_id = %s "
                                  "ORDER BY at, id", (row["delivery_id"],))
    return rows


def replay_partner_delivery(uow, delivery_id, now) -> dict | None:
    """The delivery due again now, with its attempts counted afresh (same delivery id and event id: the
    receiver can tell it has it); None when there is no such delivery or its subscriber is gone."""
    row = uow.fetchone(
        "UPDATE signals.partner_deliveries d SET status = 'pending', next_attempt = %s, attempts = 0 "
        "FROM signals.subscribers s WHERE s.name = d.subscriber AND d.delivery_id = %s "
        "RETURNING d.delivery_id, d.subscriber, d.case_id, d.event_type", (now, delivery_id))
    if row is not None:
        uow.execute("INSERT INTO signals.partner_attempts (delivery_id, at, result, detail) "
                    "VALUES (%s, %s, 'replayed', NULL)", (delivery_id, now)).close()
        uow.wake(PARTNERS_TASK, AT_ONCE)
    return row
