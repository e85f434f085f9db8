"""Row progress of a run, for a caller waiting on it in this process (`bgw backup`).

The run's event log gets a line now and then; a terminal's bars want every step. A run
that `bgw backup` starts executes in the command's own thread, so a context variable set
around `execute_in_process` reaches the asset, and never the runs of other callers (the
API runs several at once, each in a thread of its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from bgw_pipeline.core.archive.writer import ProgressCallback

_LISTENER: ContextVar[ProgressCallback | None] = ContextVar("bgw_run_progress", default=None)


@contextmanager
def progress_to(listener: ProgressCallback | None) -> Iterator[None]:
    """Runs executed in this context report `(table, rows done, rows in total)` to
    `listener`, from whichever thread does the work."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def progress_listener() -> ProgressCallback | None:
    """The listener of the current context (read in the asset's own thread)."""
    return _LISTENER.get()
