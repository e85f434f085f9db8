"""The import's first comparison is by row hash: only rows that changed are looked at.

These tests change a known set of rows between an export and its import, and check that
exactly those rows are reported and written, on both databases, whichever layout the
archive uses.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from bgw_pipeline.core.compare import rows_in_question
from bgw_pipeline.core.demo.data import fill_demo_database
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.model.errors import ChecksumMismatchError
from bgw_pipeline_tests.archive_builder import write_with_digests
from bgw_pipeline_tests.factories import dump_database

CHANGES = {
    "games": "UPDATE games SET title = title || ' (2)' WHERE id IN "
    "(SELECT id FROM games ORDER BY id LIMIT 3)",
    "price_history": "UPDATE price_history SET price = price + 1 WHERE id IN "
    "(SELECT id FROM price_history ORDER BY id LIMIT 7)",
    "events": "UPDATE events SET processed = NOT processed WHERE id IN "
    "(SELECT id FROM events ORDER BY id LIMIT 5)",
}


def _changed_database(engine: sa.Engine, tmp_path: Path) -> Path:
    fill_demo_database(engine, scale=0.05, seed=3)
    archive = export_database(engine, tmp_path / "out", include_raw_data=True).path
    with engine.begin() as conn:
        for sql in CHANGES.values():
            conn.exec_driver_sql(sql)
    return archive


@pytest.mark.parametrize("hashed_apart", [False, True], ids=["in-process", "child-process"])
def test_exactly_the_changed_rows_are_updated_and_written(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashed_apart: bool
) -> None:
    if hashed_apart:  # big archives are hashed in a process of their own: force it here
        monkeypatch.setattr(rows_in_question, "SEPARATE_PROCESS_BYTES", 0)
    archive = _changed_database(engine, tmp_path)
    folders = ImportFolders(tmp_path / "work")
    dry = run_import(engine, archive, folders)
    expected = {"games": 3, "price_history": 7, "events": 5}
    for name, counts in dry.summary.items():
        assert counts["updated"] == expected.get(name, 0), (name, counts)
        assert counts["new"] == counts["errors"] == 0
    applied = run_import(engine, archive, folders, ImportOptions(dry_run=False))
    assert applied.applied and applied.message == f"applied: {sum(expected.values())} rows written"
    again = run_import(engine, archive, folders)
    assert all(c["updated"] == c["new"] == 0 for c in again.summary.values())
    back = export_database(engine, tmp_path / "again", include_raw_data=True)
    with zipfile.ZipFile(archive) as zf:
        assert back.checksum == json.loads(zf.read("metadata.json"))["checksum"]


def _pretty(archive: Path, out: Path) -> Path:
    """The same rows in another JSON layout (indented), with the checksums made right."""
    with zipfile.ZipFile(archive) as zin:
        metadata = json.loads(zin.read("metadata.json"))
        members = {n: zin.read(n) for n in zin.namelist() if n != "metadata.json"}
    for name, data in members.items():
        if not name.startswith("raw_data/listings/"):
            members[name] = json.dumps(json.loads(data), ensure_ascii=False, indent=1).encode()
    return write_with_digests(out, metadata, members)


def test_another_layout_is_compared_in_full_with_the_same_result(
    engine: sa.Engine, tmp_path: Path
) -> None:
    archive = _pretty(_changed_database(engine, tmp_path), tmp_path / "pretty.zip")
    folders = ImportFolders(tmp_path / "work")
    dry = run_import(engine, archive, folders)
    assert dry.summary["price_history"]["updated"] == 7
    assert dry.summary["games"]["updated"] == 3
    assert dry.summary["events"]["updated"] == 5
    before = dump_database(engine)
    run_import(engine, archive, folders, ImportOptions(dry_run=False))
    after = dump_database(engine)
    changed = sum(len(set(after[t]) - set(before[t])) for t in ("games", "price_history", "events"))
    assert changed == 15


def test_a_price_row_moved_to_the_kept_game_is_checked_under_its_new_key(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """A price row of an archive game that duplicates a database game (same title and
    store, other id) is pointed at the database game; if that game already has a price at
    the same moment, the row is a duplicate (skipped), not a write that breaks UNIQUE."""
    from bgw_pipeline_tests.archive_builder import build_archive
    from bgw_pipeline_tests.factories import insert, make_game, make_price

    kept = make_game(title="Каркассон")
    insert(engine, "games", [kept])
    insert(engine, "price_history", [make_price(kept)])
    twin = {**kept, "id": "11111111-1111-4111-8111-111111111111"}
    price = make_price(twin, id="22222222-2222-4222-8222-222222222222")
    rows = [{k: (v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v)
             for k, v in r.items()} for r in (twin, price)]  # fmt: skip
    rows[0]["synonyms"] = json.loads(rows[0]["synonyms"])
    archive = build_archive(tmp_path / "twin.zip", [rows[0]], [], [], [rows[1]])
    report = run_import(
        engine, archive, ImportFolders(tmp_path / "w"), ImportOptions(dry_run=False)
    )
    assert report.summary["games"]["skipped"] == 1
    assert report.summary["price_history"] == {"new": 0, "updated": 0, "skipped": 1, "errors": 0}


def test_a_huge_id_is_cut_in_the_messages(engine: sa.Engine, tmp_path: Path) -> None:
    import random

    from bgw_pipeline_tests.archive_builder import SEED_GAME, build_archive

    rng = random.Random(1)  # text that does not compress, so the size limits do not refuse first
    huge = "".join(rng.choice("абвгдежзийклмнопрстуфхцчшщ") for _ in range(100_000))
    archive = build_archive(tmp_path / "huge.zip", [SEED_GAME | {"id": huge}])
    report = run_import(
        engine, archive, ImportFolders(tmp_path / "w"), ImportOptions(dry_run=False)
    )
    assert not report.applied
    assert all(len(e) < 300 for e in report.errors)
    assert "not a UUID" in report.message and "100000 characters" in report.message


def _tampered(archive: Path, out: Path, how: str) -> Path:
    """The archive with price_history.json changed after export, metadata.json left as is."""
    with zipfile.ZipFile(archive) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    data = members["price_history.json"]
    if how == "value":  # still valid JSON, one price changed
        at = data.index(b'"price":') + len(b'"price":')
        members["price_history.json"] = data[:at] + b"1" + data[at:]
    elif how == "cut":  # cut in the middle of a row: the layout breaks before the checksum
        members["price_history.json"] = data[: len(data) // 2]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, member in members.items():
            stored = how == "flipped" and name == "price_history.json"
            zout.writestr(name, member, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    if how == "flipped":  # a digit changed on disk, behind the ZIP's back: its CRC-32 is stale
        raw = bytearray(out.read_bytes())
        at = raw.index(b'"price":') + len(b'"price":')
        raw[at] = ord("9") if raw[at] != ord("9") else ord("8")
        out.write_bytes(bytes(raw))
    return out


@pytest.mark.parametrize("how", ["value", "cut", "flipped"])
def test_a_changed_member_is_refused_when_verified_while_hashing(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A big archive is verified on the first pass's read: a changed member is still
    refused by its checksum, before anything is compared or written."""
    monkeypatch.setattr(rows_in_question, "SEPARATE_PROCESS_BYTES", 0)
    archive = _tampered(_changed_database(engine, tmp_path), tmp_path / "tampered.zip", how)
    folders = ImportFolders(tmp_path / "work")
    before = dump_database(engine)
    for dry_run in (True, False):
        with pytest.raises(ChecksumMismatchError, match="price_history.json: sha256 differs"):
            run_import(engine, archive, folders, ImportOptions(dry_run=dry_run))
    assert dump_database(engine) == before


