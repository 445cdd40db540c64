"""Typed, layered configuration.

Each value is looked up in layers, the later winning: defaults < config file (YAML) < environment
file (`config/environments/<env>.env`) < values changed at run time through the admin API
(products only) < `DATAPLATFORM_*` environment variables. A value that its type refuses stops the
start with a `ConfigError` naming the key, the value, where it came from and why it was refused.
"""

import contextvars
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from dotenv import dotenv_values
from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from dataplatform.core.bounds import MAX_LIFETIME_DAYS
from dataplatform.core.errors import ConfigError, did_you_mean

ENV_PREFIX = "DATAPLATFORM_"
Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod")

S = TypeVar("S", bound="LayeredSettings")


# Values changed through the admin API, for the settings being built now (see `load_settings`).
_stored_values: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "dataplatform_stored_settings", default=None
)


class _StoredValues(PydanticBaseSettingsSource):
    """The layer of values changed at run time: above the files, below environment variables."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return (_stored_values.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_stored_values.get() or {})


class LayeredSettings(BaseSettings):
    """Base of every settings class: variables > stored values > env file > YAML file."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init values, so it must rank below every other layer.
        return env_settings, _StoredValues(settings_cls), dotenv_settings, init_settings


class CollectorLimits(BaseModel):
    """What the collector accepts; anything over a limit is refused with 413 naming it."""

    max_event_bytes: int = Field(32 * 1024, gt=0, description="Largest single event, as JSON.")
    max_body_bytes: int = Field(
        500 * 1024, gt=0, description="Largest Segment request body, after decompression."
    )
    max_posthog_batch_bytes: int = Field(
        20 * 1024 * 1024, gt=0, description="Largest PostHog /batch body, after decompression."
    )
    max_batch_events: int = Field(2500, gt=0, description="Most events in one batch.")
    # orjson writes at most 255 levels; the bound keeps every accepted item writable to bronze.
    max_event_depth: int = Field(
        64, gt=0, le=200, description="Deepest nesting of objects and lists in one event."
    )
    earliest_event_time: AwareDatetime = Field(
        datetime(2000, 1, 1, tzinfo=UTC),
        description="Events whose (skew-corrected) timestamp is earlier are quarantined.",
    )
    max_event_time_ahead: timedelta = Field(
        timedelta(days=1),
        ge=timedelta(0),
        le=timedelta(days=3650),
        description="Events whose (skew-corrected) timestamp is further ahead of the server's "
        "clock are quarantined (seconds or an ISO 8601 duration such as P1D).",
    )
    commit_interval_ms: int = Field(
        20,
        ge=0,
        description="Embedded bus: wait this long before each group commit, so that more "
        "requests share it (fewer, larger commits; each request waits up to this much longer).",
    )
    client_ip: Literal["full", "truncated", "none"] = Field(
        "truncated",
        description="How much of a client's IP address is kept in `context.ip` (and in `raw`, "
        "when the SDK sent one): `full`, `truncated` (IPv4 to its /24, IPv6 to its /48) or "
        "`none`. The address is the connection's, or `X-Forwarded-For` from a "
        "`gateway.trusted_proxies` proxy, unless the SDK sent one itself.",
    )


_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "jwt-secret", "xxx"}
MIN_SECRET_LENGTH = 32


class AuthSettings(BaseModel):
    """How callers prove who they are."""

    jwt_secret: SecretStr | None = Field(
        None,
        description="Key that signs access tokens (32+ characters). Required outside dev; in dev "
        "one is generated once and kept in the metadata store.",
    )
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = Field(
        "HS256", description="The one algorithm tokens are signed and accepted with."
    )
    access_token_minutes: int = Field(15, gt=0, le=24 * 60, description="Access token lifetime.")
    api_key_days: int = Field(
        90, gt=0, le=MAX_LIFETIME_DAYS, description="Default lifetime of a new API key."
    )
    cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a key, user or role lookup is trusted; also the longest a revoked "
        "key or a disabled user may still be accepted by another process.",
    )
    lockout_failures: int = Field(
        10,
        gt=0,
        description="Failed logins for one account, from any address, that lock it; counted "
        "over `lockout_minutes`.",
    )
    lockout_minutes: float = Field(
        15,
        gt=0,
        description="How long a locked account refuses every login, the right password too.",
    )

    @field_validator("jwt_secret")
    @classmethod
    def _refuse_weak_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if secret.lower() in _PLACEHOLDER_SECRETS or secret.startswith("<"):
            raise ValueError("is a placeholder; generate one with `openssl rand -hex 32`")
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @model_validator(mode="after")
    def _secret_as_long_as_the_hash(self) -> "AuthSettings":
        # RFC 7518 3.2: an HMAC key at least as long as the hash output.
        needed = {"HS256": 32, "HS384": 48, "HS512": 64}[self.jwt_algorithm]
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < needed:
            raise ValueError(
                f"auth.jwt_secret must have {needed}+ characters for {self.jwt_algorithm}"
            )
        return self


