"""The read-ahead worker: errors reach the taker, and stopping frees what it used."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bgw_pipeline.core.files.read_ahead import ReadAhead
from bgw_pipeline.core.model.errors import SourceDataError


def test_the_read_ahead_worker_hands_on_errors_and_stops() -> None:
    def failing() -> Any:
        yield 1
        raise SourceDataError("bad row")

    worker = ReadAhead(failing())
    with pytest.raises(SourceDataError, match="bad row"):
        list(worker)

    def endless() -> Any:
        while True:
            yield 1

    worker = ReadAhead(endless())
    next(iter(worker))
    worker.stop()  # returns: the worker has let go of the connection
    assert not any(t.name == "bgw-read-ahead" and t.is_alive() for t in threading.enumerate())
