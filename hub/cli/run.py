"""`meldpunt run` and `meldpunt stop`: the services as processes on this machine (hub/supervisor.py)."""
from __future__ import annotations

from shared.names import SERVICES

from hub.cli.common import CommandError


def register(sub) -> None:
    run = sub.add_parser("run", help="start the services (foreground; --detach for background)")
    run.add_argument("--detach", action="store_true")
    run.add_argument("--services", nargs="+", choices=SERVICES, default=list(SERVICES))
    run.set_defaults(handler=start)
    stop_ = sub.add_parser("stop", help="stop services started with run --detach")
    stop_.add_argument("--services", nargs="+", choices=SERVICES, default=list(SERVICES))
    stop_.set_defaults(handler=stop)


def start(settings, args) -> int:
    from hub import supervisor

    problems = supervisor.preflight(settings)
    if problems:
        raise CommandError(" | ".join(problems))
    if args.detach:
        return supervisor.run_detached(settings, args.services)
    return supervisor.run_foreground(settings, args.services)


def stop(settings, args) -> int:
    from hub import supervisor

    return supervisor.stop_detached(settings, args.services)
