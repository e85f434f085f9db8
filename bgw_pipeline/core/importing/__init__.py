"""Importing an archive: the run and its options, the steps (dry run, apply), the saved plan,
the report, and undo from the archive of overwritten rows."""
