"""`meldpunt dlq` and `meldpunt outbox`: dead letters and events waiting to go out."""
from __future__ import annotations

import json

from shared.names import SERVICES

from hub.cli.common import CommandError, first_line, subcommands


def register(sub) -> None:
    dlq = subcommands(sub.add_parser("dlq", help="inspect and replay dead letters"))
    dl = dlq.add_parser("list", help="dead letters per service")
    dl.add_argument("service", nargs="?", choices=SERVICES)
    ds = dlq.add_parser("show", help="one dead letter in full")
    ds.add_argument("service", choices=SERVICES)
    ds.add_argument("message_id")
    commands = [dl, ds]
    for name, text in (("replay", "send back to the queue it failed in"), ("purge", "delete for good")):
        d = dlq.add_parser(name, help=text)
        d.add_argument("service", choices=SERVICES)
        which = d.add_mutually_exclusive_group(required=True)
        which.add_argument("message_id", nargs="?")
        which.add_argument("--all", action="store_true")
        commands.append(d)
    for command in commands:
        command.set_defaults(handler=dead_letters)

    sub.add_parser("outbox", help="events waiting in each outbox").set_defaults(handler=outbox)


def dead_letters(settings, args) -> int:
    from shared.messaging.dlq import DeadLetters

    dead = DeadLetters(settings.amqp_uri)
    try:
        if args.action == "list":
            for service in [args.service] if args.service else SERVICES:
                letters = dead.list(service)
                print(f"{service}: {len(letters)} dead letter(s)")
                for letter in letters:
                    print(f"  {letter.message_id}  {letter.event_type:<18} {letter.municipality}  "
                          f"attempts={letter.attempts} replayed={letter.replayed}  {letter.error}")
        elif args.action == "show":
            matches = [d for d in dead.list(args.service, limit=10_000) if d.message_id == args.message_id]
            if not matches:
                raise CommandError(f"no dead letter {args.message_id} in {args.service}")
            letter = matches[0]
            print(json.dumps({**letter.summary(), "body": letter.body.decode("utf-8", "replace")}, indent=2))
        elif args.action == "replay":
            done = dead.replay(args.service, None if args.all else args.message_id)
            if not done and not args.all:
                raise CommandError(f"no dead letter {args.message_id} in {args.service}")
            print(f"replayed {len(done)} message(s) from {args.service}")
        else:
            count = dead.purge(args.service, None if args.all else args.message_id)
            if not count and not args.all:
                raise CommandError(f"no dead letter {args.message_id} in {args.service}")
            print(f"purged {count} message(s) from {args.service}")
    except OSError as exc:
        raise CommandError(f"cannot reach RabbitMQ: {exc}") from None
    return 0


def outbox(settings, args) -> int:
    import psycopg2

    targets = [(m.code, m.case_store_dsn) for m in settings.region.municipalities]
    targets.append(("statistics", settings.region.statistics_dsn))
    for label, dsn in targets:
        try:
            with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cur:
                cur.execute("SELECT service, count(*), min(created_at) FROM hub.outbox "
                            "WHERE published_at IS NULL GROUP BY service ORDER BY service")
                rows = cur.fetchall()
            conn.close()
        except psycopg2.Error as exc:
            print(f"{label}: unavailable ({first_line(exc)})")
            continue
        waiting = ", ".join(f"{s}: {n} since {t:%H:%M:%S}" for s, n, t in rows) or "empty"
        print(f"{label}: {waiting}")
    return 0
