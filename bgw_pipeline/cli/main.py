"""`bgw`: the group of commands, and how the process ends (exit codes, a closed pipe,
Ctrl-C) whatever a command did."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

import click

from bgw_pipeline import __version__
from bgw_pipeline.cli.archive_commands import archives, import_archive, inspect, undo
from bgw_pipeline.cli.database_commands import api, backup, demo_db, export
from bgw_pipeline.cli.exit_codes import ExitCode, exit_code_for
from bgw_pipeline.cli.key_commands import keygen
from bgw_pipeline.cli.output import quiet_closed_stdout
from bgw_pipeline.core.model.errors import BgwError, TransientError

EXIT_CODES = """\b
Exit codes:
  0    success
  1    a refused archive, a failed import, check or run
  2    usage: bad arguments, a file or import id that does not exist
  3    configuration: a setting is missing or invalid
  4    the database or S3 could not be reached (worth another try)
  130  interrupted (Ctrl-C)
  141  stdout was closed by its reader (`bgw inspect ... | head`)
"""


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES,
)
@click.version_option(
    __version__, "--version", prog_name="bgw", message="%(prog)s %(version)s (bgw_pipeline)"
)
def bgw() -> None:
    """Back up, restore and export the BGW board-game price database.

    Settings come from the environment and .env (see .env.example). Every command
    takes --json, --quiet and --verbose; `bgw COMMAND --help` shows its options and
    examples.
    """


for _command in (demo_db, export, backup, archives, import_archive, undo, inspect, keygen, api):
    bgw.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code (ExitCode)."""
    try:
        args = list(argv) if argv is not None else None
        code = bgw.main(args=args, prog_name="bgw", standalone_mode=False)
        return int(code) if isinstance(code, int) else ExitCode.OK
    except click.exceptions.Exit as done:  # --help, --version
        return int(done.exit_code)
    except click.ClickException as error:  # usage
        error.show()
        return int(error.exit_code)
    except click.exceptions.Abort:
        click.echo("bgw: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        click.echo("bgw: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): say nothing more
        quiet_closed_stdout()
        return ExitCode.CLOSED_PIPE
    except (BgwError, TransientError) as error:  # a command without its own runner (api)
        click.echo(f"bgw: error: {error}", err=True)
        return exit_code_for(error)
    finally:
        # The command's files and connections are closed by now. Interpreter shutdown
        # would walk every object the libraries created in a last garbage collection
        # (about 0.1 s, a tenth of a medium export); frozen objects are not walked.
        gc.freeze()


def entry_point() -> None:
    """The `bgw` console script."""
    sys.exit(main())
