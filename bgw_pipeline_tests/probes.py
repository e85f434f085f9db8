"""Running a snippet in a fresh interpreter: what a module loads shows only there."""

from __future__ import annotations

import subprocess
import sys


def run_probe(code: str) -> str:
    """Run `code` with this interpreter in a new process; return its output, or fail the
    test with its standard error."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
