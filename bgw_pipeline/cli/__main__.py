"""`python -m bgw_pipeline.cli`."""

from bgw_pipeline.cli.main import entry_point

entry_point()
