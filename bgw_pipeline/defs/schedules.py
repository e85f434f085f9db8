"""Schedules: the daily backup (TestOps: 07:00 UTC), retention, restore drill, freshness."""

import dagster as dg

from bgw_pipeline.core.model.errors import ConfigError
from bgw_pipeline.defs.names import (
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
DRILL_CRON = "0 8 * * *"
FRESHNESS_CRON = "15 * * * *"


def _schedule(
    name: str, cron: str, job: str, timezone: str, description: str
) -> dg.ScheduleDefinition:
    """A schedule that is on by default and gives every tick its own run key."""

    def request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        tick = context.scheduled_execution_time.isoformat()
        return dg.RunRequest(run_key=f"{name}:{tick}", tags={"bgw/trigger": name})

    return dg.ScheduleDefinition(
        name=name,
        cron_schedule=cron,
        execution_timezone=timezone,
        job_name=job,
        execution_fn=request,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )


def build_schedules(settings: OperationsSettings | None = None) -> list[dg.ScheduleDefinition]:
    """The schedules for CRON_SCHEDULE and BACKUP_TIMEZONE; a bad value fails at load."""
    settings = settings or OperationsSettings.from_env()
    tz = settings.backup_timezone
    try:
        return [
            _schedule(BACKUP_SCHEDULE, settings.cron_schedule, BACKUP_JOB, tz,
                      "Full backup of the BGW database every day (CRON_SCHEDULE)."),
            _schedule(RETENTION_SCHEDULE, RETENTION_CRON, RETENTION_JOB, tz,
                      "Delete archives older than RETENTION_DAYS, keeping the last good."),
            _schedule(DRILL_SCHEDULE, DRILL_CRON, DRILL_JOB, tz,
                      "Every day, prove the newest archive restores into a scratch database."),
            _schedule(FRESHNESS_SCHEDULE, FRESHNESS_CRON, FRESHNESS_JOB, "UTC",
                      "Check every hour that the newest good backup is recent enough."),
        ]  # fmt: skip
    except dg.DagsterInvalidDefinitionError as exc:
        raise ConfigError(
            f"CRON_SCHEDULE={settings.cron_schedule!r} / BACKUP_TIMEZONE="
            f"{settings.backup_timezone!r} is invalid: {exc}. Use five cron fields "
            "(minute hour day month weekday), e.g. '0 7 * * *', and an IANA zone like 'UTC'."
        ) from None


@dg.definitions
def schedules() -> dg.Definitions:
    """The schedules, read from the settings when the code location loads."""
    return dg.Definitions(schedules=build_schedules())
