"""Structured logs: one JSON object a line, each carrying the correlation id of its work.

The correlation id follows an incident from the HTTP request through every event it
causes, so one grep shows its whole path. Log messages never contain personal data.
"""
from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)


class CorrelationFilter(logging.Filter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def filter(self, record):
        record.service = self.service
        record.correlation_id = correlation_id.get()
        return True


def configure(service: str, level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False))
    handler.addFilter(CorrelationFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("amqp", "kombu", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # nameko logs expected (4xx) errors at WARNING with a traceback; real errors come at ERROR
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)
