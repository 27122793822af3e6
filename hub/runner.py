"""Runs one hub service in this process: `python -m hub.runner intake`.

The settings are read once here and handed to the container in its config, so that
the service and its dependencies all see the same validated configuration.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402 — before anything opens a socket

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from shared import logs  # noqa: E402
from shared.config import ConfigError  # noqa: E402
from shared.names import SERVICES  # noqa: E402

from hub.registry import load_settings, service_class  # noqa: E402

log = logging.getLogger("meldpunt.runner")

STOP_DEADLINE_SECONDS = 20


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(f"usage: python -m hub.runner {{{','.join(SERVICES)}}}", file=sys.stderr)
        return 2
    service = argv[0]
    try:
        settings = load_settings()
        # a service may check settings only it needs (e.g. triage's region secret) before starting
        check = getattr(service_class(service), "check_settings", None)
        if check:
            check(settings)
    except ConfigError as exc:
        print(f"meldpunt: {exc}", file=sys.stderr)
        return 2
    from shared.dependencies import missing_key_message, needs_master_key

    if settings.master_key is None and needs_master_key(service_class(service)):
        print(f"meldpunt: {missing_key_message(service)}", file=sys.stderr)
        return 2
    logs.configure(service, settings.log_level)

    runner = ServiceRunner(settings.nameko_config(service))
    runner.add_service(service_class(service))
    stopping = eventlet.event.Event()

    def stop(signum, frame):
        if not stopping.ready():
            stopping.send(signum)
            # nameko's stop can wait forever for a broker that is gone; never outlive this
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(STOP_DEADLINE_SECONDS + 10)
        elif signum is not None:
            os._exit(1)  # a second Ctrl-C or SIGTERM: stop now

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.start()
    log.info("service started", extra={"url": f"http://{settings.http_address(service)}",
                                       "region": settings.region.code})
    crashed = []

    def watch():
        try:
            runner.wait()
        except Exception:
            log.exception("service crashed")
            crashed.append(True)
        stop(None, None)

    eventlet.spawn(watch)
    stopping.wait()
    if crashed:
        runner.kill()
        return 1
    log.info("service stopping")
    with eventlet.Timeout(STOP_DEADLINE_SECONDS, False):
        runner.stop()
        return 0
    runner.kill()
    return 1


if __name__ == "__main__":
    sys.exit(main())
