"""Triage's statistical second opinion (docs/triage.md, "The second opinion"): a small logistic
regression per category, and one for acute danger, on the lemmas of a report, trained on the
development parts of the labelled corpus (services/triage/train_model.py) and stored as a JSON file
beside the region's rules. Pure Python at run time: no scikit-learn, no numpy, no pickle.

It only adds: a category the rules did not find, or a higher urgency, each with a reason that names
the model's words ("lijkt op meldingen van het type bedreiging: mes, onderweg"). The rules keep the
last word on urgency floors, and consent gates stay where they are (services/triage/domain.py).
"""
from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from shared import dutch_phrases as dp

FORMAT = 1
ACUTE = "acuut"   # the label of the acute-danger model beside the category codes
# Categories the second opinion never takes away, however unlikely it finds them: what keeps a
# report urgent is the rules' business alone.
NEVER_DOUBTED = frozenset({"bedreiging", "fysiek_geweld"})
# Categories the second opinion never doubts where the rules found them in one place only (`doubt_weak`): an insult
# or a slur is what it is whatever the report around it, and the lexicon reads them (cross-hand, nine hands: doubting
# them too read 0.001 F1 worse); a threat stays the rules' to decide, as for `doubt_category` (thirteen hands: doubting
# it too read F1 +0.003 more, but bedreiging recall 0.887 -> 0.880, and a missed threat weighs more).
NEVER_DOUBTED_WEAK = frozenset({"verbale_agressie", "discriminatie", "bedreiging"})
# Categories the second opinion never adds: verbal aggression is words said (shouting, swearing, an
# insult), which the rules' lexicon reads; the model's "looks like" for it was wrong 34 times in 37 on the
# training split (out of fold, vr19-2026.5) and cost precision and recall on the validation split.
NEVER_ADDED = frozenset({"verbale_agressie"})
# A category the second opinion does not add beside these categories: a sexual or discriminating
# remark is words said to someone, which a bag of lemmas reads like a threat's, and a threat in such words is the
# rules' to read (cross-hand over seventeen hands, vr19-2026.11: its threats beside them were right 2 and wrong 44
# times).
# Since vr19-2026.14 no doxing beside a discriminating remark either: a slur names a person's origin or faith, which
# the model reads like personal data (cross-hand over seventeen hands: its doxing there was right 0 and wrong 5 times).
# Since vr19-2026.16 also beside those categories the second opinion adds itself in the same report (services/triage/
# domain.py weighs all its additions together): a sexual remark it reads is words said as well (cross-hand over
# seventeen hands, fold models fixed: its threats there were right 2 and wrong 18 times).
NOT_ADDED_BESIDE = {"bedreiging": frozenset({"seksuele_intimidatie", "discriminatie"}),
                    "doxing": frozenset({"discriminatie"})}
META_FIELDS = ("location_type", "target_role", "channel")
# Crimes against the person (tests/triage_corpus/README.md): where the rules found one, the model's
# further categories need `add_beside_rules`; where they found none, it reads alone from `add_category`.
AGAINST_THE_PERSON = frozenset({"verbale_agressie", "bedreiging", "intimidatie", "fysiek_geweld", "discriminatie",
                                "seksuele_intimidatie", "doxing"})
# Ondermijning the rules found (a bribe offered, criminal pressure around a decision) counts as a crime found for the
# thresholds: beside it alone every category needs `add_beside_rules`, a threat too (its lower own threshold is for
# where a missed threat costs urgency; ondermijning makes the report hoog already). Offers and favours are words a bag
# of lemmas reads like a veiled threat's or like pressure (cross-hand over seventeen hands, vr19-2026.14: beside
# ondermijning alone its threats below 0.60 were right 0 and wrong 17 times, its intimidatie right 1 and wrong 7).
CRIME_FOUND = AGAINST_THE_PERSON | {"ondermijning"}


