"""The export rate limit's window: per key, all keys or none, and one count across
processes (each a separate interpreter, racing for the same allowances)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bgw_pipeline.core.operations.rate_window import SharedRateWindow


def test_each_key_gets_its_limit_then_waits_until_its_oldest_event_leaves(
    tmp_path: Path,
) -> None:
    window = SharedRateWindow(tmp_path, limit=2, window=100)
    assert window.check("a", now=1000) is None
    assert window.check("a", now=1010) is None
    assert window.check("a", now=1020) == 80  # the event at 1000 leaves at 1100
    assert window.check("b", now=1020) is None  # another key has its own allowance
    assert window.check("a", now=1100.5) is None  # 1000 has left the window


def test_a_refused_check_records_nothing_under_any_key(tmp_path: Path) -> None:
    """Address and token are checked together: a token over its limit does not use up
    the address's allowance, nor the other way round."""
    window = SharedRateWindow(tmp_path, limit=1, window=3600)
    assert window.check("token:t", now=0) is None
    assert window.check("10.0.0.1", "token:t", now=1) is not None
    assert window.check("10.0.0.1", now=2) is None  # still unused by the refused try


def test_the_window_is_kept_across_instances_like_a_restart(tmp_path: Path) -> None:
    assert SharedRateWindow(tmp_path, limit=1).check("a") is None
    assert SharedRateWindow(tmp_path, limit=1).check("a") is not None


RACER = """
import sys
from pathlib import Path
from bgw_pipeline.core.operations.rate_window import SharedRateWindow
window = SharedRateWindow(Path(sys.argv[1]), limit=int(sys.argv[2]))
sys.stdin.readline()  # start together
print(sum(window.check("10.0.0.1") is None for _ in range(int(sys.argv[3]))))
"""


def test_processes_racing_share_one_count(tmp_path: Path) -> None:
    limit, processes, tries = 7, 4, 5
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path), str(limit), str(tries)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write("go\n")
        racer.stdin.flush()
    allowed = [int(racer.communicate(timeout=120)[0]) for racer in racers]
    assert sum(allowed) == limit, allowed  # 20 tries, exactly 7 allowed in all
