"""pyarrow without its pandas probe: short commands do not pay for importing pandas."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from bgw_pipeline.core.arrow_tables import arrow_without_pandas
arrow_without_pandas()
import pyarrow as pa
assert pa.array(["x", None]).to_pylist() == ["x", None]
assert "pandas" not in sys.modules, "pyarrow imported pandas"
import pandas  # still importable for anything that wants it
print("ok")
"""


def test_arrow_converts_lists_without_importing_pandas() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
