"""Exports: the archive of the database (archive_export), the JSON/CSV/Parquet snapshot files
from the same read (snapshot_tee, snapshot_formats), and CSV files for people (csv_files)."""
