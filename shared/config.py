"""The hub's configuration, read once: the region file and the MELDPUNT_* environment.

Everything configurable lives here, validated with marshmallow, so that a broken
setting fails at start-up with one line naming the file, the municipality and the field.
"""
from __future__ import annotations

import importlib
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import yaml
from marshmallow import Schema, ValidationError, fields, validate

from shared.names import SERVICES

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGION_FILE = REPO_ROOT / "deploy" / "regions" / "demo.yaml"

DEFAULT_PORTS = {
    "intake": 8001,
    "triage": 8002,
    "police_liaison": 8003,
    "aftercare": 8004,
    "statistics": 8005,
}

_ENV_REF = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::(?P<default>[^}]*))?\}")


class ConfigError(Exception):
    """A configuration problem, phrased as the one line an operator needs to see."""


# ---------------------------------------------------------------- region file

class MunicipalitySchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^GM\d{4}$", error="must be a CBS gemeentecode such as GM0687"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    case_store_dsn = fields.String(required=True, validate=validate.Regexp(
        r"^postgres(ql)?://", error="must be a postgresql:// connection string"))
    police_unit = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9-]{1,62}$",
        error="must be a basisteam code of lower-case letters, digits and dashes"))
    # AVG: years after a case is closed (or withdrawn) that its personal data is kept;
    # `meldpunt retention run` erases it after that (docs/security.md).
    retention_years = fields.Integer(load_default=5, validate=validate.Range(
        min=1, max=30, error="must be a whole number of years from 1 to 30"))


class RegionHeaderSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9-]{2,20}$", error="must be a short code such as VR19"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


RegionFileSchema = Schema.from_dict({
    "region": fields.Nested(RegionHeaderSchema, required=True),
    "statistics_dsn": fields.String(required=True, validate=validate.Regexp(
        r"^postgres(ql)?://", error="must be a postgresql:// connection string")),
    "municipalities": fields.List(fields.Dict(), required=True,
                                  validate=validate.Length(min=1, error="lists no municipality")),
    # One optional section per service (e.g. `triage:`), validated by services/<name>/options.py.
    **{service: fields.Dict(load_default=dict) for service in SERVICES},
}, name="RegionFileSchema")


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    case_store_dsn: str
    police_unit: str
    retention_years: int = 5


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    statistics_dsn: str
    municipalities: tuple[Municipality, ...]
    source: str = ""
    options: dict = field(default_factory=dict)  # service name -> its validated region options

    def municipality(self, code: str) -> Municipality:
        for m in self.municipalities:
            if m.code == code:
                return m
        raise KeyError(code)

    def knows(self, code: str) -> bool:
        return any(m.code == code for m in self.municipalities)

    @property
    def codes(self) -> list[str]:
        return [m.code for m in self.municipalities]


def _expand_env(value, environ, path=""):
    """Replace ${VAR} and ${VAR:default} in strings, like nameko's config files."""
    if isinstance(value, str):
        def sub(match):
            name, default = match.group("name"), match.group("default")
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            raise ConfigError(f"{path}: environment variable {name} is not set")
        return _ENV_REF.sub(sub, value)
    if isinstance(value, list):
        return [_expand_env(v, environ, _item_path(path, i, v)) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _expand_env(v, environ, f"{path}: {k}" if path.startswith("municipality ") else
                               (f"{path}.{k}" if path else str(k))) for k, v in value.items()}
    return value


def _item_path(path, index, item):
    if path == "municipalities":
        code = item.get("code") if isinstance(item, dict) else None
        return f"municipality {code or '#' + str(index + 1)}"
    return f"{path}.{index}"


def _same_database(dsn: str) -> tuple:
    """What identifies a database, however its connection string is written."""
    from psycopg2.extensions import parse_dsn

    params = parse_dsn(dsn)
    return (params.get("host") or "localhost", str(params.get("port") or 5432), params.get("dbname"))


def _first_error(messages, prefix=""):
    """Flatten marshmallow's nested messages to ('field.path', 'message') for the first one."""
    if isinstance(messages, dict):
        key = sorted(messages, key=str)[0]
        path = f"{prefix}.{key}" if prefix else str(key)
        return _first_error(messages[key], path)
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], prefix)
    return prefix, str(messages)


