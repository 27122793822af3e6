"""Partner subscriptions as plain decisions (docs/partners.md): which events a subscriber is offered, which
of their fields it may receive, and whether a subscription asked for makes sense. No HTTP, AMQP or SQL here.

A subscriber is allowed events by name (`aftercare_referred`), or narrowed to one code of a payload field
(`signal_raised[kind=riec_signal]`, `incident_triaged[decisions=riec_signal]`: equal, or in the list). Any
event of the catalogue that reaches signals (it consumes or records it) can be allowed, so a new event type
is offered to subscribers as soon as it is in the catalogue with `signals` among its consumers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from marshmallow import fields as mfields

from shared.disclosures import LEGAL_BASES, field_names
from shared.events import CATALOGUE
from shared.names import SIGNALS
from shared.vocabulary import SUBSCRIBER_NAME_PATTERN

TRANSPORTS = ("webhook", "amqp")
# The disclosure ledger's channel of each transport (shared/disclosures.py).
CHANNELS = {"webhook": "webhook", "amqp": "partner_queue"}
NAME = re.compile(SUBSCRIBER_NAME_PATTERN)
_SELECTOR = re.compile(r"^(?P<event>[a-z][a-z_]*)(?:\[(?P<field>[a-z][a-z_]*)=(?P<value>[A-Za-z0-9_.-]+)\])?$")


def offered(catalogue=CATALOGUE) -> tuple[str, ...]:
    """The event types a subscriber can be allowed: those signals consumes or records itself (not the wake of
    its own instances, `partner_delivery_replayed`)."""
    return tuple(sorted(name for name, spec in catalogue.items()
                        if (SIGNALS in spec.consumers or spec.producer == SIGNALS) and not spec.wakes_producer))


@dataclass(frozen=True)
class Selector:
    event_type: str
    field: str | None = None
    value: str | None = None

    def matches(self, event_type: str, payload: dict) -> bool:
        if event_type != self.event_type:
            return False
        if self.field is None:
            return True
        found = payload.get(self.field)
        return found == self.value or (isinstance(found, (list, tuple)) and self.value in found)

    def __str__(self) -> str:
        return self.event_type if self.field is None else f"{self.event_type}[{self.field}={self.value}]"


class BadSubscription(ValueError):
    """A subscription that cannot work, said in one line."""


def parse(text: str) -> Selector:
    """A selector as written (`signal_raised[kind=riec_signal]`); BadSubscription when it is not one."""
    match = _SELECTOR.match(text or "")
    if not match:
        raise BadSubscription(f"{text!r} is not an event type or event_type[field=code]")
    return Selector(*match.group("event", "field", "value"))


def selector(text: str, catalogue=CATALOGUE) -> Selector:
    """A selector checked against the catalogue: its event reaches signals and has the field."""
    parsed = parse(text)
    event_type, field, value = parsed.event_type, parsed.field, parsed.value
    if event_type not in catalogue:
        raise BadSubscription(f"{event_type} is not an event of the catalogue (docs/events.md)")
    if event_type not in offered(catalogue):
        raise BadSubscription(f"{event_type} does not reach signals, which delivers to subscribers "
                              "(add signals to its consumers in shared/events.py)")
    if field is not None and field not in payload_fields(event_type, catalogue):
        raise BadSubscription(f"{event_type} has no field {field}")
    return Selector(event_type, field, value)


def payload_fields(event_type: str, catalogue=CATALOGUE) -> set[str]:
    """Every field name of the event's payload, nested ones dotted as well as their parent (`ela`,
    `ela.vpt_registered`)."""
    def walk(schema, prefix):
        names = set()
        for name, field in schema.fields.items():
            names.add(prefix + name)
            if isinstance(field, mfields.Nested):
                names |= walk(field.schema, f"{prefix}{name}.")
        return names
    return walk(catalogue[event_type].schema, "")


def check(name: str, transport: str, url: str | None, events: list[str], allowed: list[str], legal_basis: str,
          consent_version: str | None, catalogue=CATALOGUE) -> list[Selector]:
    """A subscription as asked for, checked; its selectors. BadSubscription says what is wrong."""
    if not NAME.match(name or ""):
        raise BadSubscription(f"{name!r} is not a subscriber name (lower-case letters, digits and -, 2-40, "
                              "such as riec-zeeland)")
    if transport not in TRANSPORTS:
        raise BadSubscription(f"transport {transport!r} is not one of {', '.join(TRANSPORTS)}")
    if (transport == "webhook") != bool(url):
        raise BadSubscription("a webhook subscriber needs --url, an AMQP one takes none")
    if url and not re.match(r"^https?://[^\s/]+", url):
        raise BadSubscription(f"{url!r} is not an http(s) URL")
    if not events:
        raise BadSubscription("allow at least one event (--event)")
    selectors = [selector(text, catalogue) for text in events]
    known = set().union(*(payload_fields(s.event_type, catalogue) for s in selectors))
    unknown = sorted(set(allowed) - known)
    if unknown:
        raise BadSubscription(f"no allowed event has a field {unknown[0]}")
    if legal_basis not in LEGAL_BASES:
        raise BadSubscription(f"legal basis {legal_basis!r} is not one of {', '.join(LEGAL_BASES)}")
    if legal_basis == "consent" and not consent_version:
        raise BadSubscription("a subscription on consent names the consent text's version (--consent-version)")
    return selectors


def wants(selectors: list[Selector], event_type: str, payload: dict) -> bool:
    return any(s.matches(event_type, payload) for s in selectors)


def allowed_data(payload: dict, allowed, prefix: str = "") -> dict:
    """What of the payload the subscriber may receive: a field named (or a parent of it named) goes whole,
    a nested one only with the fields named inside it; everything else is stripped."""
    allowed = set(allowed)
    data = {}
    for key, value in payload.items():
        name = prefix + key
        if name in allowed:
            data[key] = value
        elif isinstance(value, dict) and any(a.startswith(name + ".") for a in allowed):
            inner = allowed_data(value, allowed, name + ".")
            if inner:
                data[key] = inner
    return data


def disclosed_fields(data: dict) -> tuple[str, ...]:
    """The ledger's field names of a delivery's data (names, never values); empty: nothing about the case's
    person left beyond the fact of the event, and no ledger row is written."""
    return tuple(field_names(data))
