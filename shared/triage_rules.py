"""A region's triage rules file: its schema, its validation at load, and how its rules read one
report (categories and urgency). Pure: triage decides with it, and intake runs the same acute
check on every report it accepts (docs/triage.md). The language underneath is shared/dutch_phrases.py.

Rules are data so that a region changes its triage without a release; every result stores
the rules `version` it was decided by.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import yaml
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared import dutch_phrases as dp
from shared import vocabulary
from shared.config import REPO_ROOT, ConfigError, read_yaml

DEFAULT_RULES_FILE = REPO_ROOT / "deploy" / "rules" / "vr19-triage.yaml"

URGENCY_RANK = {u: i for i, u in enumerate(reversed(vocabulary.URGENCIES))}  # laag 0 … acuut 3

PATTERN = validate.Length(min=2, max=200)
GROUP_NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")


class RulesError(ConfigError):
    """A rules file that cannot be used; the message names the file and the field."""


def _codes(values):
    return validate.OneOf(values)


CATEGORY = validate.Regexp(vocabulary.CATEGORY_CODE, error="must be a category code: 3-32 lower-case letters, digits or '_'")


class WhenSchema(Schema):
    categories_any = fields.List(fields.String(validate=CATEGORY))
    only_categories = fields.List(fields.String(validate=CATEGORY))
    categories_none = fields.List(fields.String(validate=CATEGORY))   # none of these among the categories
    location_types = fields.List(fields.String(validate=_codes(vocabulary.LOCATION_TYPES)))
    target_roles = fields.List(fields.String(validate=_codes(vocabulary.TARGET_ROLES)))
    keywords_any = fields.List(fields.String(validate=PATTERN))   # the first name of patterns_any
    patterns_any = fields.List(fields.String(validate=PATTERN))
    patterns_all = fields.List(fields.String(validate=PATTERN))
    reported_any_category = fields.Boolean()
    direct_danger = fields.Boolean()
    described = fields.Boolean()   # the report has a description (text) at all


class KeywordSchema(Schema):
    category = fields.String(required=True, validate=CATEGORY)
    words = fields.List(fields.String(validate=PATTERN), validate=validate.Length(min=1))
    patterns = fields.List(fields.String(validate=PATTERN), validate=validate.Length(min=1))
    # not when one of these is found in the same sentence ("dreigen" with "advocaat": no threat of harm)
    unless = fields.List(fields.String(validate=PATTERN), load_default=list)
    # the same, where the words show another sense of the pattern ("het dreigt mis te gaan", "het mes in de
    # kantine"): the category's words were read and are harmless here, so the second opinion does not add
    # it back either (an `unless` exception is context, and leaves the second opinion free)
    other_senses = fields.List(fields.String(validate=PATTERN), load_default=list)
    # true: words inside quotation marks (what the perpetrator is quoted as saying) do not count, so "hij riep
    # 'ik sla je kop in'" is a threat, not violence told; the second opinion does not add it for them either
    outside_quotes = fields.Boolean(load_default=False)
    reason = fields.String(required=True, validate=validate.Length(min=1))

    @validates_schema
    def _something_to_find(self, data, **kwargs):
        if not data.get("words") and not data.get("patterns"):
            raise ValidationError("give words or patterns", "patterns")


class DerivedCategorySchema(Schema):
    """A category that follows from others and the circumstances: vandalism at the home is intimidation too."""
    when = fields.Nested(WhenSchema, required=True)
    category = fields.String(required=True, validate=CATEGORY)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class UrgencyRuleSchema(Schema):
    when = fields.Nested(WhenSchema, required=True)
    urgency = fields.String(required=True, validate=_codes(vocabulary.URGENCIES))
    reason = fields.String(required=True, validate=validate.Length(min=1))


class DecisionRuleSchema(Schema):
    when = fields.Nested(WhenSchema, required=True)
    decision = fields.String(required=True, validate=_codes(vocabulary.DECISIONS))
    reason = fields.String(required=True, validate=validate.Length(min=1))


class DeadlinesSchema(Schema):
    working_days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10))
    acute_minutes = fields.Integer(load_default=60, validate=validate.Range(min=5, max=24 * 60))


class OwnCategorySchema(Schema):
    """A category of this region's own: a code (never free text: pattern and length) and its name."""
    code = fields.String(required=True, validate=CATEGORY)
    name = fields.String(required=True, validate=validate.Length(min=2, max=60))
    description = fields.String(load_default=None, validate=validate.Length(max=300))


