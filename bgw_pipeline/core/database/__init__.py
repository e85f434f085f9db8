"""The BGW database: engines, the schema from the DDL, one consistent snapshot read in Arrow
chunks (postgres/ over psycopg alone, sqlite/ with worker processes), and bulk writes."""
