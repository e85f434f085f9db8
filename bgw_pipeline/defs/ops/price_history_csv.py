"""The op behind price_history_csv_job: one game's price history as a CSV file."""

import dagster as dg
from pydantic import Field

from bgw_pipeline.core.export.csv_files import write_price_history_csv_file
from bgw_pipeline.core.model.errors import BgwError
from bgw_pipeline.core.operations.ledger import record_export
from bgw_pipeline.defs.resources import ArchiveStore, BgwDatabase


class PriceHistoryCsvConfig(dg.Config):
    """Which game, and how far back."""

    game_id: str = Field(description="UUID of the game.")
    days: int = Field(default=365, description="How many days back, 1 to 3650.")


@dg.op
def price_history_csv(
    context: dg.OpExecutionContext,
    config: PriceHistoryCsvConfig,
    database: BgwDatabase,
    archive_store: ArchiveStore,
) -> dg.Output[str]:
    """Write one game's price history, newest first, as an Excel-safe CSV file."""
    try:
        with database.open_engine() as engine:
            path, rows = write_price_history_csv_file(
                engine, archive_store.csv_dir, config.game_id, config.days
            )
    except BgwError as exc:  # bad game id or days: say so, never retry
        raise dg.Failure(description=str(exc)) from exc
    record_export(archive_store.archive_dir, "csv", "success", path.stat().st_size)
    context.log.info(f"{rows} price rows written to {path}")
    return dg.Output(
        str(path),
        metadata={"path": dg.MetadataValue.path(str(path)), "dagster/row_count": rows},
    )
