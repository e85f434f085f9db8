"""Refusing JSON objects with a repeated key.

JSON parsers disagree on `{"price": 1, "price": 2}` (most keep the last value, some the
first), so an archive holding one could mean different things to different readers: the
import refuses it. The fast parser cannot see repeats, so each parsed value's keys are
counted against the key ends (`"` then `:`) in its text; only when the text has more does
the slow parser look, and say which key repeats.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bgw_pipeline.core.model.errors import ArchiveError

_KEY_END = re.compile(rb'"\s*:')


class _Repeated(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _count_keys(value: Any) -> int:
    # Only containers are descended into: a row of scalars costs one pass, no calls.
    if isinstance(value, dict):
        children: Any = value.values()
        count = len(value)
    elif isinstance(value, list):
        children, count = value, 0
    else:
        return 0
    for child in children:
        if isinstance(child, (dict, list)):
            count += _count_keys(child)
    return count


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _value in pairs:
        if key in seen:
            raise _Repeated(key)
        seen.add(key)
    return dict(pairs)


def repeated_key(text: bytes, parsed: Any) -> str | None:
    """A key that occurs twice in one object of `text` (already parsed as `parsed`)."""
    if not isinstance(parsed, (dict, list)) or len(_KEY_END.findall(text)) <= _count_keys(parsed):
        return None
    try:
        json.loads(text, object_pairs_hook=_no_repeats)
    except _Repeated as repeat:
        return repeat.key
    except ValueError:
        return None
    return None


def refuse_repeated_keys(text: bytes, parsed: Any, where: str) -> None:
    """Raise ArchiveError when an object of `text` repeats a key."""
    key = repeated_key(text, parsed)
    if key is not None:
        raise ArchiveError(f"{where}: the key {key!r} occurs twice in one JSON object; refused")
