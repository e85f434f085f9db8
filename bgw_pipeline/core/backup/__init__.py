"""A full backup from one read (backup_database), one at a time (lock), proved by a restore
drill into a scratch database (restore_drill, drill_load) and checked by guards and integrity
queries."""
