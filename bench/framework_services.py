"""The hub's event flow in plain nameko with no work in it: what the framework alone costs.

Same shape as the hub for one incident: an HTTP POST, then incident_reported → triage and
statistics, incident_triaged → police liaison, aftercare and statistics, referral_created
and aftercare_planned → statistics. nameko's own EventDispatcher (persistent, confirmed) and
event_handler (reliable delivery); no database, no validation, no outbox. Started one
process per service by bench/framework_ceiling.py, as `meldpunt run` starts the hub's.
"""
from __future__ import annotations

if __name__ == "__main__":  # patched before nameko and kombu are imported, as `nameko run` does
    import eventlet

    eventlet.monkey_patch()

import json
import uuid

from nameko.events import EventDispatcher, event_handler
from nameko.web.handlers import http


class Intake:
    name = "intake"
    dispatch = EventDispatcher()

    @http("POST", "/api/v1/incidents")
    def create_incident(self, request):
        case_id = str(uuid.uuid4())
        self.dispatch("incident_reported", {"case_id": case_id})
        return 201, json.dumps({"case_id": case_id})


def _forwarding(service: str, source: str, incoming: str, outgoing: str):
    """A service that answers each `incoming` event of `source` with `outgoing`, and does nothing else."""
    class Forwarding:
        name = service
        dispatch = EventDispatcher()

        @event_handler(source, incoming)
        def forward(self, payload):
            self.dispatch(outgoing, payload)

    return Forwarding


Triage = _forwarding("triage", "intake", "incident_reported", "incident_triaged")
PoliceLiaison = _forwarding("police_liaison", "triage", "incident_triaged", "referral_created")
Aftercare = _forwarding("aftercare", "triage", "incident_triaged", "aftercare_planned")


SEEN: dict[str, int] = {}


class Statistics:
    """Counts the events of each case; a case is complete once all four arrived."""
    name = "statistics"

    def _seen(self, payload):
        SEEN[payload["case_id"]] = SEEN.get(payload["case_id"], 0) + 1

    @event_handler("intake", "incident_reported")
    def on_incident_reported(self, payload):
        self._seen(payload)

    @event_handler("triage", "incident_triaged")
    def on_incident_triaged(self, payload):
        self._seen(payload)

    @event_handler("police_liaison", "referral_created")
    def on_referral_created(self, payload):
        self._seen(payload)

    @event_handler("aftercare", "aftercare_planned")
    def on_aftercare_planned(self, payload):
        self._seen(payload)

    @http("GET", "/complete")
    def complete(self, request):
        return json.dumps(sum(1 for n in SEEN.values() if n >= 4))


def main(argv: list[str]) -> None:
    """`python -m bench.framework_services CONFIG CLASS`: what `nameko run --config CONFIG` does (eventlet's
    monkey patch above, then nameko's own ServiceRunner loop, nameko.cli.run.run), without the CLI's module, which
    imports pkg_resources for its version banner: setuptools no longer ships it (81+), so `nameko run` fails
    to start in this project's venv."""
    import yaml
    from nameko.cli.run import run

    config_file, name = argv
    with open(config_file) as f:
        config = yaml.safe_load(f)
    run([globals()[name]], config)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
