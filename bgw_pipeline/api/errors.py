"""Every error answers JSON with a human-readable `detail`; core errors map to statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bgw_pipeline.core.model.errors import (
    ArchiveError,
    ArchiveTooLargeError,
    BackupRunningError,
    BgwError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    StalePlanError,
    TransientError,
)

STATUS = {
    ArchiveTooLargeError: 413,
    ArchiveError: 400,
    InvalidRequestError: 422,
    NotFoundError: 404,
    StalePlanError: 409,
    BackupRunningError: 409,
    ConfigError: 500,
}


def json_error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def status_for(exc: BgwError) -> int:
    for kind, status in STATUS.items():
        if isinstance(exc, kind):
            return status
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BgwError)
    async def bgw_error(_request: Request, exc: BgwError) -> JSONResponse:
        return json_error(status_for(exc), str(exc))

    @app.exception_handler(TransientError)
    async def transient_error(_request: Request, exc: TransientError) -> JSONResponse:
        detail = (
            str(exc) if str(exc).startswith("temporarily") else f"temporarily unavailable: {exc}"
        )
        return json_error(503, detail, {"Retry-After": str(getattr(exc, "retry_after", 60))})
