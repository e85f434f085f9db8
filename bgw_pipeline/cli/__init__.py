"""The `bgw` command line (click): thin commands over the Dagster-free core, and
backup_job through Dagster."""

from bgw_pipeline.cli.main import main

__all__ = ["main"]