def test_the_shared_counter_hands_each_member_out_once_then_none() -> None:
    """Whoever claims next (the hashing process or this one) gets the next member, and
    every member goes to exactly one of them."""
    import multiprocessing

    from bgw_pipeline.core.compare.first_pass import _claim

    counter = multiprocessing.get_context("spawn").Value("i", 0)
    names = ["price_history", "events", "games"]
    taken = [_claim(counter, names), _claim(counter, names), _claim(counter, names)]
    assert taken == names
    assert _claim(counter, names) is None and _claim(counter, names) is None
    assert counter.value == len(names)


def test_a_changed_member_hashed_here_after_the_comparison_is_refused(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big archive is verified on the first pass's reads, not before it. When a member
    left to the hashes is small enough to hash here (games.json laid out another way, and
    not re-listed in metadata.json), it is still checked before anything is compared or
    written."""
    archive = _changed_database(engine, tmp_path)
    with zipfile.ZipFile(archive) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    members["games.json"] = json.dumps(json.loads(members["games.json"]), indent=1).encode()
    relaid = tmp_path / "relaid.zip"
    with zipfile.ZipFile(relaid, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    unpacked = sum(len(data) for name, data in members.items() if name != "metadata.json")
    # Verified while hashing (the whole archive is "big"), the re-laid member alone is not.
    monkeypatch.setattr(rows_in_question, "SEPARATE_PROCESS_BYTES", unpacked)
    before = dump_database(engine)
    for dry_run in (True, False):
        with pytest.raises(ChecksumMismatchError, match="games.json: sha256 differs"):
            run_import(
                engine, relaid, ImportFolders(tmp_path / "w"), ImportOptions(dry_run=dry_run)
            )
    assert dump_database(engine) == before
