"""A generator of hostile and broken archives: each case is (name, bytes, expected message).

Built from a valid seed archive by one mutation each, so every refusal is about exactly
one problem. Used by the reliability suite through every door.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bgw_pipeline_tests.archive_builder import SEED_EVENT, SEED_GAME, SEED_RULE, build_archive

UNICODE_DOT = "\u2024\u2024"  # ONE DOT LEADER twice: looks like ".."


@dataclass(frozen=True)
class HostileCase:
    """One broken archive and the words its refusal must contain."""

    name: str
    data: bytes
    expect: str


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
    """At least 40 distinct hostile archives."""
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
