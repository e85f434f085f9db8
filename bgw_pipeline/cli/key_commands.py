"""The key that seals archives at rest: `bgw keygen` writes a new one."""

from __future__ import annotations

from pathlib import Path

import click

from bgw_pipeline.cli.exit_codes import ExitCode
from bgw_pipeline.cli.options import command_runner
from bgw_pipeline.cli.output import Output


@click.command("keygen")
@click.argument("path", metavar="KEY_FILE", type=click.Path(path_type=Path, dir_okay=False))
@command_runner
def keygen(path: Path, out: Output) -> int:
    """Write a new age key to KEY_FILE (readable by you only; never overwritten), to seal
    archives at rest: set BGW_ARCHIVE_KEY_FILE to it. Keep a copy somewhere safe and apart
    from the archives: without it, no archive sealed for it can be opened again.

    \b
    Example:
      bgw keygen ~/.config/bgw/archive.key
      echo "BGW_ARCHIVE_KEY_FILE=$HOME/.config/bgw/archive.key" >> .env
    """  # fmt: skip
    from bgw_pipeline.core.files.sealing import write_key_file

    if path.exists():
        raise click.UsageError(f"{path} exists; bgw keygen never overwrites a key")
    key = write_key_file(path)
    out.result(
        {"key_file": str(path), "public_key": key.public},
        [
            f"wrote {path} (public key {key.public})",
            f"set BGW_ARCHIVE_KEY_FILE={path} to seal archives at rest; back the file up "
            "apart from the archives",
        ],
    )
    return ExitCode.OK
