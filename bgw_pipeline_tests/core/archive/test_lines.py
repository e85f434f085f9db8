"""Recognizing the export's one-row-per-line layout from a member's first line."""

from __future__ import annotations

import io

import pytest

from bgw_pipeline.core.archive.lines import member_has_line_layout
from bgw_pipeline.core.model.entities import GAMES


class _Member(io.BytesIO):
    """A member stream that records how much was read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data


class _Archive:
    def __init__(self, data: bytes) -> None:
        self.member = _Member(data)

    def open_member(self, name: str) -> _Member:
        assert name == GAMES.member
        self.member.seek(0)
        return self.member

    def read_member_bytes(self, name: str, max_bytes: int = 0) -> bytes:
        raise AssertionError("the layout is recognized from the stream")


ROW = b'{"id":"00000000-0000-0000-0000-000000000001","title":"x"}'


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"games":[\n' + ROW + b"\n]}\n", True),
        (b'{"games":[]}', True),
        (b'{"games":[]}\n', True),
        (b'  {"games":[  \n' + ROW + b"\n]}", True),  # the first line is stripped
        (b'{"games":[' + ROW + b"]}", False),  # one line
        (b'{\n  "games": [\n' + ROW + b"\n]}", False),  # pretty-printed
        (b'{"rules":[\n]}', False),  # another entity's header
        (b'{"games":[' + b" " * 10_000 + b"\n]}", False),  # first line longer than the probe
        (b"", False),
    ],
)
def test_line_layout_is_read_from_the_first_line(data: bytes, expected: bool) -> None:
    assert member_has_line_layout(_Archive(data), GAMES) is expected


def test_only_the_start_of_a_big_member_is_read() -> None:
    body = b",\n".join([ROW] * 50_000)
    archive = _Archive(b'{"games":[\n' + body + b"\n]}\n")
    assert member_has_line_layout(archive, GAMES)
    assert archive.member.read_bytes < 4096
