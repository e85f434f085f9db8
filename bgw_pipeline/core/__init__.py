"""The Dagster-free core: every piece of logic that the Dagster definitions, the HTTP API
and the command line share.

Its folders stand in layers; a folder imports only from the ones above it in this list:

- model: what BGW data is (entities and their columns, canonical values, errors, Arrow schemas)
- files, operations: safe files (atomic writes, work folders, digests, read-ahead); retry
  timing and the ledger of exports
- encoding: rows in the archive's JSON form, in chunks, and as Arrow
- archive, database: the archive format; the BGW database and its consistent snapshots
- storage: where archives live (a folder or S3), the import inbox, retention
- compare: the DuckDB diff of an archive against the database
- export, importing: writing archives, snapshot files and CSV; importing and undoing
- backup: a backup from one read, with its restore drill and guards
- demo: synthetic data for trying things out

bgw_pipeline_tests/test_layers.py keeps it so.
"""