def load_region(path: str | os.PathLike | None = None, environ=None) -> Region:
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("MELDPUNT_REGION") or DEFAULT_REGION_FILE)
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: region file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{where}: not valid YAML{line}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping with region, statistics_dsn and municipalities")

    try:
        raw = _expand_env(raw, environ)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None

    try:
        top = RegionFileSchema().load(raw)
    except ValidationError as exc:
        field_path, message = _first_error(exc.messages)
        raise ConfigError(f"{where}: {field_path}: {message}") from None

    municipalities = []
    seen_codes, seen_dsns = set(), {}
    for index, item in enumerate(top["municipalities"], start=1):
        label = f"municipality {item.get('code') or '#' + str(index)}"
        try:
            m = MunicipalitySchema().load(item)
        except ValidationError as exc:
            field_path, message = _first_error(exc.messages)
            raise ConfigError(f"{where}: {label}: {field_path}: {message}") from None
        if m["code"] in seen_codes:
            raise ConfigError(f"{where}: {label}: code: listed twice")
        database = _same_database(m["case_store_dsn"])
        if database in seen_dsns:
            raise ConfigError(
                f"{where}: {label}: case_store_dsn: same database as {seen_dsns[database]}; "
                "every municipality needs its own case store")
        if database == _same_database(top["statistics_dsn"]):
            raise ConfigError(f"{where}: {label}: case_store_dsn: same database as statistics_dsn")
        seen_codes.add(m["code"])
        seen_dsns[database] = m["code"]
        municipalities.append(Municipality(**m))

    options = {}
    for service in SERVICES:
        schema = _options_schema(service)
        if schema is None:
            if top[service]:
                raise ConfigError(f"{where}: {service}: this service takes no region options")
            continue
        try:
            options[service] = schema.load(top[service])
        except ValidationError as exc:
            field_path, message = _first_error(exc.messages)
            raise ConfigError(f"{where}: {service}.{field_path}: {message}") from None

    return Region(code=top["region"]["code"], name=top["region"]["name"],
                  statistics_dsn=top["statistics_dsn"],
                  municipalities=tuple(municipalities), source=where, options=options)


def _options_schema(service: str) -> Schema | None:
    """The marshmallow schema of a service's region options (services/<name>/options.py), if any."""
    try:
        module = importlib.import_module(f"services.{service}.options")
    except ModuleNotFoundError as exc:
        if exc.name != f"services.{service}.options":
            raise
        return None
    return module.OptionsSchema()


# ------------------------------------------------------------ hub settings

