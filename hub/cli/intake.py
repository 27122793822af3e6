"""`meldpunt import` and `meldpunt intake-mail`: incidents that come in by file or by mail."""
from __future__ import annotations

import sys

from hub.cli.common import CommandError, first_line, known_municipality, publish_recorded, relay_for, stores


def register(sub) -> None:
    imp = sub.add_parser("import", help="import a municipality's historical incidents (CSV or JSON lines): "
                                        "all rows or none")
    imp.add_argument("code")
    imp.add_argument("file")
    imp.add_argument("--format", choices=("csv", "jsonl"), help="default: by the file's extension")
    imp.set_defaults(handler=import_file)

    mail = sub.add_parser("intake-mail", help="read the meldpunt mailboxes (intake.mailboxes) into draft incidents")
    mail.add_argument("--municipality", dest="code", help="only this municipality's mailbox")
    mail.add_argument("--once", action="store_true", help="read once and stop (default: keep polling)")
    mail.set_defaults(handler=read_mail)


def _intake_stores(settings):
    """Units of work that write as intake: events they record are relayed by intake's outbox relay."""
    from shared.names import INTAKE

    return stores(settings, INTAKE)


def _publish_recorded(relay, recorded: int) -> None:
    sent, error = publish_recorded(relay)
    if error is not None:
        print(f"the broker did not take the events ({error})", file=sys.stderr)
    if sent < recorded:
        print(f"{recorded - sent} event(s) wait in the outbox; intake's relay sends them when it can",
              file=sys.stderr)


def import_file(settings, args) -> int:
    import uuid
    from pathlib import Path

    import psycopg2

    from services.intake import bulk_import

    known_municipality(settings, args.code)
    intake_stores = _intake_stores(settings)
    path = Path(args.file)
    try:
        checked = bulk_import.check(bulk_import.read_rows(path, bulk_import.format_of(path, args.format)))
    except bulk_import.ImportFileError as exc:
        raise CommandError(str(exc)) from None
    if checked.bad:
        for bad in checked.bad:
            print(f"{path.name}: {bad}", file=sys.stderr)
        lines = len({bad.line for bad in checked.bad})
        raise CommandError(f"{path.name}: {lines} of {checked.total} row(s) are bad; nothing imported")
    if not checked.rows:
        raise CommandError(f"{path.name} holds no rows")
    relay = relay_for(settings, intake_stores)
    try:
        with intake_stores.case_store(args.code) as uow:
            imported, skipped = bulk_import.store_rows(uow, checked, path.name, uuid.uuid4())
    except psycopg2.OperationalError as exc:
        relay.close()
        raise CommandError(f"cannot reach the case store of {args.code}: {first_line(exc)}") from None
    _publish_recorded(relay, imported)
    for line, first in checked.duplicates:
        print(f"{path.name}: line {line} repeats line {first}; imported once")
    print(f"{args.code}: imported {imported} incident(s) from {path.name}"
          + (f"; {skipped} row(s) were imported before" if skipped else ""))
    return 0


def read_mail(settings, args) -> int:
    import time

    import psycopg2

    from services.intake import mail
    from services.intake.options import intake_options

    options = intake_options(settings.region)
    mailboxes = options["mailboxes"]
    if args.code is not None:
        known_municipality(settings, args.code)
        if args.code not in mailboxes:
            raise CommandError(f"{args.code} has no mailbox in intake.mailboxes of the region file")
        mailboxes = {args.code: mailboxes[args.code]}
    if not mailboxes:
        raise CommandError("no mailboxes configured (intake.mailboxes in the region file)")
    for code in mailboxes:
        if not settings.region.knows(code):
            raise CommandError(f"intake.mailboxes: {code} is not a municipality of region {settings.region.code}")
    intake_stores = _intake_stores(settings)
    while True:
        for code, config in mailboxes.items():
            try:
                counts = mail.read_mailbox(intake_stores.case_store, code, mail.source_for(config),
                                           options["max_file_bytes"])
            except (OSError, mail.imaplib.IMAP4.error) as exc:
                if args.once:
                    raise CommandError(f"{code}: cannot read the mailbox: {exc}") from None
                print(f"{code}: cannot read the mailbox: {exc}", file=sys.stderr)
                continue
            except psycopg2.OperationalError as exc:
                message = f"cannot reach the case store of {code}: {first_line(exc)}"
                if args.once:
                    raise CommandError(message) from None
                print(message, file=sys.stderr)
                continue
            print(f"{code}: {counts.drafted} draft(s), {counts.duplicates} already read, "
                  f"{counts.rejected} rejected")
        if args.once:
            return 0
        time.sleep(options["mail_poll_seconds"])
