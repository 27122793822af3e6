"""`meldpunt liaison`: police units' subscriptions to referrals and their webhook deliveries."""
from __future__ import annotations

from hub.cli.common import CommandError, case_store, first_line, subcommands


def register(sub) -> None:
    liaison = subcommands(sub.add_parser("liaison", help="police units' subscriptions to referrals"))
    la = liaison.add_parser("add", help="RabbitMQ user + queue for a unit; the password is printed once")
    la.add_argument("unit")
    lr = liaison.add_parser("remove", help="delete a unit's RabbitMQ user and queue")
    lr.add_argument("unit")
    ld = liaison.add_parser("deliveries", help="a unit's webhook delivery log")
    ld.add_argument("unit")
    lp = liaison.add_parser("replay", help="deliver a webhook delivery again (same delivery id)")
    lp.add_argument("delivery_id")
    for parser in (la, lr, ld, lp):
        parser.set_defaults(handler=liaison_command)


def liaison_command(settings, args) -> int:
    import psycopg2

    from services.police_liaison import liaisons

    units = sorted({m.police_unit for m in settings.region.municipalities})
    if args.action in ("add", "remove", "deliveries") and args.unit not in units:
        raise CommandError(f"{args.unit} is not a police unit of region {settings.region.code} ({', '.join(units)})")
    try:
        if args.action in ("add", "remove"):
            _subscription(settings, args, liaisons)
        elif args.action == "deliveries":
            _deliveries(settings, args)
        else:
            _replay(settings, args)
    except liaisons.LiaisonError as exc:
        raise CommandError(str(exc)) from None
    except psycopg2.OperationalError as exc:
        raise CommandError(f"cannot reach a case store: {first_line(exc)}") from None
    return 0


def _subscription(settings, args, liaisons) -> None:
    api, vhost = liaisons.ManagementApi(settings.rabbit_api_uri), liaisons.vhost_of(settings.amqp_uri)
    if args.action == "add":
        from services.police_liaison.options import options_of, unit_queue_limits

        options = options_of(settings)
        form = options["formats"].get(args.unit, "envelope")
        sub = liaisons.add(api, vhost, args.unit, unit_queue_limits(options), cloudevents=form == "cloudevents")
        print(f"unit {args.unit}: queue {sub.queue} ({form}) in vhost {sub.vhost}, user {sub.user} "
              "(read-only); the password is shown once, keep it safe:")
        print(sub.password)
        return
    user, queue = liaisons.remove(api, vhost, args.unit)
    if not user and not queue:
        raise CommandError(f"unit {args.unit} has no subscription in vhost {vhost}")
    print(f"removed the RabbitMQ user and queues of unit {args.unit}")


def _deliveries(settings, args) -> None:
    from services.police_liaison import store

    for m in settings.region.municipalities:
        if m.police_unit != args.unit:
            continue
        with case_store(settings, m.code) as uow:
            for row in store.deliveries(uow, args.unit):
                print(f"{row['delivery_id']}  {m.code}  {row['event_type']:<18} {row['status']:<9} "
                      f"attempts={row['attempts']}  {row['last_error'] or ''}")


def _replay(settings, args) -> None:
    import uuid

    from services.police_liaison import store
    from shared import disclosures

    try:
        delivery_id = uuid.UUID(args.delivery_id)
    except ValueError:
        raise CommandError(f"{args.delivery_id} is not a delivery id") from None
    for m in settings.region.municipalities:
        with case_store(settings, m.code) as uow:
            if store.replay_delivery(uow, delivery_id):
                uow.audit("cli", "replay", f"webhook delivery {delivery_id}")
                disclosures.redelivery(uow, delivery_id)
                print(f"delivery {delivery_id} ({m.code}) is queued to be delivered again")
                return
    raise CommandError(f"no webhook delivery {args.delivery_id} in region {settings.region.code}")
