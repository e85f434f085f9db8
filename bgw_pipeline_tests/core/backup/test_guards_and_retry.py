"""Retry timing, shrinkage and freshness guards."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bgw_pipeline.core.backup.guards import shrinkage, staleness
from bgw_pipeline.core.operations.retry import RetrySchedule


def test_retry_defaults_follow_the_testops_document() -> None:
    schedule = RetrySchedule()
    assert schedule.max_tries == 10 and schedule.max_retries == 9
    assert schedule.delays()[:4] == [900, 1800, 3600, 7200]
    assert max(schedule.delays()) == 9000  # capped at 150 minutes


def test_jitter_stays_within_bounds() -> None:
    schedule = RetrySchedule(jitter=0.2)
    rng = random.Random(1)
    delays = [schedule.delay(1, rng) for _ in range(200)]
    assert min(delays) >= 1800 * 0.8 and max(delays) <= 1800 * 1.2
    assert len(set(delays)) > 100


def test_shrinkage_flags_big_drops_only() -> None:
    before = {"games": 1000, "price_history": 10000, "events": 0}
    assert shrinkage(before, {"games": 990, "price_history": 6000, "events": 0}, 50) == []
    problems = shrinkage(before, {"games": 10, "price_history": 9000}, 50)
    assert problems == ["games: 1000 -> 10 rows (-99%)"]


def test_staleness() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert staleness(now - timedelta(hours=25), now, 26) is None
    assert "27.0 h old" in (staleness(now - timedelta(hours=27), now, 26) or "")
    assert staleness(None, now, 26) == "there is no good backup yet"
