"""What leaves the hub for partners, as CloudEvents 1.0 in the NL GOV profile (docs/events.md#cloudevents).

The hub's own envelope (shared/events.py) stays inside the hub. A referral event for the police
becomes a CloudEvent with the SDK from the package index (`cloudevents`): `source` a URN of the
municipality's meldpunt, `type` reverse-DNS (`nl.meldpunthub.referral.created`), `subject` the
referral, `dataref` where the liaison fetches the details (never carried), the payload's codes as
`data`. Structured mode only (application/cloudevents+json), over AMQP (`police.cloudevents`) and
HTTP (webhooks with `format: cloudevents`). Subscribers beyond the police (docs/partners.md) get any
event they are allowed the same way, `data` holding only the fields they are allowed.
"""
from __future__ import annotations

from datetime import datetime

from cloudevents.core.bindings import amqp, http
from cloudevents.core.v1.event import CloudEvent

TYPE_PREFIX = "nl.meldpunthub."
CONTENT_TYPE = "application/cloudevents+json"
ENVELOPE, CLOUDEVENTS = "envelope", "cloudevents"
FORMATS = (ENVELOPE, CLOUDEVENTS)


def source_of(municipality: str) -> str:
    """The producer as a URN (NL GOV profile: `source` SHOULD be a URN): the municipality's meldpunt in the hub."""
    return f"urn:nld:gemeentecode:{municipality.removeprefix('GM')}:systeem:meldpunthub"


def type_of(event_type: str) -> str:
    """referral_created -> nl.meldpunthub.referral.created (reverse DNS, then the object and what happened)."""
    return TYPE_PREFIX + event_type.replace("_", ".", 1)


# What an event is about (`subject`), the first of these its data carries: the referral, handover, signal, care plan …
SUBJECT_FIELDS = ("referral_id", "handover_id", "signal_id", "plan_id", "link_id", "message_id")
# Events whose details the police unit's liaison fetches (audited) from `dataref`, never carried.
POLICE_REFERRAL_EVENTS = ("referral_created", "referral_updated", "referral_escalated", "referral_withdrawn")


def cloudevent(envelope: dict, data: dict | None = None) -> CloudEvent:
    """The CloudEvent of one of the hub's events (its JSON body as in the outbox); `data` what of its payload
    goes out (default: all of it, as to the police)."""
    data = envelope["payload"] if data is None else data
    occurred = envelope["occurred_at"]
    attributes = {
        "specversion": "1.0",
        "id": str(envelope["event_id"]),
        "source": source_of(envelope["municipality"]),
        "type": type_of(envelope["event_type"]),
        "time": occurred if isinstance(occurred, datetime) else datetime.fromisoformat(occurred),
        "datacontenttype": "application/json",
        # extension attributes (lower-case letters and digits only)
        "schemaversion": str(envelope["schema_version"]),
        "correlationid": str(envelope["correlation_id"]),
    }
    subject = next((str(data[name]) for name in SUBJECT_FIELDS if data.get(name)), None)
    if subject is not None:
        attributes["subject"] = subject
    if envelope["event_type"] in POLICE_REFERRAL_EVENTS and data.get("referral_id"):
        # the incident's details are fetched by the unit's liaison, audited, never carried
        attributes["dataref"] = f"/api/v1/referrals/{data['referral_id']}/details"
    return CloudEvent(attributes, data=data)


def amqp_body(envelope: dict, data: dict | None = None) -> bytes:
    """The CloudEvent in AMQP structured mode: the message body (content type CONTENT_TYPE)."""
    return amqp.to_structured_event(cloudevent(envelope, data)).application_data


def http_message(envelope: dict, data: dict | None = None) -> tuple[dict, bytes]:
    """The CloudEvent in HTTP structured mode: (headers, body)."""
    message = http.to_structured_event(cloudevent(envelope, data))
    return dict(message.headers), message.body
