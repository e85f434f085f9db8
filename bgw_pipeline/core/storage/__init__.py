"""Where archives live: one interface over a local folder (archive_storage) or an S3 bucket,
the import inbox on either, retention, and the catalog of archives with their status."""
