"""The import inbox folder: which files are ready, and where they go after their run.

IMPORT_INBOX/*.zip are imported as dry runs, IMPORT_INBOX/apply/*.zip are applied.
After its run a file moves to IMPORT_INBOX/processed/ or IMPORT_INBOX/failed/, with its
report next to it as `<name>.report.json`.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

APPLY_DIR = "apply"
PROCESSED_DIR = "processed"
FAILED_DIR = "failed"
DEFAULT_SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class InboxFile:
    """A file found in the inbox."""

    path: Path
    apply: bool
    size: int
    mtime_ns: int


def scan_inbox(inbox: Path) -> list[InboxFile]:
    """Files waiting in the inbox and its apply/ folder, oldest first (hidden files skipped)."""
    found = []
    for folder, apply in ((inbox, False), (inbox / APPLY_DIR, True)):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.name.startswith(".") or not path.is_file() or path.is_symlink():
                continue
            stat = path.stat()
            found.append(InboxFile(path, apply, stat.st_size, stat.st_mtime_ns))
    return sorted(found, key=lambda f: (f.mtime_ns, f.path.name))


def is_settled(file: InboxFile, settle_seconds: float, now: float | None = None) -> bool:
    """True when nothing has written to the file for `settle_seconds` (copy finished)."""
    now = time.time() if now is None else now
    return now - file.mtime_ns / 1e9 >= settle_seconds and file.size > 0


def _free_name(folder: Path, name: str) -> Path:
    candidate = folder / name
    counter = 1
    while candidate.exists():
        candidate = folder / f"{Path(name).stem}_{counter}{Path(name).suffix}"
        counter += 1
    return candidate


def _is_inbox_file(archive: Path, inbox: Path) -> bool:
    try:
        parent = archive.resolve().parent
        return parent in (inbox.resolve(), (inbox / APPLY_DIR).resolve())
    except OSError:
        return False


def settle_inbox_file(
    archive: Path,
    inbox: Path,
    succeeded: bool,
    report_path: Path | None,
    failure: str | None = None,
) -> Path | None:
    """Move an inbox file to processed/ or failed/ with its report; other paths are left.

    Args:
        archive: the file an import run read.
        inbox: IMPORT_INBOX.
        succeeded: where it goes.
        report_path: the import report to copy next to it, if one was written.
        failure: the refusal message, written as the report when there is none.
    """
    if not archive.exists() or not _is_inbox_file(archive, inbox):
        return None
    folder = inbox / (PROCESSED_DIR if succeeded else FAILED_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, archive.name)
    shutil.move(str(archive), target)
    report_target = target.with_name(target.name + ".report.json")
    if report_path is not None and report_path.exists():
        shutil.copyfile(report_path, report_target)
    else:
        body = {"success": False, "errors": [failure or "import failed"], "archive": archive.name}
        report_target.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
    return target