# Words that weigh in the model but explain nothing to a reader ("van een", "jaar of"): a reason names
# the report's words that weighed most among the others.
FUNCTION_WORDS = frozenset(
    "de het een en of van in op aan te met voor bij naar om uit over door tot als dan dat die dit deze er "
    "hier daar nog al ook wel niet geen maar want dus toen zo heel erg jaar keer ik jij je u hij zij ze "
    "wij we jullie mij me hem haar ons zijn hebben worden zullen kunnen mogen moeten gaan doen zeggen "
    "staan mijn jouw uw hun onze wat wie waar hoe wanneer".split())


class ModelError(ValueError):
    """A model file that cannot be used; the message names the file and what is wrong."""


def features(analysis: dp.Analysis, incident: dict | None = None) -> dict[str, int]:
    """What the model reads of a report: each lemma (`w:`), each pair of neighbouring lemmas in a
    sentence (`b:`), and the structured fields (`m:`). Counts per feature."""
    out: dict[str, int] = {}
    toks = analysis.tokens
    for tok in toks:
        key = "w:" + tok.lemma
        out[key] = out.get(key, 0) + 1
    for a, b in zip(toks, toks[1:]):
        if a.sentence == b.sentence:
            key = f"b:{a.lemma}_{b.lemma}"
            out[key] = out.get(key, 0) + 1
    for name in META_FIELDS:
        if incident and incident.get(name):
            out[f"m:{name}={incident[name]}"] = 1
    return out


def vectorise(counts: dict[str, int], vocabulary: dict[str, int],
              idf: tuple[float, ...] | list[float]) -> dict[int, float]:
    """TF-IDF of one report as {column: weight}: 1 + ln(count) times the idf, scaled to length 1.
    The training script builds its matrix with this same function, so training and use agree."""
    row = {}
    for feature, count in counts.items():
        col = vocabulary.get(feature)
        if col is not None:
            row[col] = (1.0 + math.log(count)) * idf[col]
    norm = math.sqrt(sum(w * w for w in row.values()))
    return {c: w / norm for c, w in row.items()} if norm else {}


@dataclass(frozen=True)
class Opinion:
    label: str            # a category code or 'acuut'
    probability: float
    words: tuple          # the report's words that weighed most for it, as lemmas


@dataclass(frozen=True)
class Model:
    version: str
    labels: tuple                 # category codes, then 'acuut'
    features: tuple               # column -> feature
    idf: tuple
    coef: tuple                   # per label: {column: weight}
    intercept: tuple
    add_category: float           # a category is added from this probability on
    acute_hoog: float             # acute danger this likely: at least hoog
    acute_acuut: float            # acute danger this likely: acuut
    doubt_category: float = 0.0   # a rule's category this unlikely (not a threat or violence) is doubted
    # a category beside those the rules found is added only from this probability on (default: add_category)
    add_beside_rules: float | None = None
    # a category's own thresholds in place of the two above (vr19-model-2026.7: a threat keeps the lower ones)
    add_category_for: dict = field(default_factory=dict, compare=False)
    add_beside_rules_for: dict = field(default_factory=dict, compare=False)
    # a report judged below normaal (nothing found: 'overig') stays normaal when a category the rules can make hoog
    # (domain.urgent_categories) is this likely
    keep_normaal: float | None = None
    # a category the rules found in one place only (one word or phrase: triage_rules.places_of) that the model finds
    # less likely than this is not taken (not verbal aggression or discrimination, not a tick, never one that makes
    # the report acute by the rules)
    doubt_weak: float | None = None
    source: str = ""
    vocabulary: dict = field(default_factory=dict, compare=False, repr=False)   # feature -> column

    def adds_from(self, rules_found: set, code: str | None = None) -> float:
        """The probability from which the model adds a category (`code`) to those the rules found: `add_category`
        where they found no crime against the person (the model is then the report's first reader of
        one: referral and urgency follow from it), `add_beside_rules` beside one they found; the category's own
        threshold where the model file names one (`add_category_for`, `add_beside_rules_for`). Beside ondermijning
        alone (CRIME_FOUND) `add_beside_rules` for every category."""
        if rules_found & AGAINST_THE_PERSON and self.add_beside_rules is not None:
            return self.add_beside_rules_for.get(code, self.add_beside_rules)
        if rules_found & CRIME_FOUND and self.add_beside_rules is not None:
            # ondermijning alone: the report is hoog already, so no category keeps a lower threshold of its own here
            return self.add_beside_rules
        return self.add_category_for.get(code, self.add_category)

    def opinions(self, analysis: dp.Analysis, incident: dict | None = None) -> dict[str, Opinion]:
        """The probability of every label for this report, with the words that weighed most."""
        row = vectorise(features(analysis, incident), self.vocabulary, self.idf)  # read only: no copy per report
        out = {}
        for label, weights, bias in zip(self.labels, self.coef, self.intercept):
            # a feature without a weight for this label adds 0.0 to the sum: left out, the sum is the same
            parts = [(weights[c] * x, c) for c, x in row.items() if c in weights]
            z = bias + sum(p for p, _ in parts)
            probability = 1.0 / (1.0 + math.exp(-z))
            told = [(p, c) for p, c in parts if p > 0 and _telling(self.features[c])]
            words = [_shown(self.features[c]) for _, c in heapq.nlargest(3, told)]
            out[label] = Opinion(label, probability, tuple(words))
        return out


