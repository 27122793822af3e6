"""What a zaak follows of a case, as plain decisions: which delivery an event asks for, and the bodies of the
Zaken API's requests. No HTTP, AMQP or SQL here."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# The deliveries a case's events ask for, in the order a case lives them: a zaak with its first status, a
# status when the case is assessed, and its end (a resultaat, then the eindstatus). A case gets each at most
# once (the delivery's key), so an event seen twice, or an override after the triage, adds nothing.
STEPS = ("aanmaken", "beoordeeld", "afsluiten")
EVENT_STEPS = {
    "incident_reported": ("aanmaken", None),
    "incident_triaged": ("beoordeeld", None),
    "triage_overridden": ("beoordeeld", None),
    "incident_closed": ("afsluiten", "afgehandeld"),
    "incident_withdrawn": ("afsluiten", "ingetrokken"),
}
CONSUMES = tuple(EVENT_STEPS)


def step_of(event_type: str) -> tuple[str, str | None] | None:
    """(step, outcome) the event asks of the zaak; None: nothing."""
    return EVENT_STEPS.get(event_type)


def shared_values(payload: dict, allowed: list[str]) -> dict:
    """The case's fields the municipality allows in its zaak (default none), from the event's codes."""
    values = {}
    if "occurred_at" in allowed and payload.get("occurred_at"):
        values["occurred_at"] = payload["occurred_at"]
    if "categories" in allowed and payload.get("reported_categories"):
        values["categories"] = list(payload["reported_categories"])
    return values


def zaak(case_id: str, config: dict, day: str, values: dict) -> dict:
    """The body of POST /zaken. `identificatie` is the hub's case reference: the zaaksysteem's own key for
    the zaak within the bronorganisatie, and how a second attempt finds the zaak the first one made."""
    body = {
        "identificatie": str(case_id),
        "bronorganisatie": config["rsin"],
        "verantwoordelijkeOrganisatie": config["verantwoordelijke_organisatie"] or config["rsin"],
        "zaaktype": config["zaaktype"],
        "startdatum": day,
        "vertrouwelijkheidaanduiding": config["vertrouwelijkheidaanduiding"],
        "omschrijving": "Melding agressie en geweld (Meldpunt Hub)",
        "kenmerken": [{"kenmerk": str(case_id), "bron": "Meldpunt Hub"}],
    }
    if "occurred_at" in values:
        body["toelichting"] = f"Voorval op {values['occurred_at'][:10]}"
    if "categories" in values:
        body["toelichting"] = (body.get("toelichting", "") + " · categorieën: " + ", ".join(values["categories"])).strip(" ·")
    return body


def status(zaak_url: str, statustype: str, at: datetime) -> dict:
    return {"zaak": zaak_url, "statustype": statustype, "datumStatusGezet": at.isoformat(),
            "statustoelichting": "Gezet door Meldpunt Hub"}


def resultaat(zaak_url: str, resultaattype: str) -> dict:
    return {"zaak": zaak_url, "resultaattype": resultaattype}


def day_of(at: datetime) -> str:
    """The Dutch calendar day of a moment (a zaak's startdatum is a date in the municipality's time)."""
    return at.astimezone(AMSTERDAM).date().isoformat()


def backoff(attempts: int, first: float, most: float) -> float:
    """Seconds before the next try after `attempts` failed ones: first, doubling, at most `most`."""
    return min(most, first * (2 ** max(0, attempts - 1)))
