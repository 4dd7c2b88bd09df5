"""One module per `tusk-infra` subcommand."""

from __future__ import annotations

import sys
from collections.abc import Iterable


class OutputError(Exception):
    """Standard output cannot take the report (a full disk, a closed pipe)."""


def write_output(text: str) -> None:
    """Write a command's whole result to stdout now, so a failed write is reported, not a traceback."""
    write_output_chunks((text,))


# A large document is written as it is rendered, in pieces of about this size, instead of being built as one
# string (with indentation, JSON's encoder makes a small string per token: gigabytes for a 10 MB array).
_CHUNK = 1 << 16


def write_output_chunks(chunks: Iterable[str]) -> None:
    """Write a result rendered piece by piece (every check already passed), then flush."""
    try:
        pending: list[str] = []
        size = 0
        for chunk in chunks:
            pending.append(chunk)
            size += len(chunk)
            if size >= _CHUNK:
                sys.stdout.write("".join(pending))
                pending, size = [], 0
        sys.stdout.write("".join(pending))
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write to standard output: {error.strerror or error}") from None
