"""Turning core errors into Dagster outcomes: transient ones retried, the rest failed."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from bgw_pipeline.core.errors import BgwError, TransientError
from bgw_pipeline.resources import Operations


@contextmanager
def retry_transient(context: dg.OpExecutionContext, operations: Operations) -> Iterator[None]:
    """Retry a transient failure with backoff and jitter; fail bad input at once."""
    schedule = operations.retry
    try:
        yield
    except TransientError as exc:
        tries = context.retry_number + 1
        if tries >= schedule.max_tries:
            raise dg.Failure(description=f"gave up after {tries} tries: {exc}") from exc
        delay = schedule.delay(context.retry_number)
        context.log.warning(
            f"transient failure (try {tries} of {schedule.max_tries}): {exc}; "
            f"retrying in {delay:.0f} s"
        )
        raise dg.RetryRequested(max_retries=schedule.max_retries, seconds_to_wait=delay) from exc
    except BgwError as exc:
        raise dg.Failure(description=str(exc)) from exc
