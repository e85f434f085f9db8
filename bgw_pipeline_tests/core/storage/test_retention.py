"""Retention on a fake clock: the age rule, GFS, and the rails that are never crossed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bgw_pipeline.core.archive.format import archive_name
from bgw_pipeline.core.storage.archive_storage import ArchiveStatus, LocalStorage
from bgw_pipeline.core.storage.catalog import apply_retention, list_archives
from bgw_pipeline.core.storage.retention import ArchiveEntry, RetentionPolicy, plan_retention

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def _entries(days_ago: list[int], good: set[int] = frozenset(), **kw: object) -> list[ArchiveEntry]:  # type: ignore[assignment]
    return [
        ArchiveEntry(
            name=archive_name(NOW - timedelta(days=d)),
            created_at=NOW - timedelta(days=d),
            size_bytes=100,
            status=ArchiveStatus(verified=d in good, shrink_alert=False),
        )
        for d in days_ago
    ]


def _kept(decisions: list) -> set[int]:  # type: ignore[type-arg]
    return {(NOW - d.entry.created_at).days for d in decisions if d.keep}


def test_archives_older_than_the_limit_go() -> None:
    entries = _entries(list(range(0, 60, 5)), good={0})
    decisions = plan_retention(entries, RetentionPolicy(days=30), NOW)
    assert _kept(decisions) == {0, 5, 10, 15, 20, 25, 30}


def test_the_newest_good_archive_is_never_deleted() -> None:
    entries = _entries([40, 50, 60], good={50, 60})
    decisions = plan_retention(entries, RetentionPolicy(days=30), NOW)
    assert _kept(decisions) == {50}
    (kept,) = [d for d in decisions if d.keep]
    assert kept.reasons == ["newest good archive"]


def test_a_shrunk_archive_is_not_the_newest_good_one() -> None:
    entries = _entries([40, 50], good={40, 50})
    entries[0] = ArchiveEntry(entries[0].name, entries[0].created_at, 1,
                              ArchiveStatus(verified=True, shrink_alert=True))  # fmt: skip
    assert _kept(plan_retention(entries, RetentionPolicy(days=30), NOW)) == {50}


def test_newest_restorable_and_in_use_archives_stay() -> None:
    entries = _entries([40, 50, 60], good={40})
    entries[1] = ArchiveEntry(entries[1].name, entries[1].created_at, 1,
                              ArchiveStatus(verified=True, restorable=True))  # fmt: skip
    entries[2] = ArchiveEntry(entries[2].name, entries[2].created_at, 1, in_use=True)
    decisions = plan_retention(entries, RetentionPolicy(days=30), NOW)
    assert _kept(decisions) == {40, 50, 60}
    assert any("an import is reading it" in d.reasons for d in decisions)


def test_grandfather_father_son() -> None:
    entries = _entries(list(range(0, 400)))
    policy = RetentionPolicy(days=1, keep_daily=7, keep_weekly=4, keep_monthly=12)
    kept = _kept(plan_retention(entries, policy, NOW))
    assert set(range(0, 7)) <= kept
    assert len(kept) <= 1 + 7 + 4 + 12
    months = {(NOW - timedelta(days=d)).strftime("%Y-%m") for d in kept}
    assert len(months) >= 12


def test_dry_run_lists_and_deletes_nothing_then_a_real_run_deletes(tmp_path: Path) -> None:
    names = []
    storage = LocalStorage(tmp_path)
    for days in (1, 40, 50):
        path = tmp_path / archive_name(NOW - timedelta(days=days))
        path.write_bytes(b"zip")
        storage.update_status(path.name, verified=days == 50)
        names.append(path.name)
    dry = apply_retention(storage, RetentionPolicy(days=30), NOW, dry_run=True)
    assert [d.entry.name for d in dry if not d.keep] == [names[1]]
    assert all((tmp_path / n).exists() for n in names)
    apply_retention(storage, RetentionPolicy(days=30), NOW, dry_run=False)
    assert sorted(p.name for p in tmp_path.glob("*.zip")) == sorted([names[0], names[2]])
    assert not (tmp_path / f"{names[1]}.status.json").exists()


def test_an_archive_being_imported_is_listed_as_in_use(tmp_path: Path) -> None:
    path = tmp_path / archive_name(NOW - timedelta(days=90))
    path.write_bytes(b"zip")
    storage = LocalStorage(tmp_path)
    with storage.reading(path.name):
        (entry,) = list_archives(storage)
        assert entry.in_use
        apply_retention(storage, RetentionPolicy(days=30), NOW, dry_run=False)
        assert path.exists()
    (entry,) = list_archives(storage)
    assert not entry.in_use
