"""The games CSV asset: the API's games export, as a file analysts open in Excel."""

import dagster as dg

from bgw_pipeline.core.atomic_files import atomic_write
from bgw_pipeline.core.csv_export import write_games_csv_batches
from bgw_pipeline.core.entities import ENTITIES_BY_NAME
from bgw_pipeline.core.ledger import record_export
from bgw_pipeline.core.staging import StagedTables
from bgw_pipeline.names import CSV_GROUP, GAMES_CSV
from bgw_pipeline.resources import ArchiveStore

GAMES = ENTITIES_BY_NAME["games"]


@dg.asset(key=GAMES_CSV, group_name=CSV_GROUP, deps=[GAMES.name], kinds={"csv"})
def games_csv(archive_store: ArchiveStore) -> dg.MaterializeResult:
    """All games as an Excel-safe CSV file, in the columns of the API's games export."""
    source = StagedTables(archive_store.staging_dir, (GAMES,))
    path = archive_store.csv_dir / "games.csv"
    with atomic_write(path, durable=False) as fh:
        rows = write_games_csv_batches(source.batches(GAMES), fh)
    record_export(archive_store.archive_dir, "csv", "success", path.stat().st_size)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "dagster/row_count": rows,
            "size_bytes": path.stat().st_size,
        }
    )
