"""The workbench's region options (`workbench:` in the region file): its database, sessions, and
per municipality (and for the region's own people) the identity provider people sign in with.

Secrets never stand in the file: a provider's client secret comes from a file
(`client_secret_file`) or an environment variable (`client_secret_env`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.auth import PERSON_ROLES, POLICE_LIAISON, REGION
from shared.config import REPO_ROOT, ConfigError

_ROLE = re.compile(r"^(?P<role>[a-z_]+)(?::(?P<unit>[a-z0-9][a-z0-9-]{1,62}))?$")


def parse_role(value: str) -> tuple[str, str | None]:
    """`coordinator`, or `police_liaison:zwb-walcheren` (a police liaison with their unit)."""
    match = _ROLE.match(value or "")
    if not match or match["role"] not in PERSON_ROLES:
        raise ValueError(f"{value!r} is not a role a person may hold ({', '.join(PERSON_ROLES)})")
    if (match["role"] == POLICE_LIAISON) != (match["unit"] is not None):
        raise ValueError("give a police liaison's unit as police_liaison:<unit>, and a unit to no other role")
    return match["role"], match["unit"]


def _roles_map(value):
    if not isinstance(value, dict) or not value:
        raise ValidationError("map at least one group to a role")
    for group, role in value.items():
        if not isinstance(group, str) or not isinstance(role, str):
            raise ValidationError("each group maps to one role, e.g. meldpunt-coordinatoren: coordinator")
        try:
            parse_role(role)
        except ValueError as exc:
            raise ValidationError(f"{group}: {exc}") from None


class ProviderSchema(Schema):
    """One OpenID Connect provider (Entra ID, Keycloak, ADFS, ...) and how its claims map to the hub."""
    issuer = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    # where the provider's metadata is; default <issuer>/.well-known/openid-configuration
    discovery_url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"})
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    client_secret_file = fields.String(load_default=None)
    client_secret_env = fields.String(load_default=None, validate=validate.Regexp(
        r"^[A-Z][A-Z0-9_]{0,100}$", error="must be the name of an environment variable"))
    scopes = fields.List(fields.String(validate=validate.Regexp(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")),
                         load_default=lambda: ["openid", "profile", "email"])
    # the claim with the person's groups or roles (Entra ID: roles or groups; Keycloak: groups or a
    # mapper's claim; ADFS: group or role) and which value means which hub role
    roles_claim = fields.String(load_default="groups", validate=validate.Length(min=1, max=100))
    roles = fields.Dict(required=True, validate=_roles_map)
    name_claim = fields.String(load_default="name")
    email_claim = fields.String(load_default="email")
    # multi-factor sign-in is the provider's job; the hub refuses a sign-in whose ID token does not
    # carry one of these acr values or amr methods (BIO 5.17.01)
    required_acr = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list)
    required_amr = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list)
    label = fields.String(load_default=None, validate=validate.Length(min=1, max=100))

    @validates_schema
    def _check(self, data, **kwargs):
        if not data["required_acr"] and not data["required_amr"]:
            raise ValidationError("name the acr values or amr methods that prove a multi-factor sign-in "
                                  "(required_acr or required_amr)", "required_acr")
        if bool(data["client_secret_file"]) == bool(data["client_secret_env"]):
            raise ValidationError("give the client secret as client_secret_file or client_secret_env "
                                  "(one of them, never the secret itself)", "client_secret_file")
        if "openid" not in data["scopes"]:
            raise ValidationError("must include openid", "scopes")


class OptionsSchema(Schema):
    # the workbench's own regional database: sessions and the people who signed in (no case data)
    database_dsn = fields.String(load_default=None, validate=validate.Regexp(
        r"^postgres(ql)?://", error="must be a postgresql:// connection string"))
    # the address people reach the workbench at (redirect URIs are made from it); https:// behind TLS
    public_url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"})
    session_idle_minutes = fields.Integer(load_default=30, validate=validate.Range(min=1, max=240))
    session_absolute_hours = fields.Integer(load_default=8, validate=validate.Range(min=1, max=24))
    page_size = fields.Integer(load_default=25, validate=validate.Range(min=5, max=200))
    # per municipality code, and `region` for the region's own people
    identity_providers = fields.Dict(keys=fields.String(), values=fields.Nested(ProviderSchema),
                                     load_default=dict)

    @staticmethod
    def check_region(options: dict, codes) -> None:
        for domain in options["identity_providers"]:
            if domain != REGION and domain not in codes:
                raise ValidationError(f"{domain} is neither a municipality of this region nor region",
                                      "identity_providers")


def options_of(region) -> dict:
    """The validated `workbench:` section (defaults when the file has none)."""
    return region.options.get("workbench") or OptionsSchema().load({})


def public_url(settings) -> str:
    configured = options_of(settings.region)["public_url"]
    if configured:
        return configured.rstrip("/")
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "") else "127.0.0.1"
    return f"http://{host}:{settings.ports['workbench']}"


def client_secret(provider: dict, environ=None) -> str:
    """A provider's client secret from its file or variable; ConfigError when it is not there."""
    environ = os.environ if environ is None else environ
    if provider.get("client_secret_env"):
        value = environ.get(provider["client_secret_env"], "")
        if not value:
            raise ConfigError(f"workbench: environment variable {provider['client_secret_env']} (client secret of "
                              f"{provider['issuer']}) is not set")
        return value
    path = Path(provider["client_secret_file"])
    path = path if path.is_absolute() else REPO_ROOT / path
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"workbench: client_secret_file {path}: cannot read ({exc.strerror})") from None
    if not value:
        raise ConfigError(f"workbench: client_secret_file {path} is empty")
    return value


def check(settings) -> None:
    """What the workbench needs before it starts: its database, at least one provider, their
    secrets, and the region secret its person assertions are signed with."""
    from shared.config import region_secret

    options = options_of(settings.region)
    if not options["database_dsn"]:
        raise ConfigError("workbench: database_dsn is not set in the region file's workbench section")
    if not options["identity_providers"]:
        raise ConfigError("workbench: no identity_providers in the region file: nobody could sign in")
    for provider in options["identity_providers"].values():
        client_secret(provider)
    region_secret(settings)
