"""A region's triage rules file (YAML), loaded and validated once; docs/triage.md describes it.

Rules are data so that a region changes its triage without a release; every result stores
the rules `version` it was decided by.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared import vocabulary as v
from shared.config import REPO_ROOT, ConfigError

DEFAULT_RULES_FILE = REPO_ROOT / "deploy" / "rules" / "vr19-triage.yaml"


class RulesError(ConfigError):
    """A rules file that cannot be used; the message names the file and the field."""


def _codes(values):
    return validate.OneOf(values)


class WhenSchema(Schema):
    class Meta:
        unknown = RAISE
    categories_any = fields.List(fields.String(validate=_codes(v.CATEGORIES)))
    only_categories = fields.List(fields.String(validate=_codes(v.CATEGORIES)))
    location_types = fields.List(fields.String(validate=_codes(v.LOCATION_TYPES)))
    target_roles = fields.List(fields.String(validate=_codes(v.TARGET_ROLES)))
    keywords_any = fields.List(fields.String(validate=validate.Length(min=2)))
    reported_any_category = fields.Boolean()


class KeywordSchema(Schema):
    class Meta:
        unknown = RAISE
    category = fields.String(required=True, validate=_codes(v.CATEGORIES))
    words = fields.List(fields.String(validate=validate.Length(min=2)), required=True,
                        validate=validate.Length(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1))


class UrgencyRuleSchema(Schema):
    class Meta:
        unknown = RAISE
    when = fields.Nested(WhenSchema, required=True)
    urgency = fields.String(required=True, validate=_codes(v.URGENCIES))
    reason = fields.String(required=True, validate=validate.Length(min=1))


class DecisionRuleSchema(Schema):
    class Meta:
        unknown = RAISE
    when = fields.Nested(WhenSchema, required=True)
    decision = fields.String(required=True, validate=_codes(v.DECISIONS))
    reason = fields.String(required=True, validate=validate.Length(min=1))


class DeadlinesSchema(Schema):
    class Meta:
        unknown = RAISE
    working_days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10))
    acute_minutes = fields.Integer(load_default=60, validate=validate.Range(min=5, max=24 * 60))


class RulesFileSchema(Schema):
    class Meta:
        unknown = RAISE
    version = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9._-]{1,40}$", error="must be 1-40 letters, digits, '.', '_' or '-'"))
    categories = fields.List(fields.String(validate=_codes(v.CATEGORIES)), required=True,
                             validate=validate.Length(min=1))
    keywords_apply_when_reported_at_most = fields.Integer(load_default=1, validate=validate.Range(min=0, max=8))
    keywords = fields.List(fields.Nested(KeywordSchema), load_default=list)
    default_urgency = fields.String(load_default="normaal", validate=_codes(v.URGENCIES))
    urgency = fields.List(fields.Nested(UrgencyRuleSchema), load_default=list)
    decisions = fields.List(fields.Nested(DecisionRuleSchema), required=True)
    aftercare_intensity = fields.Dict(keys=fields.String(validate=_codes(v.URGENCIES)),
                                      values=fields.String(validate=validate.Length(min=1, max=40)),
                                      required=True)
    deadlines = fields.Nested(DeadlinesSchema, load_default=lambda: DeadlinesSchema().load({}))

    @validates_schema
    def _consistent(self, data, **kwargs):
        if "overig" not in data["categories"]:
            raise ValidationError("must include 'overig'", "categories")
        missing = set(v.URGENCIES) - set(data["aftercare_intensity"])
        if missing:
            raise ValidationError(f"misses {', '.join(sorted(missing))}", "aftercare_intensity")
        for i, kw in enumerate(data.get("keywords", [])):
            if kw["category"] not in data["categories"]:
                raise ValidationError(f"category {kw['category']} is not in this region's categories",
                                      f"keywords.{i}.category")


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


def _first_error(messages, prefix=""):
    if isinstance(messages, dict):
        key = sorted(messages, key=str)[0]
        return _first_error(messages[key], f"{prefix}.{key}" if prefix else str(key))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], prefix)
    return prefix, str(messages)


def parse_rules(raw, where: str = "rules") -> Rules:
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: must be a mapping with version, categories and decisions")
    try:
        data = RulesFileSchema().load(raw)
    except ValidationError as exc:
        field, message = _first_error(exc.messages)
        raise RulesError(f"{where}: {field}: {message}") from None
    return Rules(
        version=data["version"], categories=tuple(data["categories"]),
        keywords_apply_when_reported_at_most=data["keywords_apply_when_reported_at_most"],
        keywords=tuple(data["keywords"]), default_urgency=data["default_urgency"],
        urgency=tuple(data["urgency"]), decisions=tuple(data["decisions"]),
        aftercare_intensity=dict(data["aftercare_intensity"]),
        working_days=data["deadlines"]["working_days"], acute_minutes=data["deadlines"]["acute_minutes"],
        source=where)


def load_rules(path) -> Rules:
    path = Path(path)
    if not path.is_absolute():
        path = REPO_ROOT / path
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(f"{where}: triage rules file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RulesError(f"{where}: not valid YAML{f' at line {mark.line + 1}' if mark else ''}") from None
    return parse_rules(raw, where)


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    return load_rules(DEFAULT_RULES_FILE)