class RulesFileSchema(Schema):
    version = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9._-]{1,40}$", error="must be 1-40 letters, digits, '.', '_' or '-'"))
    own_categories = fields.List(fields.Nested(OwnCategorySchema), load_default=list,
                                 validate=validate.Length(max=vocabulary.MAX_OWN_CATEGORIES))
    categories = fields.List(fields.String(validate=CATEGORY), required=True, validate=validate.Length(min=1))
    lexicon = fields.Dict(keys=fields.String(validate=validate.Regexp(GROUP_NAME, error="must be a group name: "
                                                                      "lower-case letters, digits, '_'")),
                          values=fields.List(fields.String(validate=PATTERN), validate=validate.Length(min=1)),
                          load_default=dict)
    keywords_apply_when_reported_at_most = fields.Integer(load_default=1, validate=validate.Range(min=0, max=40))
    # `always`: the categories the reporter ticked count; `fallback`: only when the description shows none
    reported_categories = fields.String(load_default="always", validate=_codes(("always", "fallback")))
    keywords = fields.List(fields.Nested(KeywordSchema), load_default=list)
    derived_categories = fields.List(fields.Nested(DerivedCategorySchema), load_default=list)
    default_urgency = fields.String(load_default="normaal", validate=_codes(vocabulary.URGENCIES))
    urgency = fields.List(fields.Nested(UrgencyRuleSchema), load_default=list)
    decisions = fields.List(fields.Nested(DecisionRuleSchema), required=True)
    aftercare_intensity = fields.Dict(keys=fields.String(validate=_codes(vocabulary.URGENCIES)),
                                      values=fields.String(validate=validate.Length(min=1, max=40)),
                                      required=True)
    deadlines = fields.Nested(DeadlinesSchema, load_default=lambda: DeadlinesSchema().load({}))
    # triage's second opinion (services/triage/model.py): a model file beside this rules file
    model = fields.String(load_default=None, validate=validate.Regexp(
        r"^[A-Za-z0-9._-]{1,80}\.json$", error="must be the name of a .json file beside the rules file"))

    @validates_schema
    def _consistent(self, data, **kwargs):
        own = [c["code"] for c in data.get("own_categories", [])]
        for i, code in enumerate(own):
            if code in vocabulary.CATEGORIES:
                raise ValidationError(f"{code} is one of the hub's categories already", f"own_categories.{i}.code")
            if code in own[:i]:
                raise ValidationError(f"{code} is listed twice", f"own_categories.{i}.code")
        known = set(vocabulary.CATEGORIES) | set(own)
        for i, code in enumerate(data["categories"]):
            if code not in known:
                raise ValidationError(f"'{code}' is not a category: use one of {', '.join(vocabulary.CATEGORIES)}, "
                                      "or declare it under own_categories", f"categories.{i}")
        if "overig" not in data["categories"]:
            raise ValidationError("must include 'overig'", "categories")
        missing = set(vocabulary.URGENCIES) - set(data["aftercare_intensity"])
        if missing:
            raise ValidationError(f"misses {', '.join(sorted(missing))}", "aftercare_intensity")
        for i, kw in enumerate(data.get("keywords", [])):
            if kw["category"] not in data["categories"]:
                raise ValidationError(f"category {kw['category']} is not in this region's categories",
                                      f"keywords.{i}.category")
        for i, rule in enumerate(data.get("derived_categories", [])):
            if rule["category"] not in data["categories"]:
                raise ValidationError(f"category {rule['category']} is not in this region's categories",
                                      f"derived_categories.{i}.category")
        for section in ("derived_categories", "urgency", "decisions"):
            for i, rule in enumerate(data.get(section, [])):
                for key in ("categories_any", "only_categories", "categories_none"):
                    for code in rule["when"].get(key, []):
                        if code not in known:  # a code this region does not use just never matches
                            raise ValidationError(f"'{code}' is not a category", f"{section}.{i}.when.{key}")


