"""Triage rules: plain functions from an incident's classifications to a decision with reasons.

These are the foundation's basic rules; the triage issue replaces them with a versioned
rules file per region. Every outcome carries its reasons in plain Dutch for staff.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from shared import vocabulary as v

RULES_VERSION = "basis-1"

# Criminal offences for which a police referral is recommended (with consent).
OFFENCES = {"bedreiging", "fysiek_geweld", "intimidatie", "vernieling", "verbale_agressie", "discriminatie"}
SERIOUS = {"bedreiging", "fysiek_geweld", "ondermijning"}


@dataclass
class TriageResult:
    categories: list[str]
    urgency: str
    decisions: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    rules_version: str = RULES_VERSION

    @property
    def priority(self) -> int:
        return v.URGENCY_PRIORITY[self.urgency]


def triage(incident: dict) -> TriageResult:
    """Decide on an incident_reported payload (codes and consent only)."""
    categories = sorted(set(incident["reported_categories"])) or ["overig"]
    cats = set(categories)
    reasons = []
    if not incident["reported_categories"]:
        reasons.append("Melder koos geen categorie: voorlopig 'overig', beoordeling door medewerker nodig.")

    at_home = incident["location_type"] == "woning"
    if cats & {"bedreiging", "fysiek_geweld"} and at_home:
        urgency = "acuut"
        reasons.append("Bedreiging of geweld bij het woonadres: acuut.")
    elif cats & SERIOUS:
        urgency = "hoog"
        reasons.append("Bedreiging, fysiek geweld of ondermijning: hoge urgentie.")
    elif cats <= {"overig"}:
        urgency = "laag" if incident["reported_categories"] else "normaal"
    else:
        urgency = "normaal"

    consent = incident["consent"]
    decisions = []
    if cats & OFFENCES:
        if consent["police_referral"]:
            decisions.append("police_referral")
            reasons.append("Strafbaar feit en de melder wil hulp bij aangifte: doorverwijzen naar politie.")
        else:
            reasons.append("Strafbaar feit, maar de melder gaf geen toestemming voor doorverwijzing naar politie.")
    if consent["contact"]:
        decisions.append("aftercare")
        reasons.append("Opvang en nazorg aanbieden.")
    else:
        reasons.append("Geen contact mogelijk of gewenst: geen nazorgcontact gepland.")
    if incident["target_role"] in v.POLITICAL_OFFICE_HOLDERS:
        decisions.append("inform_mayor")
        reasons.append("Politiek ambtsdrager geraakt: burgemeester informeren.")
    if "ondermijning" in cats:
        decisions.append("riec_signal")
        reasons.append("Signaal van ondermijning: minimaal signaal naar het RIEC.")
    if consent["inform_manager"]:
        decisions.append("inform_manager")
        reasons.append("Melder gaf toestemming om de leidinggevende te informeren.")
    if at_home and cats & {"bedreiging", "intimidatie", "fysiek_geweld"}:
        decisions.append("safety_advice")
        reasons.append("Incident bij het woonadres: veiligheidsadvies (woningscan) aanbieden.")
    return TriageResult(categories, urgency, decisions, reasons)
