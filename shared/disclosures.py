"""The disclosure ledger: which personal data of a case left its store, to whom, when, why and how.

One row per disclosure, written by whoever sends (in the same unit of work as the sending, so a row
and what it records commit together): field NAMES, never values. A disclosure that is handed to a
queue or a webhook is `pending` until the other side confirmed it; one that failed is `failed`, never
`delivered`. Read per case by `meldpunt disclosures CODE --case ID`, intake's casework API and the
AVG art. 15 export (docs/security.md#disclosure-ledger).
"""
from __future__ import annotations

from dataclasses import dataclass, field

# How the data left (docs/security.md#disclosure-ledger lists them).
CHANNELS = ("details_api", "webhook", "amqp", "information_form", "partner_referral", "email", "access_export",
            "zgw_export", "partner_queue")
RECIPIENT_KINDS = ("police_unit", "partner", "employer", "data_subject", "person")
# AVG art. 6: consent (a), legal duty (c), public task (e); art. 15: the data subject's own request.
LEGAL_BASES = ("consent", "legal_duty", "public_task", "data_subject_request")
STATUSES = ("delivered", "pending", "failed")
# The version of the consent texts intake shows (services/intake/web.py, consent_*): a row made on
# consent names it, so that one can later tell which words the reporter agreed to.
CONSENT_TEXTS = "intake-consent-2026-11"


@dataclass(frozen=True)
class Disclosure:
    """What one disclosure was: `fields` are names (`description`, `aangever.name`), never values."""
    case_id: object
    channel: str
    recipient_kind: str
    recipient: str
    fields: tuple
    legal_basis: str
    purpose: str
    consent_version: str | None = None
    actor: str | None = None
    status: str = "delivered"
    event_id: object = None
    delivery_id: object = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        for name, value, allowed in (("channel", self.channel, CHANNELS),
                                     ("recipient_kind", self.recipient_kind, RECIPIENT_KINDS),
                                     ("legal_basis", self.legal_basis, LEGAL_BASES),
                                     ("status", self.status, STATUSES)):
            if value not in allowed:
                raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")
        if not self.fields:
            raise ValueError("a disclosure names at least one field")
        if self.legal_basis == "consent" and not self.consent_version:
            raise ValueError("a disclosure on consent names the consent text's version")


def field_names(data: dict, prefix: str = "") -> list[str]:
    """The names of what `data` holds, nested ones dotted (`aangever.name`), empty values left out:
    what a ledger row records of a body that left."""
    names = []
    for key, value in data.items():
        if value is None or value == [] or value == {}:
            continue
        if isinstance(value, dict):
            names += field_names(value, f"{prefix}{key}.")
        else:
            names.append(f"{prefix}{key}")
    return sorted(names)


_INSERT = (
    "INSERT INTO hub.disclosures (case_id, at, service, channel, recipient_kind, recipient, fields, legal_basis, "
    "consent_version, actor, purpose, status, event_id, delivery_id, delivered_at) "
    "VALUES (%s, COALESCE(%s, now()), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "CASE WHEN %s = 'delivered' THEN COALESCE(%s, now()) END)")


def record(uow, disclosure: Disclosure, service: str | None = None, at=None, later: bool = False) -> int | None:
    """Write the row in `uow` (it commits with what is sent); its id. `later`: with the unit of work's next
    statement (`UnitOfWork.execute_later`: with its outbox rows, a round trip fewer), and no id."""
    params = (disclosure.case_id, at, service or uow.service, disclosure.channel, disclosure.recipient_kind,
              disclosure.recipient, sorted(disclosure.fields), disclosure.legal_basis, disclosure.consent_version,
              disclosure.actor, disclosure.purpose, disclosure.status, disclosure.event_id, disclosure.delivery_id,
              disclosure.status, at)
    if later:
        uow.execute_later(_INSERT, params)
        return None
    return uow.fetchone(_INSERT + " RETURNING id", params)["id"]


def delivery_result(uow, delivery_id, ok: bool, error: str | None, give_up: bool, at) -> None:
    """A webhook delivery's outcome reaches its row: delivered, or failed once the sender gave up
    (until then it stays pending, with the last error)."""
    status = "delivered" if ok else ("failed" if give_up else "pending")
    uow.execute("UPDATE hub.disclosures SET status = %s, delivered_at = CASE WHEN %s THEN %s END, "
                "last_error = %s WHERE delivery_id = %s",
                (status, ok, at, None if ok else error, delivery_id)).close()


def redelivery(uow, delivery_id) -> None:
    """A replayed webhook delivery is pending again until it is confirmed."""
    uow.execute("UPDATE hub.disclosures SET status = 'pending', last_error = NULL "
                "WHERE delivery_id = %s AND status = 'failed'", (delivery_id,)).close()


# An AMQP row is delivered when its event left the outbox (published, confirmed by the broker); the
# outbox keeps published events a week, so a row whose event is gone from it was published.
_OF_CASE = """
SELECT d.id, d.case_id, d.at, d.service, d.channel, d.recipient_kind, d.recipient, d.fields, d.legal_basis,
       d.consent_version, d.actor, d.purpose, d.event_id, d.delivery_id,
       CASE WHEN d.channel = 'amqp' AND d.status = 'pending' THEN
              CASE WHEN o.id IS NULL OR o.published_at IS NOT NULL THEN 'delivered' ELSE 'pending' END
            ELSE d.status END AS status,
       CASE WHEN d.channel = 'amqp' AND d.status = 'pending' THEN o.published_at ELSE d.delivered_at END
         AS delivered_at,
       CASE WHEN d.channel = 'amqp' AND d.status = 'pending' THEN o.last_error ELSE d.last_error END AS last_error
  FROM hub.disclosures d
  LEFT JOIN hub.outbox o ON d.channel = 'amqp' AND o.event_id = d.event_id
 WHERE d.case_id = %s
 ORDER BY d.at, d.id
"""


def of_case(uow, case_id) -> list[dict]:
    """The case's ledger, oldest first, each row with the status it has now."""
    return uow.fetchall(_OF_CASE, (case_id,))


def as_json(row: dict) -> dict:
    """A ledger row for an API answer or an export (dates as ISO 8601, ids as strings)."""
    out = {}
    for key, value in row.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif key in ("case_id", "event_id", "delivery_id") and value is not None:
            value = str(value)
        out[key] = value
    return out