@dataclass(frozen=True)
class Rules:
    version: str
    categories: tuple
    keywords_apply_when_reported_at_most: int
    keywords: tuple
    default_urgency: str
    urgency: tuple
    decisions: tuple
    aftercare_intensity: dict
    working_days: int
    acute_minutes: int
    source: str = ""
    lexicon: dict = field(default_factory=dict)
    own_categories: dict = field(default_factory=dict)     # code -> name, in the file's order
    derived_categories: tuple = ()
    reported_categories: str = "always"
    patterns: dict = field(default_factory=dict, repr=False, compare=False)  # source -> compiled Pattern
    model_file: str | None = None   # the second opinion's file, beside the rules file (triage only)

    @cached_property
    def acute_floor(self) -> AcuteFloor | None:
        """What intake's acute check reads of a report (`acute_reason`)."""
        return AcuteFloor.of(self)

    def pattern(self, source: str) -> dp.Pattern:
        return self.patterns[source]

    def possible(self, analysis: dp.Analysis) -> set:
        """The sources of the patterns that can match in this report: those one of whose start words
        (`Pattern.anchors`) it holds, and those that can start at any word. Computed once per report from
        the report's words, so that the hundreds of patterns that cannot match cost nothing each (the
        acute check and triage's reading were 2.4 and 3.2 ms of CPU on the bench's report, most of it
        in asking each pattern)."""
        key = ("possible", id(self))
        found = analysis.memo.get(key)
        if found is None:
            by_word, always = self._by_anchor
            found = set(always)
            for word in analysis.index:
                more = by_word.get(word)
                if more:
                    found |= more
            analysis.memo[key] = found
        return found

    @cached_property
    def _by_anchor(self) -> tuple[dict, frozenset]:
        """Start word -> the sources of the patterns that can start with it; and the sources that can
        start anywhere (a start word with *)."""
        by_word, always = {}, set()
        for source, pattern in self.patterns.items():
            if pattern.anchors is None:
                always.add(source)
                continue
            for word in pattern.anchors:
                by_word.setdefault(word, set()).add(source)
        return by_word, frozenset(always)


def _first_error(messages, prefix=""):
    if isinstance(messages, dict):
        key = sorted(messages, key=str)[0]
        return _first_error(messages[key], f"{prefix}.{key}" if prefix else str(key))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], prefix)
    return prefix, str(messages)


def _compile_all(data, where: str) -> dict:
    """Every pattern of the file compiled once; a pattern that cannot be used names its place."""
    lexicon = data["lexicon"]
    compiled = {}

    def add(source, place):
        if source in compiled:
            return
        try:
            compiled[source] = dp.compile_pattern(source, lexicon)
        except dp.PatternError as exc:
            raise RulesError(f"{where}: {place}: {exc}") from None

    for name, members in lexicon.items():
        for j, member in enumerate(members):
            try:
                dp.compile_pattern(member, lexicon)
            except dp.PatternError as exc:
                raise RulesError(f"{where}: lexicon.{name}.{j}: {exc}") from None
        add(f"<{name}>", f"lexicon.{name}")
    for i, kw in enumerate(data["keywords"]):
        for key in ("words", "patterns", "unless", "other_senses"):
            for j, source in enumerate(kw.get(key) or []):
                add(source, f"keywords.{i}.{key}.{j}")
    for section in ("derived_categories", "urgency", "decisions"):
        for i, rule in enumerate(data[section]):
            for key in ("keywords_any", "patterns_any", "patterns_all"):
                for j, source in enumerate(rule["when"].get(key, [])):
                    add(source, f"{section}.{i}.when.{key}.{j}")
    return compiled


def parse_rules(raw, where: str = "rules") -> Rules:
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: must be a mapping with version, categories and decisions")
    try:
        data = RulesFileSchema().load(raw)
    except ValidationError as exc:
        field_path, message = _first_error(exc.messages)
        raise RulesError(f"{where}: {field_path}: {message}") from None
    patterns = _compile_all(data, where)
    return Rules(
        version=data["version"], categories=tuple(data["categories"]),
        keywords_apply_when_reported_at_most=data["keywords_apply_when_reported_at_most"],
        keywords=tuple(data["keywords"]), default_urgency=data["default_urgency"],
        urgency=tuple(data["urgency"]), decisions=tuple(data["decisions"]),
        aftercare_intensity=dict(data["aftercare_intensity"]),
        working_days=data["deadlines"]["working_days"], acute_minutes=data["deadlines"]["acute_minutes"],
        source=where, lexicon=dict(data["lexicon"]),
        own_categories={c["code"]: c["name"] for c in data["own_categories"]}, patterns=patterns,
        derived_categories=tuple(data["derived_categories"]), reported_categories=data["reported_categories"],
        model_file=str(_beside(where) / data["model"]) if data["model"] else None)


