"""The second process's machinery loads only when an import starts that process."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import bgw_pipeline.core.import_steps  # everything a PostgreSQL import loads for its diff
heavy = [m for m in ("multiprocessing", "concurrent.futures.process", "pyarrow.parquet")
         if m in sys.modules]
assert not heavy, f"loaded without a second process: {heavy}"
from bgw_pipeline.core import first_pass
print("ok")
"""


def test_an_import_without_a_second_process_does_not_load_its_modules() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