def _delays(value: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise ValidationError("must be a comma-separated list of seconds such as 1,5,30") from None
    if not delays or any(not math.isfinite(d) or d <= 0 for d in delays):
        raise ValidationError("must list at least one positive, finite number of seconds")
    return delays


_SETTINGS_FIELDS = {
    "MELDPUNT_AMQP_URI": fields.String(load_default="amqp://guest:guest@127.0.0.1:5672/",
                                       validate=validate.Regexp(r"^(py)?amqps?://", error="must start with amqp://")),
    "MELDPUNT_RABBIT_API_URI": fields.String(load_default="http://guest:guest@127.0.0.1:15672/api/"),
    "MELDPUNT_HTTP_HOST": fields.String(load_default="127.0.0.1"),
    "MELDPUNT_DB_MAX_CONNECTIONS": fields.Integer(load_default=12, validate=validate.Range(min=1, max=200)),
    "MELDPUNT_DB_IDLE_SECONDS": fields.Float(load_default=30.0, validate=validate.Range(min=0.1)),
    "MELDPUNT_RETRY_DELAYS": fields.String(load_default="1,5,30,120,600", validate=_delays),
    "MELDPUNT_OUTBOX_SWEEP_SECONDS": fields.Float(load_default=1.0, validate=validate.Range(min=0.05, max=60)),
    "MELDPUNT_MAX_WORKERS": fields.Integer(load_default=10, validate=validate.Range(min=1, max=200)),
    "MELDPUNT_LOG_LEVEL": fields.String(load_default="INFO", validate=validate.OneOf(
        ["DEBUG", "INFO", "WARNING", "ERROR"])),
    "MELDPUNT_MAX_BODY_BYTES": fields.Integer(load_default=256 * 1024, validate=validate.Range(min=1024)),
    "MELDPUNT_VAR_DIR": fields.String(load_default=str(REPO_ROOT / "var")),
    # The master key that wraps each municipality's data keys (shared/crypto.py): base64 of
    # 32 random bytes, directly or in a file. Never in the repository or the region file.
    "MELDPUNT_MASTER_KEY": fields.String(load_default=None),
    "MELDPUNT_MASTER_KEY_FILE": fields.String(load_default=None),
    # The region secret for keyed hashes: perpetrator identifiers (triage) and case references
    # (statistics). No default on purpose: both refuse to start without it (or the region
    # file's triage.region_secret_file).
    "MELDPUNT_REGION_SECRET": fields.String(load_default=None, allow_none=True, validate=validate.Length(
        min=32, error="must be at least 32 characters (e.g. `openssl rand -hex 32`)")),
    **{f"MELDPUNT_{service.upper()}_PORT": fields.Integer(
        load_default=DEFAULT_PORTS[service], validate=validate.Range(min=1, max=65535))
       for service in SERVICES},
    # Rate limit per API key on key-authenticated endpoints, per service process (token bucket).
    "MELDPUNT_API_RATE_PER_MINUTE": fields.Float(load_default=600.0, validate=validate.Range(min=0.1)),
    "MELDPUNT_API_BURST": fields.Integer(load_default=60, validate=validate.Range(min=1)),
    # Each service's own RabbitMQ user (`meldpunt broker setup` creates them with narrow
    # permissions); without one a service connects with MELDPUNT_AMQP_URI's credentials.
    **{f"MELDPUNT_AMQP_USER_{service.upper()}": fields.String(
        load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9_.@/-]{1,120}$",
                                                    error="letters, digits and _ . @ / - only"))
       for service in SERVICES},
    **{f"MELDPUNT_AMQP_PASSWORD_{service.upper()}": fields.String(load_default=None) for service in SERVICES},
    **{f"MELDPUNT_AMQP_PASSWORD_FILE_{service.upper()}": fields.String(load_default=None) for service in SERVICES},
}
# MELDPUNT_* environment variables, each documented in docs/configuration.md.
SettingsSchema = Schema.from_dict(_SETTINGS_FIELDS, name="SettingsSchema")


@dataclass(frozen=True)
class Settings:
    region: Region
    amqp_uri: str
    rabbit_api_uri: str
    http_host: str
    ports: dict
    db_max_connections: int
    db_idle_seconds: float
    retry_delays: tuple
    outbox_sweep_seconds: float
    max_workers: int
    log_level: str
    max_body_bytes: int
    var_dir: Path
    master_key: bytes | None = field(default=None, repr=False)  # None: encryption unavailable
    region_secret: str | None = field(default=None, repr=False)
    api_rate_per_minute: float = 600.0
    api_burst: int = 60
    amqp_users: dict = field(default_factory=dict, repr=False)  # service -> (user, password)

    def runs_as_own_amqp_user(self, service: str) -> bool:
        return service in self.amqp_users

    def amqp_uri_for(self, service: str) -> str:
        """MELDPUNT_AMQP_URI with the service's own user and password, when it has one."""
        if service not in self.amqp_users:
            return self.amqp_uri
        user, password = self.amqp_users[service]
        parts = urlsplit(self.amqp_uri)
        host = parts.hostname or "localhost"
        host = f"[{host}]" if ":" in host else host
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def http_address(self, service: str) -> str:
        return f"{self.http_host}:{self.ports[service]}"

    def nameko_config(self, service: str | None = None) -> dict:
        """The nameko container config for one service, built from these settings."""
        own = replace(self, amqp_uri=self.amqp_uri_for(service)) if service in self.amqp_users else self
        config = {
            "AMQP_URI": own.amqp_uri,
            "max_workers": self.max_workers,
            "serializer": "json",
            "MELDPUNT_SETTINGS": own,
        }
        if service:
            config["WEB_SERVER_ADDRESS"] = self.http_address(service)
        return config


