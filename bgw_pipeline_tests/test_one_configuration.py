"""One configuration: every variable of .env.example means the same at every door.

The doors are the command line (`bgw`, which also launches backup_job), the HTTP API
(`api.context.settings()`) and the Dagster code location (its resources and schedules,
built from the environment as the daemon and the UI build them). Each variable is set to
a value unlike its default, with stray spaces, and each door must read the same; an
invalid value must stop every door with the same error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bgw_pipeline import cli
from bgw_pipeline.api import context
from bgw_pipeline.api import serve as api_serve
from bgw_pipeline.core.model.errors import ConfigError
from bgw_pipeline.defs.names import BACKUP_JOB
from bgw_pipeline.defs.resources import build_resources
from bgw_pipeline.defs.schedules import build_schedules
from bgw_pipeline.settings import OperationsSettings, Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"
TOKEN = "0123456789abcdef0123"

# Every variable bgw_pipeline reads, set unlike its default.
VALUES = {
    "BGW_DATABASE_URL": " sqlite:////tmp/bgw-doors/one.db ",
    "EXPORT_PATH": " /tmp/bgw-doors/exports ",
    "IMPORT_INBOX": " s3://inbox-bucket/drop/ ",
    "MAX_IMPORT_MB": " 7 ",
    "CRON_SCHEDULE": " 5 4 * * 1 ",
    "BACKUP_TIMEZONE": "Europe/Moscow",
    "RETENTION_DAYS": "11",
    "RETENTION_KEEP_DAILY": "3",
    "RETENTION_KEEP_WEEKLY": "2",
    "RETENTION_KEEP_MONTHLY": "1",
    "RETRY_MAX_TRIES": "4",
    "RETRY_BASE_DELAY_SECONDS": "5",
    "RETRY_MAX_DELAY_SECONDS": "60",
    "SHRINK_ALERT_PCT": "33",
    "BACKUP_MAX_AGE_HOURS": "9",
    "S3_ENABLED": " TRUE ",
    "S3_BUCKET": " bucket-of-doors ",
    "S3_ENDPOINT": " http://127.0.0.1:9 ",
    "S3_ACCESS_KEY": " access-of-doors ",
    "S3_SECRET_KEY": " secret-of-doors ",
    "S3_REGION": " eu-west-3 ",
    "S3_SSE": " aws:kms ",
    "BGW_ARCHIVE_KEY_FILE": " /tmp/bgw-doors/archive.key ",  # written by doors_env
    "API_HOST": " 127.0.0.2 ",
    "API_PORT": " 8123 ",
    "API_CONCURRENT_RUNS": " 3 ",
    "BGW_API_TOKENS": f" read:{TOKEN} ",
    "BGW_API_ALLOW_UNAUTHENTICATED": " yes ",
    "API_EXPORTS_PER_HOUR": " 3 ",
    "DAGSTER_UI_URL": " https://dagster.example.org/ ",
}
# Read by others: Dagster itself, the deployment's instance and services, the test suite.
NOT_BGW = re.compile(r"^(DAGSTER_HOME|DAGSTER_PG_|POSTGRES_|MINIO_|BGW_TEST_)")
INVALID = {
    "MAX_IMPORT_MB": "lots",
    "S3_ENABLED": "ture",
    "RETRY_MAX_TRIES": "0",
    "API_PORT": "http",
    "API_CONCURRENT_RUNS": "0",
    "BGW_API_TOKENS": "admin:short",
    "SHRINK_ALERT_PCT": "-",
    "DAGSTER_UI_URL": "dagster:3000",
    "S3_SSE": "aes256",
    "BGW_ARCHIVE_KEY_FILE": "/nonexistent/archive.key",
}


def _documented() -> set[str]:
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE)
    return {n for n in names if not NOT_BGW.match(n)}


def test_every_documented_variable_is_walked() -> None:
    assert _documented() == set(VALUES)


@pytest.fixture
def doors_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    from bgw_pipeline.core.files.sealing import write_key_file

    key_file = Path(VALUES["BGW_ARCHIVE_KEY_FILE"].strip())
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.unlink(missing_ok=True)
    write_key_file(key_file)
    for name, value in VALUES.items():
        monkeypatch.setenv(name, value)
    context.settings.cache_clear()
    yield
    context.settings.cache_clear()


def _cli_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    seen: list[Settings] = []
    monkeypatch.setattr(api_serve, "serve", seen.append)  # what `bgw api` would serve with
    assert cli.main(["api"]) == 0
    return seen[0]


def test_every_door_reads_the_same_values(doors_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env()
    assert _cli_settings(monkeypatch) == settings
    assert context.settings() == settings

    # As a run sees them: EnvVar secrets resolved from the environment.
    resources = {k: r.process_config_and_initialize() for k, r in build_resources().items()}
    database, store, inbox = (resources[k] for k in ("database", "archive_store", "import_inbox"))
    assert database.database_url == settings.database_url == "sqlite:////tmp/bgw-doors/one.db"
    assert store.archive_dir == settings.export_path == Path("/tmp/bgw-doors/exports")
    assert inbox.path == settings.import_inbox == "s3://inbox-bucket/drop/"
    assert inbox.max_import_mb == settings.max_import_mb == 7
    s3 = store.s3_settings()
    assert store.s3_enabled is settings.s3_enabled is True
    assert (s3.bucket, s3.endpoint, s3.access_key, s3.secret_key, s3.region) == (
        settings.s3_bucket,
        settings.s3_endpoint,
        settings.s3_access_key,
        settings.s3_secret_key,
        settings.s3_region,
    ) == ("bucket-of-doors", "http://127.0.0.1:9", "access-of-doors", "secret-of-doors",
          "eu-west-3")  # fmt: skip
    assert settings.api_host == "127.0.0.2" and settings.api_port == 8123
    assert settings.api_concurrent_runs == 3
    assert [t.role for t in settings.api_tokens] == ["read"] and settings.api_exports_per_hour == 3
    assert settings.api_allow_unauthenticated is True
    assert settings.dagster_ui_url == "https://dagster.example.org"
    assert s3.sse == settings.s3_sse == "aws:kms"
    key = store.key()
    assert key is not None and settings.archive_key is not None
    assert key.path == settings.archive_key.path == Path("/tmp/bgw-doors/archive.key")
    assert key.public == settings.archive_key.public
    assert store.storage().key.public == settings.archive_storage().key.public  # type: ignore[union-attr]

    ops = settings.operations
    assert ops == OperationsSettings.from_env()
    operations = resources["operations"]
    for field in ("retry_max_tries", "retry_base_delay_seconds", "retry_max_delay_seconds",
                  "retention_days", "keep_daily", "keep_weekly", "keep_monthly",
                  "shrink_alert_pct", "backup_max_age_hours"):  # fmt: skip
        assert getattr(operations, field) == getattr(ops, field), field
    assert (ops.retention_days, ops.keep_monthly, ops.retry_max_tries) == (11, 1, 4)
    schedules = {s.job_name: s for s in build_schedules()}
    backup = schedules[BACKUP_JOB]
    assert backup.cron_schedule == ops.cron_schedule == "5 4 * * 1"
    assert backup.execution_timezone == ops.backup_timezone == "Europe/Moscow"


@pytest.mark.parametrize("name", list(INVALID))
def test_an_invalid_value_stops_every_door_with_the_same_error(
    name: str, doors_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv(name, INVALID[name])
    with pytest.raises(ConfigError) as first:
        Settings.from_env()
    message = str(first.value)
    assert name in message
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_resources()
    with pytest.raises(ConfigError, match=re.escape(message)):
        context.settings()
    assert cli.main(["api"]) == 3  # a configuration error
    assert message in capsys.readouterr().err