class GatewaySettings(BaseModel):
    """The API gateway's HTTP behaviour."""

    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the APIs (the collector accepts any origin).",
    )
    rate_limit: str = Field(
        "1200/minute", description="Requests each credential may make (`N/second|minute|hour`)."
    )
    anonymous_rate_limit: str = Field(
        "60/minute", description="Requests per client address to public routes (login form)."
    )
    rate_limit_storage: str = Field(
        "async+memory://",
        description="Where limits are counted: `async+memory://` per process, or "
        "`async+redis://host:6379/N` shared by every gateway process.",
    )
    snapshot_seconds: float = Field(
        1.0, ge=0, description="How long an API may serve a table snapshot before re-checking it."
    )
    answer_cache_entries: int = Field(
        256,
        ge=1,
        description="API answers each gateway process keeps per (query, parameters, table "
        "versions), least recently used evicted first: hot answers read no file again.",
    )
    config_check_seconds: float = Field(
        1.0,
        ge=0,
        description="How often each gateway process looks for a product configuration version "
        "saved since it built that product's router (one small query); 0: on every request.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or CIDR networks of the reverse proxies in front of the gateway: "
        "only a request coming straight from one has its `X-Forwarded-For` believed (client "
        "address for throttling and audit). Empty: the header is ignored.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, values: list[str]) -> list[str]:
        import ipaddress

        networks = []
        for index, value in enumerate(values):
            try:
                # Canonical (`10.0.0.0/8`, `10.0.0.5/32`): the form uvicorn's matcher parses.
                networks.append(str(ipaddress.ip_network(value.strip(), strict=False)))
            except ValueError:
                raise ValueError(
                    f"[{index}] = {value!r} is not an IP address or CIDR network such as "
                    "`10.0.0.5` or `10.0.0.0/8`; name each proxy (`*` would trust every client)"
                ) from None
        return networks

    @field_validator("rate_limit", "anonymous_rate_limit")
    @classmethod
    def _parseable_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("must look like `100/minute` or `10/second`") from None
        return value


class QuerySettings(BaseModel):
    """The limits of SQL run through `POST /query`: each query, and all of them together."""

    max_rows: int = Field(
        10_000, ge=1, le=1_000_000, description="Rows a query answers at most (it says so)."
    )
    timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="A query running longer is cancelled."
    )
    memory_limit_mb: int = Field(
        1024,
        ge=64,
        description="Memory every SQL query of a gateway process may use together; one needing "
        "more fails instead of starving the product APIs, which run apart.",
    )
    threads: int = Field(2, ge=1, le=64, description="Threads the SQL queries share.")
    exports_root: str = Field(
        ".data/exports",
        description="The folder exports write under, a local path or an `s3://` URI on the "
        "lake's store (reached with `storage_options`): an export names a folder inside it, "
        "never a path of its own, so no export can write elsewhere.",
    )


class AuditSettings(BaseModel):
    """How audit entries reach the hash-chained log."""

    flush_interval_ms: int = Field(
        200, gt=0, description="Buffered entries are appended at least this often."
    )
    batch_size: int = Field(500, gt=0, description="Most entries appended in one transaction.")


class MaintenanceSettings(BaseModel):
    """How the platform's jobs keep every lake table compact and its log bounded."""

    every_seconds: float = Field(
        3600, gt=0, description="How often every table is compacted, checkpointed and vacuumed."
    )
    min_small_files: int = Field(
        8,
        ge=2,
        description="Compact a partition (or unpartitioned table) once it holds this "
        "many files under the table's target file size.",
    )
    vacuum_retention_hours: int = Field(
        168,
        ge=168,
        description="Files a version this recent still reads are kept: at least as long as a "
        "reader, a model run or an API paging cursor holds a version (168, the tables' own "
        "deletedFileRetentionDuration, is the least the lake accepts).",
    )
    bronze_log_retention_hours: int = Field(
        168,
        ge=24,
        description="Bronze commits older than this leave the log at the next maintenance: keep "
        "it longer than a product's model runner may fall behind, which reads bronze's changes "
        "from its log.",
    )
    bronze_checkpoint_interval: int = Field(
        1000,
        ge=10,
        description="Bronze writers checkpoint every this many commits; maintenance checkpoints "
        "in between, so the collector's commit per batch rarely pays for one.",
    )


