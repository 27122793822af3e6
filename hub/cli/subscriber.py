"""`meldpunt subscriber`: partner subscribers beyond the police (docs/partners.md) — a RIEC, Slachtofferhulp, a
municipality's own systems: add, remove, list, their delivery log, replay, and rotating a webhook's signing key."""
from __future__ import annotations

from hub.cli.common import CommandError, actor, case_store_errors, first_line, keyring, known_municipality, \
    publish_recorded, relay_for, stores, subcommands


def register(sub) -> None:
    group = subcommands(sub.add_parser("subscriber", help="partner subscribers (webhooks, AMQP queues): add, remove, "
                                                          "list, deliveries, replay, rotate"))
    add = group.add_parser("add", help="a subscriber with its allowed events and fields; its signing key (webhook) "
                                       "or RabbitMQ password (AMQP) is printed once")
    add.add_argument("name", help="lower-case letters, digits and -, such as riec-zeeland")
    how = add.add_mutually_exclusive_group(required=True)
    how.add_argument("--url", help="the webhook's http(s) URL")
    how.add_argument("--amqp", action="store_true", help="a queue partners.<name> on the hub's broker")
    add.add_argument("--event", dest="events", action="append", default=[], required=True,
                     help="an allowed event: event_type or event_type[field=code], e.g. signal_raised[kind=riec_signal]"
                          " (repeat for more)")
    add.add_argument("--field", dest="fields", action="append", default=[],
                     help="an allowed payload field (dotted for nested ones); the rest is stripped (repeat for more)")
    add.add_argument("--municipality", dest="codes", action="append", default=[],
                     help="a municipality whose events it receives (repeat for more; default: every one)")
    add.add_argument("--legal-basis", required=True, help="consent, legal_duty or public_task (the ledger records it)")
    add.add_argument("--purpose", required=True, help="why it receives them, as the ledger records it")
    add.add_argument("--consent-version", help="the consent text's version, with --legal-basis consent")
    add.add_argument("--max-attempts", type=int, default=20,
                     help="attempts before a delivery fails (default 20: about two hours with the default delays)")
    add.add_argument("--first-delay", type=float, default=2.0, help="seconds before the first retry (doubling)")
    add.add_argument("--max-delay", type=float, default=600.0)
    add.add_argument("--timeout", type=float, default=10.0, help="seconds a webhook may take to answer")
    remove = group.add_parser("remove", help="remove a subscriber everywhere (its waiting deliveries fail; the log "
                                             "stays), and its RabbitMQ user and queue")
    remove.add_argument("name")
    listing = group.add_parser("list", help="the subscribers, their events, fields and municipalities")
    listing.add_argument("--json", action="store_true")
    log = group.add_parser("deliveries", help="a subscriber's delivery log: each delivery and its attempts")
    log.add_argument("name")
    log.add_argument("--municipality", dest="code")
    log.add_argument("--status", choices=("pending", "delivered", "failed"))
    log.add_argument("--limit", type=int, default=50)
    log.add_argument("--json", action="store_true", help="one JSON object per line")
    replay = group.add_parser("replay", help="send deliveries again (same delivery and event id)")
    replay.add_argument("delivery_ids", nargs="*", metavar="delivery_id")
    replay.add_argument("--failed", metavar="NAME", help="every failed delivery of this subscriber")
    rotate = group.add_parser("rotate", help="a new signing key, printed once; both keys sign until --finish")
    rotate.add_argument("name")
    rotate.add_argument("--finish", action="store_true", help="retire every key but the newest")
    for parser in (add, remove, listing, log, replay, rotate):
        parser.set_defaults(handler=command)


def command(settings, args) -> int:
    import psycopg2

    try:
        return ACTIONS[args.action](settings, args)
    except psycopg2.OperationalError as exc:
        raise CommandError(f"cannot reach a case store: {first_line(exc)}") from None
    except psycopg2.errors.UndefinedTable:
        raise CommandError("a case store is not migrated; run `meldpunt migrate`") from None


def _each_store(settings, codes=None, opened=None):
    """(code, unit of work) for each municipality, one transaction each (on `opened`, Stores of one writer)."""
    opened = opened or stores(settings)
    for code in codes or settings.region.codes:
        with case_store_errors(code), opened.case_store(code) as uow:
            yield code, uow


def _found(settings, name: str) -> list[str]:
    from services.signals import store

    return [code for code, uow in _each_store(settings) if store.subscriber(uow, name) is not None]


