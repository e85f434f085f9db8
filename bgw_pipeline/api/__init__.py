"""The HTTP layer: `bgw_pipeline.api:app` (FastAPI)."""

from bgw_pipeline.api.app import create_app

app = create_app()

__all__ = ["app", "create_app"]
