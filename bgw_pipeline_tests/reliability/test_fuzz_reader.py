"""Fuzzing the archive reader and validator: arbitrary bytes, and ZIPs built from
random members around a valid archive. Only the project's own errors may come out."""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgw_pipeline.core.archive.reader import ArchiveLimits, open_archive, verify_archive
from bgw_pipeline.core.archive.row_validation import validate_rows
from bgw_pipeline.core.archive.summary import summarize_archive
from bgw_pipeline.core.model.entities import ALL_ENTITIES
from bgw_pipeline.core.model.errors import BgwError
from bgw_pipeline_tests.archive_builder import seed_archive
from bgw_pipeline_tests.reliability.tally import budget, record

LIMITS = ArchiveLimits(max_archive_bytes=2 * 1024 * 1024)
NAMES = st.sampled_from(
    ["metadata.json", "games.json", "rules.json", "events.json", "price_history.json",
     "raw_data/raw_items.json", "raw_data/listings/6b2d1f3f-9e4c-4d2b-8f70-8c3e5d9b0f12.json",
     "../x.json", "raw_data/", "Games.json", "games.json/x"]
)  # fmt: skip
JSONISH = st.sampled_from([b"{", b"}", b"[", b"]", b'"', b":", b",", b"null", b"1e999", b"-",
                           b'"id"', b'{"games":[', b"\\u0000", b"\xff", b" ", b"\n"])  # fmt: skip


def _read_everything(path: Path) -> None:
    """Every reader entry point an import or the API uses."""
    verify_archive(path, LIMITS)
    with open_archive(path, LIMITS) as reader:
        reader.require_compatible()
        summarize_archive(reader, path.stat().st_size)
        for entity in ALL_ENTITIES:
            if reader.member_names() and any(
                n.startswith(entity.member) for n in reader.member_names()
            ):
                for chunk in reader.iter_rows(entity):
                    validate_rows(entity, chunk)


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore", UserWarning)  # repeated names are intended here
        for name, data in members:
            zf.writestr(name, data)
    return out.getvalue()


def test_the_reader_survives_arbitrary_input(tmp_path: Path) -> None:
    valid = seed_archive(tmp_path / "seed.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(valid)) as zf:
        seed_members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    runs = {"examples": 0, "crashes": 0}
    member = st.tuples(
        NAMES, st.lists(JSONISH, max_size=30).map(b"".join) | st.binary(max_size=200)
    )
    inputs = (
        st.binary(max_size=4000)
        | st.lists(member, max_size=6).map(_zip)
        | st.lists(member, max_size=3).map(lambda extra: _zip(seed_members + extra))
        | st.tuples(st.integers(0, len(valid) - 1), st.binary(min_size=1, max_size=16)).map(
            lambda cut: valid[: cut[0]] + cut[1] + valid[cut[0] + len(cut[1]) :]
        )
    )

    slow = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

    @settings(max_examples=budget(300, 5000), deadline=None, suppress_health_check=slow)
    @given(data=inputs)
    def fuzz(data: bytes) -> None:
        runs["examples"] += 1
        path = tmp_path / "fuzz.zip"
        path.write_bytes(data)
        try:
            _read_everything(path)
        except BgwError:
            pass
        except Exception:
            runs["crashes"] += 1
            raise

    try:
        fuzz()
    finally:
        record("fuzz", "archive reader and validator", runs["crashes"] == 0,
               examples=runs["examples"])  # fmt: skip
