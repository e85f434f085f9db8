"""The second process's machinery loads only when an import starts that process."""

from __future__ import annotations

from bgw_pipeline_tests.probes import run_probe

PROBE = """
import sys
import bgw_pipeline.core.importing.importer, bgw_pipeline.core.database.postgres.snapshot
import bgw_pipeline.core.importing.steps  # what a PostgreSQL import loads for its diff
heavy = [m for m in ("multiprocessing", "concurrent.futures.process", "pyarrow.parquet")
         if m in sys.modules]
assert not heavy, f"loaded without a second process: {heavy}"
from bgw_pipeline.core.compare import first_pass
print("ok")
"""


def test_an_import_without_a_second_process_does_not_load_its_modules() -> None:
    assert run_probe(PROBE) == "ok"
