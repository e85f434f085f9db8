"""Reading rows of a member written one row per line, the export's own layout.

The export writes `{"<entity>":[` then one row per line; a reader can then take rows a
line at a time (and find a row's id by position) instead of parsing a huge JSON object.
Members in any other JSON layout are parsed whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import orjson

from bgw_pipeline.core.archive.json_keys import refuse_repeated_keys, repeated_key
from bgw_pipeline.core.archive.safety import CountingReader
from bgw_pipeline.core.model.entities import Entity
from bgw_pipeline.core.model.errors import ArchiveError


class MemberSource(Protocol):
    """What these functions need of an open archive."""

    def open_member(self, name: str) -> CountingReader: ...

    def read_member_bytes(self, name: str, max_bytes: int = ...) -> bytes: ...


def _parse(data: bytes, where: str) -> Any:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ArchiveError(f"{where} is not valid JSON: {exc}") from None
    refuse_repeated_keys(data, value, where)
    return value


def iter_lines(stream: CountingReader) -> Iterator[bytes]:
    pending = b""
    while chunk := stream.read():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


_LINE_ID = re.compile(rb'[0-9a-fA-F-]{36}"')


def line_id(line: bytes) -> str | None:
    """The id of a row written in the export's own form (`{"id":"<36 chars>",...`), else None."""
    if line[:7] != b'{"id":"' or not _LINE_ID.match(line, 7):
        return None
    return line[7:43].decode("ascii")


# How far into a member its first line is looked for: the export's is `{"<name>":[`.
_FIRST_LINE_PROBE = 4096


def member_has_line_layout(reader: MemberSource, entity: Entity) -> bool:
    """Whether the member's first line is its header alone, as the export writes it.

    Reads only the first line, in small pieces: inflating a whole 1 MB block of each
    member just to look at its first bytes cost about 10 ms a member. A first line
    longer than the probe is not the export's (the caller then reads the member whole).
    """
    header = b'{"' + entity.name.encode() + b'":['
    stream = reader.open_member(entity.member)
    start = b""
    while b"\n" not in start and len(start) < _FIRST_LINE_PROBE:
        piece = stream.read(256)
        if not piece:
            break
        start += piece
    first, newline, _ = start.partition(b"\n")
    if not newline and len(start) >= _FIRST_LINE_PROBE:
        return False
    return first.strip() in (header, header + b"]}")


def iter_table_lines(
    reader: MemberSource, entity: Entity, chunk_rows: int
) -> Iterator[list[bytes]]:
    """Row texts of a member in the one-row-per-line layout (checked by member_has_line_layout)."""
    name = entity.member
    lines = iter_lines(reader.open_member(name))
    if next(lines, b"").strip().endswith(b"]}"):
        return
    chunk: list[bytes] = []
    for line in lines:
        text = line.strip()
        if text == b"]}":
            break
        chunk.append(text[:-1] if text.endswith(b",") else text)
        if len(chunk) >= chunk_rows:
            yield chunk
            chunk = []
    else:
        raise ArchiveError(f"{name} ends before its closing ']}}': truncated?")
    if any(line.strip() for line in lines):
        raise ArchiveError(f"{name} has data after its closing ']}}'")
    if chunk:
        yield chunk


def _where(name: str, text: bytes) -> str:
    return f"{name} row {line_id(text) or text[:60]!r}"


def parse_lines(name: str, lines: list[bytes]) -> list[Any]:
    rows = []
    for text in lines:
        try:
            row = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ArchiveError(f"{_where(name, text)} is not valid JSON: {exc}") from None
        if repeated_key(text, row) is not None:
            refuse_repeated_keys(text, row, _where(name, text))
        rows.append(row)
    return rows


def iter_table_rows(
    reader: MemberSource,
    entity: Entity,
    chunk_rows: int,
    keep: Callable[[str | None], bool] | None = None,
) -> Iterator[list[Any]]:
    if not member_has_line_layout(reader, entity):
        yield from _whole_member_rows(reader, entity, chunk_rows)
        return
    for lines in iter_table_lines(reader, entity, chunk_rows):
        kept = lines if keep is None else [t for t in lines if keep(line_id(t))]
        if kept:
            yield parse_lines(entity.member, kept)


def _whole_member_rows(
    reader: MemberSource, entity: Entity, chunk_rows: int
) -> Iterator[list[Any]]:
    document = _parse(reader.read_member_bytes(entity.member, max_bytes=1 << 62), entity.member)
    if not isinstance(document, dict) or list(document) != [entity.name]:
        raise ArchiveError(f'{entity.member} must be {{"{entity.name}": [...]}}')
    rows = document[entity.name]
    if not isinstance(rows, list):
        raise ArchiveError(f'{entity.member}: "{entity.name}" must be a JSON array')
    for start in range(0, len(rows), chunk_rows):
        yield rows[start : start + chunk_rows]
