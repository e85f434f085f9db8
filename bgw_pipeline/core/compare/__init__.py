"""The diff of an archive against the database, in DuckDB.

Which rows are in question (rows_in_question.py) decides the pass: on PostgreSQL each member
is walked in id order beside the database's own encoding of its rows (in_order_pass, with
sorted_compare for a member of rows and row_files_compare for a member per row); elsewhere
ids and hashes of both sides are compared (first_pass, archive_keys, row_keys, line_keys).
Only the rows that differ are loaded into the diff store (diff_store) and diffed (diff,
natural_keys).
"""
