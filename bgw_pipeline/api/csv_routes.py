"""CSV exports for people, served straight from the core (no Dagster run)."""

from __future__ import annotations

import tempfile

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from bgw_pipeline.api import context
from bgw_pipeline.core.export.csv_files import (
    CSV_MEDIA_TYPE,
    parse_game_ids,
    write_games_csv,
    write_price_history_csv,
)
from bgw_pipeline.core.operations.ledger import record_export

router = APIRouter(prefix="/api/v1/export", tags=["csv"])
ERRORS = {404: {"description": "No such game"}, 422: {"description": "A bad parameter"}}


def _spooled(write: object) -> tempfile.SpooledTemporaryFile[bytes]:
    """Run `write(conn, spool)` into a spooled file (memory up to 1 MB, then disk): dozens
    of requests at once must not each hold a whole CSV in memory."""
    spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 - the response closes it
    try:
        with context.connection() as conn:
            write(conn, spool)  # type: ignore[operator]
    except BaseException:
        spool.close()
        raise
    return spool


def _respond(spool: tempfile.SpooledTemporaryFile[bytes], filename: str) -> StreamingResponse:
    size = spool.tell()
    spool.seek(0)
    record_export(context.settings().export_path, "csv", "success", size)

    def chunks() -> object:
        with spool:
            while chunk := spool.read(1 << 20):
                yield chunk

    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(chunks(), media_type=CSV_MEDIA_TYPE, headers=headers)  # type: ignore[arg-type]


@router.get("/games/csv", responses=ERRORS, summary="Games as CSV (all, or the given ids)")
async def games_csv(game_ids: str = "") -> StreamingResponse:
    """`game_ids`: comma-separated UUIDs; empty means every game."""
    ids = parse_game_ids(game_ids)

    def build() -> tempfile.SpooledTemporaryFile[bytes]:
        return _spooled(lambda conn, spool: write_games_csv(conn, spool, ids))

    return _respond(await run_in_threadpool(build), "games.csv")


@router.get(
    "/price-history/{game_id}/csv", responses=ERRORS, summary="One game's price history as CSV"
)
async def price_history_csv(game_id: str, days: int = 365) -> StreamingResponse:
    """Newest first, the last `days` days (1 to 3650)."""

    def build() -> tempfile.SpooledTemporaryFile[bytes]:
        return _spooled(lambda conn, spool: write_price_history_csv(conn, spool, game_id, days))

    return _respond(await run_in_threadpool(build), f"price_history_{game_id}.csv")