class ModelRunSettings(BaseModel):
    """How much of its inputs a product's model run reads at once."""

    max_rows_per_run: int | None = Field(
        500_000,
        gt=0,
        description="Each run of a model reads an input only up to the first version at which "
        "the rows committed since its last run reach this many (a version is read whole), so a "
        "run over a long history is a sequence of runs of bounded memory; `models run` repeats "
        "them until every model has caught up. `none`: every run reads up to the inputs' "
        "latest versions.",
    )

    @field_validator("max_rows_per_run", mode="before")
    @classmethod
    def _none_from_text(cls, value: object) -> object:
        # An environment variable can only say "no bound" in words.
        if isinstance(value, str) and value.strip().lower() in ("none", "null"):
            return None
        return value


class PlatformSettings(LayeredSettings):
    """Where the platform keeps its data and metadata, and how it logs."""

    environment: Environment = "dev"
    lake_root: str = Field(".data/lake", description="Local folder or s3:// URI of the lakehouse.")
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="delta-rs storage options: for s3://, the endpoint, region and credentials "
        "(`AWS_*`; the lake adds the conditional put its commits need, see docs/scale-out.md).",
    )
    database_url: str = Field(
        "sqlite:///.data/metadata.db", description="SQLAlchemy URL of the metadata store."
    )
    backup_location: str | None = Field(
        None,
        description="Folder or s3:// URI of `dataplatform backup`; when set, the platform's jobs "
        "also copy every erasure there within a round, so a restore never resurrects anyone.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    bus: Literal["embedded", "redis", "kafka"] = Field(
        "embedded", description="How collected events reach bronze."
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    collector: CollectorLimits = CollectorLimits()
    auth: AuthSettings = AuthSettings()
    gateway: GatewaySettings = GatewaySettings()
    query: QuerySettings = QuerySettings()
    audit: AuditSettings = AuditSettings()
    maintenance: MaintenanceSettings = MaintenanceSettings()
    models: ModelRunSettings = ModelRunSettings()

    @model_validator(mode="after")
    def _secret_outside_dev(self) -> "PlatformSettings":
        if self.environment != "dev" and self.auth.jwt_secret is None:
            raise ValueError(
                f"auth.jwt_secret is required in {self.environment}: set "
                f"{ENV_PREFIX}AUTH__JWT_SECRET (32+ characters, e.g. `openssl rand -hex 32`)"
            )
        return self


class SLO(BaseModel):
    """A service-level objective: `target` share of measurements must stay within `threshold`."""

    name: str
    indicator: Literal["freshness_seconds", "latency_ms", "availability", "error_rate"]
    threshold: float = Field(gt=0)
    target: float = Field(gt=0, le=1)
    description: str


class ProductSettings(LayeredSettings):
    """Base of a product's settings: its SLOs and how often its models run."""

    slos: list[SLO] = Field(default_factory=list)
    schedule_seconds: int = Field(60, gt=0, description="Interval of the product's model runs.")
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb", description="What computes the models: DuckDB in process, or Spark."
    )
    spark_master: str = Field("local[2]", description="Spark master URL when engine is spark.")
    spark_conf: dict[str, str] = Field(
        default_factory=dict, description="Extra Spark settings when engine is spark."
    )


def current_environment() -> Environment:
    """The environment named by `DATAPLATFORM_ENVIRONMENT` (dev when unset)."""
    value = os.environ.get(f"{ENV_PREFIX}ENVIRONMENT", "dev")
    if value not in ENVIRONMENTS:
        raise ConfigError(
            f"`{ENV_PREFIX}ENVIRONMENT` is {value!r}; it must be one of {', '.join(ENVIRONMENTS)}."
        )
    return value