def _add(settings, args) -> int:
    import secrets as random

    from services.signals import handlers, partner_queues, subscriptions
    from services.signals.options import options_of

    transport = "amqp" if args.amqp else "webhook"
    try:
        subscriptions.check(args.name, transport, args.url, args.events, args.fields, args.legal_basis,
                            args.consent_version)
    except subscriptions.BadSubscription as exc:
        raise CommandError(str(exc)) from None
    for code in args.codes:
        known_municipality(settings, code)
    for value, what in ((args.max_attempts, "--max-attempts"), (args.first_delay, "--first-delay"),
                        (args.max_delay, "--max-delay"), (args.timeout, "--timeout")):
        if not 0 < value <= 86400:
            raise CommandError(f"{what} must be above 0 and at most 86400")
    codes = sorted(set(args.codes)) or list(settings.region.codes)
    if transport == "webhook":
        keyring(settings)  # a clear error without a master key: the signing key is kept encrypted
    taken = _found(settings, args.name)
    if taken:
        raise CommandError(f"subscriber {args.name} exists already (in {', '.join(taken)}); "
                           f"`meldpunt subscriber remove {args.name}` first")
    queue_line = None
    if transport == "amqp":
        api, vhost = partner_queues.ManagementApi(settings.rabbit_api_uri), partner_queues.vhost_of(settings.amqp_uri)
        partners = options_of(settings.region)["partners"]
        try:
            user, password, queue = partner_queues.add(api, vhost, args.name, partners["queue_max_bytes"],
                                                       partners["queue_ttl_seconds"])
        except partner_queues.ManagementError as exc:
            raise CommandError(str(exc)) from None
        queue_line = (f"queue {queue} in vhost {vhost} (at most {partners['queue_max_bytes']} bytes, messages kept "
                      f"{partners['queue_ttl_seconds']} s), user {user} (read-only); the password is shown once, "
                      "keep it safe:", password)
    secret = random.token_urlsafe(32) if transport == "webhook" else None
    subscriber = {"name": args.name, "transport": transport, "url": args.url, "events": args.events,
                  "fields": sorted(set(args.fields)), "legal_basis": args.legal_basis, "purpose": args.purpose,
                  "consent_version": args.consent_version, "max_attempts": args.max_attempts,
                  "first_delay_seconds": args.first_delay, "max_delay_seconds": args.max_delay,
                  "timeout_seconds": args.timeout}
    for code, uow in _each_store(settings, codes):
        handlers.add_subscriber(uow, subscriber, secret.encode() if secret else None)
        uow.audit(actor(), "create", f"partner subscriber {args.name} ({transport}; events {', '.join(args.events)})")
    print(f"subscriber {args.name} ({transport}) receives {', '.join(args.events)} of {', '.join(codes)}; "
          f"fields: {', '.join(subscriber['fields']) or 'none (the event only)'}")
    if queue_line:
        print(queue_line[0])
        print(queue_line[1])
    else:
        print("its signing key (HMAC-SHA256, docs/partners.md#signatures) is shown once, keep it safe:")
        print(secret)
    return 0


def _remove(settings, args) -> int:
    from services.signals import partner_queues, store

    removed, transport = [], None
    for code, uow in _each_store(settings):
        row = store.subscriber(uow, args.name)
        if row is not None and store.remove_subscriber(uow, args.name):
            transport = row["transport"]
            removed.append(code)
            uow.audit(actor(), "delete", f"partner subscriber {args.name}")
    if not removed:
        raise CommandError(f"no subscriber {args.name} in region {settings.region.code}")
    if transport == "amqp":
        api, vhost = partner_queues.ManagementApi(settings.rabbit_api_uri), partner_queues.vhost_of(settings.amqp_uri)
        try:
            partner_queues.remove(api, vhost, args.name)
        except partner_queues.ManagementError as exc:
            raise CommandError(f"removed from {', '.join(removed)}, but not its queue: {exc}") from None
    print(f"removed subscriber {args.name} from {', '.join(removed)}")
    return 0


def _list(settings, args) -> int:
    import json

    from services.signals import store

    merged: dict[str, dict] = {}
    for code, uow in _each_store(settings):
        for row in store.subscribers(uow):
            entry = merged.setdefault(row["name"], {**{k: row[k] for k in (
                "name", "transport", "url", "events", "fields", "legal_basis", "purpose", "keys")}, "municipalities": []})
            entry["municipalities"].append(code)
    for entry in merged.values():
        if args.json:
            print(json.dumps(entry, sort_keys=True))
        else:
            print(f"{entry['name']}  {entry['transport']}  {entry['url'] or 'partners.' + entry['name']}  "
                  f"events {', '.join(entry['events'])}  fields {', '.join(entry['fields']) or '-'}  "
                  f"{entry['legal_basis']}  keys {entry['keys']}  in {', '.join(entry['municipalities'])}")
    if not merged and not args.json:
        print("no subscribers")
    return 0


