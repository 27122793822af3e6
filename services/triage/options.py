"""Triage's region options (`triage:` in the region file), validated when the region is loaded."""
from __future__ import annotations

from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from shared.config import REPO_ROOT, region_secret  # noqa: F401 — triage's start-up check uses it

from services.triage.rules import DEFAULT_RULES_FILE, RulesError, load_rules


class ContactSchema(Schema):
    class Meta:
        unknown = RAISE
    code = fields.String(required=True, validate=validate.Regexp(r"^GM\d{4}$"))
    contact = fields.String(required=True, validate=validate.Length(min=3, max=200))


class OptionsSchema(Schema):
    class Meta:
        unknown = RAISE
    rules_file = fields.String(load_default=str(DEFAULT_RULES_FILE))
    # Who staff of another municipality contact about a shared perpetrator (the meldpunt, not a case).
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list)
    # Path of a file holding the region secret for perpetrator keyed hashes (or MELDPUNT_REGION_SECRET).
    region_secret_file = fields.String(load_default=None, allow_none=True)

    @post_load
    def _load_rules(self, data, **kwargs):
        data["rules_file"] = str(_from_repo(data["rules_file"]))
        if data["region_secret_file"]:
            data["region_secret_file"] = str(_from_repo(data["region_secret_file"]))
        else:
            data["region_secret_file"] = None  # an unset ${VAR:} in the region file
        try:
            data["rules"] = load_rules(data["rules_file"])
        except RulesError as exc:
            raise ValidationError(str(exc), "rules_file") from None
        data["contacts"] = {c["code"]: c["contact"] for c in data["contacts"]}
        return data


def _from_repo(path: str) -> Path:
    """Relative paths in the region file are relative to the repository, wherever the command runs."""
    return Path(path) if Path(path).is_absolute() else REPO_ROOT / path
