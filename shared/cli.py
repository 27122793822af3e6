"""`meldpunt`: the operators' command. Every failure is one clear line and exit code 2."""
from __future__ import annotations

import argparse
import json
import sys

from shared.config import ConfigError, load_settings
from shared.names import SERVICES

EXIT_USAGE = 2


class CommandError(Exception):
    """A problem the operator can fix; printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CommandError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="meldpunt", description="Operate Meldpunt Hub for the configured region "
                                             "(MELDPUNT_REGION, default deploy/regions/demo.yaml).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("check", help="check that RabbitMQ and PostgreSQL can be reached")
    sub.add_parser("migrate", help="create missing case stores and apply migrations")
    sub.add_parser("declare", help="declare exchanges, queues, retry and dead-letter queues")
    broker = sub.add_parser("broker", help="the region's RabbitMQ vhost and the services' own users").add_subparsers(
        dest="action", required=True, parser_class=_Parser)
    broker.add_parser("setup", help="create the vhost and each MELDPUNT_AMQP_USER_<SERVICE> with only its "
                                    "permissions, then declare")

    run = sub.add_parser("run", help="start the services (foreground; --detach for background)")
    run.add_argument("--detach", action="store_true")
    run.add_argument("--services", nargs="+", choices=SERVICES, default=list(SERVICES))
    stop = sub.add_parser("stop", help="stop services started with run --detach")
    stop.add_argument("--services", nargs="+", choices=SERVICES, default=list(SERVICES))

    key = sub.add_parser("apikey", help="manage a municipality's API keys").add_subparsers(
        dest="action", required=True, parser_class=_Parser)
    create = key.add_parser("create", help="create a key; it is printed once, as the last line")
    create.add_argument("code")
    create.add_argument("--label", required=True)
    create.add_argument("--role", default="intake_channel")
    revoke = key.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("code")
    revoke.add_argument("key_id")
    listing = key.add_parser("list", help="list a municipality's keys (never the keys themselves)")
    listing.add_argument("code")
    sign = key.add_parser("sign", help="give a key a (new) HMAC signing secret, printed once as the last line; "
                                       "from then on its requests must be signed")
    sign.add_argument("code")
    sign.add_argument("key_id")
    unsign = key.add_parser("unsign", help="drop a key's signing secret: its requests need no signature")
    unsign.add_argument("code")
    unsign.add_argument("key_id")

    imp = sub.add_parser("import", help="import a municipality's historical incidents (CSV or JSON lines): "
                                        "all rows or none")
    imp.add_argument("code")
    imp.add_argument("file")
    imp.add_argument("--format", choices=("csv", "jsonl"), help="default: by the file's extension")

    mail = sub.add_parser("intake-mail", help="read the meldpunt mailboxes (intake.mailboxes) into draft incidents")
    mail.add_argument("--municipality", dest="code", help="only this municipality's mailbox")
    mail.add_argument("--once", action="store_true", help="read once and stop (default: keep polling)")

    dlq = sub.add_parser("dlq", help="inspect and replay dead letters").add_subparsers(
        dest="action", required=True, parser_class=_Parser)
    dl = dlq.add_parser("list", help="dead letters per service")
    dl.add_argument("service", nargs="?", choices=SERVICES)
    ds = dlq.add_parser("show", help="one dead letter in full")
    ds.add_argument("service", choices=SERVICES)
    ds.add_argument("message_id")
    for name, text in (("replay", "send back to the queue it failed in"), ("purge", "delete for good")):
        d = dlq.add_parser(name, help=text)
        d.add_argument("service", choices=SERVICES)
        which = d.add_mutually_exclusive_group(required=True)
        which.add_argument("message_id", nargs="?")
        which.add_argument("--all", action="store_true")

    sub.add_parser("outbox", help="events waiting in each outbox")

    audit = sub.add_parser("audit", help="who read or changed personal data of a municipality's cases")
    audit.add_argument("code")
    audit.add_argument("--case", dest="case_id", help="only this case")
    audit.add_argument("--limit", type=int, default=200)

    keys = sub.add_parser("keys", help="the master key for encryption at rest").add_subparsers(
        dest="keys_command", required=True, parser_class=_Parser)
    init = keys.add_parser("init", help="create a local master key file (0600) if there is none")
    init.add_argument("--file", help="where (default: $MELDPUNT_MASTER_KEY_FILE or var/master.key)")
    rotate = keys.add_parser("rotate", help="a new data key version for a municipality; re-encrypts every "
                                            "value with it in small batches while the hub runs, then retires the old")
    rotate.add_argument("code")
    rotate.add_argument("--batch", type=int, default=100, help="values per column per transaction (default 100)")
    keys.add_parser("status", help="each municipality's data key versions and how many values use each")

    erase = sub.add_parser("erase", help="right to erasure (AVG art. 17): erase one case's personal data, "
                                         "keeping codes and dates for the statistics")
    erase.add_argument("code")
    erase.add_argument("--case", dest="case_id", required=True)
    erase.add_argument("--reason", required=True, help="why (kept in the audit log; no personal data)")

    retention = sub.add_parser("retention", help="erase personal data of closed cases past the retention "
                                                 "period").add_subparsers(dest="action", required=True,
                                                                          parser_class=_Parser)
    rrun = retention.add_parser("run", help="erase what is due now (run daily, e.g. from cron)")
    rrun.add_argument("code", nargs="?", help="only this municipality (default: all)")

    stats = sub.add_parser("stats", help="the statistics read model").add_subparsers(
        dest="action", required=True, parser_class=_Parser)
    stats.add_parser("rebuild", help="recompute the read model and its counts from the case stores")

    liaison = sub.add_parser("liaison", help="police units' subscriptions to referrals").add_subparsers(
        dest="action", required=True, parser_class=_Parser)
    la = liaison.add_parser("add", help="RabbitMQ user + queue for a unit; the password is printed once")
    la.add_argument("unit")
    lr = liaison.add_parser("remove", help="delete a unit's RabbitMQ user and queue")
    lr.add_argument("unit")
    ld = liaison.add_parser("deliveries", help="a unit's webhook delivery log")
    ld.add_argument("unit")
    lp = liaison.add_parser("replay", help="deliver a webhook delivery again (same delivery id)")
    lp.add_argument("delivery_id")
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parser().parse_args(argv)
        return _dispatch(args)
    except (CommandError, ConfigError) as exc:
        print(f"meldpunt: {exc}" if not str(exc).startswith("meldpunt") else str(exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _dispatch(args) -> int:
    if args.command == "keys" and args.keys_command == "init":
        return _keys_init(args)  # before the settings: they refuse a key file that is not there yet
    settings = load_settings()
    handler = {"check": _check, "migrate": _migrate, "declare": _declare, "run": _run, "stop": _stop,
               "apikey": _apikey, "dlq": _dlq, "outbox": _outbox, "audit": _audit,
               "liaison": _liaison, "import": _import, "intake-mail": _intake_mail, "keys": _keys, "erase": _erase,
               "retention": _retention, "broker": _broker,
               "stats": _stats}[args.command]
    return handler(settings, args)


def _check(settings, args) -> int:
    from shared.supervisor import preflight

    problems = preflight(settings)
    if problems:
        raise CommandError(problems[0] if len(problems) == 1 else " | ".join(problems))
    print(f"RabbitMQ and PostgreSQL reachable for region {settings.region.code} ({settings.region.name})")
    return 0


def _migrate(settings, args) -> int:
    from shared.db.migrate import MigrationError, migrate_region

    try:
        migrate_region(settings.region, report=print, master_key=settings.master_key)
    except MigrationError as exc:
        raise CommandError(str(exc)) from None
    return 0


def _broker(settings, args) -> int:
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
    return _declare(settings, args)


def _declare(settings, args) -> int:
    from shared.messaging.topology import declare

    try:
        declare(settings.amqp_uri, len(settings.retry_delays), report=print)
    except OSError as exc:
        raise CommandError(f"cannot declare the topology on RabbitMQ: {exc}") from None
    return 0


def _run(settings, args) -> int:
    from shared import supervisor

    problems = supervisor.preflight(settings)
    if problems:
        raise CommandError(" | ".join(problems))
    if args.detach:
        return supervisor.run_detached(settings, args.services)
    return supervisor.run_foreground(settings, args.services)


def _stop(settings, args) -> int:
    from shared import supervisor

    return supervisor.stop_detached(settings, args.services)


def _keys_init(args) -> int:
    import os
    from pathlib import Path

    from shared.config import REPO_ROOT
    from shared.crypto import write_master_key_file

    path = Path(args.file or os.environ.get("MELDPUNT_MASTER_KEY_FILE")
                or Path(os.environ.get("MELDPUNT_VAR_DIR") or REPO_ROOT / "var") / "master.key")
    if write_master_key_file(path):
        print(f"created master key file {path} (mode 0600); keep it out of the repository")
    else:
        print(f"master key file {path} exists; left unchanged")
    return 0


def _actor() -> str:
    """Who runs the command, for the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def _need_master_key(settings):
    if settings.master_key is None:
        raise CommandError("this needs the master key: set MELDPUNT_MASTER_KEY or MELDPUNT_MASTER_KEY_FILE")


