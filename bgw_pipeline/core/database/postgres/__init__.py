"""PostgreSQL over psycopg: one exported snapshot read by a few connections, rows encoded by
the server or from Arrow in DuckDB."""
