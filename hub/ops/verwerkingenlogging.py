"""The audit log in the shape of VNG's Verwerkingenlogging API (issue 24, item 6): each `hub.audit_log` row
as a *verwerkingsactie*, the body of `POST /verwerkingsacties`, for a municipality's central log of processing
(Common Ground).

Plain code over rows already read; `meldpunt audit export CODE --format verwerkingenlogging` wires it in.
The API's document (Bewerking API 0.9.0, EUPL 1.2) is vendored in tools/verwerkingenlogging/ and the tests
post every exported action to a server that validates it against that document.
"""
from __future__ import annotations

import hashlib

# The processing as the municipality registers it (its verwerkingsactiviteitenregister names it).
VERWERKING = "Meldpunt agressie en geweld tegen medewerkers met een publieke taak"
SYSTEEM = "Meldpunt Hub"
# A report of aggression is confidential: a citizen's own view of the log shows it only after the
# municipality lifts it (the API's PATCH of vertrouwelijkheid).
VERTROUWELIJKHEID = "vertrouwelijk"


def gebruiker(actor: str) -> str:
    """The actor's identifier, without the display name the audit keeps beside it
    (`person:<sub> (<name>, <role>)` -> `person:<sub>`); the API allows 40 characters, so a longer
    identifier is given as its SHA-256 prefix (the same person, the same value)."""
    ident = actor.split(" (", 1)[0]
    if len(ident) <= 40:
        return ident
    return "sha256:" + hashlib.sha256(ident.encode()).hexdigest()[:32]


def verwerkingsactie(row: dict, code: str, retention_years: int, *,
                     verwerkingsactiviteit_url: str | None = None, oin: str | None = None) -> dict:
    """One audit row (`at`, `actor`, `action`, `subject`, `case_id`) as the body of `POST /verwerkingsacties`.
    The case id is the verwerking's id (the API's rule: a process with its own UUID uses it) and the object
    processed, as the hub knows the people of a case: by the case, never a BSN. What the log assigns itself
    (`url`, `actieId`, `tijdstipRegistratie`, read-only in the document) is left to it; the audit's reason
    has no field and stays out."""
    body = {
        "actieNaam": f"{row['action']} {row['subject']}"[:242],
        "handelingNaam": row["action"][:242],
        "verwerkingNaam": VERWERKING,
        "vertrouwelijkheid": VERTROUWELIJKHEID,
        "bewaartermijn": f"P{retention_years}Y",
        "systeem": SYSTEEM,
        "gebruiker": gebruiker(row["actor"]),
        "gegevensbron": f"meldpunt case store {code}",
        "tijdstip": row["at"].isoformat(),
        "verwerkteObjecten": [],
    }
    if verwerkingsactiviteit_url:
        body["verwerkingsactiviteitUrl"] = verwerkingsactiviteit_url
    if oin:
        body["uitvoerder"] = oin
    if row.get("case_id"):
        case_id = str(row["case_id"])
        body["verwerkingId"] = case_id
        body["verwerkteObjecten"].append({
            "objecttype": "persoon",
            "soortObjectId": "meldpuntZaakId",
            "objectId": case_id,
            "betrokkenheid": "betrokkene bij een melding",
            "verwerkteSoortenGegevens": [{"soortGegeven": row["subject"][:242]}],
        })
    return body


def verwerkingsacties(rows, code: str, retention_years: int, **options) -> list[dict]:
    return [verwerkingsactie(row, code, retention_years, **options) for row in rows]