def _deliveries(settings, args) -> int:
    import json

    from services.signals import store

    if args.code:
        known_municipality(settings, args.code)
    if not 1 <= args.limit <= 10000:
        raise CommandError("--limit must be 1 to 10000")
    if not _found(settings, args.name) and not args.json:
        print(f"(subscriber {args.name} is not subscribed now; its log follows)")
    shown = 0
    for code, uow in _each_store(settings, [args.code] if args.code else None):
        for row in store.partner_deliveries(uow, args.name, args.status, args.limit):
            shown += 1
            if args.json:
                print(json.dumps({"municipality": code, **row}, default=str, sort_keys=True))
                continue
            print(f"{row['delivery_id']}  {code}  {row['event_type']:<20} {row['status']:<9} attempts={row['attempts']}"
                  + (f"  next {row['next_attempt']:%Y-%m-%d %H:%M:%S%z}" if row["status"] == "pending" else "")
                  + (f"  last error: {row['last_error']}" if row["last_error"] else ""))
            for attempt in row["log"]:
                print(f"    {attempt['at']:%Y-%m-%d %H:%M:%S%z}  {attempt['result']}"
                      + (f"  {attempt['detail']}" if attempt["detail"] else ""))
    if not shown and not args.json:
        print("no deliveries")
    return 0


def _replay(settings, args) -> int:
    """Each replay, in its store's transaction, records `partner_delivery_replayed` in signals' outbox: published
    here once the replays are made, it wakes the running signals service, which sends them at once."""
    import sys
    import uuid
    from datetime import datetime, timezone

    from services.signals import handlers, store
    from shared.names import SIGNALS

    if bool(args.delivery_ids) == bool(args.failed):
        raise CommandError("give delivery ids, or --failed NAME")
    try:
        wanted = [uuid.UUID(value) for value in args.delivery_ids]
    except ValueError:
        raise CommandError("a delivery id is a UUID (see `meldpunt subscriber deliveries NAME`)") from None
    now = datetime.now(timezone.utc)
    as_signals = stores(settings, SIGNALS)
    relay = relay_for(settings, as_signals)
    count, left = 0, set(wanted)
    try:
        for code, uow in _each_store(settings, opened=as_signals):
            if args.failed:
                for row in store.partner_deliveries(uow, args.failed, "failed", 10000):
                    count += handlers.replay(uow, row["delivery_id"], actor(), now) is not None
                continue
            for delivery_id in sorted(left, key=str):
                row = handlers.replay(uow, delivery_id, actor(), now)
                if row is not None:
                    left.discard(delivery_id)
                    count += 1
                    print(f"delivery {delivery_id} ({code}, {row['event_type']} to {row['subscriber']}) is queued to "
                          "be sent again")
    finally:
        sent, error = publish_recorded(relay)
    if args.failed:
        print(f"{count} failed deliveries of {args.failed} are queued to be sent again")
    if count and sent < count:
        print(f"the broker did not take the wake of the running signals service ({error or 'not routed'}): it sends "
              f"{'them' if count > 1 else 'it'} at its next look at the store (within the hour) or when it restarts",
              file=sys.stderr)
    if left:
        raise CommandError(f"no delivery {sorted(left, key=str)[0]} of a current subscriber in region "
                           f"{settings.region.code}")
    return 0


def _rotate(settings, args) -> int:
    import secrets as random

    from services.signals import handlers, store

    codes = _found(settings, args.name)
    if not codes:
        raise CommandError(f"no subscriber {args.name} in region {settings.region.code}")
    keyring(settings)
    secret = None if args.finish else random.token_urlsafe(32)
    for code, uow in _each_store(settings, codes):
        if store.subscriber(uow, args.name)["transport"] != "webhook":
            raise CommandError(f"{args.name} reads an AMQP queue: it has no signing key (remove and add it for a "
                               "new password)")
        if args.finish:
            store.drop_keys_but_newest(uow, args.name)
        else:
            handlers.add_key(uow, args.name, secret.encode())
        uow.audit(actor(), "rotate", f"partner subscriber {args.name}: "
                                     + ("older signing keys retired" if args.finish else "a new signing key"))
    if args.finish:
        print(f"{args.name}: only the newest signing key signs now")
    else:
        print(f"{args.name}: a new signing key; deliveries carry a signature with each key until "
              f"`meldpunt subscriber rotate {args.name} --finish`. The new key is shown once, keep it safe:")
        print(secret)
    return 0


ACTIONS = {"add": _add, "remove": _remove, "list": _list, "deliveries": _deliveries, "replay": _replay,
           "rotate": _rotate}
