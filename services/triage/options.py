"""Triage's region options (`triage:` in the region file), validated when the region is loaded."""
from __future__ import annotations

from pathlib import Path

from marshmallow import Schema, ValidationError, fields, post_load, validate

from shared import triage_rules
from shared.schemas import MUNICIPALITY_CODE
from shared.config import REPO_ROOT, region_secret  # noqa: F401 — triage's start-up check uses it

from services.triage.model import ModelError, load_model
from services.triage.rules import DEFAULT_RULES_FILE, RulesError, load_rules


class ContactSchema(Schema):
    code = fields.String(required=True, validate=MUNICIPALITY_CODE)
    contact = fields.String(required=True, validate=validate.Length(min=3, max=200))


class OptionsSchema(Schema):
    rules_file = fields.String(load_default=str(DEFAULT_RULES_FILE))
    # Who staff of another municipality contact about a shared perpetrator (the meldpunt, not a case).
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list)
    # Path of a file holding the region secret for perpetrator keyed hashes (or MELDPUNT_REGION_SECRET).
    region_secret_file = fields.String(load_default=None, allow_none=True)
    # The region's index of perpetrator keyed hashes (repeat_index.py): a repeat check is one query there
    # instead of one per other municipality's store. Without it triage asks every store, as before.
    index_dsn = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^postgres(ql)?://", error="must be a postgresql:// connection string"))

    @post_load
    def _load_rules(self, data, **kwargs):
        data["rules_file"] = str(_from_repo(data["rules_file"]))
        if data["region_secret_file"]:
            data["region_secret_file"] = str(_from_repo(data["region_secret_file"]))
        else:
            data["region_secret_file"] = None  # an unset ${VAR:} in the region file
        try:
            data["rules"] = load_rules(data["rules_file"])
            if data["rules"].model_file:   # the second opinion it names, checked now, not on the first report
                load_model(data["rules"].model_file)
        except (RulesError, ModelError) as exc:
            raise ValidationError(str(exc), "rules_file") from None
        # the region's rules for this process: intake's acute check, and its own categories as codes
        # that events, intake and statistics accept from now on
        triage_rules.use_region_rules(data["rules"])
        data["index_dsn"] = data["index_dsn"] or None  # an unset ${VAR:} in the region file
        data["contacts"] = {c["code"]: c["contact"] for c in data["contacts"]}
        return data


def _from_repo(path: str) -> Path:
    """Relative paths in the region file are relative to the repository, wherever the command runs."""
    return Path(path) if Path(path).is_absolute() else REPO_ROOT / path
