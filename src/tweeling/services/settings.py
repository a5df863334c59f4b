"""Deployment settings, from environment variables (``TWEELING_*``) and an optional YAML file.

The YAML file is ``tweeling.yaml`` in the working directory, or the file named by
``TWEELING_SETTINGS_FILE``; environment variables win over the file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from tweeling.core.errors import ConfigurationError
from tweeling.services.viewer_build import default_viewer_dir


def settings_file() -> Path:
    """The YAML settings file that applies (it may not exist)."""
    return Path(os.environ.get("TWEELING_SETTINGS_FILE", "tweeling.yaml"))


class Settings(BaseSettings):
    """Where the store is, where the server listens, and what a deployment configures."""

    model_config = SettingsConfigDict(env_prefix="TWEELING_", extra="forbid")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    store_url: str | None = None
    sensors_store_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    road_classes_file: Path | None = None
    cors_origins: list[str] = []
    workers: int = 1
    public_url: str | None = None
    mqtt_url: str | None = None
    viewer_dir: Path | None = None
    """The web viewer's folder (``package.json``, sources, built ``dist/``); default: ``viewer/`` of
    the source checkout."""
    token_key: SecretStr | None = None
    """Key that signs the access tokens (HS256); default: ``<data_dir>/secrets/token.key``, created
    with mode 0600 on first use. Every server process of one deployment needs the same key."""
    audit_key: SecretStr | None = None
    """Key of the audit trail's HMAC chain; default: ``<data_dir>/secrets/audit.key``."""
    token_ttl_s: int = 3600
    """Lifetime of an access token (s)."""
    login_max_failures: int = 5
    """Failed logins per user name and client address before logins are refused for a while."""
    login_lockout_s: int = 900
    """How long (s) logins stay refused after too many failures; failures older than this are forgotten."""
    oidc_issuer: str | None = None
    """An external OpenID Connect provider whose tokens are accepted besides the twin's own (``iss``)."""
    oidc_audience: str | None = None
    """The ``aud`` the provider's tokens must carry (the twin's client id there)."""
    oidc_jwks: str | None = None
    """The provider's signing keys: a JWKS file path, or its ``jwks_uri`` (https, fetched on demand)."""
    oidc_roles_claim: str = "roles"
    """Claim with the user's roles; dotted for nested claims (``realm_access.roles``)."""
    oidc_role_map: dict[str, str] = {}
    """Provider role name -> twin role (``public``, ``resident``, ``analyst``, ``data_owner``,
    ``ethics``, ``admin``); unmapped names are ignored, names equal to a twin role map to it."""
    suppression_min_persons: int = 10
    """Statistics of persons over fewer than this many persons are suppressed for roles below analyst."""
    suppression_min_households: int = 5
    """Statistics of households over fewer than this many households are suppressed likewise."""
    review_quorum: int = 1
    """Approvals by distinct ethics-committee members that a review needs (a rejection ends it)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=settings_file())
        return init_settings, env_settings, yaml_source

    @field_validator("port")
    @classmethod
    def _port_in_range(cls, port: int) -> int:
        if not 0 < port < 65536:
            raise ValueError("port must be between 1 and 65535")
        return port

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith("mqtt://"):
            raise ValueError("mqtt_url must look like mqtt://host:port")
        return url

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment == "production" and self.store_url is None:
            raise ValueError("production needs an explicit store_url (a PostgreSQL URL or a DuckDB file)")
        if self.environment == "production" and "*" in self.cors_origins:
            raise ValueError("production refuses cors_origins '*'; list the allowed origins")
        return self

    @property
    def resolved_public_url(self) -> str:
        """The server's address as clients see it (links in pushed messages): ``public_url`` if set
        (e.g. behind a proxy), else the address it listens on."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resolved_sensors_store_url(self) -> str:
        """Where the sensor hub keeps its data: ``sensors_store_url`` if set; with PostgreSQL the same
        database as the city model; with the embedded store a file of its own beside the city
        model's (``<name>-sensors.duckdb``), so that the server writes sensor data while other
        processes (``tweeling info``, a second server) still read the city model."""
        if self.sensors_store_url:
            return self.sensors_store_url
        url = self.resolved_store_url
        if not url.startswith("duckdb://") or url == "duckdb://:memory:":
            return url
        path = Path(url.removeprefix("duckdb://"))
        return f"duckdb://{path.with_name(path.stem + '-sensors.duckdb')}"

    @property
    def sensors_writable(self) -> bool:
        """Whether this server process may write sensor data: always with PostgreSQL; with the embedded
        store only when it is the single server process (DuckDB has one writer per file)."""
        return self.workers <= 1 or not self.resolved_sensors_store_url.startswith("duckdb://")

    @property
    def resolved_viewer_dir(self) -> Path:
        """The web viewer's folder: ``viewer_dir`` if set, else ``viewer/`` of the source checkout."""
        return self.viewer_dir or default_viewer_dir()

    @property
    def resolved_store_url(self) -> str:
        """The store URL: the configured one, or the embedded DuckDB file in ``data_dir``."""
        if self.store_url:
            return self.store_url
        return f"duckdb://{(self.data_dir / 'tweeling.duckdb').resolve()}"


def secret_key(settings: Settings, name: str) -> bytes:
    """The secret ``name`` (``token`` or ``audit``): from the settings if given, else from
    ``<data_dir>/secrets/<name>.key``, created with 32 random bytes (mode 0600) on first use."""
    configured: SecretStr | None = getattr(settings, f"{name}_key")
    if configured is not None:
        return configured.get_secret_value().encode()
    path = settings.data_dir / "secrets" / f"{name}.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and file, with explicit overrides; ConfigurationError if invalid."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        errors: list[dict[str, Any]] = getattr(exc, "errors", list)()
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in errors)
        raise ConfigurationError(f"invalid settings: {detail or exc}") from exc
