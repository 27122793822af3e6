"""The hub's configuration, read once: the region file and the MELDPUNT_* environment.

Everything configurable lives here, validated with marshmallow, so that a broken
setting fails at start-up with one line naming the file, the municipality and the field.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import yaml
from marshmallow import Schema, ValidationError, fields, validate

from shared.names import PORTS, SERVICES
from shared.schemas import MUNICIPALITY_CODE, POLICE_UNIT

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGION_FILE = REPO_ROOT / "deploy" / "regions" / "demo.yaml"

DEFAULT_PORTS = PORTS

_ENV_REF = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::(?P<default>[^}]*))?\}")


class ConfigError(Exception):
    """A configuration problem, phrased as the one line an operator needs to see."""


# ---------------------------------------------------------------- region file

class MunicipalitySchema(Schema):
    code = fields.String(required=True, validate=MUNICIPALITY_CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    case_store_dsn = fields.String(required=True, validate=validate.Regexp(
        r"^postgres(ql)?://", error="must be a postgresql:// connection string"))
    police_unit = fields.String(required=True, validate=POLICE_UNIT)
    # AVG: years after a case is closed (or withdrawn) that its personal data is kept;
    # `meldpunt retention run` erases it after that (docs/security.md).
    retention_years = fields.Integer(load_default=5, validate=validate.Range(
        min=1, max=30, error="must be a whole number of years from 1 to 30"))
    # Where a report with a conflict of interest goes (the perpetrator is a colleague, a manager,
    # the meldpunt's own staff or the municipality's leadership): the regional coordinator, or
    # another municipality's meldpunt (docs/workbench.md#conflicts-of-interest).
    conflicts_to = fields.String(load_default="region", validate=validate.Regexp(
        r"^(region|GM\d{4})$", error="must be region or a gemeentecode such as GM0718"))


class RegionHeaderSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9-]{2,20}$", error="must be a short code such as VR19"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class BackupSchema(Schema):
    """The region's backups (`backup:` in the region file): pgBackRest, set up by `meldpunt backup setup`
    (docs/operations.md#backups). Relative paths are relative to the repository."""
    # pgBackRest's repository (repo1-path): put it on another machine or disk than the databases
    repository = fields.String(required=True, validate=validate.Length(min=1))
    # the repository's own encryption key (not the master key); `backup setup` makes it when missing
    cipher_key_file = fields.String(required=True, validate=validate.Length(min=1))
    # the pgBackRest configuration `backup setup` writes (it holds the cipher key: mode 0600)
    config_file = fields.String(load_default="/etc/pgbackrest/pgbackrest.conf")
    log_dir = fields.String(load_default="/var/log/pgbackrest")
    # the operating-system user that owns the PostgreSQL data directories; pgBackRest runs as it
    os_user = fields.String(load_default="postgres", validate=validate.Regexp(r"^[a-z_][a-z0-9_-]{0,31}$"))
    full_every_days = fields.Integer(load_default=7, validate=validate.Range(min=1, max=31))
    # full backups (and the WAL after them) are kept this long: the window of point-in-time restore
    retention_days = fields.Integer(load_default=28, validate=validate.Range(min=7, max=92))
    max_age_hours = fields.Float(load_default=26.0, validate=validate.Range(min=1, max=24 * 14))
    # a Prometheus textfile (node_exporter's textfile collector) that `backup run` and `backup status` write
    metrics_file = fields.String(load_default=None, allow_none=True)


RegionFileSchema = Schema.from_dict({
    "region": fields.Nested(RegionHeaderSchema, required=True),
    "statistics_dsn": fields.String(required=True, validate=validate.Regexp(
        r"^postgres(ql)?://", error="must be a postgresql:// connection string")),
    # The region's key store: every case's own data key (crypto-shredding, docs/encryption.md#case-keys), in a
    # database of its own so that a case store's backups never hold them. Without it each case store keeps its
    # cases' keys itself (erasure then does not reach into older backups of that store).
    "key_store_dsn": fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^postgres(ql)?://", error="must be a postgresql:// connection string")),
    "municipalities": fields.List(fields.Dict(), required=True,
                                  validate=validate.Length(min=1, error="lists no municipality")),
    # One optional section per service (e.g. `triage:`), validated by services/<name>/options.py
    # (the schemas the composition root hands to load_region: hub/registry.py).
    **{service: fields.Dict(load_default=dict) for service in SERVICES},
    "backup": fields.Nested(BackupSchema, load_default=None, allow_none=True),
}, name="RegionFileSchema")


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    case_store_dsn: str
    police_unit: str
    retention_years: int = 5
    conflicts_to: str = "region"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    statistics_dsn: str
    municipalities: tuple[Municipality, ...]
    source: str = ""
    options: dict = field(default_factory=dict)  # service name -> its validated region options
    backup: dict | None = None  # the validated `backup:` section (BackupSchema), None: not configured
    key_store_dsn: str | None = None  # the region's key store of case keys; None: in each case store

    @cached_property
    def _by_code(self) -> dict[str, Municipality]:
        """Every event names its municipality: at 342 a scan of the list cost 7-17 µs per look-up."""
        return {m.code: m for m in self.municipalities}

    def municipality(self, code: str) -> Municipality:
        return self._by_code[code]

    def knows(self, code: str) -> bool:
        return code in self._by_code

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


def read_yaml(text: str):
    """YAML as yaml.safe_load reads it, by libyaml's C loader where PyYAML was built with it: the region, the
    rules and the corpus files are read by every process and test, and the pure-Python scanner took a fifth of
    the test suite's CPU (py-spy, 2026-12-07)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_region(path: str | os.PathLike | None = None, environ=None, *, sections) -> Region:
    """The region file. `sections`: each service's options schema class (None: it takes no options),
    so that a broken section fails here, at start-up; hub.registry.load_region passes the services'."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("MELDPUNT_REGION") or DEFAULT_REGION_FILE)
    where = str(path)
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
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
        if top.get("key_store_dsn") and database == _same_database(top["key_store_dsn"]):
            raise ConfigError(f"{where}: {label}: case_store_dsn: same database as key_store_dsn")
        seen_codes.add(m["code"])
        seen_dsns[database] = m["code"]
        municipalities.append(Municipality(**m))
    codes = {m.code for m in municipalities}
    for m in municipalities:
        if m.conflicts_to != "region" and (m.conflicts_to == m.code or m.conflicts_to not in codes):
            raise ConfigError(f"{where}: municipality {m.code}: conflicts_to: must be region or another "
                              "municipality of this region")

    options = {}
    for service in SERVICES:
        schema = sections.get(service)
        if schema is None:
            if top[service]:
                raise ConfigError(f"{where}: {service}: this service takes no region options")
            continue
        try:
            options[service] = schema().load(top[service])
            # what a section can only check against the rest of the file (e.g. municipality codes)
            check = getattr(schema, "check_region", None)
            if check is not None:
                check(options[service], codes)
        except ValidationError as exc:
            field_path, message = _first_error(exc.messages)
            raise ConfigError(f"{where}: {service}.{field_path}: {message}") from None

    backup = top.get("backup")
    if backup:
        backup = {**backup, **{key: str(from_repo(backup[key])) for key in
                               ("repository", "cipher_key_file", "config_file", "log_dir", "metrics_file")
                               if backup.get(key)}}
    return Region(code=top["region"]["code"], name=top["region"]["name"],
                  statistics_dsn=top["statistics_dsn"],
                  municipalities=tuple(municipalities), source=where, options=options, backup=backup,
                  key_store_dsn=top.get("key_store_dsn"))


def from_repo(path: str) -> Path:
    """Relative paths in the region file are relative to the repository, wherever the command runs."""
    return Path(path) if Path(path).is_absolute() else REPO_ROOT / path


# ------------------------------------------------------------ hub settings

def _delays(value: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise ValidationError("must be a comma-separated list of seconds such as 1,5,30") from None
    if not delays or any(not math.isfinite(d) or d <= 0 for d in delays):
        raise ValidationError("must list at least one positive, finite number of seconds")
    return delays


def _networks(value: str) -> None:
    from shared.ratelimit import parse_networks

    try:
        parse_networks(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


_SETTINGS_FIELDS = {
    # One node's address, or every node of a cluster separated by `;` (kombu tries them in turn).
    "MELDPUNT_AMQP_URI": fields.String(load_default="amqp://guest:guest@127.0.0.1:5672/",
                                       validate=validate.Regexp(r"^(py)?amqps?://[^;]+(;(py)?amqps?://[^;]+)*$",
                                                                error="must start with amqp:// (several nodes: "
                                                                      "amqp://…;amqp://…)")),
    "MELDPUNT_RABBIT_API_URI": fields.String(load_default="http://guest:guest@127.0.0.1:15672/api/"),
    "MELDPUNT_HTTP_HOST": fields.String(load_default="127.0.0.1"),
    "MELDPUNT_DB_MAX_CONNECTIONS": fields.Integer(load_default=12, validate=validate.Range(min=1, max=200)),
    "MELDPUNT_DB_IDLE_SECONDS": fields.Float(load_default=30.0, validate=validate.Range(min=0.1)),
    # How long `meldpunt run` waits for every service's first /health: in a large region that first look
    # reaches every database, and on a slow or busy machine 342 stores took longer than a minute.
    "MELDPUNT_START_TIMEOUT_SECONDS": fields.Float(load_default=60.0, validate=validate.Range(min=1)),
    # Every service connection's PostgreSQL session limits (milliseconds): a lock not granted, a statement
    # not finished, a transaction left open (a stuck worker) end there instead of holding the pool.
    "MELDPUNT_DB_LOCK_TIMEOUT_MS": fields.Integer(load_default=5000, validate=validate.Range(min=1)),
    "MELDPUNT_DB_STATEMENT_TIMEOUT_MS": fields.Integer(load_default=30000, validate=validate.Range(min=1)),
    "MELDPUNT_DB_IDLE_IN_TRANSACTION_MS": fields.Integer(load_default=60000, validate=validate.Range(min=1)),
    # The web server of every service (shared/http.py): a read that waits longer than IDLE seconds, a request
    # line and headers not complete within HEADER seconds, a body not complete within BODY seconds close the
    # connection (408); more than MAX_CONNECTIONS open connections per process are answered 503 at once.
    "MELDPUNT_HTTP_IDLE_SECONDS": fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=600)),
    "MELDPUNT_HTTP_HEADER_SECONDS": fields.Float(load_default=15.0, validate=validate.Range(min=0.1, max=600)),
    "MELDPUNT_HTTP_BODY_SECONDS": fields.Float(load_default=60.0, validate=validate.Range(min=0.1, max=3600)),
    # The TLS proxies in front of the services (addresses or networks, comma-separated): only from these is
    # X-Forwarded-For believed, for the public form's rate limit per address. Empty: no proxy is trusted.
    "MELDPUNT_TRUSTED_PROXIES": fields.String(load_default="", validate=_networks),
    "MELDPUNT_HTTP_MAX_CONNECTIONS": fields.Integer(load_default=200, validate=validate.Range(min=1, max=10000)),
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
    # The master key before a rotation (`meldpunt keys rotate-master`): data keys still wrapped by it unwrap
    # until the rotation has re-wrapped them all; then it is removed.
    "MELDPUNT_MASTER_KEY_PREVIOUS": fields.String(load_default=None),
    "MELDPUNT_MASTER_KEY_PREVIOUS_FILE": fields.String(load_default=None),
    # The region secret for keyed hashes: perpetrator identifiers (triage) and case references
    # (statistics). No default on purpose: both refuse to start without it (or the region
    # file's triage.region_secret_file).
    "MELDPUNT_REGION_SECRET": fields.String(load_default=None, allow_none=True, validate=validate.Length(
        min=32, error="must be at least 32 characters (e.g. `openssl rand -hex 32`)")),
    # Statistics' own key, derived from the region secret (`meldpunt keys derive-statistics`; shared/keyed.py): the
    # statistics service gets this instead of the region secret (issue 21, item 2). 64 hexadecimal characters.
    "MELDPUNT_STATISTICS_KEY": fields.String(load_default=None, validate=validate.Regexp(
        r"^[0-9a-fA-F]{64}$", error="64 hexadecimal characters, as `meldpunt keys derive-statistics` prints")),
    **{f"MELDPUNT_{service.upper()}_PORT": fields.Integer(
        load_default=DEFAULT_PORTS[service], validate=validate.Range(min=1, max=65535))
       for service in SERVICES},
    # Each service's operator port: GET /metrics is served there only, never on the public port (issue 21,
    # item 8); default the service's port + 1000 (9001 for intake). MELDPUNT_OPERATOR_HOST: where it listens.
    **{f"MELDPUNT_{service.upper()}_OPERATOR_PORT": fields.Integer(
        load_default=DEFAULT_PORTS[service] + 1000, validate=validate.Range(min=1, max=65535))
       for service in SERVICES},
    "MELDPUNT_OPERATOR_HOST": fields.String(load_default=None),
    # Where the workbench reaches each service's HTTP API (its base URL, e.g. http://intake:8001 under
    # docker-compose); default this host's own port, which serves only where every service runs on one host.
    **{f"MELDPUNT_{service.upper()}_URL": fields.Url(
        load_default=None, require_tld=False, schemes={"http", "https"},
        error_messages={"invalid": "must be an http:// or https:// URL such as http://intake:8001"})
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
    # Each service's own PostgreSQL role (issue 21, item 1; `meldpunt migrate` makes meldpunt_<service> with
    # exactly its grants, and sets the password it is given); without it a service uses the DSNs' user.
    **{f"MELDPUNT_PGUSER_{service.upper()}": fields.String(load_default=None, validate=validate.Regexp(
        r"^[a-z_][a-z0-9_]{0,62}$", error="a PostgreSQL role name such as meldpunt_intake")) for service in SERVICES},
    **{f"MELDPUNT_PGPASSWORD_{service.upper()}": fields.String(load_default=None) for service in SERVICES},
    **{f"MELDPUNT_PGPASSWORD_FILE_{service.upper()}": fields.String(load_default=None) for service in SERVICES},
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
    previous_master_key: bytes | None = field(default=None, repr=False)  # during a master key rotation
    region_secret: str | None = field(default=None, repr=False)
    statistics_key: bytes | None = field(default=None, repr=False)  # MELDPUNT_STATISTICS_KEY (shared/keyed.py)
    api_rate_per_minute: float = 600.0
    api_burst: int = 60
    amqp_users: dict = field(default_factory=dict, repr=False)  # service -> (user, password)
    pg_users: dict = field(default_factory=dict, repr=False)  # service -> (role, password or None)

    def as_service(self, service: str) -> "Settings":
        """These settings with every database DSN of the region naming the service's own role (when it has one)."""
        if service not in self.pg_users:
            return self
        from psycopg2.extensions import make_dsn

        user, password = self.pg_users[service]
        own = (lambda dsn: make_dsn(dsn, user=user, password=password)) if password else \
            (lambda dsn: make_dsn(dsn, user=user))
        region = self.region
        options = dict(region.options)
        if (options.get("workbench") or {}).get("database_dsn"):
            options["workbench"] = {**options["workbench"], "database_dsn": own(options["workbench"]["database_dsn"])}
        region = replace(region, statistics_dsn=own(region.statistics_dsn), options=options,
                         key_store_dsn=own(region.key_store_dsn) if region.key_store_dsn else None,
                         municipalities=tuple(replace(m, case_store_dsn=own(m.case_store_dsn))
                                              for m in region.municipalities))
        return replace(self, region=region, pg_users={})
    db_lock_timeout_ms: int = 5000
    db_statement_timeout_ms: int = 30000
    db_idle_in_transaction_ms: int = 60000
    start_timeout_seconds: float = 60.0
    http_idle_seconds: float = 10.0
    http_header_seconds: float = 15.0
    http_body_seconds: float = 60.0
    http_max_connections: int = 200
    trusted_proxies: tuple = ()  # ipaddress networks
    operator_ports: dict = field(default_factory=dict)  # service -> its operator port (GET /metrics)
    operator_host: str | None = None  # None: http_host
    service_urls: dict = field(default_factory=dict)  # service -> its base URL where MELDPUNT_<SERVICE>_URL sets one

    @property
    def db_session_options(self) -> str:
        """libpq `options` for a service's connections: the session limits above."""
        return (f"-c lock_timeout={self.db_lock_timeout_ms} -c statement_timeout={self.db_statement_timeout_ms} "
                f"-c idle_in_transaction_session_timeout={self.db_idle_in_transaction_ms}")

    def runs_as_own_amqp_user(self, service: str) -> bool:
        return service in self.amqp_users

    def amqp_uri_for(self, service: str) -> str:
        """MELDPUNT_AMQP_URI with the service's own user and password, when it has one (in
        every node's address of a cluster)."""
        if service not in self.amqp_users:
            return self.amqp_uri
        user, password = self.amqp_users[service]
        own = []
        for uri in self.amqp_uri.split(";"):
            parts = urlsplit(uri)
            host = parts.hostname or "localhost"
            host = f"[{host}]" if ":" in host else host
            netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
            own.append(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))
        return ";".join(own)

    def http_address(self, service: str) -> str:
        return f"{self.http_host}:{self.ports[service]}"

    def service_url(self, service: str) -> str:
        """The base URL another service (the workbench) calls this service at: MELDPUNT_<SERVICE>_URL, or this
        host's port for it (127.0.0.1 when the services listen on every address), as under `meldpunt run`."""
        if service in self.service_urls:
            return self.service_urls[service]
        host = self.http_host if self.http_host not in ("0.0.0.0", "") else "127.0.0.1"
        return f"http://{host}:{self.ports[service]}"

    def operator_address(self, service: str) -> str:
        """Where a service serves its operator endpoints (GET /metrics), apart from the public port."""
        port = self.operator_ports.get(service, self.ports[service] + 1000)
        return f"{self.operator_host or self.http_host}:{port}"

    def nameko_config(self, service: str | None = None) -> dict:
        """The nameko container config for one service, built from these settings."""
        own = replace(self, amqp_uri=self.amqp_uri_for(service)) if service in self.amqp_users else self
        own = own.as_service(service) if service else own
        config = {
            "AMQP_URI": own.amqp_uri,
            "max_workers": self.max_workers,
            "serializer": "json",
            "MELDPUNT_SETTINGS": own,
        }
        if service:
            config["WEB_SERVER_ADDRESS"] = self.http_address(service)
            config["MELDPUNT_OPERATOR_ADDRESS"] = self.operator_address(service)
        return config


def load_settings(environ=None, region_path=None, *, sections) -> Settings:
    """MELDPUNT_* and the region file (`sections`: as for load_region)."""
    environ = dict(os.environ if environ is None else environ)
    region = load_region(region_path, environ, sections=sections)
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
        previous_master_key=_master_key(data, "_PREVIOUS"),
        region_secret=data["MELDPUNT_REGION_SECRET"],
        statistics_key=bytes.fromhex(data["MELDPUNT_STATISTICS_KEY"]) if data["MELDPUNT_STATISTICS_KEY"] else None,
        api_rate_per_minute=data["MELDPUNT_API_RATE_PER_MINUTE"],
        api_burst=data["MELDPUNT_API_BURST"],
        amqp_users=_amqp_users(data),
        pg_users=_pg_users(data),
        db_lock_timeout_ms=data["MELDPUNT_DB_LOCK_TIMEOUT_MS"],
        db_statement_timeout_ms=data["MELDPUNT_DB_STATEMENT_TIMEOUT_MS"],
        db_idle_in_transaction_ms=data["MELDPUNT_DB_IDLE_IN_TRANSACTION_MS"],
        start_timeout_seconds=data["MELDPUNT_START_TIMEOUT_SECONDS"],
        http_idle_seconds=data["MELDPUNT_HTTP_IDLE_SECONDS"],
        http_header_seconds=data["MELDPUNT_HTTP_HEADER_SECONDS"],
        http_body_seconds=data["MELDPUNT_HTTP_BODY_SECONDS"],
        http_max_connections=data["MELDPUNT_HTTP_MAX_CONNECTIONS"],
        trusted_proxies=_trusted_proxies(data["MELDPUNT_TRUSTED_PROXIES"]),
        operator_ports={s: data[f"MELDPUNT_{s.upper()}_OPERATOR_PORT"] for s in SERVICES},
        operator_host=data["MELDPUNT_OPERATOR_HOST"],
        service_urls={s: data[f"MELDPUNT_{s.upper()}_URL"].rstrip("/") for s in SERVICES
                      if data[f"MELDPUNT_{s.upper()}_URL"]},
    )


def _pg_users(data) -> dict:
    users = {}
    for service in SERVICES:
        upper = service.upper()
        user = data[f"MELDPUNT_PGUSER_{upper}"]
        if user is None:
            continue
        password, path = data[f"MELDPUNT_PGPASSWORD_{upper}"], data[f"MELDPUNT_PGPASSWORD_FILE_{upper}"]
        if not password and path:
            try:
                password = Path(path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"environment: MELDPUNT_PGPASSWORD_FILE_{upper}: cannot read {path}: "
                                  f"{type(exc).__name__}") from None
        users[service] = (user, password or None)
    return users


def _trusted_proxies(text: str) -> tuple:
    from shared.ratelimit import parse_networks

    return parse_networks(text)


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


def _master_key(data, which: str = "") -> bytes | None:
    from shared.crypto import CryptoError, load_master_key

    try:
        return load_master_key(data[f"MELDPUNT_MASTER_KEY{which}"], data[f"MELDPUNT_MASTER_KEY{which}_FILE"],
                               name=f"MELDPUNT_MASTER_KEY{which}")
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
        raise ConfigError("the container's config has no MELDPUNT_SETTINGS: start services with "
                          "`meldpunt run` (hub/runner.py) or Settings.nameko_config")
    return settings
