"""Reads ahead on worker threads: pieces in job order, memory bounded by pieces or bytes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from bgw_pipeline.core.database.postgres.ordered_reads import OrderedReads, unordered_results


def _jobs(produced: list[int], first_done: threading.Event):
    def first(_conn: object) -> Iterator[bytes]:
        first_done.wait(10)
        yield b"a" * 100

    def second(_conn: object) -> Iterator[bytes]:
        for i in range(50):
            produced.append(i)
            yield bytes([i]) * 100

    return [first, second]


def _settle(produced: list[int]) -> int:
    """How many pieces the reading-ahead worker produced once it stopped for room."""
    seen = -1
    while seen != len(produced):
        seen = len(produced)
        time.sleep(0.2)
    return seen


@pytest.mark.parametrize(("ahead_bytes", "held"), [(0, 2), (1_000, 10), (10_000, 50)])
def test_a_worker_holds_a_few_pieces_or_as_many_as_fit_in_its_bytes(
    ahead_bytes: int, held: int
) -> None:
    """The worker of the second job reads ahead while the first job is still running: two
    pieces, or as many 100-byte pieces as fit in `ahead_bytes` (one more is read and
    waits for room); the consumer still gets every piece in job order."""
    produced: list[int] = []
    first_done = threading.Event()
    reads = OrderedReads([None, None], _jobs(produced, first_done), 2, ahead_bytes, len)
    try:
        assert _settle(produced) == min(held + 1, 50)
        first_done.set()
        pieces = list(reads)
    finally:
        reads.close()
    assert pieces == [b"a" * 100] + [bytes([i]) * 100 for i in range(50)]


def test_closing_stops_a_worker_that_waits_for_room() -> None:
    produced: list[int] = []
    first_done = threading.Event()
    reads = OrderedReads([None, None], _jobs(produced, first_done), 1, 0, len)
    _settle(produced)
    first_done.set()
    started = time.monotonic()
    reads.close()
    assert time.monotonic() - started < 5
    assert len(produced) < 50


def test_a_failing_job_is_raised_to_the_consumer() -> None:
    def broken(_conn: object) -> Iterator[bytes]:
        yield b"x"
        raise RuntimeError("the server went away")

    reads = OrderedReads([None], [broken], 4, 1 << 20, len)
    with pytest.raises(RuntimeError, match="went away"):
        list(reads)


def test_unordered_results_runs_every_job_once() -> None:
    jobs = [lambda conn, i=i: (conn, i) for i in range(9)]
    results = sorted(unordered_results(["c0", "c1"], jobs), key=lambda r: r[1])
    assert [i for _, i in results] == list(range(9))
    assert {conn for conn, i in results if i % 2 == 0} == {"c0"}
