"""`meldpunt stats`: the statistics read model."""
from __future__ import annotations

from hub.cli.common import CommandError, first_line, subcommands


def register(sub) -> None:
    stats = subcommands(sub.add_parser("stats", help="the statistics read model"))
    stats.add_parser("rebuild", help="recompute the read model and its counts from the case stores") \
        .set_defaults(handler=rebuild)


def rebuild(settings, args) -> int:
    import psycopg2

    from shared.keyed import statistics_key_of
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    from services.statistics.rebuild import rebuild as rebuild_read_model

    key = statistics_key_of(settings)  # a missing key is a ConfigError: one line, exit 2
    pool = ConnectionPool(2, application_name="meldpunt-cli")
    try:
        counted = rebuild_read_model(Stores(settings, pool, "cli"), key)
    except psycopg2.Error as exc:
        raise CommandError(f"stats rebuild: {first_line(exc)}") from None
    finally:
        pool.close()
    per = ", ".join(f"{code}: {n}" for code, n in counted.items())
    print(f"statistics rebuilt from the case stores: {sum(counted.values())} incidents ({per})")
    return 0
