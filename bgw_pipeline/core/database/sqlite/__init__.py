"""SQLite: rows rendered by SQLite itself, read by worker processes on one consistent snapshot."""
