"""Schedules: the daily backup (TestOps: 07:00 UTC), daily retention, hourly freshness."""

import dagster as dg

from bgw_pipeline.core.errors import ConfigError
from bgw_pipeline.names import (
    BACKUP_JOB,
    BACKUP_SCHEDULE,
    DRILL_JOB,
    DRILL_SCHEDULE,
    FRESHNESS_JOB,
    FRESHNESS_SCHEDULE,
    RETENTION_JOB,
    RETENTION_SCHEDULE,
)
from bgw_pipeline.settings import OperationsSettings

RETENTION_CRON = "30 7 * * *"
FRESHNESS_CRON = "15 * * * *"
DRILL_CRON = "0 8 * * *"


def _tick_key(context: dg.ScheduleEvaluationContext) -> str:
    return context.scheduled_execution_time.isoformat()


def build_schedules(settings: OperationsSettings | None = None) -> list[dg.ScheduleDefinition]:
    """The schedules for CRON_SCHEDULE and BACKUP_TIMEZONE; a bad value fails at load."""
    settings = settings or OperationsSettings.from_env()

    def backup(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(
            run_key=f"backup:{_tick_key(context)}", tags={"bgw/trigger": "schedule"}
        )

    def retention(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_key=f"retention:{_tick_key(context)}")

    def drill(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_key=f"drill:{_tick_key(context)}")

    def freshness(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_key=f"freshness:{_tick_key(context)}")

    try:
        return [
            dg.ScheduleDefinition(
                name=BACKUP_SCHEDULE,
                cron_schedule=settings.cron_schedule,
                execution_timezone=settings.backup_timezone,
                job_name=BACKUP_JOB,
                execution_fn=backup,
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description="Full backup of the BGW database every day (CRON_SCHEDULE).",
            ),
            dg.ScheduleDefinition(
                name=RETENTION_SCHEDULE,
                cron_schedule=RETENTION_CRON,
                execution_timezone=settings.backup_timezone,
                job_name=RETENTION_JOB,
                execution_fn=retention,
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description="Delete archives older than RETENTION_DAYS, keeping the last good.",
            ),
            dg.ScheduleDefinition(
                name=DRILL_SCHEDULE,
                cron_schedule=DRILL_CRON,
                execution_timezone=settings.backup_timezone,
                job_name=DRILL_JOB,
                execution_fn=drill,
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description="Every day, prove the newest archive restores into a scratch database.",
            ),
            dg.ScheduleDefinition(
                name=FRESHNESS_SCHEDULE,
                cron_schedule=FRESHNESS_CRON,
                job_name=FRESHNESS_JOB,
                execution_fn=freshness,
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description="Check every hour that the newest good backup is recent enough.",
            ),
        ]
    except dg.DagsterInvalidDefinitionError as exc:
        raise ConfigError(
            f"CRON_SCHEDULE={settings.cron_schedule!r} / BACKUP_TIMEZONE="
            f"{settings.backup_timezone!r} is invalid: {exc}. Use five cron fields "
            "(minute hour day month weekday), e.g. '0 7 * * *', and an IANA zone like 'UTC'."
        ) from None