def _store_opener(settings, code):
    """A function giving a new unit of work on `code`'s case store each call (one short transaction each)."""
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    if not settings.region.knows(code):
        raise CommandError(f"{code} is not a municipality of region {settings.region.code} "
                           f"({', '.join(settings.region.codes)})")
    stores = Stores(settings, ConnectionPool(1, application_name="meldpunt-cli"), "cli")
    return lambda: stores.case_store(code)


def _db_errors(code):
    import contextlib

    import psycopg2

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except psycopg2.OperationalError as exc:
            raise CommandError(f"cannot reach the case store of {code}: "
                               f"{str(exc).strip().splitlines()[0]}") from None
        except psycopg2.errors.UndefinedTable:
            raise CommandError(f"the case store of {code} is not migrated; run `meldpunt migrate`") from None
    return guard()


def _keys(settings, args) -> int:
    from shared.crypto import CryptoError
    from shared.personal_data import rotate, values_not_on

    _need_master_key(settings)
    if args.keys_command == "status":
        for m in settings.region.municipalities:
            with _db_errors(m.code), _store_opener(settings, m.code)() as uow:
                versions = uow.fetchall("SELECT version, created_at, retired_at FROM hub.data_keys ORDER BY version")
                for row in versions:
                    state = f"retired {row['retired_at']:%Y-%m-%d %H:%M}" if row["retired_at"] else "active"
                    print(f"{m.code}  v{row['version']}  made {row['created_at']:%Y-%m-%d %H:%M}  {state}")
                if versions:
                    newest = versions[-1]["version"]
                    print(f"{m.code}  values not on v{newest}: {values_not_on(uow, newest)}")
                else:
                    print(f"{m.code}  no data key yet (made on the first encrypted write)")
        return 0
    if args.batch < 1:
        raise CommandError("--batch must be at least 1")
    opener = _store_opener(settings, args.code)
    try:
        with _db_errors(args.code):
            rotate(opener, _actor(), batch_size=args.batch, report=lambda line: print(f"{args.code}: {line}"))
    except CryptoError as exc:
        raise CommandError(f"{args.code}: {exc}") from None
    return 0


