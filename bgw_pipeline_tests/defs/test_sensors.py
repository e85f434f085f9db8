"""The import inbox sensor, called directly with build_sensor_context."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

from bgw_pipeline.core.files.digests import file_sha256
from bgw_pipeline.defs.sensors import import_inbox_sensor
from bgw_pipeline_tests.archive_builder import seed_archive
from bgw_pipeline_tests.dagster_resources import local_resources


def _evaluate(tmp_path: Path, cursor: str | None = None, settle: float = 0.0):  # type: ignore[no-untyped-def]
    resources = local_resources(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, settle)
    context = dg.build_sensor_context(cursor=cursor, resources=resources)
    return import_inbox_sensor(context)


def _inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    (inbox / "apply").mkdir(parents=True)
    return inbox


def test_an_empty_inbox_says_so(tmp_path: Path) -> None:
    _inbox(tmp_path)
    result = _evaluate(tmp_path)
    assert isinstance(result, dg.SkipReason)
    assert "no archive waiting" in (result.skip_message or "")


def test_a_new_file_starts_one_dry_run_and_the_same_bytes_start_no_second(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    archive = seed_archive(inbox / "backup.zip")
    first = _evaluate(tmp_path)
    (request,) = first.run_requests
    sha = file_sha256(archive)
    assert request.run_key == f"dry_run:{sha}"
    config = request.run_config["ops"]["import_archive"]["config"]
    assert config == {"archive": str(archive), "dry_run": True}
    assert archive.exists(), "the sensor itself moves nothing"

    # The same bytes under another name: no second run, and the skip reason says why.
    archive.rename(inbox / "again.zip")
    second = _evaluate(tmp_path, cursor=first.cursor)
    assert not second.run_requests
    assert "already imported" in str(second.skip_reason)


def test_the_apply_folder_applies(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    archive = seed_archive(inbox / "apply" / "backup.zip")
    (request,) = _evaluate(tmp_path).run_requests
    assert request.run_key == f"apply:{file_sha256(archive)}"
    assert request.run_config["ops"]["import_archive"]["config"]["dry_run"] is False
    assert request.tags["bgw/import_mode"] == "apply"


def test_a_file_still_being_copied_is_not_picked_up(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    growing = inbox / "growing.zip"
    growing.write_bytes(b"PK\x03\x04 half of a zip")
    result = _evaluate(tmp_path, settle=60)
    assert not result.run_requests
    assert "still being written" in str(result.skip_reason)
    old = time.time() - 120
    os.utime(growing, (old, old))
    assert len(_evaluate(tmp_path, settle=60).run_requests) == 1


def test_dry_run_then_apply_of_the_same_bytes_are_two_runs(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    archive = seed_archive(inbox / "backup.zip")
    first = _evaluate(tmp_path)
    archive.rename(inbox / "apply" / "backup.zip")
    second = _evaluate(tmp_path, cursor=first.cursor)
    assert [r.run_key.split(":")[0] for r in second.run_requests] == ["apply"]


def test_an_empty_file_waits_a_minute_then_is_taken_so_it_cannot_sit_for_ever() -> None:
    from bgw_pipeline.core.storage.inbox import InboxFile, is_settled

    now = 1_000_000.0
    empty = InboxFile("/inbox/x.zip", "x.zip", False, 0, int((now - 5) * 1e9))
    assert not is_settled(empty, settle_seconds=0, now=now)  # a copy that has just begun
    old_empty = InboxFile("/inbox/x.zip", "x.zip", False, 0, int((now - 61) * 1e9))
    assert is_settled(old_empty, settle_seconds=0, now=now)
    written = InboxFile("/inbox/y.zip", "y.zip", False, 10, int((now - 5) * 1e9))
    assert is_settled(written, settle_seconds=2, now=now)
    assert not is_settled(written, settle_seconds=10, now=now)
