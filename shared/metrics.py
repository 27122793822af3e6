"""Prometheus metrics every service exposes on GET /metrics.

Labels are service names, event types and municipality codes only: never anything
about a person or a case.
"""
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

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
HTTP_REQUESTS = Counter("meldpunt_http_requests_total", "HTTP requests answered",
                        ["service", "route", "status"])
REFERRALS_ESCALATED = Counter("meldpunt_referrals_escalated_total",
                              "Police referrals not accepted before their deadline", ["municipality", "urgency"])
WEBHOOK_ATTEMPTS = Counter("meldpunt_webhook_attempts_total", "Webhook delivery attempts to police units",
                           ["police_unit", "result"])


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