def _beside(where: str) -> Path:
    """The folder of the rules file (a file parsed without a path: the default rules' folder)."""
    return Path(where).parent if Path(where).is_absolute() else DEFAULT_RULES_FILE.parent


def load_rules(path) -> Rules:
    path = Path(path)
    if not path.is_absolute():
        path = REPO_ROOT / path
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(f"{where}: triage rules file not found") from None
    return _parse_text(where, text)


@lru_cache(maxsize=8)
def _parse_text(where: str, text: str) -> Rules:
    """The rules of one file's text, compiled once per process: every load of the region (each service, each
    CLI command, each test's settings) reads the same file, and compiling its patterns costs about 0.1-0.2 s of
    CPU each time. A changed file is new text, so it is read anew; an error is raised again on every load."""
    try:
        raw = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RulesError(f"{where}: not valid YAML{f' at line {mark.line + 1}' if mark else ''}") from None
    return parse_rules(raw, where)


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    return load_rules(DEFAULT_RULES_FILE)


_region_rules: Rules | None = None


def use_region_rules(rules: Rules) -> None:
    """The rules of the region this process serves (one region per process), set when the region file
    is loaded (services/triage/options.py); its own categories become codes the contracts accept."""
    global _region_rules
    _region_rules = rules
    vocabulary.use_own_categories(rules.own_categories)


def region_rules(region=None) -> Rules:
    """The rules of `region` (its `triage.rules_file`), or of the region this process loaded: triage
    decides by them, intake checks every report against their acute floor."""
    if region is not None:
        found = ((getattr(region, "options", None) or {}).get("triage") or {}).get("rules")
        if found is not None:
            return found
    return _region_rules or default_rules()


# ------------------------------------------------------------------ reading a report by the rules

@dataclass
class Reading:
    """What the rules read in one report: its categories with their reasons (urgency comes after,
    when every source of categories has spoken)."""
    categories: set
    reasons: list
    analysis: dp.Analysis
    # categories whose words the rules found but did not count (negated, feared only, a joke, aimed at
    # someone else, earlier, excepted): the second opinion does not add them back
    ruled_out: set = field(default_factory=set)


EXCEPTED = "uitgezonderd"          # an `unless` pattern in the sentence: context, the second opinion may still add
OTHER_SENSE = "andere betekenis"   # an `other_senses` pattern in the sentence: the words mean something harmless
QUOTED = "alleen in een citaat"    # `outside_quotes`: what the perpetrator said, not what he did
# The categories the reporter's explanation of what was meant takes out (dp.EXPLAINED, since vr19-2026.15): a threat
# reading ("kort en klein slaan … hij bedoelde zijn oude keuken"), with the shouting or the words it came in ("'Moord en
# brand zal ik schreeuwen' … hij bedoelde dat hij een klacht ging indienen"); a slur or a sexual remark stays one.
EXPLAINED_READINGS = frozenset({"bedreiging", "intimidatie", "fysiek_geweld", "vernieling", "verbale_agressie"})


def _scan(rules: Rules, sources, analysis: dp.Analysis, unless=(), other_senses=(), outside_quotes=False,
          category=None):
    """Every hit of these patterns in the report, in the order of the patterns, each with the scope it ends up
    with ('' counts). A hit in a sentence where one of the `unless` patterns is found does not count (scope
    EXCEPTED), nor one in a sentence where an `other_senses` pattern is found (scope OTHER_SENSE), nor, with
    `outside_quotes`, one inside quotation marks (QUOTED). Lazy: `_found` stops at the first that counts."""
    excluded = None
    quoted = analysis.quoted if outside_quotes else frozenset()
    possible = rules.possible(analysis)
    for source in sources:
        if source not in possible:
            continue
        for hit in rules.pattern(source).hits(analysis):
            if hit.scope == dp.EXPLAINED and category and category not in EXPLAINED_READINGS:
                hit = dp.Hit(hit.positions, hit.words)
            if hit.counts and quoted and all(p in quoted for p in hit.positions):
                yield dp.Hit(hit.positions, hit.words, QUOTED)
                continue
            if hit.counts and (unless or other_senses):
                if excluded is None:
                    excluded = {}
                    for scope, patterns in ((OTHER_SENSE, other_senses), (EXCEPTED, unless)):
                        for u in patterns:
                            for h in (rules.pattern(u).hits(analysis) if u in possible else ()):
                                if h.counts:
                                    excluded.setdefault(analysis.tokens[h.positions[0]].sentence, scope)
                scope = excluded.get(analysis.tokens[hit.positions[0]].sentence)
                if scope:
                    yield dp.Hit(hit.positions, hit.words, scope)
                    continue
            yield hit