def load_settings(environ=None, region_path=None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    region = load_region(region_path, environ)
    known = {k: v for k, v in environ.items() if k in _SETTINGS_FIELDS and v != ""}  # empty = unset
    try:
        data = SettingsSchema().load(known)
    except ValidationError as exc:
        name, message = _first_error(exc.messages)
        raise ConfigError(f"environment: {name}: {message}") from None
    return Settings(
        region=region,
        amqp_uri=data["MELDPUNT_AMQP_URI"],
        rabbit_api_uri=data["MELDPUNT_RABBIT_API_URI"],
        http_host=data["MELDPUNT_HTTP_HOST"],
        ports={s: data[f"MELDPUNT_{s.upper()}_PORT"] for s in SERVICES},
        db_max_connections=data["MELDPUNT_DB_MAX_CONNECTIONS"],
        db_idle_seconds=data["MELDPUNT_DB_IDLE_SECONDS"],
        retry_delays=_delays(data["MELDPUNT_RETRY_DELAYS"]),
        outbox_sweep_seconds=data["MELDPUNT_OUTBOX_SWEEP_SECONDS"],
        max_workers=data["MELDPUNT_MAX_WORKERS"],
        log_level=data["MELDPUNT_LOG_LEVEL"],
        max_body_bytes=data["MELDPUNT_MAX_BODY_BYTES"],
        var_dir=Path(data["MELDPUNT_VAR_DIR"]),
        master_key=_master_key(data),
        region_secret=data["MELDPUNT_REGION_SECRET"],
        api_rate_per_minute=data["MELDPUNT_API_RATE_PER_MINUTE"],
        api_burst=data["MELDPUNT_API_BURST"],
        amqp_users=_amqp_users(data),
    )


def _amqp_users(data) -> dict:
    users = {}
    for service in SERVICES:
        upper = service.upper()
        user = data[f"MELDPUNT_AMQP_USER_{upper}"]
        password, password_file = data[f"MELDPUNT_AMQP_PASSWORD_{upper}"], data[f"MELDPUNT_AMQP_PASSWORD_FILE_{upper}"]
        if user is None:
            if password or password_file:
                raise ConfigError(f"environment: MELDPUNT_AMQP_PASSWORD_{upper}: set MELDPUNT_AMQP_USER_{upper} as well")
            continue
        if not password and password_file:
            try:
                password = Path(password_file).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"environment: MELDPUNT_AMQP_PASSWORD_FILE_{upper}: cannot read "
                                  f"{password_file}: {type(exc).__name__}") from None
        if not password:
            raise ConfigError(f"environment: MELDPUNT_AMQP_USER_{upper} is set: give its password in "
                              f"MELDPUNT_AMQP_PASSWORD_{upper} or MELDPUNT_AMQP_PASSWORD_FILE_{upper}")
        users[service] = (user, password)
    return users


def _master_key(data) -> bytes | None:
    from shared.crypto import CryptoError, load_master_key

    try:
        return load_master_key(data["MELDPUNT_MASTER_KEY"], data["MELDPUNT_MASTER_KEY_FILE"])
    except CryptoError as exc:
        raise ConfigError(f"environment: {exc}") from None


def region_secret(settings: Settings) -> bytes:
    """The region secret for keyed hashes: MELDPUNT_REGION_SECRET, else the file the region's
    `triage.region_secret_file` names. Missing is a configuration error, never a default."""
    if settings.region_secret:
        return settings.region_secret.encode("utf-8")
    path = settings.region.options.get("triage", {}).get("region_secret_file")
    if not path:
        raise ConfigError("MELDPUNT_REGION_SECRET is not set and the region file has no "
                          "triage.region_secret_file: triage (perpetrators) and statistics (case "
                          "references) need the region secret for their keyed hashes")
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"triage.region_secret_file {path}: cannot read ({exc.strerror})") from None
    if len(secret) < 32:
        raise ConfigError(f"triage.region_secret_file {path}: the secret must be at least 32 characters")
    return secret.encode("utf-8")


def settings_from_nameko(config: dict) -> Settings:
    """The settings a container was started with (the runner puts them in its config)."""
    settings = config.get("MELDPUNT_SETTINGS")
    if settings is None:
        settings = load_settings()
    return settings