@lru_cache(maxsize=None)   # a model's features, each asked for every label of every report it weighs in
def _telling(feature: str) -> bool:
    """A word or word pair a reader can follow: not a structured field, not only function words."""
    return not feature.startswith("m:") and any(w not in FUNCTION_WORDS for w in feature[2:].split("_"))


def _shown(feature: str) -> str:
    return feature[2:].replace("_", " ")


def parse_model(raw, where: str = "model") -> Model:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ModelError(f"{where}: not a triage model file of format {FORMAT}")
    try:
        features_ = tuple(raw["features"])
        labels = tuple(raw["labels"])
        coef = tuple({int(c): float(w) for c, w in per.items()} for per in raw["coef"])
        model = Model(version=str(raw["version"]), labels=labels, features=features_,
                      idf=tuple(float(x) for x in raw["idf"]), coef=coef,
                      intercept=tuple(float(x) for x in raw["intercept"]),
                      add_category=float(raw["thresholds"]["add_category"]),
                      acute_hoog=float(raw["thresholds"]["acute_hoog"]),
                      acute_acuut=float(raw["thresholds"]["acute_acuut"]),
                      doubt_category=float(raw["thresholds"].get("doubt_category", 0.0)),
                      add_beside_rules=(float(raw["thresholds"]["add_beside_rules"])
                                        if "add_beside_rules" in raw["thresholds"] else None),
                      keep_normaal=(float(raw["thresholds"]["keep_normaal"])
                                    if "keep_normaal" in raw["thresholds"] else None),
                      doubt_weak=(float(raw["thresholds"]["doubt_weak"])
                                  if "doubt_weak" in raw["thresholds"] else None),
                      add_category_for={str(c): float(t) for c, t in raw["thresholds"].get("add_category_for", {}).items()},
                      add_beside_rules_for={str(c): float(t)
                                            for c, t in raw["thresholds"].get("add_beside_rules_for", {}).items()},
                      source=where,
                      vocabulary={f: i for i, f in enumerate(features_)})
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{where}: {exc.__class__.__name__}: {exc}") from None
    if len(model.idf) != len(features_) or not (len(coef) == len(labels) == len(model.intercept)):
        raise ModelError(f"{where}: features, idf, labels, coef and intercept do not agree in length")
    if any(c >= len(features_) or c < 0 for per in coef for c in per):
        raise ModelError(f"{where}: a weight names a feature that is not there")
    return model


@lru_cache(maxsize=8)
def load_model(path) -> Model:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: triage model file not found") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON at line {exc.lineno}") from None
    return parse_model(raw, str(path))