def _found(rules: Rules, sources, analysis: dp.Analysis):
    """(the first counting hit of any of these patterns, the hits before it that did not count)."""
    return _first_counting(_scan(rules, sources, analysis))


def _first_counting(hits):
    """(the first hit that counts, the hits before it that did not)."""
    ignored = []
    for hit in hits:
        if hit.counts:
            return hit, ignored
        ignored.append(hit)
    return None, ignored


def _scan_keyword(rules: Rules, kw: dict, analysis: dp.Analysis):
    """_scan for one keyword of the rules file: its words and patterns, with its unless, other senses, quotes and
    category."""
    return _scan(rules, (kw.get("words") or []) + (kw.get("patterns") or []), analysis, kw.get("unless") or (),
                 kw.get("other_senses") or (), kw.get("outside_quotes"), kw["category"])


def _found_keyword(rules: Rules, kw: dict, analysis: dp.Analysis):
    """_found for one keyword of the rules file."""
    return _first_counting(_scan_keyword(rules, kw, analysis))


def places_of(category: str, analysis: dp.Analysis, rules: Rules) -> list:
    """Where in the report the rules' words for this category count: one counting hit per place (the words a
    match covers; two patterns on the same words are one place). How strong the rules' evidence is: a category
    found in one place only is what the second opinion may doubt (`doubt_weak`, services/triage/domain.py)."""
    places = []   # (the words of the place, its first hit)
    for kw in rules.keywords:
        if kw["category"] != category:
            continue
        for hit in _scan_keyword(rules, kw, analysis):
            if not hit.counts:
                continue
            words = set(hit.positions)
            overlapping = [place for place in places if place[0] & words]
            for place in overlapping:   # 'ingegooid' and 'ruit ... ingegooid' are one place
                words |= place[0]
                places.remove(place)
            places.append((words, overlapping[0][1] if overlapping else hit))
    return [hit for _, hit in places]


def read_categories(incident: dict, description: str | None, rules: Rules,
                    analysis: dp.Analysis | None = None) -> Reading:
    """The categories the reporter chose (those this region uses) and those the description shows."""
    analysis = analysis if analysis is not None else dp.analyse(description)
    reasons = []
    reported = list(dict.fromkeys(incident["reported_categories"]))
    ticked = {c for c in reported if c in rules.categories}
    for c in reported:
        if c not in rules.categories:
            ticked.add("overig")
            reasons.append(f"Categorie '{c}' wordt in deze regio niet gebruikt: als 'overig' behandeld.")
    categories = set(ticked) if rules.reported_categories == "always" else set()

    telling = [c for c in reported if c != "overig"]  # 'overig' says nothing about what happened
    not_counted, other_sense = {}, set()
    if analysis.tokens and len(telling) <= rules.keywords_apply_when_reported_at_most:
        for kw in rules.keywords:
            if kw["category"] in categories:
                continue
            hit, ignored = _found_keyword(rules, kw, analysis)
            if hit:
                categories.add(kw["category"])
                reasons.append(kw["reason"].replace("{word}", hit.words))
            elif ignored:
                not_counted.setdefault(kw["category"], ignored[0])
                if any(h.scope in (OTHER_SENSE, QUOTED) for h in ignored):
                    other_sense.add(kw["category"])
        for category, hit in not_counted.items():
            if category not in categories:
                reasons.append(f"'{hit.words}' telt niet als {category}: {hit.scope}.")
    if rules.reported_categories == "fallback" and ticked:
        if categories - {"overig"}:
            dropped = sorted(ticked - categories - {"overig"})
            if dropped:
                reasons.append(f"Door de melder gekozen maar niet in de omschrijving gevonden: {', '.join(dropped)} "
                               "(een medewerker beoordeelt).")
        else:
            # a tick the description takes back (its words there negated, feared only, a joke, aimed at
            # someone else, or excepted) is not taken: "ik dacht eerst dat hij zou slaan, maar …"
            taken_back = {c for c in ticked if c in not_counted or analysis.doubts_ticks}
            categories |= ticked - taken_back
            if ticked - taken_back:
                reasons.append("De omschrijving gaf geen aanwijzing: de categorieën van de melder tellen.")
            if taken_back:
                why = "de melder twijfelde aan de keuze" if analysis.doubts_ticks else "de omschrijving neemt het terug"
                reasons.append(f"Door de melder gekozen, maar {why}: {', '.join(sorted(taken_back))} "
                               "(een medewerker beoordeelt).")
    if len(categories) > 1:
        categories.discard("overig")
    ruled_out = ({c for c, hit in not_counted.items() if hit.scope != EXCEPTED} | other_sense) - categories
    return Reading(categories, reasons, analysis, ruled_out)


