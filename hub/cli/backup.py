"""`meldpunt backup`: backups and point-in-time restore with pgBackRest (hub/ops/backup.py, hub/ops/drill.py)."""
from __future__ import annotations

import sys
from pathlib import Path

from hub.cli.common import CommandError, known_municipality, subcommands


def register(sub) -> None:
    backup = subcommands(sub.add_parser("backup", help="backups and point-in-time restore with pgBackRest "
                                                       "(the region file's backup section)"))
    backup.add_parser("setup", help="write pgBackRest's configuration, check WAL archiving, create the "
                                    "stanzas").set_defaults(handler=setup)
    run_ = backup.add_parser("run", help="back up every server of the region (run daily from cron)")
    run_.add_argument("--type", dest="kind", choices=("auto", "full", "incr"), default="auto",
                      help="auto (default): full when the newest full backup is older than full_every_days")
    run_.set_defaults(handler=run)
    status_ = backup.add_parser("status", help="per municipality, the age of the newest good backup; exit 1 "
                                               "when one is missing or too old")
    status_.add_argument("--metrics", metavar="FILE", help="also write it as Prometheus text (default: the "
                                                           "region's backup.metrics_file, if set)")
    status_.set_defaults(handler=status)
    restore_ = backup.add_parser("restore", help="restore a municipality's server into a new data directory "
                                                 "(never over a running one)")
    restore_.add_argument("code", help="a municipality code, or statistics")
    restore_.add_argument("--into", required=True, help="an empty or new folder for the data directory")
    when = restore_.add_mutually_exclusive_group(required=True)
    when.add_argument("--time", help="the moment, e.g. '2026-12-06 09:30:00+01'")
    when.add_argument("--name", help="a restore point's name")
    when.add_argument("--latest", action="store_true", help="up to the newest archived WAL")
    restore_.set_defaults(handler=restore)
    drill_ = backup.add_parser("drill", help="restore a municipality's store to a fresh mark in a scratch "
                                             "folder and compare every case, outbox and audit row")
    drill_.add_argument("code")
    drill_.add_argument("--scratch", help="where the scratch copy goes (default: the system's temp folder)")
    drill_.set_defaults(handler=drill)


def _problems(problems: list[str]) -> int:
    """Every problem but the last on stderr; the last is the command's one line (exit 2)."""
    for problem in problems[:-1]:
        print(problem, file=sys.stderr)
    if problems:
        raise CommandError(problems[-1])
    return 0


def _errors():
    import contextlib

    from hub.ops import backup, drill

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except (backup.BackupError, drill.DrillError) as exc:
            raise CommandError(str(exc)) from None
    return guard()


def setup(settings, args) -> int:
    from hub.ops import backup

    with _errors():
        return _problems(backup.setup(settings, report=print))


def run(settings, args) -> int:
    from hub.ops import backup

    with _errors():
        return _problems(backup.run(settings, args.kind, report=print))


def status(settings, args) -> int:
    from hub.ops import backup

    with _errors():
        options = backup.options_of(settings.region)
        entries = backup.status(settings)
        good = True
        for entry in entries:
            fine, line = backup.describe(entry, options["max_age_hours"])
            good = good and fine
            print(("ok    " if fine else "FAIL  ") + line)
        target = args.metrics or options.get("metrics_file")
        if target:
            backup.write_metrics(target, entries, options["max_age_hours"])
    return 0 if good else 1


def restore(settings, args) -> int:
    from hub.ops import backup

    if args.code != "statistics":
        known_municipality(settings, args.code)
    with _errors():
        backup.restore(settings, args.code, Path(args.into), to_time=args.time, to_name=args.name, report=print)
    print(f"start it on a free port with: pg_ctl -D {args.into} -o '-p PORT' start (WAL archiving is off in it); "
          "check it, then swap it for the live data directory with PostgreSQL stopped (docs/operations.md#restore)")
    return 0


def drill(settings, args) -> int:
    from hub.ops import drill as drills

    known_municipality(settings, args.code)
    with _errors():
        result = drills.drill(settings, args.code, scratch_root=Path(args.scratch) if args.scratch else None,
                              report=print)
    return 0 if result.ok else 1
