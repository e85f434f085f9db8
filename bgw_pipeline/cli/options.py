"""Options that several commands share, and the settings they read."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bgw_pipeline.cli.exit_codes import ExitCode, exit_code_for
from bgw_pipeline.cli.output import Output, quiet_closed_stdout
from bgw_pipeline.core.model.errors import BgwError, TransientError

if TYPE_CHECKING:
    from bgw_pipeline.core.archive.reader import ArchiveLimits
    from bgw_pipeline.core.importing.importer import ImportFolders
    from bgw_pipeline.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def command_runner(command: F) -> F:
    """--json, --quiet and --verbose for a command, which gets them as `out`, and its
    errors said once, in the user's terms, with the exit code of their kind."""

    @functools.wraps(command)
    def run(*args: Any, opt_json: bool, opt_quiet: bool, opt_verbose: bool, **kwargs: Any) -> int:
        out = Output(as_json=opt_json, quiet=opt_quiet, verbose=opt_verbose)
        try:
            return int(command(*args, out=out, **kwargs))
        except (BgwError, TransientError) as error:
            code = exit_code_for(error)
            out.error(str(error), code)
            return code
        except BrokenPipeError:  # before click's own handling, which exits 1
            quiet_closed_stdout()
            raise click.exceptions.Exit(ExitCode.CLOSED_PIPE) from None

    for flag, short, help_text in (
        ("json", None, "Print the result as one JSON object on stdout (README lists shapes)."),
        ("quiet", "-q", "Print nothing but errors (and the --json object)."),
        ("verbose", "-v", "Show more: Dagster's DEBUG lines, more changed values."),
    ):
        names = [f"--{flag}", *([short] if short else [])]
        run = click.option(*names, f"opt_{flag}", is_flag=True, help=help_text)(run)
    return run  # type: ignore[return-value]


url_option = click.option(
    "--url",
    metavar="URL",
    help="Database URL (default: BGW_DATABASE_URL), e.g. sqlite:///data/bgw.db or "
    "postgresql+psycopg://bgw@127.0.0.1/bgw.",
)


def settings() -> Settings:
    """The settings from the environment and .env, read once a command runs (so that
    --help works without them)."""
    from bgw_pipeline.settings import Settings

    return Settings.from_env()


def import_folders(values: Settings) -> ImportFolders:
    from bgw_pipeline.core.importing.importer import ImportFolders

    return ImportFolders(values.export_path)


def archive_limits(values: Settings) -> ArchiveLimits:
    from bgw_pipeline.core.archive.reader import ArchiveLimits

    return ArchiveLimits(max_archive_bytes=values.max_import_mb * 1024 * 1024)