def holds(when: dict, incident: dict, categories: set, analysis: dp.Analysis, rules: Rules) -> str | None:
    """None when the condition does not hold, else the words that made it hold ('' for none)."""
    if "categories_any" in when and not categories & set(when["categories_any"]):
        return None
    if "only_categories" in when and not categories <= set(when["only_categories"]):
        return None
    if "categories_none" in when and categories & set(when["categories_none"]):
        return None
    if "location_types" in when and incident["location_type"] not in when["location_types"]:
        return None
    if "target_roles" in when and incident["target_role"] not in when["target_roles"]:
        return None
    if "reported_any_category" in when and bool(incident["reported_categories"]) != when["reported_any_category"]:
        return None
    if "direct_danger" in when and bool(incident.get("direct_danger")) != when["direct_danger"]:
        return None
    if "described" in when and bool(analysis.tokens) != when["described"]:
        return None
    words = []
    for key in ("keywords_any", "patterns_any"):
        if key in when:
            hit, _ = _found(rules, when[key], analysis)
            if hit is None:
                return None
            words.append(hit.words)
    for source in when.get("patterns_all", ()):
        hit, _ = _found(rules, (source,), analysis)
        if hit is None:
            return None
        words.append(hit.words)
    return ", ".join(words)


def derive_categories(incident: dict, categories: set, analysis: dp.Analysis, rules: Rules) -> list[str]:
    """Add the categories that follow from the others and the circumstances (`derived_categories`);
    the reasons why, in the order the rules give them."""
    reasons = []
    for rule in rules.derived_categories:
        if rule["category"] in categories:
            continue
        words = holds(rule["when"], incident, categories, analysis, rules)
        if words is not None:
            categories.add(rule["category"])
            categories.discard("overig")
            reasons.append(rule["reason"].replace("{word}", words))
    return reasons


def urgency_of(incident: dict, categories: set, analysis: dp.Analysis, rules: Rules) -> tuple[str, str]:
    """The highest urgency of all matching rules, explained by the first rule that reaches it."""
    urgency, reason = rules.default_urgency, None
    for rule in rules.urgency:
        if reason is not None and URGENCY_RANK[rule["urgency"]] <= URGENCY_RANK[urgency]:
            continue
        words = holds(rule["when"], incident, categories, analysis, rules)
        if words is None:
            continue
        urgency, reason = rule["urgency"], rule["reason"].replace("{word}", words)
    return urgency, reason or f"Geen bijzondere omstandigheden: urgentie '{urgency}'."


def acute_reason(incident: dict, description: str | None, rules: Rules) -> str | None:
    """The rules' acute floor alone (no model): why this report is acute, or None. Intake runs it on
    every report it accepts, so an acute one is published at the acute priority from the first hop.

    The same answer as reading the whole report (`_acute_by_full_reading`; a unit test compares both on
    every development report), from less of it: acute is the highest urgency, so the reason is the first
    acute rule that holds; a rule whose circumstances and words are not there needs no categories, and
    the categories it does need are read from their own keywords only (`AcuteFloor`). The whole reading
    was 0.7 of intake's 0.76 ms per acute check on the bench's report, about 13 % of intake's CPU (issue 25)."""
    floor = rules.acute_floor
    if floor is None:
        return _acute_by_full_reading(incident, description, rules)
    analysis = dp.analyse(description)
    candidates = []
    for rule, apart in floor.rules:
        words = holds(apart, incident, set(), analysis, rules)
        if words is not None:
            candidates.append((rule, words))
    categories = None
    for rule, words in candidates:
        by_category = {k: v for k, v in rule["when"].items() if k in _CATEGORY_CONDITIONS}
        if by_category and categories is None:  # read once, when the first rule that needs them comes
            categories = floor.categories(incident, analysis, rules)
            for derived in floor.derived:
                if derived["category"] not in categories and holds(derived["when"], incident, categories, analysis,
                                                                   rules) is not None:
                    categories.add(derived["category"])
        if not by_category or holds(by_category, incident, categories, analysis, rules) is not None:
            return rule["reason"].replace("{word}", words)
    return None


