"""pyarrow without its pandas probe: short commands do not pay for importing pandas."""

from __future__ import annotations

from bgw_pipeline_tests.probes import run_probe

PROBE = """
import sys
from bgw_pipeline.core.model.arrow_tables import arrow_without_pandas
arrow_without_pandas()
import pyarrow as pa
assert pa.array(["x", None]).to_pylist() == ["x", None]
assert "pandas" not in sys.modules, "pyarrow imported pandas"
import pandas  # still importable for anything that wants it
print("ok")
"""


def test_arrow_converts_lists_without_importing_pandas() -> None:
    assert run_probe(PROBE) == "ok"
