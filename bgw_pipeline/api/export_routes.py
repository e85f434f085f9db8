"""The API document's export and import endpoints (/api/v1/export/full, /summary)."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import orjson
from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from bgw_pipeline.api import context
from bgw_pipeline.api.errors import json_error
from bgw_pipeline.api.files import save_upload, stream_from, temporary_folder
from bgw_pipeline.api.limits import client_ip
from bgw_pipeline.api.runs import RunOutcome, run_backup, run_import
from bgw_pipeline.core.archive.summary import summarize_archive_file
from bgw_pipeline.core.files.sealing import is_sealed
from bgw_pipeline.core.importing.importer import ImportFolders
from bgw_pipeline.core.model.errors import ArchiveError
from bgw_pipeline.core.operations.ledger import record_refused_import

router = APIRouter(prefix="/api/v1/export", tags=["export"])
ERRORS = {
    400: {"description": "Not a ZIP archive, or the archive is refused (the detail says why)"},
    413: {"description": "The upload is over the size limit (100 MB by default)"},
    429: {"description": "More than 10 exports an hour from this IP; see Retry-After"},
    504: {"description": "The export took longer than 5 minutes"},
}


@router.get(
    "/full",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}, **ERRORS},
    summary="Full export: a fresh ZIP archive of every table",
)
async def export_full(request: Request, include_raw_data: bool = False) -> Response:
    """Runs backup_job (it shows in the Dagster UI) and streams the archive it made."""
    outcome = await _limited_backup(request, include_raw_data)
    if isinstance(outcome, Response):
        return outcome
    name = str(outcome.metadata["archive_name"])
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-BGW-Checksum": str(outcome.metadata["checksum"]),
        "X-BGW-Run-Id": outcome.run_id,
    }
    body = stream_from(context.storage().local_copy(name))
    return StreamingResponse(body, media_type="application/zip", headers=headers)


@router.post(
    "/backups",
    responses=ERRORS,
    summary="Run a backup and answer with the archive it made (not its bytes)",
)
async def run_backup_now(request: Request, include_raw_data: bool = False) -> Response:
    """Runs backup_job, as GET /full does, and answers with the new archive's name, size,
    checksum and counts, where to download it and where its run is in the Dagster UI
    (the web page's "Export now")."""
    outcome = await _limited_backup(request, include_raw_data)
    if isinstance(outcome, Response):
        return outcome
    meta = outcome.metadata
    name = str(meta["archive_name"])
    ui = context.settings().dagster_ui_url
    return JSONResponse({
        "run_id": outcome.run_id,
        "run_url": f"{ui}/runs/{outcome.run_id}",
        "name": name,
        "size_bytes": meta["size_bytes"],
        "checksum": meta["checksum"],
        "counts": meta["counts"],
        "download_url": f"/api/v1/export/backups/{name}",
    })  # fmt: skip


async def _limited_backup(request: Request, include_raw_data: bool) -> RunOutcome | Response:
    """backup_job's outcome, or the answer that refuses it: over the hourly limit per
    address and token (429), too slow to wait for (504), failed (500)."""
    keys = [client_ip(request)]
    token_id = getattr(request.state, "bgw_token_id", None)  # tokens count too (auth.py)
    if token_id is not None:
        keys.append(f"token:{token_id}")
    wait = await run_in_threadpool(context.export_limiter().check, *keys)
    if wait is not None:
        limit = context.settings().api_exports_per_hour
        detail = f"more than {limit} exports an hour from this address or token; try later"
        return json_error(429, detail, {"Retry-After": str(int(wait))})
    try:
        outcome = await asyncio.wait_for(
            run_in_threadpool(run_backup, include_raw_data), context.EXPORT_TIMEOUT_SECONDS
        )
    except TimeoutError:
        return json_error(504, "the export took longer than 5 minutes; it goes on as a Dagster run")
    if not outcome.success:
        return json_error(500, f"{outcome.error} (run {outcome.run_id})")
    return outcome


def _zip_upload(upload: UploadFile, folder: Path) -> Path:
    path = save_upload(upload, folder)
    if path.stat().st_size == 0:
        from bgw_pipeline.core.model.errors import ArchiveError

        raise ArchiveError(f"{upload.filename or 'the upload'} is empty, not a ZIP archive")
    if not zipfile.is_zipfile(path) and not is_sealed(path):  # sealed: opened by the import
        raise_not_zip(upload.filename)
    return path


def raise_not_zip(name: str | None) -> None:
    from bgw_pipeline.core.model.errors import ArchiveError

    raise ArchiveError(f"{name or 'the upload'} is not a ZIP archive: only ZIP archives import")


@router.post("/full", responses=ERRORS, summary="Import an archive (a dry run by default)")
async def import_full(
    file: UploadFile = File(..., description="The ZIP archive"),
    dry_run: bool = Query(True, description="Only report what would change"),
) -> Response:
    """Runs import_archive_job on the upload and answers with its report."""
    with temporary_folder() as tmp:
        try:
            path = await run_in_threadpool(_zip_upload, file, Path(tmp))
        except ArchiveError:  # no run will record it: the ledger does
            await run_in_threadpool(
                record_refused_import, context.settings().export_path, "not_zip"
            )
            raise
        outcome = await run_in_threadpool(run_import, path, dry_run)
    import_id = outcome.metadata.get("import_id")
    if import_id:
        report = ImportFolders(context.settings().export_path).reports / f"{import_id}.json"
        if report.exists():
            return JSONResponse(orjson.loads(report.read_bytes()))
    return json_error(400, outcome.error or "the import failed")


@router.post("/summary", responses=ERRORS, summary="Analyse an archive without importing it")
async def summary(file: UploadFile = File(..., description="The ZIP archive")) -> JSONResponse:
    """Version, contents, compatibility and a preview, as the API document shows."""

    def analyse(folder: Path) -> dict[str, object]:
        upload = _zip_upload(file, folder)
        return summarize_archive_file(upload, context.limits(), context.settings().archive_key)

    with temporary_folder() as tmp:
        return JSONResponse(await run_in_threadpool(analyse, Path(tmp)))
