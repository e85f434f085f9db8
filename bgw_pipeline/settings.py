"""The one place that reads bgw_pipeline's environment variables (and `.env`).

Every variable is documented in `.env.example`. Secrets are not read here for Dagster
resources: those reach resources through `dg.EnvVar` so they stay hidden in the UI.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from bgw_pipeline.core.model.errors import ConfigError

if TYPE_CHECKING:
    from bgw_pipeline.core.files.sealing import ArchiveKey
    from bgw_pipeline.core.storage.archive_storage import ArchiveStorage
    from bgw_pipeline.core.storage.s3_settings import S3Settings

DEFAULT_DATABASE_URL = "sqlite:///data/bgw.db"
DEFAULT_EXPORT_PATH = "./exports"
DEFAULT_IMPORT_INBOX = "./imports/inbox"
DEFAULT_MAX_IMPORT_MB = 100


def load_env_file(path: str | os.PathLike[str] = ".env") -> None:
    """Load `.env` from the working directory; real environment variables win."""
    load_dotenv(path, override=False)


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


READ, WRITE = "read", "write"
MIN_TOKEN_CHARS = 16


def _url(name: str, default: str) -> str:
    """An http(s) address, without a trailing slash."""
    value = os.environ.get(name, "").strip() or default
    if not re.match(r"^https?://[^\s/]+", value):
        raise ConfigError(f"{name} must be an http:// or https:// address, got {value!r}")
    return value.rstrip("/")


@dataclass(frozen=True)
class ApiToken:
    """One API token and its role; `id` names it in logs and metrics (never the token)."""

    role: str
    secret: str = field(repr=False)

    @property
    def id(self) -> str:
        return hashlib.sha256(self.secret.encode("utf-8")).hexdigest()[:8]


def _tokens(name: str) -> tuple[ApiToken, ...]:
    """`role:token` pairs, comma-separated (role `read` or `write`)."""
    tokens = []
    for part in os.environ.get(name, "").split(","):
        if not part.strip():
            continue
        role, _, secret = part.strip().partition(":")
        if role not in (READ, WRITE) or not secret:
            raise ConfigError(f"{name}: each entry is read:TOKEN or write:TOKEN, got {role!r}:…")
        if len(secret) < MIN_TOKEN_CHARS or any(c.isspace() for c in secret):
            raise ConfigError(
                f"{name}: a {role} token must be at least {MIN_TOKEN_CHARS} characters "
                "without spaces (for example: openssl rand -hex 24)"
            )
        tokens.append(ApiToken(role, secret))
    return tuple(tokens)


DEFAULT_CRON = "0 7 * * *"
S3_SSE_CHOICES = ("AES256", "aws:kms")


def _sse(name: str) -> str:
    """Server-side encryption asked of the bucket: empty (none), AES256 or aws:kms."""
    raw = os.environ.get(name, "").strip()
    if raw and raw not in S3_SSE_CHOICES:
        raise ConfigError(f"{name} must be empty, AES256 or aws:kms, not {raw[:40]!r}")
    return raw


def _archive_key(name: str) -> ArchiveKey | None:
    """The age identity file that seals archives at rest; read now, so that a missing or
    broken file stops every door at once, not the first backup hours later."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    from bgw_pipeline.core.files.sealing import ArchiveKey

    return ArchiveKey.load(Path(raw).expanduser())


@dataclass(frozen=True)
class OperationsSettings:
    """Schedules, retention, retries and guards (TestOps names where they exist)."""

    cron_schedule: str
    backup_timezone: str
    retention_days: int
    keep_daily: int
    keep_weekly: int
    keep_monthly: int
    retry_max_tries: int
    retry_base_delay_seconds: int
    retry_max_delay_seconds: int
    shrink_alert_pct: int
    backup_max_age_hours: int

    @classmethod
    def from_env(cls) -> OperationsSettings:
        load_env_file()
        return cls(
            cron_schedule=os.environ.get("CRON_SCHEDULE", "").strip() or DEFAULT_CRON,
            backup_timezone=os.environ.get("BACKUP_TIMEZONE", "").strip() or "UTC",
            retention_days=_int("RETENTION_DAYS", 30, minimum=1),
            keep_daily=_int("RETENTION_KEEP_DAILY", 0),
            keep_weekly=_int("RETENTION_KEEP_WEEKLY", 0),
            keep_monthly=_int("RETENTION_KEEP_MONTHLY", 0),
            retry_max_tries=_int("RETRY_MAX_TRIES", 10, minimum=1),
            retry_base_delay_seconds=_int("RETRY_BASE_DELAY_SECONDS", 15 * 60),
            retry_max_delay_seconds=_int("RETRY_MAX_DELAY_SECONDS", 150 * 60),
            shrink_alert_pct=_int("SHRINK_ALERT_PCT", 50),
            backup_max_age_hours=_int("BACKUP_MAX_AGE_HOURS", 26, minimum=1),
        )


