"""Turning core errors into Dagster outcomes: transient ones retried, the rest failed."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import sqlalchemy as sa

from bgw_pipeline.core.model.errors import BgwError, TransientError
from bgw_pipeline.defs.names import CALLER_WAITS_TAG
from bgw_pipeline.defs.resources import Operations

CALLER_RETRY_AFTER = 60  # seconds a waiting caller is told to wait before trying again


@contextmanager
def retry_transient(context: dg.OpExecutionContext, operations: Operations) -> Iterator[None]:
    """Retry a transient failure with backoff and jitter (a scheduled run; a run someone
    waits for fails at once, saying it is transient); fail bad input at once."""
    schedule = operations.retry
    try:
        try:
            yield
        except (sa.exc.OperationalError, TimeoutError, ConnectionError) as exc:
            # A dropped connection or a timeout in the middle of a read: worth another try.
            # Only the driver's first line is kept: the statement may hold data.
            first_line = str(getattr(exc, "orig", exc)).strip().splitlines()[:1]
            raise TransientError(f"{type(exc).__name__}: {' '.join(first_line)}") from None
    except TransientError as exc:
        if context.run.tags.get(CALLER_WAITS_TAG) == "true":
            # Someone waits for this run: tell them now, do not sleep through the retries.
            raise dg.Failure(
                description=f"temporarily unavailable: {exc}",
                metadata={"transient": True, "retry_after_seconds": CALLER_RETRY_AFTER},
            ) from exc
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
