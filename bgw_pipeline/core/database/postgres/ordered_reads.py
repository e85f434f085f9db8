"""Jobs run on a few worker connections at once, their results handed back in job order.

Worker i runs jobs i, i + n, i + 2n, ... Each job yields its results a piece at a time
(a slice of a table arrives as a stream of blocks); a worker keeps at most `ahead`
pieces waiting, or more while they fit in `ahead_bytes`, so memory stays bounded however
big the jobs are, and the consumer takes the pieces in the order the jobs were listed
(the order an archive member needs). The byte allowance lets a worker whose job is next
but one read a whole medium table ahead while the consumer still waits on the other.
`unordered_results` runs jobs the same way and hands their results back as they finish.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_END = object()  # after the last piece of a job


class _Allowance:
    """What one worker may hold unread: `pieces` of any size, or more while they fit in
    `limit` bytes together."""

    def __init__(self, pieces: int, limit: int) -> None:
        self._pieces, self._limit = pieces, limit
        self._held = self._bytes = 0
        self._changed = threading.Condition()

    def take(self, size: int, stop: threading.Event) -> None:
        """Wait until a piece of `size` bytes fits (or `stop` is set), then hold it."""
        with self._changed:
            while not stop.is_set() and not (
                self._held < self._pieces or self._bytes + size <= self._limit
            ):
                self._changed.wait(0.05)
            self._held += 1
            self._bytes += size

    def give(self, size: int) -> None:
        """The consumer took a piece of `size` bytes."""
        with self._changed:
            self._held -= 1
            self._bytes -= size
            self._changed.notify_all()


class OrderedReads(Generic[T]):
    """The pieces of `jobs` (each called with a connection) in job order, read ahead."""

    def __init__(
        self,
        connections: Sequence[Any],
        jobs: Sequence[Callable[[Any], Iterable[T]]],
        ahead: int = 4,
        ahead_bytes: int = 0,
        size: Callable[[T], int] | None = None,
    ) -> None:
        self._jobs = jobs
        self._workers = max(1, min(len(connections), len(jobs)))
        self._handoffs: list[queue.Queue[Any]] = [queue.Queue() for _ in range(self._workers)]
        self._size = size or (lambda _piece: 0)
        limit = ahead_bytes if size is not None else 0
        self._allowances = [_Allowance(ahead, limit) for _ in range(self._workers)]
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
        handoff, allowance = self._handoffs[index], self._allowances[index]
        try:
            for job in self._jobs[index :: self._workers]:
                pieces = iter(job(connection))
                # Leaving a job early closes its generator, which ends its query cleanly.
                with contextlib.closing(pieces):  # type: ignore[type-var]
                    for piece in pieces:
                        allowance.take(self._size(piece), self._stop)
                        if self._stop.is_set():
                            return
                        handoff.put(piece)
                handoff.put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            handoff.put(_Failure(exc))

    @property
    def remaining(self) -> int:
        """Jobs whose pieces were not taken yet."""
        return len(self._jobs) - self._position

    def next_job(self) -> Iterator[T]:
        """The pieces of the next job, in order (raises what the job raised); the job
        counts as taken from this call on."""
        if not self.remaining:
            raise IndexError("no jobs left")
        worker = self._position % self._workers
        self._position += 1
        return self._pieces(self._handoffs[worker], self._allowances[worker])

    def _pieces(self, handoff: queue.Queue[Any], allowance: _Allowance) -> Iterator[T]:
        while (item := handoff.get()) is not _END:
            if isinstance(item, _Failure):
                self.close()
                raise item.error
            allowance.give(self._size(item))
            yield item

    def __iter__(self) -> Iterator[T]:
        while self.remaining:
            yield from self.next_job()

    def close(self) -> None:
        """Stop the workers (after their current piece) and wait for them; a worker
        waiting for room sees the stop within 0.05 s."""
        self._stop.set()
        for thread in self._threads:
            thread.join()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def unordered_results(
    connections: Sequence[Any], jobs: Sequence[Callable[[Any], T]]
) -> Iterator[T]:
    """Each job's result, worker i running jobs i, i + n, ... on connection i, in the order
    they finish (a few at most wait in memory); the first failure is raised at the end."""
    workers = len(connections)
    results: queue.Queue[Any] = queue.Queue(2 * workers)
    done = object()

    def work(index: int) -> None:
        try:
            for job in jobs[index::workers]:
                results.put(job(connections[index]))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            results.put(exc)
        finally:
            results.put(done)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    finished, failure = 0, None
    try:
        while finished < workers:
            item = results.get()
            if item is done:
                finished += 1
            elif isinstance(item, BaseException):
                failure = failure or item
            elif failure is None:
                yield item
    finally:
        while any(t.is_alive() for t in threads):
            with contextlib.suppress(queue.Empty):
                results.get(timeout=0.05)
        for thread in threads:
            thread.join()
    if failure is not None:
        raise failure
