"""bgw_pipeline: backup, restore and export of the BGW database, on Dagster."""

__version__ = "0.1.0"
