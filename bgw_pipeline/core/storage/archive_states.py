"""An archive's state in words that say what is true, the same in the command line, the
HTTP API and the web page: not "not verified" for an archive that restores but shrank."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bgw_pipeline.core.storage.archive_storage import ArchiveStatus
from bgw_pipeline.core.storage.retention import ArchiveEntry


class StateCode(StrEnum):
    RESTORABLE = "restorable"  # verified, and the restore drill passed
    VERIFIED = "verified"  # verified; the restore drill has not run on it yet
    UNCHECKED = "unchecked"  # no check has run on it yet
    CORRUPT = "corrupt"  # its members do not match its metadata.json
    DRILL_FAILED = "drill_failed"  # it did not restore
    SHRUNK = "shrunk"  # it is good, but much smaller than the backup before it


@dataclass(frozen=True)
class ArchiveState:
    code: StateCode
    words: str
    details: tuple[str, ...] = ()  # the reasons, or the tables that shrank

    @property
    def trusted(self) -> bool:
        """Whether the archive is proven to restore as it is."""
        return self.code is StateCode.RESTORABLE


def archive_state(status: ArchiveStatus) -> ArchiveState:
    """What the recorded checks say of an archive, worst first."""
    if status.verified is False:
        reasons = tuple(status.verify_problems or ())
        return ArchiveState(StateCode.CORRUPT, "failed verification" + _first(reasons), reasons)
    if status.restorable is False:
        reasons = tuple(status.drill_problems or ())
        words = "failed its restore drill" + _first(reasons)
        return ArchiveState(StateCode.DRILL_FAILED, words, reasons)
    if status.shrink_alert:
        shrank = tuple(status.shrinkage or ())
        proven = "restores" if status.restorable else "verified"
        words = f"{proven}, but much smaller than the backup before it" + _first(shrank)
        return ArchiveState(StateCode.SHRUNK, words, shrank)
    if status.verified and status.restorable:
        return ArchiveState(StateCode.RESTORABLE, "verified and restorable")
    if status.verified:
        return ArchiveState(StateCode.VERIFIED, "verified; restore drill not run yet")
    return ArchiveState(StateCode.UNCHECKED, "not yet checked")


def _first(details: tuple[str, ...]) -> str:
    if not details:
        return ""
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f": {details[0]}{more}"


def archive_listing(entry: ArchiveEntry) -> dict[str, Any]:
    """An archive as `bgw archives` and GET /api/v1/export/backups list it."""
    state = archive_state(entry.status)
    return {
        "name": entry.name,
        "created_at": entry.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "size_bytes": entry.size_bytes,
        "state": state.code.value,
        "state_words": state.words,
        "state_details": list(state.details),
    }
