"""The import inbox: which files are ready, and where they go after their run.

`<inbox>/*.zip` are imported as dry runs, `<inbox>/apply/*.zip` are applied. After its
run a file moves to `<inbox>/processed/` or `<inbox>/failed/`, with its report next to it
as `<name>.report.json`. The inbox is a local folder or an `s3://bucket/prefix/`.
"""

from __future__ import annotations

import shutil
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import orjson

from bgw_pipeline.core.files.digests import file_sha256

APPLY_DIR = "apply"
PROCESSED_DIR = "processed"
FAILED_DIR = "failed"
DEFAULT_SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class InboxFile:
    """A file found in the inbox."""

    location: str
    name: str
    apply: bool
    size: int
    mtime_ns: int

    @property
    def identity(self) -> str:
        return f"{self.location}|{self.size}|{self.mtime_ns}"


EMPTY_FILE_GRACE_SECONDS = 60.0


def is_settled(file: InboxFile, settle_seconds: float, now: float | None = None) -> bool:
    """True when nothing has written to the file for `settle_seconds` (copy finished).

    An empty file is usually a copy that has just begun; one that stays empty for a
    minute is taken as it is, so it is refused and moved to failed/ instead of waiting
    in the inbox for ever.
    """
    now = time.time() if now is None else now
    quiet_for = now - file.mtime_ns / 1e9
    if file.size == 0:
        return quiet_for >= max(settle_seconds, EMPTY_FILE_GRACE_SECONDS)
    return quiet_for >= settle_seconds


def failure_report(name: str, failure: str | None) -> bytes:
    body = {"success": False, "errors": [failure or "import failed"], "archive": name}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2)


class Inbox(ABC):
    """Where archives to import are dropped."""

    description: str

    @abstractmethod
    def scan(self) -> list[InboxFile]:
        """Files waiting in the inbox and its apply/ folder, oldest first."""

    @abstractmethod
    def sha256(self, file: InboxFile) -> str: ...

    @abstractmethod
    def settle(
        self, location: str, succeeded: bool, report: Path | None, failure: str | None
    ) -> str | None:
        """Move a file of this inbox to processed/ or failed/ with its report.

        Returns where it went, or None when `location` is not a file of this inbox.
        """


class LocalInbox(Inbox):
    """An inbox folder on local disk (IMPORT_INBOX)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = str(folder)

    def scan(self) -> list[InboxFile]:
        found = []
        for folder, apply in ((self.folder, False), (self.folder / APPLY_DIR, True)):
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.name.startswith(".") or not path.is_file() or path.is_symlink():
                    continue
                stat = path.stat()
                found.append(InboxFile(str(path), path.name, apply, stat.st_size, stat.st_mtime_ns))
        return sorted(found, key=lambda f: (f.mtime_ns, f.name))

    def sha256(self, file: InboxFile) -> str:
        return file_sha256(Path(file.location))

    def _owns(self, path: Path) -> bool:
        try:
            parent = path.resolve().parent
            return parent in (self.folder.resolve(), (self.folder / APPLY_DIR).resolve())
        except OSError:
            return False

    def settle(
        self, location: str, succeeded: bool, report: Path | None, failure: str | None
    ) -> str | None:
        archive = Path(location)
        if location.startswith("s3://") or not archive.exists() or not self._owns(archive):
            return None
        folder = self.folder / (PROCESSED_DIR if succeeded else FAILED_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / archive.name
        counter = 1
        while target.exists():
            target = folder / f"{archive.stem}_{counter}{archive.suffix}"
            counter += 1
        shutil.move(str(archive), target)
        report_target = target.with_name(target.name + ".report.json")
        if report is not None and report.exists():
            shutil.copyfile(report, report_target)
        else:
            report_target.write_bytes(failure_report(archive.name, failure))
        return str(target)
