"""An archive's state in words: what its recorded checks say, worst first."""

from __future__ import annotations

import pytest

from bgw_pipeline.core.storage.archive_states import StateCode, archive_state
from bgw_pipeline.core.storage.archive_storage import ArchiveStatus

SHRANK = ["games: 1250 -> 12 rows (-99%)", "events: 5420 -> 10 rows (-100%)"]


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (ArchiveStatus(), StateCode.UNCHECKED, "not yet checked"),
        (ArchiveStatus(verified=True), StateCode.VERIFIED, "verified; restore drill not run yet"),
        (ArchiveStatus(verified=True, restorable=True, shrink_alert=False),
         StateCode.RESTORABLE, "verified and restorable"),
        (ArchiveStatus(verified=False, verify_problems=["games.json: sha256 differs"]),
         StateCode.CORRUPT, "failed verification: games.json: sha256 differs"),
        (ArchiveStatus(verified=True, restorable=False, drill_problems=["a", "b"]),
         StateCode.DRILL_FAILED, "failed its restore drill: a (and 1 more)"),
        (ArchiveStatus(verified=True, restorable=True, shrink_alert=True, shrinkage=SHRANK),
         StateCode.SHRUNK,
         "restores, but much smaller than the backup before it: games: 1250 -> 12 rows (-99%) "
         "(and 1 more)"),
        (ArchiveStatus(verified=True, shrink_alert=True, shrinkage=SHRANK[:1]),
         StateCode.SHRUNK,
         "verified, but much smaller than the backup before it: games: 1250 -> 12 rows (-99%)"),
    ],
)  # fmt: skip
def test_each_state_says_what_is_true(status: ArchiveStatus, code: StateCode, words: str) -> None:
    state = archive_state(status)
    assert (state.code, state.words) == (code, words)
    assert state.trusted is (code is StateCode.RESTORABLE)


def test_the_reasons_are_kept_whole() -> None:
    state = archive_state(ArchiveStatus(verified=True, shrink_alert=True, shrinkage=SHRANK))
    assert state.details == tuple(SHRANK)


def test_a_status_written_before_the_reasons_were_recorded_still_reads() -> None:
    # An old status file has no *_problems or shrinkage: the words need no reason.
    old = ArchiveStatus(verified=True, restorable=False)
    assert archive_state(old).words == "failed its restore drill"
