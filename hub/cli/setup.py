"""`meldpunt check`, `migrate`, `declare` and `broker setup`: what the hub needs before it starts."""
from __future__ import annotations

import sys

from shared.names import SERVICES

from hub.cli.common import CommandError, first_line, subcommands


def register(sub) -> None:
    sub.add_parser("check", help="check that RabbitMQ and PostgreSQL can be reached").set_defaults(handler=check)
    migrate_ = sub.add_parser("migrate", help="create missing case stores and apply migrations")
    migrate_.add_argument("--check", action="store_true", help="apply nothing: list the pending migrations and "
                                                               "whether each is online-safe (exit 1 if one is not)")
    migrate_.set_defaults(handler=migrate)
    sub.add_parser("declare", help="declare exchanges, queues, retry and dead-letter queues").set_defaults(
        handler=declare)
    broker = subcommands(sub.add_parser("broker", help="the region's RabbitMQ vhost and the services' own users"))
    broker.add_parser("setup", help="create the vhost and each MELDPUNT_AMQP_USER_<SERVICE> with only its "
                                    "permissions, then declare").set_defaults(handler=broker_setup)


def check(settings, args) -> int:
    from hub.supervisor import preflight

    problems = preflight(settings)
    if problems:
        raise CommandError(problems[0] if len(problems) == 1 else " | ".join(problems))
    print(f"RabbitMQ and PostgreSQL reachable for region {settings.region.code} ({settings.region.name})")
    return 0


def migrate(settings, args) -> int:
    from shared.db.migrate import MigrationError, migrate_region

    if args.check:
        return migrate_check(settings)

    try:
        migrate_region(settings.region, report=print, master_key=settings.master_key)
    except MigrationError as exc:
        raise CommandError(str(exc)) from None
    return 0


def broker_setup(settings, args) -> int:
    from shared.messaging import broker
    from shared.messaging.management import ManagementApi, ManagementError

    if not settings.amqp_users:
        raise CommandError("no service has its own RabbitMQ user: set MELDPUNT_AMQP_USER_<SERVICE> and "
                           "MELDPUNT_AMQP_PASSWORD_<SERVICE> (or _FILE_) for each service (docs/configuration.md)")
    try:
        broker.setup(ManagementApi(settings.rabbit_api_uri), settings.amqp_uri, settings.amqp_users, report=print)
    except ManagementError as exc:
        raise CommandError(str(exc)) from None
    missing = sorted(set(SERVICES) - set(settings.amqp_users))
    if missing:
        print(f"warning: {', '.join(missing)} still connect(s) with MELDPUNT_AMQP_URI's account", file=sys.stderr)
    return declare(settings, args)


def declare(settings, args) -> int:
    from hub.registry import declare as declare_topology
    from services.police_liaison.options import options_of, unit_queue_limits
    from shared.messaging.migration import MigrationRefused

    units = [m.police_unit for m in settings.region.municipalities]
    try:
        declare_topology(settings.amqp_uri, len(settings.retry_delays), report=print, police_units=units,
                         unit_queue_limits=unit_queue_limits(options_of(settings)),
                         cloudevents_units={unit for unit, form in options_of(settings)["formats"].items()
                                            if form == "cloudevents"})
    except OSError as exc:
        raise CommandError(f"cannot declare the topology on RabbitMQ: {exc}") from None
    except MigrationRefused as exc:
        raise CommandError(str(exc)) from None
    return 0


def migrate_check(settings) -> int:
    """`meldpunt migrate --check`: per database what is pending; per pending migration whether it can be applied
    while the hub runs (shared/db/online.py). Exit 1 when one cannot, 2 when a database cannot be read."""
    import psycopg2

    from shared.db import online
    from shared.db.migrate import MigrationError, pending, targets_of

    verdicts, unreachable = {}, []
    for label, dsn, components in targets_of(settings.region):
        try:
            left = pending(dsn, components)
        except psycopg2.OperationalError as exc:
            if "does not exist" in str(exc):
                print(f"{label}: not created yet: `meldpunt migrate` creates it (nothing runs on it, so nothing to lock)")
            else:
                print(f"{label}: cannot reach it: {first_line(exc)}")
                unreachable.append(label)
            continue
        except (psycopg2.Error, MigrationError) as exc:
            print(f"{label}: {first_line(exc)}")
            unreachable.append(label)
            continue
        print(f"{label}: " + (f"{len(left)} pending" if left else "up to date"))
        width = max((len(m.label) for m in left), default=0)
        for migration in left:
            verdict = verdicts.setdefault(migration.label, online.check(migration.label, migration.sql))
            offline = online.KNOWN_OFFLINE.get(migration.label)
            print(f"  {migration.label:<{width}}  {verdict.line()}" + (f" (known: {offline})" if offline else ""))
    unsafe = [label for label, verdict in verdicts.items() if not verdict.safe]
    if verdicts:
        print(f"{len(verdicts)} migration(s) pending, " + (
            f"{len(unsafe)} not online-safe: stop the services before `meldpunt migrate`, or rewrite them "
            "(docs/operations.md#upgrades-without-stopping-intake)" if unsafe
            else "all online-safe: `meldpunt migrate` while the hub runs"))
    from hub.ops.upgrade import changing_queues, describe, hub_upgrade_waves
    from shared.messaging.management import ManagementError

    try:
        changing = changing_queues(settings)
    except ManagementError as exc:
        changing = {}
        print(f"queues not checked: {exc}")
    if changing:
        name, (now, wanted, _) = sorted(changing.items())[0]
        stop = sorted({service for _, _, service in changing.values() if service})
        print(f"{len(changing)} queue(s) change their definition (e.g. {name}: {now} -> {wanted}); `meldpunt declare` "
              f"moves their messages into the new ones only while nothing reads them: stop {', '.join(stop)} "
              "(intake keeps taking incidents), run it, start their new release, then replace intake")
    else:
        print(f"then replace the services, consumers before producers: {describe(hub_upgrade_waves())}")
    if unreachable:
        raise CommandError(f"cannot check {', '.join(unreachable)}: start PostgreSQL there or fix the region file")
    return 1 if unsafe else 0
