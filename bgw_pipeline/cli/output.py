"""What a command prints: sentences for people, one JSON object with --json, progress on
a terminal only, and nothing but errors with --quiet."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from bgw_pipeline.core.archive.writer import ProgressCallback


@dataclass(frozen=True)
class Output:
    """How the command was asked to speak."""

    as_json: bool = False
    quiet: bool = False
    verbose: bool = False

    @property
    def dagster_log_level(self) -> str:
        """Dagster's own log lines: DEBUG only with --verbose."""
        return "DEBUG" if self.verbose else "WARNING"

    @property
    def interactive(self) -> bool:
        """Progress is drawn only for a person at a terminal."""
        return not (self.as_json or self.quiet) and sys.stderr.isatty()

    def result(self, data: Mapping[str, Any], lines: list[str]) -> None:
        """The command's result: `data` as JSON with --json, else `lines`."""
        if self.as_json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        elif not self.quiet:
            for line in lines:
                click.echo(line)

    def note(self, line: str) -> None:
        """A remark for people, on stderr (never in --json's stdout)."""
        if not (self.quiet or self.as_json):
            click.echo(line, err=True)

    def error(self, message: str, code: int) -> None:
        click.echo(f"bgw: error: {message}", err=True)
        if self.as_json:
            click.echo(json.dumps({"error": message, "exit_code": code}, ensure_ascii=False))

    @contextmanager
    def table_progress(self, what: str) -> Iterator[ProgressCallback | None]:
        """A bar per table (rows done of total, rate, time left) while the block runs, on
        a terminal; None elsewhere, so the work skips counting rows for it."""
        if not self.interactive:
            yield None
            return
        from rich.progress import (  # rich loads only for a terminal
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = (
            TextColumn(f"{what} {{task.description:<14}}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        tasks: dict[str, Any] = {}
        with Progress(*columns, console=_stderr_console(), transient=False) as progress:

            def advance(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = progress.add_task(table, total=total or None)
                progress.update(tasks[table], completed=done, total=total or None)

            yield advance

    @contextmanager
    def working(self, what: str) -> Iterator[None]:
        """A spinner with the time taken while the block runs, on a terminal."""
        if not self.interactive:
            yield
            return
        started = time.monotonic()
        with _stderr_console().status(what):
            yield
        self.note(f"{what}: {time.monotonic() - started:.1f} s")


def quiet_closed_stdout() -> None:
    """After the reader of stdout went away (`| head`): point stdout at /dev/null, so that
    flushing it at exit does not fail again with a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def as_json_text(value: Any) -> str:
    """A value in a sentence as its JSON (what --json prints), not Python's repr."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)
