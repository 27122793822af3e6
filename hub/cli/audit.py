"""`meldpunt audit`: who read or changed personal data of a municipality's cases; `meldpunt audit verify CODE`
checks the log's hash chain (exit 0 intact, 1 a broken link, 2 cannot check); `meldpunt audit export CODE
--format verwerkingenlogging` gives the log as VNG's Verwerkingenlogging API takes it (hub/ops/verwerkingenlogging.py)."""
from __future__ import annotations

import sys

from hub.cli.common import CommandError, case_store, first_line


def register(sub) -> None:
    audit = sub.add_parser("audit", help="who read or changed personal data of a municipality's cases; "
                                         "`audit verify CODE` checks the log's hash chain (exit 0 intact, 1 broken)")
    # `meldpunt audit CODE` (the listing) stays as it was; `meldpunt audit verify CODE` checks the chain
    audit.add_argument("code", help="the municipality, or `verify` or `export` followed by the municipality")
    audit.add_argument("verify_code", nargs="?", help=argparse_suppress())
    audit.add_argument("--anchor", help="verify: SEQ:HASH printed by an earlier verify and kept outside the "
                                        "database; the chain must still hold it")
    audit.add_argument("--case", dest="case_id", help="only this case")
    audit.add_argument("--format", dest="export_format", choices=EXPORT_FORMATS,
                       help="export: the shape (verwerkingenlogging: a JSON array of POST /verwerkingsacties "
                            "bodies, oldest first)")
    audit.add_argument("--since", help="export: rows from this day on (YYYY-MM-DD)")
    audit.add_argument("--verwerkingsactiviteit-url", dest="activity_url",
                       help="export: the processing activity in the municipality's register (a URL)")
    audit.add_argument("--oin", help="export: the municipality's OIN (20 digits), as the actions' uitvoerder")
    audit.add_argument("--limit", type=int, default=200)
    audit.set_defaults(handler=show)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def show(settings, args) -> int:
    if args.code == "verify":
        return verify(settings, args)
    if args.code == "export":
        return export(settings, args)
    if args.verify_code or args.anchor or args.export_format or args.since:
        raise CommandError("usage: meldpunt audit CODE [--case ID] | meldpunt audit verify CODE [--anchor SEQ:HASH]"
                           " | meldpunt audit export CODE --format verwerkingenlogging [--since YYYY-MM-DD]")
    import uuid

    import psycopg2

    if args.case_id:
        try:
            uuid.UUID(args.case_id)
        except ValueError:
            raise CommandError(f"--case must be a case id (UUID), not {args.case_id!r}") from None
    query = "SELECT at, actor, action, subject, case_id, reason FROM hub.audit_log"
    params = []
    if args.case_id:
        query += " WHERE case_id = %s"
        params.append(args.case_id)
    query += " ORDER BY id DESC LIMIT %s"
    params.append(args.limit)
    try:
        with case_store(settings, args.code) as uow:
            rows = uow.fetchall(query, params)
    except psycopg2.OperationalError as exc:
        raise CommandError(f"cannot reach the case store of {args.code}: {first_line(exc)}") from None
    for row in reversed(rows):
        case = f" case {row['case_id']}" if row["case_id"] and not args.case_id else ""
        reason = f" ({row['reason']})" if row["reason"] else ""
        print(f"{row['at']:%Y-%m-%d %H:%M:%S%z}  {row['actor']}  {row['action']} {row['subject']}{case}{reason}")
    if not rows:
        print("no audit entries" + (f" for case {args.case_id}" if args.case_id else ""))
    return 0


EXIT_BROKEN = 1
EXPORT_FORMATS = ("verwerkingenlogging",)


def export(settings, args) -> int:
    """The log (or one case's part, or the part since a day) as a JSON array on stdout; a read of the log
    that is itself audited. `--limit` does not apply: an export is whole."""
    import datetime
    import json
    import re
    import uuid

    from hub.cli.common import actor, case_store_errors, known_municipality
    from hub.ops.verwerkingenlogging import verwerkingsacties

    code = args.verify_code
    if not code:
        raise CommandError("meldpunt audit export: name the municipality (e.g. meldpunt audit export GM0687 "
                           "--format verwerkingenlogging)")
    if args.export_format is None:
        raise CommandError("meldpunt audit export: say --format verwerkingenlogging")
    known_municipality(settings, code)
    query, params = "SELECT at, actor, action, subject, case_id FROM hub.audit_log WHERE true", []
    if args.case_id:
        try:
            params.append(str(uuid.UUID(args.case_id)))
        except ValueError:
            raise CommandError(f"--case must be a case id (UUID), not {args.case_id!r}") from None
        query += " AND case_id = %s"
    if args.since:
        try:
            params.append(datetime.date.fromisoformat(args.since))
        except ValueError:
            raise CommandError(f"--since must be a day as YYYY-MM-DD, not {args.since!r}") from None
        query += " AND at >= %s"
    if args.oin and not re.fullmatch(r"[0-9]{20}", args.oin):
        raise CommandError(f"--oin must be 20 digits, not {args.oin!r}")
    if args.activity_url and not re.fullmatch(r"https?://\S{1,2030}", args.activity_url):
        raise CommandError(f"--verwerkingsactiviteit-url must be an http(s) URL, not {args.activity_url!r}")
    with case_store_errors(code), case_store(settings, code) as uow:
        rows = uow.fetchall(query + " ORDER BY id", params)
        uow.audit(actor(), "export", f"audit log as verwerkingenlogging ({len(rows)} rows)",
                  reason="meldpunt audit export")
    retention = settings.region.municipality(code).retention_years
    json.dump(verwerkingsacties(rows, code, retention, verwerkingsactiviteit_url=args.activity_url, oin=args.oin),
              sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0


def verify(settings, args) -> int:
    """Exit 0: every link holds (prints the head to keep as an anchor); 1: the first broken link; 2: usage or
    the store cannot be reached."""
    import re

    import psycopg2

    from hub.cli.common import known_municipality
    from shared.audit_chain import verify as verify_chain

    code = args.verify_code
    if not code:
        raise CommandError("meldpunt audit verify: name the municipality (e.g. meldpunt audit verify GM0687)")
    known_municipality(settings, code)
    if args.anchor and not re.fullmatch(r"\d+:[0-9a-f]{64}", args.anchor):
        raise CommandError("--anchor must be SEQ:HASH as `meldpunt audit verify` printed it (e.g. 42:9f3c…, "
                           "64 hex digits)")
    dsn = settings.region.municipality(code).case_store_dsn
    try:
        conn = psycopg2.connect(dsn, connect_timeout=5, application_name="meldpunt-audit-verify")
    except psycopg2.OperationalError as exc:
        raise CommandError(f"cannot reach the case store of {code}: {first_line(exc)}") from None
    try:
        verdict = verify_chain(conn, anchor=args.anchor)
    except psycopg2.errors.UndefinedTable:
        raise CommandError(f"the case store of {code} has no audit chain yet; run `meldpunt migrate`") from None
    except psycopg2.Error as exc:
        raise CommandError(f"{code}: {first_line(exc)}") from None
    finally:
        conn.close()
    if not verdict.ok:
        print(f"{code}: audit chain BROKEN after {verdict.rows} good link(s): {verdict.broken}")
        return EXIT_BROKEN
    print(f"{code}: audit chain intact: {verdict.rows} link(s); head {verdict.anchor} "
          "(keep it outside the database and pass it as --anchor next time)")
    return 0
