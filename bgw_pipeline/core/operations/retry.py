"""Retry timing for transient failures: exponential backoff with a cap and jitter.

Defaults follow the TestOps Export Manager document: up to 10 tries, delays growing
from 15 minutes to a 150-minute cap. Only `TransientError`s are retried; bad input and
failed checks never are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetrySchedule:
    """How often and how long to wait between tries."""

    max_tries: int = 10
    base_delay_seconds: float = 15 * 60
    max_delay_seconds: float = 150 * 60
    jitter: float = 0.1  # +/- this fraction of the delay

    def delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry `retry_number` (0 = the first retry)."""
        raw = min(self.base_delay_seconds * (2**retry_number), self.max_delay_seconds)
        spread = raw * self.jitter
        offset = (rng or random).uniform(-spread, spread) if spread else 0.0
        return max(0.0, min(raw + offset, self.max_delay_seconds))

    @property
    def max_retries(self) -> int:
        return max(0, self.max_tries - 1)

    def delays(self) -> list[float]:
        """The delays without jitter, for documentation and the UI."""
        plain = RetrySchedule(self.max_tries, self.base_delay_seconds, self.max_delay_seconds, 0)
        return [plain.delay(n) for n in range(self.max_retries)]
