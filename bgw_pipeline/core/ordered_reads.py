"""Jobs run on a few worker connections at once, their results handed back in job order.

Worker i runs jobs i, i + n, i + 2n, ... and keeps at most `ahead` finished results
waiting, so memory holds a few results however many jobs there are, and the consumer
takes them in the order the jobs were listed (the order an archive member needs).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class OrderedReads(Generic[T]):
    """Results of `jobs` (each called with a connection) in job order, read ahead."""

    def __init__(
        self, connections: Sequence[Any], jobs: Sequence[Callable[[Any], T]], ahead: int = 1
    ) -> None:
        self._jobs = jobs
        self._workers = max(1, min(len(connections), len(jobs)))
        self._handoffs: list[queue.Queue[Any]] = [queue.Queue(ahead) for _ in range(self._workers)]
        self._stop = threading.Event()
        self._position = 0
        self._threads = [
            threading.Thread(
                target=self._work, args=(i, connections[i]), name=f"bgw-read-{i}", daemon=True
            )
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self, index: int, connection: Any) -> None:
        try:
            for job in self._jobs[index :: self._workers]:
                if self._stop.is_set():
                    return
                self._handoffs[index].put(job(connection))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            self._handoffs[index].put(_Failure(exc))

    @property
    def remaining(self) -> int:
        """Results not taken yet."""
        return len(self._jobs) - self._position

    def next(self) -> T:
        """The next result in job order (raises what its job raised)."""
        if not self.remaining:
            raise IndexError("no jobs left")
        item = self._handoffs[self._position % self._workers].get()
        self._position += 1
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return item  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[T]:
        while self.remaining:
            yield self.next()

    def close(self) -> None:
        """Stop the workers (after their current job) and wait for them."""
        self._stop.set()
        for thread, handoff in zip(self._threads, self._handoffs, strict=True):
            while thread.is_alive():  # unblock a worker waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    handoff.get(timeout=0.05)
            thread.join()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
