"""Extract assets: every BGW table read from one consistent database snapshot."""

from collections.abc import Iterator

import dagster as dg

from bgw_pipeline.core.staging import stage_database
from bgw_pipeline.names import EXTRACT_GROUP, EXTRACT_OP
from bgw_pipeline.resources import ArchiveStore, BgwDatabase, Operations
from bgw_pipeline.retrying import retry_transient

TABLE_DESCRIPTIONS = {
    "games": "Board games watched in Russian shops, with their current price.",
    "rules": "Notification rules that decide which price changes reach users.",
    "events": "Events about games: sales, releases, pre-orders, restocks, price drops.",
    "price_history": "Every price seen for each game in each shop over time.",
    "raw_items": "Raw items as the scraper parsed them, before normalisation.",
    "listings": "Raw listing pages as the scraper fetched them.",
}

EXTRACT_SPECS = [
    dg.AssetSpec(name, group_name=EXTRACT_GROUP, description=text, kinds={"sql"})
    for name, text in TABLE_DESCRIPTIONS.items()
]


@dg.multi_asset(specs=EXTRACT_SPECS, name=EXTRACT_OP)
def extract_tables(
    context: dg.AssetExecutionContext,
    database: BgwDatabase,
    archive_store: ArchiveStore,
    operations: Operations,
) -> Iterator[dg.MaterializeResult]:
    """Read every BGW table from one consistent database snapshot."""
    with (
        retry_transient(context.op_execution_context, operations),
        database.open_engine() as engine,
    ):
        staged = stage_database(
            engine,
            archive_store.staging_dir,
            progress=lambda name, rows: context.log.info(f"extracted {name}: {rows} rows"),
        )
    for name, table in staged.items():
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={
                "dagster/row_count": table.rows,
                "snapshot_id": table.snapshot_id,
                "staged_path": dg.MetadataValue.path(str(table.path)),
            },
        )
