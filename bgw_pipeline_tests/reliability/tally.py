"""What the reliability suite tried and how each attempt ended, for the published table.

Tests call `record(...)` with one line of facts per attempt (a hostile archive through a
door, a fault injected, a load run, a property or fuzz run, a security check). When
`BGW_RELIABILITY_DIR` is set (by `make reliability` and `.ci/run`) the facts are appended
as JSON lines there; `report.py` turns them into the table in docs/RELIABILITY.md. The
numbers are what really ran: nothing in the table is typed by hand.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SECTIONS = ("hostile", "property", "fuzz", "fault", "load", "security")


def full_run() -> bool:
    """True under `make reliability`: more examples, longer fuzzing, bigger loads."""
    return os.environ.get("BGW_RELIABILITY") == "full"


def budget(short: int, full: int) -> int:
    """A count (examples, requests, seconds) sized for CI or for the full run."""
    return full if full_run() else short


def record(section: str, name: str, passed: bool, **facts: Any) -> None:
    """Keep one attempt's outcome.

    Args:
        section: one of SECTIONS.
        name: what was tried (a case, a fault, a load profile, a check).
        passed: the attempt ended as the suite demands (refused with the right error,
            survived, held, neutralized...).
        facts: numbers for the table: `rows_lost`, `db_unchanged`, `requests`, `p50_ms`,
            `p99_ms`, `examples`, `door`, `peak_mib`...
    """
    if section not in SECTIONS:
        raise ValueError(f"unknown reliability section {section!r}")
    folder = os.environ.get("BGW_RELIABILITY_DIR")
    if not folder:
        return
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"section": section, "name": name, "passed": passed, **facts})
    with (out / f"records-{os.getpid()}.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
