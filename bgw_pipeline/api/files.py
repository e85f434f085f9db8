"""Streaming files to and from HTTP without holding them in memory."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from fastapi import UploadFile

from bgw_pipeline.core.files.work_folders import work_folder

CHUNK = 1 << 20


def stream_file(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def stream_from(context: AbstractContextManager[Path]) -> Iterator[bytes]:
    """Stream the file a context manager yields (a download), closing it afterwards.

    The context is entered here, before the response starts, so that "no such archive"
    becomes a clean 404 instead of a response cut off half-way.
    """
    path = context.__enter__()

    def chunks() -> Iterator[bytes]:
        try:
            yield from stream_file(path)
        finally:
            context.__exit__(None, None, None)

    return chunks()


def save_upload(upload: UploadFile, folder: Path) -> Path:
    """Copy an uploaded file into `folder` (a private temporary folder) in chunks."""
    name = Path(upload.filename or "upload.zip").name or "upload.zip"
    target = folder / name
    with open(target, "wb") as out:
        shutil.copyfileobj(upload.file, out, CHUNK)
    return target


def temporary_folder() -> AbstractContextManager[Path]:
    """A private folder for an upload, removed afterwards (files/work_folders.py)."""
    return work_folder("bgw-upload-")
