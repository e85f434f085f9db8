"""The archive list and downloads for people and scripts, health, and metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

from bgw_pipeline.api import backup_progress, context
from bgw_pipeline.api.files import stream_from
from bgw_pipeline.api.metrics import BgwCollector
from bgw_pipeline.api.request_metrics import HTTP_REGISTRY
from bgw_pipeline.core.storage.archive_states import archive_listing
from bgw_pipeline.core.storage.archive_storage import check_archive_name
from bgw_pipeline.core.storage.catalog import list_archives
from bgw_pipeline.core.storage.retention import ArchiveEntry

router = APIRouter(tags=["backups"])


def _listed(entry: ArchiveEntry) -> dict[str, object]:
    return {
        **archive_listing(entry),
        "verified": entry.status.verified,
        "restorable": entry.status.restorable,
        "checksum": entry.status.checksum,
        "good": entry.status.good,
        "download_url": f"/api/v1/export/backups/{entry.name}",
    }


@router.get("/api/v1/export/backups", summary="The archives, newest first")
async def backups() -> JSONResponse:
    """Name, time, size, status and download URL of every archive."""

    def listing() -> dict[str, object]:
        entries = list_archives(context.storage())
        items = [_listed(e) for e in entries]
        return {
            "count": len(items),
            "total_bytes": sum(e.size_bytes for e in entries),
            "archives": items,
        }

    return JSONResponse(await run_in_threadpool(listing))


@router.get("/api/v1/export/backup/progress", summary="The backup this API process runs now")
async def backup_progress_now() -> JSONResponse:
    """Its run id and Dagster UI link, seconds so far, and rows per table: written to the
    archive (`games`) and loaded back by the restore drill (`drill games`); the last
    backup's when none runs, `{"running": false, "run_id": null}` before any."""
    return JSONResponse(backup_progress.current(context.settings().dagster_ui_url))


@router.get(
    "/api/v1/export/backups/{name}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}, 404: {"description": "No such archive"}},
    summary="Download one archive",
)
async def download(name: str) -> StreamingResponse:
    """Only plain archive names are served: no paths, so no escape from the archive folder."""
    check_archive_name(name)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(
        stream_from(context.storage().local_copy(name)),
        media_type="application/zip",
        headers=headers,
    )


def _metrics_text() -> bytes:
    registry = CollectorRegistry()
    registry.register(BgwCollector(context.settings().export_path, context.storage()))
    return generate_latest(registry) + generate_latest(HTTP_REGISTRY)


@router.get("/metrics", response_class=PlainTextResponse, tags=["metrics"], summary="Prometheus")
@router.get("/api/v1/export/metrics", response_class=PlainTextResponse, tags=["metrics"])
async def metrics() -> PlainTextResponse:
    """Export and import counters and the age of the newest good backup."""
    body = await run_in_threadpool(_metrics_text)
    return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/health", tags=["health"], summary="Liveness and database reachability")
async def health() -> JSONResponse:
    """200 when the API answers and the database is reachable, 503 otherwise."""

    def probe() -> bool:
        try:
            with context.connection() as conn:
                conn.execute(text("SELECT 1"))  # type: ignore[attr-defined]
            return True
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            return False

    ok = await run_in_threadpool(probe)
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unreachable"},
        status_code=200 if ok else 503,
    )
