"""The zaaksysteem service's region options (`zaaksysteem:` in the region file): per municipality whether its
cases become zaken in its zaaksysteem (default: not), where that is, the zaaktype and its statustypen and
resultaattypen (Catalogi API URLs), and the client id and secret of the ZGW JWT (docs/configuration.md#zaaksysteem).

The secret comes from an environment variable or a file, never from the region file itself.
"""
from __future__ import annotations

import os
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.schemas import MUNICIPALITY_CODE, SecretSchema

# What the zaak follows of the case: each a statustype of the zaaktype. `afgesloten` is the zaaktype's last
# (its eindstatus): setting it closes the zaak, after its resultaat.
STAGES = ("ontvangen", "beoordeeld", "afgesloten")
# How a case ends, each a resultaattype of the zaaktype.
OUTCOMES = ("afgehandeld", "ingetrokken")
VERTROUWELIJKHEID = ("openbaar", "beperkt_openbaar", "intern", "zaakvertrouwelijk", "vertrouwelijk",
                     "confidentieel", "geheim", "zeer_geheim")
# Fields of a case that may go into the zaak beyond its reference, when the municipality's configuration
# allows them (default none); each one sent is written in the disclosure ledger.
SHAREABLE_FIELDS = ("occurred_at", "categories")

_URL = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
RSIN = validate.Regexp(r"^[0-9]{9}$", error="must be an RSIN of 9 digits")


class ZaaksysteemSchema(Schema):
    """One municipality's zaaksysteem."""
    enabled = fields.Boolean(load_default=False)
    # the Zaken API's root, e.g. https://zaken.gemeente.nl/zaken/api/v1
    zaken_api = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    rsin = fields.String(required=True, validate=RSIN)  # bronorganisatie
    verantwoordelijke_organisatie = fields.String(load_default=None, validate=RSIN)  # default: the rsin
    zaaktype = _URL
    statustypen = fields.Dict(keys=fields.String(validate=validate.OneOf(STAGES)), values=fields.Url(
        require_tld=False, schemes={"http", "https"}), required=True)
    resultaattypen = fields.Dict(keys=fields.String(validate=validate.OneOf(OUTCOMES)), values=fields.Url(
        require_tld=False, schemes={"http", "https"}), required=True)
    vertrouwelijkheidaanduiding = fields.String(load_default="zeer_geheim", validate=validate.OneOf(VERTROUWELIJKHEID))
    shared_fields = fields.List(fields.String(validate=validate.OneOf(SHAREABLE_FIELDS)), load_default=list)
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    secret = fields.Nested(SecretSchema, required=True)
    timeout_seconds = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=120))

    @validates_schema
    def _every_stage(self, data, **kwargs):
        missing = [s for s in STAGES if s not in data.get("statustypen", {})]
        if missing:
            raise ValidationError(f"needs a statustype for {', '.join(missing)}", "statustypen")
        missing = [o for o in OUTCOMES if o not in data.get("resultaattypen", {})]
        if missing:
            raise ValidationError(f"needs a resultaattype for {', '.join(missing)}", "resultaattypen")


class OptionsSchema(Schema):
    municipalities = fields.Dict(
        keys=fields.String(validate=MUNICIPALITY_CODE),
        values=fields.Nested(ZaaksysteemSchema), load_default=dict)
    # how often the deliverer looks for deliveries that are due; a failed one is tried again after
    # first_delay, doubling up to max_delay, until the zaaksysteem takes it
    poll_seconds = fields.Float(load_default=2.0, validate=validate.Range(min=0.05, max=300))
    first_delay_seconds = fields.Float(load_default=5.0, validate=validate.Range(min=0.01, max=3600))
    max_delay_seconds = fields.Float(load_default=900.0, validate=validate.Range(min=0.01, max=86400))

    @staticmethod
    def check_region(options: dict, codes) -> None:
        unknown = sorted(set(options["municipalities"]) - set(codes))
        if unknown:
            raise ValidationError({"municipalities": [f"{unknown[0]} is not a municipality of this region"]})


DEFAULTS = OptionsSchema().load({})


def options_of(region) -> dict:
    return region.options.get("zaaksysteem") or DEFAULTS


def of(options: dict, code: str) -> dict | None:
    """The municipality's zaaksysteem when its cases go there, else None."""
    mine = options["municipalities"].get(code)
    return mine if mine and mine["enabled"] else None


def secret(spec: dict, environ=None) -> str:
    environ = os.environ if environ is None else environ
    if spec.get("env"):
        value = environ.get(spec["env"])
        if not value:
            raise LookupError(f"environment variable {spec['env']} (zaaksysteem client secret) is not set")
        return value
    return Path(spec["file"]).read_text(encoding="utf-8").strip()
