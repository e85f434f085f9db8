"""A generator of hostile and broken archives: each case is (name, bytes, expected message).

Built from a valid seed archive by one mutation each, so every refusal is about exactly
one problem. Used by the reliability suite through every door.
"""

from __future__ import annotations

import io
import json
import random
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bgw_pipeline_tests.archive_builder import SEED_EVENT, SEED_GAME, SEED_RULE, build_archive

UNICODE_DOT = "\u2024\u2024"  # ONE DOT LEADER twice: looks like ".."


@dataclass(frozen=True)
class HostileCase:
    """One broken archive and the words its refusal must contain.

    `row_level` cases are archives whose rows break the schema: the import does not raise,
    it reports each bad row (entity, id, reason) and an apply writes nothing.
    """

    name: str
    data: bytes
    expect: str
    row_level: bool = False


def _valid(tmp: Path, **kwargs: object) -> bytes:
    return build_archive(
        tmp / "seed.zip", [SEED_GAME], [SEED_RULE], [SEED_EVENT], **kwargs
    ).read_bytes()  # type: ignore[arg-type]


def _rezip(data: bytes, change: Callable[[zipfile.ZipFile, zipfile.ZipFile], None]) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        change(zin, zout)
    return out.getvalue()


def _copy_except(*skip: str) -> Callable[[zipfile.ZipFile, zipfile.ZipFile], None]:
    def change(zin: zipfile.ZipFile, zout: zipfile.ZipFile) -> None:
        for info in zin.infolist():
            if info.filename not in skip:
                zout.writestr(info, zin.read(info))

    return change


def _add(
    name: str, payload: bytes, mode: int | None = None
) -> Callable[[zipfile.ZipFile, zipfile.ZipFile], None]:
    def change(zin: zipfile.ZipFile, zout: zipfile.ZipFile) -> None:
        _copy_except()(zin, zout)
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
        with warnings.catch_warnings():  # a NUL in a name makes zipfile see a duplicate: intended
            warnings.simplefilter("ignore", UserWarning)
            zout.writestr(info, payload)

    return change


def _games(rows: object) -> bytes:
    return json.dumps({"games": rows}, ensure_ascii=False).encode()


def hostile_cases(tmp: Path) -> Iterator[HostileCase]:
    """At least 40 distinct hostile archives (the first set, then `more_hostile_cases`)."""
    yield from _first_cases(tmp)
    yield from more_hostile_cases(tmp)


