"""Schedules evaluated directly at fixed times."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import dagster as dg
import pytest

from bgw_pipeline.core.model.errors import ConfigError
from bgw_pipeline.defs import names
from bgw_pipeline.defs.schedules import build_schedules
from bgw_pipeline.settings import OperationsSettings


def _settings(**changes: object) -> OperationsSettings:
    base = OperationsSettings(
        cron_schedule="0 7 * * *", backup_timezone="UTC", retention_days=30, keep_daily=0,
        keep_weekly=0, keep_monthly=0, retry_max_tries=10, retry_base_delay_seconds=900,
        retry_max_delay_seconds=9000, shrink_alert_pct=50, backup_max_age_hours=26,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _by_name(settings: OperationsSettings) -> dict[str, dg.ScheduleDefinition]:
    return {s.name: s for s in build_schedules(settings)}


def test_backup_schedule_defaults_to_seven_utc_and_runs_backup_job() -> None:
    schedule = _by_name(_settings())[names.BACKUP_SCHEDULE]
    assert schedule.cron_schedule == "0 7 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == names.BACKUP_JOB
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_each_tick_has_its_own_run_key() -> None:
    schedule = _by_name(_settings())[names.BACKUP_SCHEDULE]
    keys = []
    for day in (1, 2):
        context = dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 3, day, 7, tzinfo=UTC)
        )
        (request,) = schedule.evaluate_tick(context).run_requests or []
        keys.append(request.run_key)
    assert keys[0] != keys[1] and "2026-03-01T07:00:00" in keys[0]


def test_timezone_and_cron_come_from_the_settings() -> None:
    schedules = _by_name(_settings(cron_schedule="30 6 * * 1-5", backup_timezone="Europe/Moscow"))
    backup = schedules[names.BACKUP_SCHEDULE]
    assert backup.cron_schedule == "30 6 * * 1-5"
    assert backup.execution_timezone == "Europe/Moscow"
    assert schedules[names.RETENTION_SCHEDULE].job_name == names.RETENTION_JOB


@pytest.mark.parametrize(
    "changes", [{"cron_schedule": "61 7 * * *"}, {"backup_timezone": "Mars/Olympus"}]
)
def test_invalid_cron_or_timezone_fails_clearly_at_load(changes: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="CRON_SCHEDULE"):
        build_schedules(_settings(**changes))


def test_settings_read_the_testops_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRON_SCHEDULE", "0 9 * * *")
    monkeypatch.setenv("RETENTION_DAYS", "7")
    settings = OperationsSettings.from_env()
    assert settings.cron_schedule == "0 9 * * *" and settings.retention_days == 7