def _erase(settings, args) -> int:
    import uuid

    from shared.personal_data import erase_case

    try:
        case_id = uuid.UUID(args.case_id)
    except ValueError:
        raise CommandError(f"--case must be a case id (UUID), not {args.case_id!r}") from None
    if not args.reason.strip():
        raise CommandError("--reason must not be empty")
    with _db_errors(args.code), _store_opener(settings, args.code)() as uow:
        outcome = erase_case(uow, case_id, _actor(), args.reason.strip())
    if outcome == "unknown":
        raise CommandError(f"{args.code} has no case {case_id}")
    print(f"case {case_id} of {args.code}: {outcome}" + (
        "; codes and dates stay for the statistics" if outcome == "erased" else ""))
    return 0


def _retention(settings, args) -> int:
    from shared.clock import Clock
    from shared.personal_data import run_retention

    codes = [args.code] if args.code else settings.region.codes
    for code in codes:
        opener = _store_opener(settings, code)
        years = settings.region.municipality(code).retention_years
        with _db_errors(code):
            erased = run_retention(opener, years, Clock().now(), _actor())
        print(f"{code}: erased the personal data of {len(erased)} case(s) closed more than {years} year(s) ago")
    return 0


def _case_store(settings, code):
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    if not settings.region.knows(code):
        raise CommandError(f"{code} is not a municipality of region {settings.region.code} "
                           f"({', '.join(settings.region.codes)})")
    return Stores(settings, ConnectionPool(1, application_name="meldpunt-cli"), "cli").case_store(code)


