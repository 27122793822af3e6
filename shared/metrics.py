"""Prometheus metrics every service exposes on GET /metrics, on its operator port only.

Labels are service names, event types, municipality codes and other codes only: never anything
about a person or a case. `LABEL_VALUES` names every label a hub metric may carry and the values
it may take; tests hold every metric to it.
"""
import re

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from shared.events import CATALOGUE
from shared.names import SERVICES
from shared.vocabulary import SUBSCRIBER_NAME_PATTERN, URGENCIES

# Every label of a hub metric (meldpunt_*), with its allowed values: a fixed set, or a pattern of codes.
# A new label is added here first; tests/unit/test_metric_labels.py fails on a label not named here, and
# tests/integration/test_metrics_port.py on a value a running hub exposes outside it.
LABEL_VALUES = {
    "service": frozenset(SERVICES),
    "event_type": frozenset(CATALOGUE),
    # a municipality's code; the outbox backlog also names a regional database (statistics, workbench, and
    # triage's regional repeat index)
    "municipality": re.compile(r"^(GM\d{4}|statistics|workbench|repeat_index)$"),
    "urgency": frozenset(URGENCIES),
    "police_unit": re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$"),
    "queue": frozenset({"waiting", "parked"}),
    # an entrypoint's URL template (`/api/v1/incidents/<case_id>`), never the path with its values
    "route": re.compile(r"^(/([a-z_.-]+|v[0-9]|<[a-z_]+>))*/?$"),
    "status": re.compile(r"^[1-5][0-9][0-9]$"),
    "result": frozenset({"ok", "failed", "sent", "retry", "delivered"}),
    "subscriber": re.compile(SUBSCRIBER_NAME_PATTERN),  # a partner subscriber's name (docs/partners.md)
    "kind": re.compile(r"^[a-z_]{1,40}$"),  # a mail's kind: a code of services/signals
}


# Labels whose values the region file fixes: only its municipalities (and regional databases) and police units.
REGION_BOUND = {
    "municipality": lambda region: set(region.codes) | {"statistics", "workbench", "repeat_index"},
    "police_unit": lambda region: {m.police_unit for m in region.municipalities},
}


def allowed(label: str, value: str, region=None) -> bool:
    """Whether `value` may stand in `label`; with the region, also that it is one of the region's own."""
    rule = LABEL_VALUES.get(label)
    if rule is None:
        return False
    if region is not None and label in REGION_BOUND:
        return value in REGION_BOUND[label](region)
    return value in rule if isinstance(rule, frozenset) else bool(rule.match(value))

EVENTS_HANDLED = Counter("meldpunt_events_handled_total", "Events handled successfully",
                         ["service", "event_type"])
EVENTS_FAILED = Counter("meldpunt_events_failed_total", "Event handling attempts that failed",
                        ["service", "event_type"])
EVENTS_RETRIED = Counter("meldpunt_events_retried_total", "Failed events sent to a retry queue",
                         ["service", "event_type"])
EVENTS_DEAD_LETTERED = Counter("meldpunt_events_dead_lettered_total",
                               "Events parked in the dead-letter queue", ["service", "event_type"])
HANDLER_SECONDS = Histogram("meldpunt_handler_seconds", "Time from receiving an event to settling it",
                            ["service", "event_type"],
                            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
EVENT_BATCH_SIZE = Histogram("meldpunt_event_batch_size", "Events a batch handler took in one worker",
                             ["service", "event_type"], buckets=(1, 2, 5, 10, 20, 50, 100))
EVENTS_PUBLISHED = Counter("meldpunt_events_published_total", "Events published from the outbox",
                           ["service", "event_type"])
OUTBOX_BACKLOG = Gauge("meldpunt_outbox_backlog", "Events in the outbox not yet published",
                       ["service", "municipality"])
OUTBOX_PUBLISH_ERRORS = Counter("meldpunt_outbox_publish_errors_total",
                                "Failed attempts to publish from the outbox", ["service"])
DEAD_LETTERS = Gauge("meldpunt_dead_letters", "Messages waiting in the service's dead-letter queue",
                     ["service"])
PARTNER_QUEUE = Gauge("meldpunt_police_unit_queue_messages",
                      "Messages in a police unit's AMQP queue (queue=waiting) and in its parked queue, the "
                      "overflow past the length limit (queue=parked)", ["police_unit", "queue"])
PARTNER_QUEUE_LIMIT = Gauge("meldpunt_police_unit_queue_limit",
                            "The length limit of a police unit's AMQP queue", ["police_unit"])
HTTP_REQUESTS = Counter("meldpunt_http_requests_total", "HTTP requests answered",
                        ["service", "route", "status"])
REFERRALS_ESCALATED = Counter("meldpunt_referrals_escalated_total",
                              "Police referrals not accepted before their deadline", ["municipality", "urgency"])
WEBHOOK_ATTEMPTS = Counter("meldpunt_webhook_attempts_total", "Webhook delivery attempts to police units",
                           ["police_unit", "result"])


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
