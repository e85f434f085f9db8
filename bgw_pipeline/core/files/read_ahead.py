"""Read ahead: the next items of an iterator made on a worker thread while this one works."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ReadAhead(Generic[T]):
    """The items of an iterator made by a worker thread, up to `depth` ahead of the
    thread taking them; an error in the worker is raised in the taker.

    Work that lets go of the GIL (SQLite stepping through a query, Arrow's parsers) then
    runs beside the taker's own (compressing, hashing, a database's bulk load). The
    worker alone uses what the iterator uses until it stops: `stop()` or the end.
    """

    def __init__(self, items: Iterator[T], depth: int = 2, name: str = "bgw-read-ahead") -> None:
        self._items = items
        self._queue: queue.Queue[Any] = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._put(exc)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:  # a generator's own clean-up runs here, on this thread
                close()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        try:
            yield from queued_items(self._queue, self._thread.is_alive, self._stop.is_set)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the worker and wait for it: what it used is free afterwards."""
        self._stop.set()
        self._thread.join()


END = object()  # put by a producer after its last item


def queued_items(
    source: queue.Queue[Any],
    producing: Callable[[], bool],
    stopped: Callable[[], bool] = lambda: False,
) -> Iterator[Any]:
    """The items a producer thread puts in `source` up to END; an exception it puts there
    is raised here. A producer that ended (`producing()` false) without END, or `stopped()`,
    raises RuntimeError instead of waiting for ever."""
    while True:
        try:
            item = source.get(timeout=0.05)
        except queue.Empty:
            if stopped():
                raise RuntimeError("the worker was stopped") from None
            if not producing() and source.empty():
                # It puts its last item before it ends: nothing more will come.
                raise RuntimeError("the worker ended without a result") from None
            continue
        if item is END:
            return
        if isinstance(item, BaseException):
            raise item
        yield item
