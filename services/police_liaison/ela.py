"""The ELA checklist of the region (deploy/ela/ela.yaml, or the file its region names): which items the meldpunt
and the police liaison tick per referral, with what each means, under a version. Loaded and validated with the
region file (options.py); the per-referral ticks are in police_liaison.referrals (domain.py decides them)."""
from __future__ import annotations

from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared import vocabulary
from shared.config import REPO_ROOT, read_yaml

DEFAULT_FILE = REPO_ROOT / "deploy" / "ela" / "ela.yaml"
CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="a code: lower case letters, digits and _")
# What an item may follow instead of being ticked by hand: the aangifte option chosen with the victim.
FOLLOWS = ("aangifte_option",)


class ItemSchema(Schema):
    code = fields.String(required=True, validate=CODE)
    label = fields.String(required=True, validate=validate.Length(min=3, max=120))
    meaning = fields.String(required=True, validate=validate.Length(min=10, max=1000))
    follows = fields.String(load_default=None, validate=validate.OneOf(FOLLOWS))


class ChecklistSchema(Schema):
    version = fields.String(required=True, validate=validate.Length(min=1, max=40))
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=validate.Length(min=1, max=100))

    @validates_schema
    def _codes(self, data, **kwargs):
        codes = [item["code"] for item in data["items"]]
        if len(set(codes)) != len(codes):
            raise ValidationError("each code once", "items")
        # the five the hub sets itself (the VPT flag at aangifte_gedaan, the aangifte option's two, events' `ela`)
        missing = [c for c in vocabulary.ELA_FLAGS if c not in codes]
        if missing:
            raise ValidationError(f"the checklist must hold {', '.join(missing)}", "items")


def load(path) -> dict:
    """The checklist in `path` (relative to the repository), validated; ValueError in one line otherwise."""
    path = Path(path) if Path(path).is_absolute() else REPO_ROOT / path
    try:
        return ChecklistSchema().load(read_yaml(path.read_text()) or {})
    except OSError as exc:
        raise ValueError(f"cannot read the ELA checklist {path}: {exc.strerror}") from None
    except ValidationError as exc:
        raise ValueError(f"ELA checklist {path}: {exc.messages}") from None


def codes(checklist: dict | None) -> tuple:
    """The item codes of a checklist (the five of vocabulary.ELA_FLAGS without one)."""
    return tuple(item["code"] for item in checklist["items"]) if checklist else vocabulary.ELA_FLAGS
