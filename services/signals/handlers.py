"""The signals service's use cases as plain functions of an event or command and a unit of work.

The nameko entrypoints (service.py) and the tests call them; `store` defaults to the real SQL
(store.py) and `views` to shared/case_views.py. Every signal raised or handled is also an event
(`signal_raised`, `signal_handled`), recorded in the same transaction. Every event signals handles or
records is also offered to the municipality's partner subscribers (`offer`), whose deliveries
`deliver_partners` sends (docs/partners.md).
"""
from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import timedelta

from shared import auth, case_views, disclosures, partner_events, vocabulary, webhooks
from shared.errors import Conflict, Invalid, NotFound
from shared.events import dump_event

from services.signals import domain, smtp, store, subscriptions
from services.signals.options import REGION

log = logging.getLogger(__name__)

ACUTE_PRIORITY = vocabulary.URGENCY_PRIORITY["acuut"]
HUB = "hub"  # who closed a signal the hub closed itself


# ------------------------------------------------------------------ events in

def on_event(event, uow, options: dict, now, *, store=store, views=case_views) -> None:
    """Any event the service consumes, once (inbox): what it means for the case's signals
    (domain.RULES), and whether the reporter hears of it (domain.reporter_stage). The inbox claim and
    the case's decision state, a decision carried out in it, are one statement (issue 25: they were three
    to five round trips, a fifth of the service's CPU)."""
    decision_at = event.occurred_at if event.event_type in domain.DECISION_EVENTS else None
    case = store.case_state(uow, event.case_id, claim=event, decision_at=decision_at)
    if case is None:
        return  # handled before
    apply_rules(event, case, uow, options, now, store=store)
    notify_reporter(event, uow, options, now, store=store, views=views)


def apply_rules(event, case: dict, uow, options: dict, now, *, store=store) -> None:
    """`case`: the case's decision state after the event, locked (`store.case_state`)."""
    if case["stopped_at"] is not None:
        return  # withdrawn or closed: nobody is to act on it any more
    if event.event_type in domain.DECISION_EVENTS and case["decided_at"] != event.occurred_at:
        return  # an older decision than the one already carried out
    if event.event_type == "repeat_linked":
        p = event.payload
        store.insert_link(uow, p["link_id"], event.case_id, p["kind"], p["other_municipality"], p["side"], now)
    ctx = domain.Context(now, options["acute_due_minutes"], options["due_working_days"])
    for action in domain.actions_for(event, ctx):
        if isinstance(action, domain.Raise):
            raise_signal(action, event, uow, options, now, store=store)
        elif isinstance(action, domain.Resolve):
            for row in store.unhandled(uow, event.case_id, action.keys):
                close(row, action.outcome, uow, HUB, None, now, event.correlation_id, by_person=False, store=store)
        elif isinstance(action, domain.Stop):
            store.stop_case(uow, event.case_id, action.outcome, now)
            for row in store.unhandled(uow, event.case_id):
                close(row, action.outcome, uow, HUB, None, now, event.correlation_id, by_person=False, store=store)


def raise_signal(action: domain.Raise, event, uow, options: dict, now, *, store=store) -> None:
    """One signal per case and key: new, reopened (a decision removed and added back), or its urgency
    followed (a decision signal of a case that became acute mails at once)."""
    existing = store.signal_by_key(uow, event.case_id, action.key)
    if existing is None:
        signal_id = uuid.uuid4()
        store.insert_signal(uow, signal_id, event.case_id, action, now)
    elif action.follows_decision and existing["state"] == "handled" and existing["outcome"] == "decision_removed":
        signal_id = existing["signal_id"]
        store.reopen_signal(uow, signal_id, action.acute, action.due_at, now)
    else:
        if action.follows_decision and existing["state"] != "handled" and existing["acute"] != action.acute:
            store.set_urgency(uow, existing["signal_id"], action.acute, action.due_at)
            if action.acute:
                store.hurry_notice(uow, existing["signal_id"], now)
        return
    uow.record("signal_raised", event.case_id, {
        "signal_id": signal_id, "kind": action.kind, "owner_role": action.owner_role, "scope": action.scope,
        "acute": action.acute, "due_at": action.due_at,
    }, correlation_id=event.correlation_id, priority=ACUTE_PRIORITY if action.acute else 0)
    send_after = now if action.acute else domain.next_digest(now, options["digest_times"])
    store.insert_notice(uow, uuid.uuid4(), signal_id, event.case_id, action.owner_role, action.scope, action.acute,
                        now, send_after)