def load_settings(
    settings_class: type[S],
    *,
    config_file: Path | None = None,
    env_file: Path | None = None,
    env_prefix: str = ENV_PREFIX,
    stored: Mapping[str, Any] | None = None,
) -> S:
    """Build `settings_class` from its layers, or raise a `ConfigError` that names the bad key.

    `stored` holds values changed through the admin API: above both files, below variables.
    """
    file_values = _read_yaml(config_file) if config_file else {}
    _refuse_unknown_keys(settings_class, file_values, config_file)
    stored = dict(stored or {})
    _refuse_unknown_keys(settings_class, stored, None)
    env_file_used = env_file if env_file and env_file.exists() else None
    token = _stored_values.set(stored)
    try:
        return settings_class(_env_file=env_file_used, _env_prefix=env_prefix, **file_values)
    except ValidationError as exc:
        layers = _Layers(env_prefix, env_file_used, config_file, file_values, stored)
        keys = tuple(dict.fromkeys(str(error["loc"][0]) for error in exc.errors() if error["loc"]))
        raise ConfigError(_describe(settings_class, exc, layers), keys) from None
    except SettingsError as exc:
        # Raised before validation when a complex value (list, dict) is not valid JSON.
        layers = _Layers(env_prefix, env_file_used, config_file, file_values, stored)
        field = re.search(r'field "([^"]+)"', str(exc))
        key = field.group(1) if field else "?"
        raise ConfigError(
            f"Invalid configuration for {settings_class.__name__}:\n"
            f"  - `{key}` from {layers.origin((key,))}: not valid JSON ({exc.__cause__})\n"
            f"Looked in, highest priority first: {layers.searched()}.",
            (key,),
        ) from None
    finally:
        _stored_values.reset(token)


def redacted(settings: BaseModel) -> dict[str, Any]:
    """The settings as a dict with passwords, keys and tokens replaced by `***`."""
    values: dict[str, Any] = _redact(settings.model_dump(mode="json"))
    return values


_SECRET_NAME = re.compile(r"password|secret|token|key|credential", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<head>://[^:/@]+:)[^@]+(?P<tail>@)")


def _redact(value: Any, name: str = "") -> Any:
    if isinstance(value, dict):
        return {key: _redact(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, name) for item in value]
    if isinstance(value, str):
        if _SECRET_NAME.search(name):
            return "***"
        return _URL_PASSWORD.sub(r"\g<head>***\g<tail>", value)
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(
            f"Config file `{path}` does not exist; create it or point to another one."
        )
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file `{path}` is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"Config file `{path}` must hold a mapping of keys to values.")
    return loaded


def _refuse_unknown_keys(
    settings_class: type[BaseSettings], values: Mapping[str, Any], path: Path | None
) -> None:
    known = list(settings_class.model_fields)
    place = f"Config file `{path}`" if path else "The stored configuration"
    for key in values:
        if key not in known:
            hint = did_you_mean(key, known) or f" Known keys: {', '.join(known)}."
            raise ConfigError(f"{place} has an unknown key `{key}`.{hint}", (key,))


class _Layers:
    """Answers "where did this key's value come from?" for error messages."""

    def __init__(
        self,
        env_prefix: str,
        env_file: Path | None,
        config_file: Path | None,
        file_values: dict[str, Any],
        stored: dict[str, Any],
    ) -> None:
        self.env_prefix = env_prefix
        self.env_file = env_file
        self.config_file = config_file
        self.file_values = file_values
        self.stored = stored
        self.env_file_values = dotenv_values(env_file) if env_file else {}

    def origin(self, loc: tuple[Any, ...]) -> str:
        variable = (self.env_prefix + "__".join(str(part) for part in loc)).upper()
        if any(name.upper() == variable for name in os.environ):
            return f"environment variable {variable}"
        if loc and loc[0] in self.stored:
            return "the configuration stored through the admin API"
        if any(name.upper() == variable for name in self.env_file_values):
            return f"{variable} in {self.env_file}"
        if loc and loc[0] in self.file_values:
            return f"{self.config_file}"
        return "defaults"

    def searched(self) -> str:
        places = [f"environment variables {self.env_prefix}*"]
        if self.stored:
            places.append("the configuration stored through the admin API")
        if self.env_file:
            places.append(str(self.env_file))
        if self.config_file:
            places.append(str(self.config_file))
        return ", ".join([*places, "defaults"])


def _describe(settings_class: type[BaseSettings], exc: ValidationError, layers: _Layers) -> str:
    lines = [f"Invalid configuration for {settings_class.__name__}:"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        shown = "(missing)" if error["type"] == "missing" else repr(error.get("input"))
        if _SECRET_NAME.search(key):  # a refused secret is still a secret: never echo it
            shown = "'***'"
        lines.append(f"  - `{key}` = {shown} from {layers.origin(error['loc'])}: {error['msg']}")
    lines.append(f"Looked in, highest priority first: {layers.searched()}.")
    return "\n".join(lines)