def _first_cases(tmp: Path) -> Iterator[HostileCase]:
    good = _valid(tmp)
    yield HostileCase("empty file", b"", "empty")
    yield HostileCase("not a zip", b"hello, this is text", "not a ZIP")
    yield HostileCase("truncated zip", good[: len(good) // 2], "not a ZIP")
    yield HostileCase("only the local headers", good[:200], "not a ZIP")
    yield HostileCase("gzip instead of zip", b"\x1f\x8b\x08\x00" + b"\0" * 64, "not a ZIP")
    for name, expect in [
        ("../evil.json", "'..'"), ("../../etc/passwd", "'..'"), ("raw_data/../../x.json", "'..'"),
        ("/etc/passwd", "absolute"), ("/games.json", "absolute"), ("~/x.json", "absolute"),
        ("raw_data\\listings\\x.json", "backslash"), ("C:/x.json", "drive"),
        ("games.json\x00.txt", "games.json"), (f"{UNICODE_DOT}/x.json", "unexpected member"),
        ("Games.json", "unexpected member"), ("GAMES.JSON", "unexpected member"),
        ("extra.txt", "unexpected member"), ("nested.zip", "unexpected member"),
        ("raw_data/listings/not-a-uuid.json", "unexpected member"), ("other/", "directories"),
    ]:  # fmt: skip
        yield HostileCase(f"member {name!r}", _rezip(good, _add(name, b"{}")), expect)
    yield HostileCase(
        "symlink member",
        _rezip(good, _add("raw_data/raw_items.json", b"/etc/passwd", 0o120777)),
        "symbolic link",
    )
    yield HostileCase("missing games.json", _rezip(good, _copy_except("games.json")), "games.json")
    yield HostileCase(
        "missing metadata.json",
        _rezip(good, _copy_except("metadata.json")),
        "metadata.json is missing",
    )
    yield HostileCase(
        "zip bomb by ratio", _valid(tmp, replace_members={"games.json": b" " * 6_000_000}), "unpack"
    )
    yield HostileCase(
        "nested zip as games.json", _valid(tmp, replace_members={"games.json": good}), "games.json"
    )
    for label, payload in [
        ("malformed json", b'{"games": [{"id": '), ("non-utf8 json", b'{"games": ["\xff\xfe"]}'),
        ("deeply nested json", b'{"games": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("NaN in json", b'{"games": [{"price": NaN}]}'), ("Infinity in json", b'{"games": [{"price": Infinity}]}'),
        ("wrong wrapper", b'{"rules": []}'), ("wrapper not a list", b'{"games": {}}'),
        ("two wrappers", b'{"games": [], "rules": []}'), ("json array at top", b"[]"),
    ]:  # fmt: skip
        yield HostileCase(label, _valid(tmp, replace_members={"games.json": payload}), "games.json")
    yield HostileCase("metadata not json", _rezip(good, _bad_metadata(b"{nope")), "metadata.json")
    yield HostileCase("metadata a list", _rezip(good, _bad_metadata(b"[]")), "metadata.json")
    yield HostileCase(
        "metadata without checksum",
        _rezip(good, _bad_metadata(b'{"version": "1.0.0", "contents": {}}')),
        "checksum",
    )
    yield HostileCase("major version 2", _valid(tmp, version="2.0.0"), "major version")
    yield HostileCase("version not semver", _valid(tmp, version="one"), "version")
    yield HostileCase("version missing", _valid(tmp, version=""), "version")
    twin = SEED_GAME | {"normalized_title": "другая"}
    yield HostileCase(
        "duplicate ids",
        _valid(
            tmp,
            replace_members={"games.json": _games([SEED_GAME, twin])},
            metadata_changes={
                "contents": {
                    "games_count": 2,
                    "rules_count": 1,
                    "events_count": 1,
                    "price_history_count": 0,
                    "include_raw_data": False,
                }
            },
        ),
        "more than once",
    )
    yield HostileCase(
        "count disagrees",
        _valid(
            tmp,
            metadata_changes={
                "contents": {
                    "games_count": 9,
                    "rules_count": 1,
                    "events_count": 1,
                    "price_history_count": 0,
                    "include_raw_data": False,
                }
            },
        ),
        "games_count",
    )
    for member in ("games.json", "rules.json", "events.json", "price_history.json"):
        yield HostileCase(
            f"checksum mismatch in {member}",
            _rezip(_valid(tmp, with_files=True), _tamper(member)),
            member,
        )


RAW_ITEM = {
    "id": "5a1c0e2e-8d3b-4c1a-9e6f-7b2d4c8a9e01",
    "store": "Hobby Games",
    "url": "https://hobbygames.ru/raw",
    "payload": {"price": 2990},
    "fetched_at": "2024-01-15T12:30:00Z",
}
LISTING = {
    "id": "6b2d1f3f-9e4c-4d2b-8f70-8c3e5d9b0f12",
    "store": "Hobby Games",
    "url": "https://hobbygames.ru/catalog",
    "page": 1,
    "content_type": "text/html",
    "content": "<p>Каталог</p>",
    "fetched_at": "2024-01-15T12:30:00Z",
}
COUNTS = {"games_count": 1, "rules_count": 1, "events_count": 1, "price_history_count": 0}


def _with_raw(tmp: Path) -> bytes:
    listing = f"raw_data/listings/{LISTING['id']}.json"
    return _valid(
        tmp,
        with_files=True,
        extra_members={
            "raw_data/raw_items.json": json.dumps({"raw_items": [RAW_ITEM]}).encode(),
            listing: json.dumps(LISTING, ensure_ascii=False).encode(),
        },
        metadata_changes={
            "contents": COUNTS
            | {"include_raw_data": True, "raw_items_count": 1, "listings_count": 1}
        },
    )


def _noise(length: int) -> str:
    """Text that does not compress (so the size limits do not refuse it first)."""
    rng = random.Random(length)
    return "".join(rng.choice("абвгдеёжзийклмнопрстуфхцчшщыэюя") for _ in range(length))


def _row_cases(tmp: Path) -> Iterator[HostileCase]:
    """Rows that break the schema: each is reported by id and reason, nothing is written."""
    for label, change, expect in [
        ("wrong type: price as text", {"price": "дёшево"}, "price"),
        ("out of range: year 99999", {"year": 99999}, "year"),
        ("out of range: price beyond 32 bits", {"price": 2**40}, "price"),
        ("negative price", {"price": -1}, "price"),
        ("huge string as id", {"id": _noise(1_000_000)}, "not a UUID"),
        ("huge string as price", {"price": _noise(1_000_000)}, "price"),
        ("synonyms not a list", {"synonyms": "Поезд"}, "synonyms"),
        ("bad timestamp", {"created_at": "вчера"}, "created_at"),
    ]:
        row = SEED_GAME | change
        yield HostileCase(
            label,
            _valid(tmp, replace_members={"games.json": _games([row])}),
            expect or "games",
            row_level=True,
        )
    orphan = SEED_EVENT | {"game_id": "00000000-0000-4000-8000-000000000001"}
    yield HostileCase(
        "broken reference: event of an unknown game",
        _valid(tmp, replace_members={"events.json": json.dumps({"events": [orphan]}).encode()}),
        "neither in the database nor in the archive",
        row_level=True,
    )


def _patch_sizes(data: bytes, member: str, size: int) -> bytes:
    """The archive with `member`'s declared uncompressed size changed in both headers."""
    import struct

    out = bytearray(data)
    name = member.encode()
    at = 0
    while (at := out.find(name, at + 1)) != -1:
        if out[at - 46 : at - 42] == b"PK\x01\x02":  # central directory entry
            struct.pack_into("<I", out, at - 46 + 24, size)
        elif out[at - 30 : at - 26] == b"PK\x03\x04":  # local header
            struct.pack_into("<I", out, at - 30 + 22, size)
    return bytes(out)


def more_hostile_cases(tmp: Path) -> Iterator[HostileCase]:
    """Cases added to the first set: repeated keys, lying headers, raw data, bad rows."""
    good = _valid(tmp)
    game = json.dumps(SEED_GAME, ensure_ascii=False)
    repeated = game[:-1] + ', "price": 1}'
    yield HostileCase(
        "duplicate key in a row",
        _valid(tmp, replace_members={"games.json": f'{{"games": [{repeated}]}}'.encode()}),
        "occurs twice",
    )
    rule = json.dumps(SEED_RULE, ensure_ascii=False).replace('"op"', '"op": "<", "op"', 1)
    yield HostileCase(
        "duplicate key nested in a JSON column",
        _valid(tmp, replace_members={"rules.json": f'{{"rules": [{rule}]}}'.encode()}),
        "occurs twice",
    )
    yield HostileCase(
        "duplicate key in metadata.json",
        _rezip(good, _bad_metadata(b'{"version": "1.0.0", "version": "9.0.0", "checksum": "sha256:'
                                   + b"0" * 64 + b'", "contents": {}}')),
        "occurs twice",
    )  # fmt: skip
    yield HostileCase(
        "header says fewer bytes than the member holds",
        _patch_sizes(good, "games.json", 10),
        "games.json",
    )
    yield HostileCase(
        "headers promise 3 GB (zip bomb by total size)",
        _patch_sizes(good, "games.json", 3_000_000_000),
        "unpack",
    )
    yield HostileCase(
        "central directory claims ZIP version 6.4", _extract_version(good, 64), "not a ZIP"
    )
    raw = _with_raw(tmp)
    yield HostileCase(
        "checksum mismatch in raw_data/raw_items.json",
        _rezip(raw, _tamper("raw_data/raw_items.json")),
        "raw_data/raw_items.json",
    )
    listing = f"raw_data/listings/{LISTING['id']}.json"
    yield HostileCase(
        "checksum mismatch in a listing",
        _rezip(raw, _tamper_bytes(listing)),
        listing,
    )
    yield from _row_cases(tmp)


def _extract_version(data: bytes, version: int) -> bytes:
    """The archive with its first central directory entry needing a newer ZIP reader."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    out[at + 6] = version
    return bytes(out)


def _tamper_bytes(member: str) -> Callable[[zipfile.ZipFile, zipfile.ZipFile], None]:
    def change(zin: zipfile.ZipFile, zout: zipfile.ZipFile) -> None:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data + b" " if info.filename == member else data)

    return change


def _bad_metadata(payload: bytes) -> Callable[[zipfile.ZipFile, zipfile.ZipFile], None]:
    def change(zin: zipfile.ZipFile, zout: zipfile.ZipFile) -> None:
        for info in zin.infolist():
            zout.writestr(info, payload if info.filename == "metadata.json" else zin.read(info))

    return change


def _tamper(member: str) -> Callable[[zipfile.ZipFile, zipfile.ZipFile], None]:
    def change(zin: zipfile.ZipFile, zout: zipfile.ZipFile) -> None:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == member:
                data = data.replace(b"]", b" ]", 1)  # same JSON, different bytes
            zout.writestr(info, data)

    return change
