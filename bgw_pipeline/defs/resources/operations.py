"""Operations settings as a Dagster resource: retries, retention and guards."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from bgw_pipeline.core.operations.retry import RetrySchedule
from bgw_pipeline.core.storage.retention import RetentionPolicy


class Operations(dg.ConfigurableResource):
    """How unattended runs behave (TestOps defaults: 10 tries, 15 to 150 minutes)."""

    retry_max_tries: int = Field(default=10, description="Tries of a transient failure.")
    retry_base_delay_seconds: int = Field(default=900, description="First retry delay.")
    retry_max_delay_seconds: int = Field(default=9000, description="Longest retry delay.")
    retention_days: int = Field(default=30, description="Archives younger than this stay.")
    keep_daily: int = Field(default=0, description="Also keep the newest of N days.")
    keep_weekly: int = Field(default=0, description="Also keep the newest of N ISO weeks.")
    keep_monthly: int = Field(default=0, description="Also keep the newest of N months.")
    shrink_alert_pct: int = Field(default=50, description="Row-count drop that raises a WARN.")
    backup_max_age_hours: int = Field(default=26, description="Newest good backup older: fail.")

    @property
    def retry(self) -> RetrySchedule:
        return RetrySchedule(
            self.retry_max_tries, self.retry_base_delay_seconds, self.retry_max_delay_seconds
        )

    @property
    def retention(self) -> RetentionPolicy:
        return RetentionPolicy(
            self.retention_days, self.keep_daily, self.keep_weekly, self.keep_monthly
        )