def _acute_by_full_reading(incident: dict, description: str | None, rules: Rules) -> str | None:
    """The acute floor as triage reaches it: every category read, derived, every urgency rule weighed."""
    reading = read_categories(incident, description, rules)
    categories = reading.categories or {"overig"}
    derive_categories(incident, categories, reading.analysis, rules)
    urgency, reason = urgency_of(incident, categories, reading.analysis, rules)
    return reason if urgency == "acuut" else None


_CATEGORY_CONDITIONS = ("categories_any", "only_categories", "categories_none")
ACUTE = vocabulary.URGENCIES[0]  # the highest urgency


@dataclass(frozen=True)
class AcuteFloor:
    """What the acute check needs of a report, worked out once per rules file: the acute urgency rules in
    the file's order, each with its conditions apart from categories; the categories those rules (and the
    derived categories that lead to them) look at; and those derived rules."""
    rules: tuple        # (rule, its `when` without the category conditions)
    relevant: frozenset
    derived: tuple

    @staticmethod
    def of(rules: Rules) -> AcuteFloor | None:
        """None where a shortcut could change the answer: a rule that looks at *all* categories
        (`only_categories`) or at 'overig' (which the reading adds and drops by what else it found)."""
        acute = [rule for rule in rules.urgency if rule["urgency"] == ACUTE]
        relevant: set = set()
        wanted = [rule["when"] for rule in acute]
        while wanted:
            when = wanted.pop()
            if "only_categories" in when:
                return None
            for key in ("categories_any", "categories_none"):
                for code in when.get(key, ()):
                    if code not in relevant:
                        relevant.add(code)
                        wanted.extend(r["when"] for r in rules.derived_categories if r["category"] == code)
        if "overig" in relevant:
            return None
        return AcuteFloor(
            rules=tuple((rule, {k: v for k, v in rule["when"].items() if k not in _CATEGORY_CONDITIONS})
                        for rule in acute),
            relevant=frozenset(relevant),
            derived=tuple(r for r in rules.derived_categories if r["category"] in relevant))

    def categories(self, incident: dict, analysis: dp.Analysis, rules: Rules) -> set:
        """The relevant categories `read_categories` gives this report (the others may be missing), reading
        only the relevant categories' keywords, and the others' only as far as `fallback` needs: whether the
        description shows any category at all (the first hit answers)."""
        reported = list(dict.fromkeys(incident["reported_categories"]))
        ticked = {c for c in reported if c in rules.categories}
        if any(c not in rules.categories for c in reported):
            ticked.add("overig")
        fallback = rules.reported_categories == "fallback"
        categories = set() if fallback else set(ticked)
        telling = [c for c in reported if c != "overig"]
        not_counted, shown = set(), False
        if analysis.tokens and len(telling) <= rules.keywords_apply_when_reported_at_most:
            for kw in rules.keywords:
                if kw["category"] not in self.relevant or kw["category"] in categories:
                    continue
                hit, ignored = _found_keyword(rules, kw, analysis)
                if hit:
                    categories.add(kw["category"])
                elif ignored:
                    not_counted.add(kw["category"])
            shown = bool(categories - {"overig"})
            if fallback and ticked and not shown:
                for kw in rules.keywords:
                    if kw["category"] in self.relevant or kw["category"] == "overig":
                        continue
                    hit, _ = _found_keyword(rules, kw, analysis)
                    if hit:
                        shown = True
                        break
        if fallback and ticked and not shown:
            categories |= {c for c in ticked if c not in not_counted and not analysis.doubts_ticks}
        return categories & self.relevant
