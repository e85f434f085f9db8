"""The exit codes of `bgw`, one per kind of outcome a script may want to tell apart."""

from __future__ import annotations

from enum import IntEnum

from bgw_pipeline.core.model.errors import ConfigError, NotFoundError, TransientError


class ExitCode(IntEnum):
    """What `bgw` exits with (README, "Command line", lists them)."""

    OK = 0
    REFUSED = 1  # a refused archive, a failed import, check or run, a stale plan
    USAGE = 2  # bad arguments, or a file or import id that does not exist
    CONFIG = 3  # a setting is missing or invalid
    UNREACHABLE = 4  # the database or S3 could not be reached; worth another try
    INTERRUPTED = 130  # Ctrl-C
    CLOSED_PIPE = 141  # the reader of stdout went away (`bgw inspect ... | head`)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code of an error that a command raised on purpose."""
    if isinstance(error, ConfigError):
        return ExitCode.CONFIG
    if isinstance(error, NotFoundError):
        return ExitCode.USAGE
    if isinstance(error, TransientError):
        return ExitCode.UNREACHABLE
    return ExitCode.REFUSED
