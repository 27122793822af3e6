"""What every command group of `meldpunt` shares: its one-line error, its parser, and the doors to a
municipality's case store with the errors an operator can act on."""
from __future__ import annotations

import argparse
import contextlib

EXIT_USAGE = 2


class CommandError(Exception):
    """A problem the operator can fix; printed as one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CommandError(f"{self.prog}: {message}")


def subcommands(parser: argparse.ArgumentParser, dest: str = "action"):
    """The sub-commands of a command group (`meldpunt dlq list`), every one required."""
    return parser.add_subparsers(dest=dest, required=True, parser_class=Parser)


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]


def actor() -> str:
    """Who runs the command, for the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def need_master_key(settings) -> None:
    if settings.master_key is None:
        raise CommandError("this needs the master key: set MELDPUNT_MASTER_KEY or MELDPUNT_MASTER_KEY_FILE")


def known_municipality(settings, code) -> None:
    if not settings.region.knows(code):
        raise CommandError(f"{code} is not a municipality of region {settings.region.code} "
                           f"({', '.join(settings.region.codes)})")


def stores(settings, writer: str = "cli"):
    """`Stores` for a command, on a pool of one connection; `writer` is the service whose outbox
    relays the events its units of work record ("cli" records none)."""
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    return Stores(settings, ConnectionPool(1, application_name="meldpunt-cli"), writer)


def relay_for(settings, opened):
    """An outbox relay that publishes what `opened`'s units of work record right after they commit, as their
    writer's service does with its own commits; what the broker does not take waits in the outbox for that
    service's relay."""
    from shared.outbox import EventPublisher, OutboxRelay

    relay = OutboxRelay(opened.service, opened, EventPublisher(settings.amqp_uri, opened.service))
    opened.on_commit(relay.committed)
    return relay


def publish_recorded(relay) -> tuple[int, str | None]:
    """Publish, once, what the command recorded, and close the relay: (events the broker took, the reason it
    took none: the error's name, None when it answered)."""
    try:
        sent = relay.publish_fresh()
        relay.mark_published(force=True)
        return sent, None
    except Exception as exc:  # noqa: BLE001 — the broker or a store away: the rows wait in the outbox
        return 0, type(exc).__name__
    finally:
        relay.close()


def store_opener(settings, code):
    """A function giving a new unit of work on `code`'s case store each call (one short transaction each)."""
    known_municipality(settings, code)
    opened = stores(settings)
    return lambda: opened.case_store(code)


def case_store(settings, code):
    """One unit of work on `code`'s case store."""
    known_municipality(settings, code)
    return stores(settings).case_store(code)


@contextlib.contextmanager
def case_store_errors(code):
    """The database errors an operator can act on, as one line each."""
    import psycopg2

    try:
        yield
    except psycopg2.OperationalError as exc:
        raise CommandError(f"cannot reach the case store of {code}: {first_line(exc)}") from None
    except psycopg2.errors.UndefinedTable:
        raise CommandError(f"the case store of {code} is not migrated; run `meldpunt migrate`") from None


def keyring(settings):
    from shared.crypto import MasterKeyMissing
    from shared.db.case_keys import keyring_for

    try:
        return keyring_for(settings)
    except MasterKeyMissing as exc:
        raise CommandError(str(exc)) from None