def _apikey(settings, args) -> int:
    import psycopg2

    from shared import auth

    try:
        if args.action == "create":
            if args.role not in auth.ROLES:
                raise CommandError(f"--role must be one of {', '.join(auth.ROLES)}")
            if not args.label.strip():
                raise CommandError("--label must not be empty")
            with _case_store(settings, args.code) as uow:
                key_id, key = auth.create_key(uow, args.label.strip(), args.role)
            print(f"created key {key_id} for {args.code} ({args.role}, {args.label.strip()}); "
                  "it is shown once, keep it safe:")
            print(key)
        elif args.action in ("sign", "unsign"):
            _signing(settings, args)
        elif args.action == "revoke":
            with _case_store(settings, args.code) as uow:
                if not auth.revoke_key(uow, args.key_id):
                    raise CommandError(f"{args.code} has no active key {args.key_id}")
            print(f"revoked key {args.key_id} of {args.code}")
        else:
            with _case_store(settings, args.code) as uow:
                for row in auth.list_keys(uow):
                    state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "active"
                    print(f"{row['key_id']}  {row['role']:<16} {state:<18} {row['label']}")
    except psycopg2.OperationalError as exc:
        raise CommandError(f"cannot reach the case store of {args.code}: {str(exc).strip().splitlines()[0]}") \
            from None
    except psycopg2.errors.UndefinedTable:
        raise CommandError(f"the case store of {args.code} is not migrated; run `meldpunt migrate`") from None
    return 0


def _signing(settings, args) -> None:
    from services.intake import signatures, store

    with _case_store(settings, args.code) as uow:
        known = uow.fetchone("SELECT revoked_at FROM hub.api_keys WHERE key_id = %s", (args.key_id,))
        if known is None or known["revoked_at"] is not None:
            raise CommandError(f"{args.code} has no active key {args.key_id}")
        if args.action == "unsign":
            if not store.drop_signing_secret(uow, args.key_id):
                raise CommandError(f"key {args.key_id} of {args.code} has no signing secret")
            uow.audit("cli", "revoke", f"signing secret of api key {args.key_id}")
            print(f"key {args.key_id} of {args.code} no longer signs its requests")
            return
        secret = signatures.new_secret()
        store.set_signing_secret(uow, args.key_id, _keyring(settings).encrypt(
            uow, store.SIGNING_TABLE, "secret", args.key_id, secret.encode("utf-8")))
        uow.audit("cli", "create", f"signing secret of api key {args.key_id}")
    print(f"key {args.key_id} of {args.code} must now sign every request (X-Meldpunt-Timestamp, "
          "X-Meldpunt-Signature); its signing secret is shown once, keep it safe:")
    print(secret)


def _intake_stores(settings, code):
    """Units of work that write as intake: events they record are relayed by intake's outbox relay."""
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores
    from shared.names import INTAKE

    if code is not None and not settings.region.knows(code):
        raise CommandError(f"{code} is not a municipality of region {settings.region.code} "
                           f"({', '.join(settings.region.codes)})")
    return Stores(settings, ConnectionPool(1, application_name="meldpunt-cli"), INTAKE)


