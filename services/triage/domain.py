"""Triage decisions: plain functions from an incident to categories, urgency, decisions and reasons.

The rules come from the region's rules file, read by shared/triage_rules.py (the same reading
intake uses for its acute check); this module adds the consent gates no rules file can lift,
and computes deadlines. Every outcome
carries its reasons in plain Dutch for staff. No nameko, SQL or AMQP here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared import triage_rules as tr
from shared import vocabulary
from shared.workdays import add_working_days

from services.triage import model as second_opinion
from services.triage.rules import Rules, default_rules

URGENCY_RANK = tr.URGENCY_RANK

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
        return vocabulary.URGENCY_PRIORITY[self.urgency]


RULES_MODEL = object()


def model_of(rules: Rules) -> second_opinion.Model | None:
    """The second opinion the rules file names (`model:`), or None."""
    return second_opinion.load_model(rules.model_file) if rules.model_file else None


def triage(incident: dict, rules: Rules | None = None, description: str | None = None,
           model=RULES_MODEL, reading: tr.Reading | None = None) -> TriageResult:
    """Decide on an incident_reported payload (codes and consent) plus, if available, the
    description from the case store — which is read here and never leaves triage. `model`: the
    second opinion (default: the one the rules name; None: rules alone). `reading`: the rules' reading
    of this same report and rules, made before (train_model tries many models on one reading; it is
    two thirds of the time); triage works on a copy."""
    rules = rules or default_rules()
    if model is RULES_MODEL:
        model = model_of(rules)
    if reading is None:
        reading = tr.read_categories(incident, description, rules)
    else:
        reading = replace(reading, categories=set(reading.categories), reasons=list(reading.reasons))
    categories, reasons = reading.categories, reading.reasons
    opinions = model.opinions(reading.analysis, incident) if model is not None and reading.analysis.tokens else {}
    ticked = set(incident["reported_categories"])
    for code in sorted(categories - ticked - second_opinion.NEVER_DOUBTED):
        found = opinions.get(code)
        if found and found.probability < model.doubt_category:
            categories.discard(code)
            reasons.append(f"De regels vonden {code}, maar dit lijkt niet op zulke meldingen (tweede mening, "
                           f"{found.probability:.0%}): niet overgenomen; een medewerker beoordeelt.")
    doubted = _doubted_weak(incident, categories, reading, opinions, model, rules) if opinions else {}
    for code, (found, hit) in doubted.items():
        categories.discard(code)
        reasons.append(f"De regels vonden {code} ('{hit.words}') op één plek, maar dit lijkt niet op zulke meldingen "
                       f"(tweede mening, {found.probability:.0%}): niet overgenomen; een medewerker beoordeelt.")
    rules_found = set(categories)
    added = {}
    for code in rules.categories:
        found = opinions.get(code)
        if found and code not in categories and found.probability >= model.adds_from(rules_found, code):
            if code in reading.ruled_out or code in second_opinion.NEVER_ADDED:
                continue   # the rules read its words and said why they do not count (their reason stands)
            if reading.analysis.calls_harmless:
                continue   # the reporter says in his own words that nothing was wrong ("niks aan de hand")
            added[code] = found
    for code, found in added.items():
        if (rules_found | set(added)) & second_opinion.NOT_ADDED_BESIDE.get(code, frozenset()):
            continue   # a sexual or discriminating remark, found by the rules or the second opinion: a threat in it is
            # the rules' to read
        categories.add(code)
        categories.discard("overig")
        reasons.append(f"Lijkt op meldingen van het type {code} (tweede mening, {found.probability:.0%}; "
                       f"woorden: {', '.join(found.words)}); een medewerker beoordeelt.")
    if len(categories) > 1:
        categories.discard("overig")
    if not categories:
        # nothing left, or nothing found
        categories = {"overig"}
        reasons.append("Melder koos geen categorie en de omschrijving gaf geen aanwijzing: voorlopig "
                       "'overig', beoordeling door medewerker nodig.")
    reasons += tr.derive_categories(incident, categories, reading.analysis, rules)

    urgency, urgency_reason = tr.urgency_of(incident, categories, reading.analysis, rules)
    reasons.append(urgency_reason)
    weighty = sorted(set(doubted) & urgent_categories(rules))
    if weighty and URGENCY_RANK[urgency] < URGENCY_RANK["normaal"]:
        # the rules read words of a threat (or violence, ...) the second opinion doubts: not 'laag' on that doubt alone
        urgency = "normaal"
        reasons.append(f"De regels vonden woorden van {', '.join(weighty)}: niet 'laag' maar 'normaal'; een medewerker "
                       "beoordeelt.")
    if opinions and model.keep_normaal is not None and URGENCY_RANK[urgency] < URGENCY_RANK["normaal"]:
        likely = max((o for label, o in opinions.items() if label in urgent_categories(rules)),
                     key=lambda o: o.probability, default=None)
        if likely and likely.probability >= model.keep_normaal:
            urgency = "normaal"
            reasons.append(f"De tweede mening ziet iets van {likely.label} ({likely.probability:.0%}; woorden: "
                           f"{', '.join(likely.words)}): niet 'laag' maar 'normaal'; een medewerker beoordeelt.")
    acute = opinions.get(second_opinion.ACUTE)
    if acute:
        raised = "acuut" if acute.probability >= model.acute_acuut else \
            "hoog" if acute.probability >= model.acute_hoog else None
        if raised and URGENCY_RANK[raised] > URGENCY_RANK[urgency]:
            urgency = raised
            reasons.append(f"Lijkt op acute meldingen (tweede mening, {acute.probability:.0%}; woorden: "
                           f"{', '.join(acute.words)}): urgentie '{raised}'; een medewerker beoordeelt of het acuut is.")

    decisions, consent = [], incident["consent"]
    for rule in rules.decisions:
        decision = rule["decision"]
        if decision in decisions:
            continue
        words = tr.holds(rule["when"], incident, categories, reading.analysis, rules)
        if words is None:
            continue
        gate = CONSENT_GATES.get(decision)
        if gate and not consent[gate[0]]:
            if gate[1] and gate[1] not in reasons:
                reasons.append(gate[1])
            continue
        decisions.append(decision)
        reasons.append(rule["reason"].replace("{word}", words))
    decisions = [d for d in vocabulary.DECISIONS if d in decisions]

    intensity = rules.aftercare_intensity[urgency] if "aftercare" in decisions else None
    if intensity:
        reasons.append(f"Nazorg met intensiteit '{intensity}' (bij urgentie '{urgency}').")
    ordered = [c for c in vocabulary.category_codes() if c in categories]
    ordered += sorted(categories - set(ordered))
    return TriageResult(ordered, urgency, decisions, reasons, rules.version, intensity)


def _doubted_weak(incident: dict, categories: set, reading: tr.Reading, opinions: dict, model, rules: Rules) -> dict:
    """The categories the rules found on weak evidence that the second opinion finds unlikely (`doubt_weak`):
    {code: (its opinion, the one place the rules found it)}. Weak: the category's words count in one place only of
    the report (one word or phrase). Not a category the reporter ticked, not verbal aggression or discrimination
    (model.NEVER_DOUBTED_WEAK), and never one the rules need for 'acuut': a weapon with 'now' stays acute."""
    if model.doubt_weak is None:
        return {}
    doubted = {}
    for code in sorted(categories - set(incident["reported_categories"]) - second_opinion.NEVER_DOUBTED_WEAK - {"overig"}):
        found = opinions.get(code)
        if found and found.probability < model.doubt_weak:
            places = tr.places_of(code, reading.analysis, rules)
            if len(places) == 1:
                doubted[code] = (found, places[0])
    if doubted and _urgency_by_rules(incident, categories, reading, rules) == "acuut":
        for code in list(doubted):
            if _urgency_by_rules(incident, categories - {code}, reading, rules) != "acuut":
                del doubted[code]
    return doubted


def _urgency_by_rules(incident: dict, categories: set, reading: tr.Reading, rules: Rules) -> str:
    """The urgency the rules give these categories (with those derived from them)."""
    categories = set(categories) or {"overig"}
    tr.derive_categories(incident, categories, reading.analysis, rules)
    return tr.urgency_of(incident, categories, reading.analysis, rules)[0]


def urgent_categories(rules: Rules) -> frozenset:
    """The categories a rule of the rules file can make hoog or acuut (a threat, violence, doxing, ...): where the
    second opinion finds one of them likely, a report is not judged laag (`keep_normaal`)."""
    return frozenset(code for rule in rules.urgency if URGENCY_RANK[rule["urgency"]] >= URGENCY_RANK["hoog"]
                     for code in rule["when"].get("categories_any", ()))


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