def close(row: dict, outcome: str, uow, actor: str, name: str | None, now, correlation_id=None, *,
          by_person: bool, store=store) -> None:
    store.handle(uow, row["signal_id"], outcome, actor, name, now)
    uow.record("signal_handled", row["case_id"], {
        "signal_id": row["signal_id"], "kind": row["kind"], "outcome": outcome, "by_person": by_person,
        "minutes_open": max(0, int((now - row["raised_at"]).total_seconds() // 60)),
        "overdue": now > row["due_at"],
    }, correlation_id=correlation_id)


def notify_reporter(event, uow, options: dict, now, *, store=store, views=case_views) -> None:
    """A reporter who agreed to contact hears of each step once, by a mail without content."""
    closed_now = event.event_type in domain.MAY_CLOSE and views.is_closed(uow, event.case_id)
    stage = domain.reporter_stage(event, closed_now)
    if stage is None or not views.reporter_wants_mail(uow, event.case_id):
        return
    # the case's row is there and locked: on_event's statement made it
    if store.add_reporter_stage(uow, event.case_id, stage):
        store.insert_notice(uow, uuid.uuid4(), None, event.case_id, "reporter", "municipality", False, now, now)


# ------------------------------------------------------------------ people

def visibility(principal: auth.Principal, column: str = "s.case_id") -> tuple[str, list]:
    """Which signals of the case store the caller may see (shared/auth.py decides per case): a case the
    caller may not see has no signals for them. The region's people see the region's signals (RIEC)
    and the signals of cases routed to the region; a municipality's people its own."""
    seen, params = auth.case_visibility(principal, column)
    if principal.kind != auth.PERSON:
        return seen, params
    if principal.home == REGION:
        excluded_only, extra = auth.case_visibility(principal, column, counting=True)
        return f"((s.scope = 'region' AND {excluded_only}) OR (s.scope = 'municipality' AND {seen}))", \
            [*extra, *params]
    return f"(s.scope = 'municipality' AND {seen})", params


def roles_seen(principal: auth.Principal) -> tuple[str, ...]:
    """A coordinator sees every role's signals of the municipality; others those of their own roles."""
    roles = principal.roles or (principal.role,)
    if auth.COORDINATOR in roles:
        return vocabulary.SIGNAL_OWNER_ROLES
    return tuple(r for r in roles if r in vocabulary.SIGNAL_OWNER_ROLES)


def visible_signal(uow, principal, signal_id, lock: bool = False, *, store=store) -> dict:
    row = store.get_signal(uow, signal_id, lock=lock)
    if row is None or row["owner_role"] not in roles_seen(principal):
        raise NotFound("no such signal")
    if not store.visible(uow, signal_id, visibility(principal)):
        raise NotFound("no such signal")
    return row


def take(signal_id, uow, principal, now, *, store=store) -> dict:
    """A person takes a signal: the others see who is on it."""
    row = visible_signal(uow, principal, signal_id, lock=True, store=store)
    if row["state"] == "handled":
        raise Conflict("the signal is handled already", invalid_params=[{"name": "signal_id", "reason": "handled"}])
    store.take(uow, row["signal_id"], principal.actor, _name(principal), now)
    uow.audit(principal.actor, "take", f"signal {row['kind']}", case_id=row["case_id"])
    return store.get_signal(uow, row["signal_id"])


def handle(signal_id, outcome: str, uow, principal, now, correlation_id=None, *, store=store) -> dict:
    """A person handled a signal with an outcome code; audited with who, and an event for the statistics."""
    if outcome not in vocabulary.SIGNAL_OUTCOMES_BY_PEOPLE:
        raise Invalid("one or more fields are invalid", invalid_params=[
            {"name": "outcome", "reason": f"one of {', '.join(vocabulary.SIGNAL_OUTCOMES_BY_PEOPLE)}"}])
    row = visible_signal(uow, principal, signal_id, lock=True, store=store)
    if row["state"] == "handled":
        raise Conflict("the signal is handled already", invalid_params=[{"name": "signal_id", "reason": "handled"}])
    close(row, outcome, uow, principal.actor, _name(principal), now, correlation_id, by_person=True, store=store)
    uow.audit(principal.actor, "handle", f"signal {row['kind']}", case_id=row["case_id"], reason=outcome)
    return store.get_signal(uow, row["signal_id"])


def _name(principal) -> str:
    return principal.display_name or principal.label


# ------------------------------------------------------------------ repeats both ways

def record_contact(link_id, contact: dict, uow, principal, now, correlation_id=None, *, store=store) -> dict:
    """Either coordinator records that the two have been in touch (date, by whom, an outcome code) in
    their own store, and their repeat signal is handled; the caller then mirrors it into the other
    municipality's store (`mirror_contact`). Nothing of either case crosses. Recording again finishes
    what a failure left undone and changes nothing recorded."""
    link = store.get_link(uow, link_id, lock=True)
    if link is None:
        raise NotFound("no such repeat")
    visible_signal_for_link(uow, principal, link, store=store)
    if link["contact_recorded_at"] is None:
        store.record_contact(uow, link_id, contact["contacted_on"], contact["outcome"], principal.actor,
                             _name(principal), principal.municipality, now)
        uow.audit(principal.actor, "record", "repeat contact with another municipality", case_id=link["case_id"],
                  reason=f"{link['other_municipality']}: {contact['outcome']}")
        link = store.get_link(uow, link_id)
    _close_repeat_signal(uow, link, principal.actor, _name(principal), now, correlation_id, store)
    return link


def mirror_contact(link: dict, uow, now, correlation_id=None, *, store=store) -> bool:
    """The other municipality's side of a recorded contact (`link` as the recording side holds it);
    False when that side does not know the link yet (its repeat_linked is still on the way: it copies
    the contact when it comes)."""
    theirs = store.get_link(uow, link["link_id"], lock=True)
    if theirs is None:
        return False
    if theirs["contact_recorded_at"] is None:
        store.record_contact(uow, link["link_id"], link["contacted_on"], link["contact_outcome"], link["contact_by"],
                             link["contact_by_name"], link["contact_by_municipality"], now)
        uow.audit(link["contact_by"], "record", "repeat contact with another municipality",
                  case_id=theirs["case_id"],
                  reason=f"recorded in {link['contact_by_municipality']}: {link['contact_outcome']}")
    _close_repeat_signal(uow, store.get_link(uow, link["link_id"]), link["contact_by"], link["contact_by_name"], now,
                         correlation_id, store)
    return True


def _close_repeat_signal(uow, link, actor, name, now, correlation_id, store) -> None:
    for row in store.unhandled(uow, link["case_id"], (f"repeat:{link['link_id']}",)):
        close(row, "contact_made" if link["contact_outcome"] != "not_reached" else "not_reached", uow, actor, name,
              now, correlation_id, by_person=True, store=store)


def visible_signal_for_link(uow, principal, link, *, store=store) -> None:
    """A link is the caller's when its repeat signal is (same rule as the signal itself)."""
    row = store.signal_by_key(uow, link["case_id"], f"repeat:{link['link_id']}")
    if row is None:
        raise NotFound("no such repeat")
    visible_signal(uow, principal, row["signal_id"], store=store)


# ------------------------------------------------------------------ the outbox of mails

def compose(uow, municipality: str, options: dict, now, *, store=store) -> int:
    """Put this store's waiting notices into mails: an acute signal in a mail of its own, a reporter's
    steps in one mail per case, every other signal in one digest per address. Returns mails made."""
    if not store.composing(uow):
        return 0  # another instance composes this store now
    groups: dict[tuple, list[dict]] = {}
    for notice in store.waiting_notices(uow, now):
        if notice["audience"] == "reporter":
            groups.setdefault(("reporter", str(notice["case_id"])), []).append(notice)
            continue
        address = address_of(options, municipality, notice["scope"], notice["audience"])
        if address is None:
            store.mark_notices(uow, [notice["notice_id"]], "no_address")
            continue
        if notice["acute"]:
            groups[("acute", str(notice["notice_id"]))] = [notice]
        else:
            groups.setdefault(("digest", address), []).append(notice)
    made = 0
    for (kind, which), notices in groups.items():
        mail_id = uuid.uuid4()
        if kind == "reporter":
            recipient, case_id, link = None, notices[0]["case_id"], f"/meld/{municipality}/volg"
        else:
            first = notices[0]
            recipient = address_of(options, municipality, first["scope"], first["audience"])
            case_id = None
            link = f"/signalen/{first['signal_id']}" if kind == "acute" else "/signalen"
        store.insert_mail(uow, mail_id, kind, recipient, case_id, link, len(notices), now)
        store.mark_notices(uow, [n["notice_id"] for n in notices], "mailed", mail_id)
        made += 1
    return made


def address_of(options: dict, municipality: str, scope: str, role: str) -> str | None:
    return (options["addresses"].get(REGION if scope == "region" else municipality) or {}).get(role)


def claim_mails(uow, options: dict, now, *, store=store, views=case_views) -> list[dict]:
    """Pending mails whose time has come, leased to this sender; a reporter's gets its address now (read
    from intake, audited, never stored) or is dropped when there is none."""
    mail = options["mail"]
    claimed = store.due_mails(uow, now, now + timedelta(seconds=mail["timeout_seconds"] * 3 + 5))
    ready = []
    for row in claimed:
        if row["kind"] == "reporter":
            address = views.reporter_mail_address(uow, row["case_id"])
            if address is None:
                store.mail_result(uow, row["mail_id"], now, ok=False, error="the reporter left no e-mail address "
                                  "or no longer wants contact", status="dropped", next_attempt=now)
                continue
            uow.audit("service:signals", "read", "reporter e-mail address (content-free status mail)",
                      case_id=row["case_id"], reason=f"mail {row['mail_id']}")
            row = {**row, "recipient": address}
        ready.append(row)
    return ready


def mail_of(row: dict, options: dict) -> domain.Mail:
    if row["kind"] == "reporter":
        return domain.reporter_mail(options["follow_up_url"].rstrip("/") + row["link_path"])
    return domain.staff_mail(row["kind"], row["notices"], options["workbench_url"].rstrip("/") + row["link_path"])


def sent(uow, row: dict, error, permanent: bool, options: dict, now, *, store=store) -> None:
    """Record one attempt: sent, failed for good (the server refused the address), or to be tried again."""
    if error is None:
        store.mail_result(uow, row["mail_id"], now, ok=True, error=None, status="sent", next_attempt=now)
        return
    mail = options["mail"]
    retry_at = now + domain.backoff(row["attempts"] + 1, mail["first_delay_seconds"], mail["max_delay_seconds"])
    store.mail_result(uow, row["mail_id"], now, ok=False, error=error, status="failed" if permanent else "pending",
                      next_attempt=retry_at)


# ------------------------------------------------------------------ partner subscribers (docs/partners.md)

LEASE_SECONDS = 5.0  # beyond the subscriber's timeout: how long a claimed delivery is left to its sender


def add_subscriber(uow, subscriber: dict, secret: bytes | None) -> bool:
    """A subscriber in this case store (checked by subscriptions.check before), with its first signing key
    when it receives webhooks; False when the name is taken here."""
    if not store.add_subscriber(uow, subscriber):
        return False
    if secret is not None:
        add_key(uow, subscriber["name"], secret)
    return True


def add_key(uow, name: str, secret: bytes) -> uuid.UUID:
    """A new signing key, encrypted with the municipality's data key; until the older ones are retired the
    hub signs with all of them (the overlap of a rotation)."""
    key_id = uuid.uuid4()
    store.add_key(uow, name, key_id, uow.seal(store.SUBSCRIBER_KEYS, "secret", str(key_id), secret, raw=True))
    return key_id


def secrets_of(uow, name: str) -> list[bytes]:
    """The subscriber's signing keys, newest first."""
    return [uow.unseal(store.SUBSCRIBER_KEYS, "secret", str(row["key_id"]), bytes(row["secret"]), raw=True)
            for row in store.keys(uow, name)]


def offer(events, uow, *, store=store) -> int:
    """The events signals handled or recorded in this unit of work, offered to the case store's subscribers:
    for each subscriber allowed an event, one delivery (the CloudEvent with its allowed fields only) and,
    when those fields say anything of the case, a row in the disclosure ledger, pending until the partner
    (webhook) or the broker (AMQP) confirmed it. An event offered twice adds nothing. Returns the deliveries."""
    subscribers = store.subscribers(uow)
    if not subscribers:
        return 0
    added = 0
    for event in events:
        envelope = dump_event(event)
        for sub in subscribers:
            if not subscriptions.wants([subscriptions.parse(text) for text in sub["events"]], event.event_type,
                                       event.payload):
                continue
            data = subscriptions.allowed_data(envelope["payload"], sub["fields"])
            _, body = partner_events.http_message(envelope, data)
            delivery_id = uuid.uuid4()
            if not store.add_partner_delivery(uow, delivery_id, sub, event, body.decode()):
                continue
            added += 1
            names = subscriptions.disclosed_fields(data)
            if names:
                uow.disclose(disclosures.Disclosure(
                    event.case_id, subscriptions.CHANNELS[sub["transport"]], "partner", sub["name"], names,
                    sub["legal_basis"], sub["purpose"], consent_version=sub["consent_version"], status="pending",
                    event_id=event.event_id, delivery_id=delivery_id))
    return added


def deliver_partners(open_uow, now, publish=None, counted=None, *, store=store) -> dict:
    """Send the case store's due deliveries: claimed in one short transaction (leased), sent outside any
    transaction (a webhook POST signed with every key of the subscriber, or `publish(row)` to its AMQP
    queue), each result in a transaction of its own: the delivery log, the backoff, and the ledger row
    delivered, or failed once given up; `counted(subscriber, result)` hears of each attempt (the metric).
    Returns counts {delivered, failed}."""
    with open_uow() as uow:
        due = store.claim_partner_deliveries(uow, now, LEASE_SECONDS)
        keys = {row["subscriber"]: secrets_of(uow, row["subscriber"]) for row in due if row["transport"] == "webhook"}
    counts = {"delivered": 0, "failed": 0}
    for row in due:
        if row["transport"] == "webhook":
            error = (webhooks.post(row["url"], row["body"].encode(), partner_events.CONTENT_TYPE, keys[row["subscriber"]],
                                   str(row["delivery_id"]), row["event_type"], now, row["timeout_seconds"])
                     if keys[row["subscriber"]] else "the subscriber has no signing key")
        elif publish is None:
            error = "no broker connection to publish on"
        else:
            error = publish(row)
        attempts = row["attempts"] + 1
        give_up = error is not None and attempts >= row["max_attempts"]
        retry_at = webhooks.next_attempt(now, attempts, row["first_delay_seconds"], row["max_delay_seconds"])
        with open_uow() as uow:
            store.partner_delivery_result(uow, row["delivery_id"], now, error, retry_at, give_up)
            disclosures.delivery_result(uow, row["delivery_id"], error is None, error, give_up=give_up, at=now)
        result = "delivered" if error is None else "failed"
        counts[result] += 1
        if counted is not None:
            counted(row["subscriber"], result)
    return counts


def replay(uow, delivery_id, actor: str, now, *, store=store) -> dict | None:
    """Send a delivery again (the same delivery id and CloudEvent id, so the partner can tell it has it):
    due now, attempts counted afresh, its ledger row pending again if it had failed. None: no such delivery
    (or its subscriber was removed)."""
    row = store.replay_partner_delivery(uow, delivery_id, now)
    if row is not None:
        disclosures.redelivery(uow, delivery_id)
        uow.audit(actor, "replay", f"partner delivery {delivery_id} to {row['subscriber']}", case_id=row["case_id"])
        # a command runs in a process of its own: this event wakes the running signals instances (`replayed`)
        uow.record("partner_delivery_replayed", row["case_id"],
                   {"delivery_id": row["delivery_id"], "subscriber": row["subscriber"]})
    return row


def replayed(event, tell) -> None:
    """A delivery another process replayed (`partner_delivery_replayed`): the deliverer visits its store at the
    next tick rather than at its hourly look; `tell(task, municipality, at)` is the due-time index's
    (shared/scan.py). Claims are SKIP LOCKED, so every instance that hears it may look: one sends it."""
    tell(store.PARTNERS_TASK, event.municipality, store.AT_ONCE)


def send_mails(open_uow, code, options, now, counted=None, *, send=smtp.send) -> None:
    """Compose a store's waiting notices into mails and hand the due ones to the mail server, each outside
    any transaction; a mail the server does not take now waits and is tried again, one it refuses for good
    is failed (docs/signals.md#mail). `now()` is the clock; `counted(kind, result)` hears of each attempt."""
    with open_uow() as uow:
        compose(uow, code, options, now())
    with open_uow() as uow:
        ready = claim_mails(uow, options, now())
    for row in ready:
        error, permanent = None, False
        try:
            send(options["mail"], row["recipient"], mail_of(row, options), row["mail_id"])
        except smtp.PermanentRefusal as exc:
            error, permanent = smtp.reason(exc), True
        except (OSError, smtplib.SMTPException, LookupError) as exc:
            error = smtp.reason(exc)
        with open_uow() as uow:
            sent(uow, row, error, permanent, options, now())
        if counted is not None:
            counted(row["kind"], "sent" if error is None else "failed" if permanent else "retry")
        if error:
            log.warning("mail %s (%s) not sent: %s", row["mail_id"], row["kind"], error)
