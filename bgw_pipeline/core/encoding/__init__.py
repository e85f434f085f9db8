"""Rows in the archive's own JSON form, encoded in chunks, and turned into Arrow once."""
