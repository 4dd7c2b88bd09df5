"""One module per `tusk-infra` subcommand."""

from __future__ import annotations

import sys


class OutputError(Exception):
    """Standard output cannot take the report (a full disk, a closed pipe)."""


def write_output(text: str) -> None:
    """Write a command's whole result to stdout now, so a failed write is reported, not a traceback."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write to standard output: {error.strerror or error}") from None
