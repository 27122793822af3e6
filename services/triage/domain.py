"""Triage decisions: plain functions from an incident to categories, urgency, decisions and reasons.

The rules come from the region's rules file (services/triage/rules.py); this module only
applies them, adds the consent gates no rules file can lift, and computes deadlines.
Every outcome carries its reasons in plain Dutch for staff. No nameko, SQL or AMQP here.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared import vocabulary as v
from shared.workdays import add_working_days

from services.triage.rules import Rules, default_rules

URGENCY_RANK = {u: i for i, u in enumerate(reversed(v.URGENCIES))}  # laag 0 … acuut 3

# Consent no rule can do without: a decision is only taken when the reporter agreed.
CONSENT_GATES = {
    "police_referral": ("police_referral",
                        "Strafbaar feit, maar de melder gaf geen toestemming voor doorverwijzing naar politie."),
    "aftercare": ("contact", "Nazorg aangeboden, maar de melder wil of kan geen contact: geen nazorgcontact gepland."),
    "inform_manager": ("inform_manager", None),
}


@dataclass
class TriageResult:
    categories: list[str]
    urgency: str
    decisions: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    rules_version: str = ""
    aftercare_intensity: str | None = None

    @property
    def priority(self) -> int:
        return v.URGENCY_PRIORITY[self.urgency]


def normalise_text(text: str | None) -> str:
    """Lower case, accents removed, whitespace collapsed: 'Vermóórden!' matches 'vermoorden'."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def _contains(text: str, word: str) -> bool:
    return _word_pattern(word).search(text) is not None


@functools.lru_cache(maxsize=4096)
def _word_pattern(word: str) -> re.Pattern:
    """A rules word as a whole-word pattern, normalised and compiled once (not per incident)."""
    return re.compile(rf"(?<!\w){re.escape(normalise_text(word))}(?!\w)")


def _matches(when: dict, incident: dict, categories: set, text: str) -> bool:
    if "categories_any" in when and not categories & set(when["categories_any"]):
        return False
    if "only_categories" in when and not categories <= set(when["only_categories"]):
        return False
    if "location_types" in when and incident["location_type"] not in when["location_types"]:
        return False
    if "target_roles" in when and incident["target_role"] not in when["target_roles"]:
        return False
    if "keywords_any" in when and not any(_contains(text, w) for w in when["keywords_any"]):
        return False
    if "reported_any_category" in when and bool(incident["reported_categories"]) != when["reported_any_category"]:
        return False
    return True


def triage(incident: dict, rules: Rules | None = None, description: str | None = None) -> TriageResult:
    """Decide on an incident_reported payload (codes and consent) plus, if available, the
    description from the case store — which is read here and never leaves triage."""
    rules = rules or default_rules()
    text = normalise_text(description)
    reasons = []
    reported = [c for c in dict.fromkeys(incident["reported_categories"])]
    categories = {c for c in reported if c in rules.categories}
    for c in reported:
        if c not in rules.categories:
            categories.add("overig")
            reasons.append(f"Categorie '{c}' wordt in deze regio niet gebruikt: als 'overig' behandeld.")

    telling = [c for c in reported if c != "overig"]  # 'overig' says nothing about what happened
    if text and len(telling) <= rules.keywords_apply_when_reported_at_most:
        for kw in rules.keywords:
            if kw["category"] in categories:
                continue
            hit = next((w for w in kw["words"] if _contains(text, w)), None)
            if hit:
                categories.add(kw["category"])
                reasons.append(kw["reason"].replace("{word}", hit))
    if len(categories) > 1:
        categories.discard("overig")
    if not categories:
        categories = {"overig"}
        reasons.append("Melder koos geen categorie en de omschrijving gaf geen aanwijzing: voorlopig "
                       "'overig', beoordeling door medewerker nodig.")

    urgency, urgency_reason = rules.default_urgency, None
    for rule in rules.urgency:
        if not _matches(rule["when"], incident, categories, text):
            continue
        # the highest matching urgency wins; the first rule reaching it explains it
        if urgency_reason is None or URGENCY_RANK[rule["urgency"]] > URGENCY_RANK[urgency]:
            urgency, urgency_reason = rule["urgency"], rule["reason"]
    reasons.append(urgency_reason or f"Geen bijzondere omstandigheden: urgentie '{urgency}'.")

    decisions, consent = [], incident["consent"]
    for rule in rules.decisions:
        decision = rule["decision"]
        if decision in decisions or not _matches(rule["when"], incident, categories, text):
            continue
        gate = CONSENT_GATES.get(decision)
        if gate and not consent[gate[0]]:
            if gate[1]:
                reasons.append(gate[1])
            continue
        decisions.append(decision)
        reasons.append(rule["reason"])
    decisions = [d for d in v.DECISIONS if d in decisions]

    intensity = rules.aftercare_intensity[urgency] if "aftercare" in decisions else None
    if intensity:
        reasons.append(f"Nazorg met intensiteit '{intensity}' (bij urgentie '{urgency}').")
    ordered = [c for c in v.CATEGORIES if c in categories]
    return TriageResult(ordered, urgency, decisions, reasons, rules.version, intensity)


def refused_by_consent(decisions, consent: dict) -> list[str]:
    """Why a set of decisions (e.g. from a staff override) needs consent the reporter did not give."""
    return [f"{d} needs the reporter's consent '{CONSENT_GATES[d][0]}'" for d in decisions
            if d in CONSENT_GATES and not consent.get(CONSENT_GATES[d][0])]


def due_at(received_at: datetime, urgency: str, rules: Rules | None = None) -> datetime:
    """When triage must be done: acute within `acute_minutes`, otherwise within `working_days`
    Dutch working days (weekends and public holidays do not count)."""
    rules = rules or default_rules()
    if urgency == "acuut":
        return received_at + timedelta(minutes=rules.acute_minutes)
    return add_working_days(received_at, rules.working_days)


def is_overdue(due: datetime, confirmed: bool, now: datetime) -> bool:
    return not confirmed and now >= due
