"""`meldpunt zaaksysteem`: the delivery log of a municipality's zaken (issue 24, item 5), a delivery round now,
and a failed delivery tried again at once."""
from __future__ import annotations

from hub.cli.common import CommandError, case_store, case_store_errors, known_municipality, store_opener, subcommands


def register(sub) -> None:
    group = subcommands(sub.add_parser("zaaksysteem", help="the municipality's zaken in its zaaksysteem (ZGW): "
                                                           "delivery log, a delivery round, retry"))
    log = group.add_parser("deliveries", help="the delivery log: each case's steps, their state, attempts, zaak")
    log.add_argument("code")
    log.add_argument("--case", dest="case_id")
    log.add_argument("--state", choices=("pending", "delivered"))
    log.add_argument("--limit", type=int, default=100)
    log.add_argument("--json", action="store_true", help="one JSON object per line")
    run = group.add_parser("deliver", help="hand the due deliveries to the zaaksysteem now (what the service "
                                           "does every poll_seconds)")
    run.add_argument("code")
    retry = group.add_parser("retry", help="try a pending delivery again at the next round, not after its backoff")
    retry.add_argument("code")
    retry.add_argument("delivery_id")
    for parser in (log, run, retry):
        parser.set_defaults(handler=command)


def _uuid(value: str, what: str):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        raise CommandError(f"{what} must be a UUID, not {value!r}") from None


def command(settings, args) -> int:
    import datetime
    import json

    from services.zaaksysteem import handlers, options as zs_options, store

    known_municipality(settings, args.code)
    now = datetime.datetime.now(datetime.timezone.utc)
    if args.action == "deliver":
        options = zs_options.options_of(settings.region)
        if zs_options.of(options, args.code) is None:
            raise CommandError(f"{args.code} sends no zaken (zaaksysteem.municipalities.{args.code}.enabled is not "
                               "true in the region file)")
        with case_store_errors(args.code):
            counts = handlers.deliver_due(store_opener(settings, args.code), args.code, options, now)
        print(f"{args.code}: {counts['delivered']} delivered, {counts['failed']} failed (tried again later)")
        return 0
    if args.action == "retry":
        delivery_id = _uuid(args.delivery_id, "the delivery id")
        with case_store_errors(args.code), case_store(settings, args.code) as uow:
            done = store.retry_now(uow, delivery_id, now)
        if not done:
            raise CommandError(f"no pending delivery {delivery_id} in {args.code}")
        print(f"delivery {delivery_id} is due now")
        return 0
    case_id = _uuid(args.case_id, "--case") if args.case_id else None
    with case_store_errors(args.code), case_store(settings, args.code) as uow:
        rows = store.deliveries(uow, case_id, args.state, args.limit)
    for row in rows:
        if args.json:
            print(json.dumps({k: str(v) if v is not None and not isinstance(v, (int, str)) else v
                              for k, v in row.items()}, sort_keys=True))
            continue
        when = row["delivered_at"] or row["next_attempt_at"]
        print(f"{row['delivery_id']}  case {row['case_id']}  {row['step']:<10} {row['state']:<9} "
              f"attempts={row['attempts']}  {'at' if row['delivered_at'] else 'next'} {when:%Y-%m-%d %H:%M:%S%z}"
              + (f"  zaak {row['zaak_url']}" if row["zaak_url"] else "")
              + (f"  last error: {row['last_error']}" if row["last_error"] and row["state"] == "pending" else ""))
    if not rows and not args.json:
        print("no deliveries")
    return 0