@dataclass(frozen=True)
class Settings:
    """bgw_pipeline's configuration, read from the environment."""

    database_url: str
    export_path: Path
    import_inbox: str  # a folder, or s3://bucket/prefix/ (a Path would fold the //)
    max_import_mb: int
    s3_enabled: bool = False
    s3_bucket: str = ""
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    s3_sse: str = ""
    archive_key: ArchiveKey | None = None
    api_exports_per_hour: int = 10
    api_tokens: tuple[ApiToken, ...] = ()
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_concurrent_runs: int = 2
    api_allow_unauthenticated: bool = False
    dagster_ui_url: str = "http://localhost:3000"
    # Schedules, retention, retries and guards: read (and checked) with the rest, so an
    # invalid value stops every door, not only the Dagster code location.
    operations: OperationsSettings | None = None

    @classmethod
    def from_env(cls) -> Settings:
        load_env_file()
        return cls(
            database_url=os.environ.get("BGW_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
            export_path=Path(os.environ.get("EXPORT_PATH", "").strip() or DEFAULT_EXPORT_PATH),
            import_inbox=os.environ.get("IMPORT_INBOX", "").strip() or DEFAULT_IMPORT_INBOX,
            max_import_mb=_int("MAX_IMPORT_MB", DEFAULT_MAX_IMPORT_MB, minimum=1),
            s3_enabled=_bool("S3_ENABLED", False),
            s3_bucket=os.environ.get("S3_BUCKET", "").strip(),
            s3_endpoint=os.environ.get("S3_ENDPOINT", "").strip(),
            s3_access_key=os.environ.get("S3_ACCESS_KEY", "").strip(),
            s3_secret_key=os.environ.get("S3_SECRET_KEY", "").strip(),
            s3_region=os.environ.get("S3_REGION", "").strip() or "us-east-1",
            s3_sse=_sse("S3_SSE"),
            archive_key=_archive_key("BGW_ARCHIVE_KEY_FILE"),
            api_exports_per_hour=_int("API_EXPORTS_PER_HOUR", 10, minimum=1),
            api_tokens=_tokens("BGW_API_TOKENS"),
            api_host=os.environ.get("API_HOST", "").strip() or "127.0.0.1",
            api_port=_int("API_PORT", 8000, minimum=1),
            api_concurrent_runs=_int("API_CONCURRENT_RUNS", max(2, os.cpu_count() or 2), minimum=1),
            api_allow_unauthenticated=_bool("BGW_API_ALLOW_UNAUTHENTICATED", False),
            dagster_ui_url=_url("DAGSTER_UI_URL", "http://localhost:3000"),
            operations=OperationsSettings.from_env(),
        )

    def s3(self) -> S3Settings:
        """Endpoint, bucket and keys of the S3 storage."""
        from bgw_pipeline.core.storage.s3_settings import S3Settings

        return S3Settings.from_values(
            self.s3_bucket, self.s3_endpoint, self.s3_access_key, self.s3_secret_key,
            self.s3_region, self.s3_sse,
        )  # fmt: skip

    def archive_storage(self) -> ArchiveStorage:
        """Where the archives are: the S3 bucket when S3_ENABLED, else EXPORT_PATH; sealed
        at rest with BGW_ARCHIVE_KEY_FILE when it is set."""
        if self.s3_enabled:
            from bgw_pipeline.core.storage.s3_storage import S3Storage  # boto3: only when used

            return S3Storage(self.s3(), key=self.archive_key)
        from bgw_pipeline.core.storage.archive_storage import LocalStorage

        return LocalStorage(self.export_path, key=self.archive_key)

    def __repr__(self) -> str:  # never print the S3 secret key
        return f"Settings(database_url=<hidden>, export_path={self.export_path!s})"


__all__ = ["ApiToken", "OperationsSettings", "Settings", "load_env_file"]