def _intake_relay(settings, stores):
    """Publishes what the command's units of work record right after they commit, as intake does
    with its own commits; what the broker does not take waits in the outbox for intake's relay."""
    from shared.names import INTAKE
    from shared.outbox import EventPublisher, OutboxRelay

    relay = OutboxRelay(INTAKE, stores, EventPublisher(settings.amqp_uri, INTAKE))
    stores.on_commit(relay.committed)
    return relay


def _publish_recorded(relay, recorded: int) -> None:
    try:
        sent = relay.publish_fresh()
        relay.mark_published(force=True)
    except Exception as exc:
        sent = 0
        print(f"the broker did not take the events ({type(exc).__name__})", file=sys.stderr)
    finally:
        relay.close()
    if sent < recorded:
        print(f"{recorded - sent} event(s) wait in the outbox; intake's relay sends them when it can",
              file=sys.stderr)


def _import(settings, args) -> int:
    import uuid
    from pathlib import Path

    import psycopg2

    from services.intake import bulk_import

    stores = _intake_stores(settings, args.code)
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
    relay = _intake_relay(settings, stores)
    try:
        with stores.case_store(args.code) as uow:
            imported, skipped = bulk_import.store_rows(uow, checked, path.name, uuid.uuid4())
    except psycopg2.OperationalError as exc:
        relay.close()
        raise CommandError(f"cannot reach the case store of {args.code}: {str(exc).strip().splitlines()[0]}") \
            from None
    _publish_recorded(relay, imported)
    for line, first in checked.duplicates:
        print(f"{path.name}: line {line} repeats line {first}; imported once")
    print(f"{args.code}: imported {imported} incident(s) from {path.name}"
          + (f"; {skipped} row(s) were imported before" if skipped else ""))
    return 0


def _intake_mail(settings, args) -> int:
    import time

    import psycopg2

    from services.intake import mail
    from services.intake.options import intake_options

    options = intake_options(settings.region)
    mailboxes = options["mailboxes"]
    if args.code is not None:
        _intake_stores(settings, args.code)  # refuses a code outside the region
        if args.code not in mailboxes:
            raise CommandError(f"{args.code} has no mailbox in intake.mailboxes of the region file")
        mailboxes = {args.code: mailboxes[args.code]}
    if not mailboxes:
        raise CommandError("no mailboxes configured (intake.mailboxes in the region file)")
    for code in mailboxes:
        if not settings.region.knows(code):
            raise CommandError(f"intake.mailboxes: {code} is not a municipality of region {settings.region.code}")
    stores = _intake_stores(settings, None)
    while True:
        for code, config in mailboxes.items():
            try:
                counts = mail.read_mailbox(stores.case_store, code, mail.source_for(config),
                                           options["max_file_bytes"])
            except (OSError, mail.imaplib.IMAP4.error) as exc:
                if args.once:
                    raise CommandError(f"{code}: cannot read the mailbox: {exc}") from None
                print(f"{code}: cannot read the mailbox: {exc}", file=sys.stderr)
                continue
            except psycopg2.OperationalError as exc:
                message = f"cannot reach the case store of {code}: {str(exc).strip().splitlines()[0]}"
                if args.once:
                    raise CommandError(message) from None
                print(message, file=sys.stderr)
                continue
            print(f"{code}: {counts.drafted} draft(s), {counts.duplicates} already read, "
                  f"{counts.rejected} rejected")
        if args.once:
            return 0
        time.sleep(options["mail_poll_seconds"])


def _keyring(settings):
    from shared.crypto import Keyring, MasterKeyMissing

    try:
        return Keyring(settings.master_key)
    except MasterKeyMissing as exc:
        raise CommandError(str(exc)) from None


def _dlq(settings, args) -> int:
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


