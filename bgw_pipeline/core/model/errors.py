"""Domain errors. Each says what went wrong in the user's terms.

`BgwError` subclasses are permanent (bad input, a failed check): retrying cannot help.
`TransientError` marks failures worth retrying (database unreachable, storage timeouts).
"""

from __future__ import annotations


class BgwError(Exception):
    """Base of every error bgw_pipeline raises on purpose."""


class ConfigError(BgwError):
    """A setting is missing or has an invalid value."""


class SourceDataError(BgwError):
    """A row in the BGW database cannot be represented in the archive format."""


class ArchiveError(BgwError):
    """An archive is unreadable, unsafe or does not follow the archive format."""


class ArchiveTooLargeError(ArchiveError):
    """The archive, or what it unpacks to, exceeds a configured limit."""


class ChecksumMismatchError(ArchiveError):
    """A member's bytes do not match the checksum recorded for it."""


class IncompatibleVersionError(ArchiveError):
    """The archive's format version cannot be imported by this version."""


class ExportError(BgwError):
    """An export could not be completed; nothing was written under a final name."""


class TransientError(Exception):
    """A failure that may succeed when tried again (network, locks, timeouts).

    `retry_after` is the seconds a waiting caller is told to wait (HTTP Retry-After).
    """

    def __init__(self, message: str = "", retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidRequestError(BgwError):
    """A caller's parameter is out of range or malformed (HTTP 422)."""


class NotFoundError(BgwError):
    """The thing asked for does not exist (HTTP 404)."""


class DatabaseUnavailableError(TransientError):
    """The database could not be reached (down, network, too many connections)."""


class BackupRunningError(BgwError):
    """Another backup of the same archives is running (HTTP 409)."""


class StalePlanError(BgwError):
    """The database changed since the dry run that an apply relies on."""
