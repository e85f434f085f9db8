"""The ASGI app: the BGW export API (/api/v1), the web page (/), metrics and health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse

from bgw_pipeline import __version__
from bgw_pipeline.api import backup_routes, context, csv_routes, export_routes, runs
from bgw_pipeline.api.auth import TokenAuthMiddleware
from bgw_pipeline.api.errors import install_error_handlers, json_error
from bgw_pipeline.api.limits import UploadLimitMiddleware
from bgw_pipeline.api.request_metrics import RequestMetricsMiddleware
from bgw_pipeline.core.operations.ledger import record_refused_import


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield
    runs.close_shared_instance()


def create_app() -> FastAPI:
    """A new app; settings are read from the environment (and .env) when first needed."""
    app = FastAPI(
        lifespan=_lifespan,
        title="BGW export API",
        version=__version__,
        description="Backups, imports and CSV exports of the BGW database "
        "(the BGW Export/Import API document).",
    )
    app.add_middleware(
        UploadLimitMiddleware,
        max_bytes=context.settings().max_import_mb * 1024 * 1024,
        on_refused_import=lambda reason: record_refused_import(
            context.settings().export_path, reason
        ),
    )
    app.add_middleware(TokenAuthMiddleware, tokens=lambda: context.settings().api_tokens)
    app.add_middleware(RequestMetricsMiddleware)  # the last added is the outermost
    install_error_handlers(app)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path"))
            parts.append(f"{where}: {error.get('msg', 'invalid')}")
        return json_error(422, "; ".join(parts) or "invalid request")

    app.include_router(export_routes.router)
    app.include_router(csv_routes.router)
    app.include_router(backup_routes.router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        html = resources.files("bgw_pipeline.api").joinpath("static", "index.html")
        ui = escape(context.settings().dagster_ui_url, quote=True)
        return HTMLResponse(html.read_text("utf-8").replace("__BGW_DAGSTER_UI_URL__", ui))

    return app