def _outbox(settings, args) -> int:
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
            print(f"{label}: unavailable ({str(exc).strip().splitlines()[0]})")
            continue
        waiting = ", ".join(f"{s}: {n} since {t:%H:%M:%S}" for s, n, t in rows) or "empty"
        print(f"{label}: {waiting}")
    return 0


def _audit(settings, args) -> int:
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
        with _case_store(settings, args.code) as uow:
            rows = uow.fetchall(query, params)
    except psycopg2.OperationalError as exc:
        raise CommandError(f"cannot reach the case store of {args.code}: {str(exc).strip().splitlines()[0]}") \
            from None
    for row in reversed(rows):
        case = f" case {row['case_id']}" if row["case_id"] and not args.case_id else ""
        reason = f" ({row['reason']})" if row["reason"] else ""
        print(f"{row['at']:%Y-%m-%d %H:%M:%S%z}  {row['actor']}  {row['action']} {row['subject']}{case}{reason}")
    if not rows:
        print("no audit entries" + (f" for case {args.case_id}" if args.case_id else ""))
    return 0


def _liaison(settings, args) -> int:
    import uuid

    import psycopg2

    from services.police_liaison import liaisons, store

    units = sorted({m.police_unit for m in settings.region.municipalities})
    if args.action in ("add", "remove", "deliveries") and args.unit not in units:
        raise CommandError(f"{args.unit} is not a police unit of region {settings.region.code} ({', '.join(units)})")
    try:
        if args.action in ("add", "remove"):
            api, vhost = liaisons.ManagementApi(settings.rabbit_api_uri), liaisons.vhost_of(settings.amqp_uri)
            if args.action == "add":
                sub = liaisons.add(api, vhost, args.unit)
                print(f"unit {args.unit}: queue {sub.queue} in vhost {sub.vhost}, user {sub.user} "
                      "(read-only); the password is shown once, keep it safe:")
                print(sub.password)
            else:
                user, queue = liaisons.remove(api, vhost, args.unit)
                if not user and not queue:
                    raise CommandError(f"unit {args.unit} has no subscription in vhost {vhost}")
                print(f"removed the RabbitMQ user and queue of unit {args.unit}")
        elif args.action == "deliveries":
            for m in settings.region.municipalities:
                if m.police_unit != args.unit:
                    continue
                with _case_store(settings, m.code) as uow:
                    for row in store.deliveries(uow, args.unit):
                        print(f"{row['delivery_id']}  {m.code}  {row['event_type']:<18} {row['status']:<9} "
                              f"attempts={row['attempts']}  {row['last_error'] or ''}")
        else:
            try:
                delivery_id = uuid.UUID(args.delivery_id)
            except ValueError:
                raise CommandError(f"{args.delivery_id} is not a delivery id") from None
            for m in settings.region.municipalities:
                with _case_store(settings, m.code) as uow:
                    if store.replay_delivery(uow, delivery_id):
                        uow.audit("cli", "replay", f"webhook delivery {delivery_id}")
                        print(f"delivery {delivery_id} ({m.code}) is queued to be delivered again")
                        return 0
            raise CommandError(f"no webhook delivery {args.delivery_id} in region {settings.region.code}")
    except liaisons.LiaisonError as exc:
        raise CommandError(str(exc)) from None
    except psycopg2.OperationalError as exc:
        raise CommandError(f"cannot reach a case store: {str(exc).strip().splitlines()[0]}") from None
    return 0


def _stats(settings, args) -> int:
    import psycopg2

    from shared.config import region_secret
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    from services.statistics.rebuild import rebuild

    secret = region_secret(settings)  # a missing secret is a ConfigError: one line, exit 2
    pool = ConnectionPool(2, application_name="meldpunt-cli")
    try:
        counted = rebuild(Stores(settings, pool, "cli"), secret)
    except psycopg2.Error as exc:
        raise CommandError(f"stats rebuild: {str(exc).strip().splitlines()[0]}") from None
    finally:
        pool.close()
    per = ", ".join(f"{code}: {n}" for code, n in counted.items())
    print(f"statistics rebuilt from the case stores: {sum(counted.values())} incidents ({per})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

