"""`meldpunt`: the operators' command. Every failure is one clear line and exit code 2.

Each command group is a module of this package with a `register(sub)` that adds its parsers, each
parser naming its `handler(settings, args) -> int`. A new group is a new module and a line in `GROUPS`.
"""
from __future__ import annotations

import sys

from shared.config import ConfigError

from hub.cli import (apikey, audit, backup, disclosures, dlq, doctor, intake, keys, liaison, privacy, run, setup,
                     stats, subscriber, zaaksysteem)
from hub.cli.common import EXIT_USAGE, CommandError, Parser

# In the order `meldpunt --help` lists them.
GROUPS = (setup, run, doctor, apikey, intake, dlq, audit, disclosures, keys, privacy, backup, stats, liaison,
          subscriber, zaaksysteem)


def parser() -> Parser:
    p = Parser(prog="meldpunt", description="Operate Meldpunt Hub for the configured region "
                                            "(MELDPUNT_REGION, default deploy/regions/demo.yaml).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in GROUPS:
        group.register(sub)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parser().parse_args(argv)
        return _dispatch(args)
    except (CommandError, ConfigError) as exc:
        print(f"meldpunt: {exc}" if not str(exc).startswith("meldpunt") else str(exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _dispatch(args) -> int:
    if getattr(args, "without_settings", False):
        return args.handler(None, args)
    from hub.registry import load_settings

    return args.handler(load_settings(), args)
