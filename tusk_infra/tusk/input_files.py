"""Reading an input file (a .tsk file, a stack file) with a bound on its size.

A configuration file is small; a path that names a device (`/dev/zero`), a FIFO or a file of gigabytes is a
mistake or an attack, and reading it whole would take unbounded time and memory. Only regular files are read,
and at most a limit of bytes, which the user can raise through the environment.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tusk_infra.tusk.errors import TuskError

# The environment variable that raises the limit, and its default: far above any real configuration file
# (this project's global.tsk is 6 KB), far below what would strain the machine.
MAX_INPUT_BYTES_VARIABLE = "TUSK_MAX_INPUT_BYTES"
DEFAULT_MAX_INPUT_BYTES = 16 * 1024 * 1024


def max_input_bytes() -> int:
    """The size limit for one input file: $TUSK_MAX_INPUT_BYTES when it is a positive integer, else 16 MiB."""
    text = os.environ.get(MAX_INPUT_BYTES_VARIABLE, "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    return DEFAULT_MAX_INPUT_BYTES


def read_input_bytes(path: Path, error_type: type[TuskError] = TuskError) -> bytes:
    """The bytes of a regular file no larger than the input limit; anything else is one positioned error."""
    name = str(path)
    limit = max_input_bytes()
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer before we can refuse it.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as failure:
        raise error_type(f"cannot read the file: {failure.strerror or failure}", name, 1, 1) from None
    try:
        kind = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(kind):
            raise error_type(
                f"cannot read the file: it is {_kind_name(kind)}, not a regular file", name, 1, 1
            )
        # One byte past the limit tells "too large" without reading more than that.
        data = _read_up_to(descriptor, limit + 1)
    except OSError as failure:
        raise error_type(f"cannot read the file: {failure.strerror or failure}", name, 1, 1) from None
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise error_type(
            f"the file is larger than the input limit of {limit:,} bytes; set {MAX_INPUT_BYTES_VARIABLE} "
            "to a larger number of bytes to read it",
            name, 1, 1,
        )
    return data


def _read_up_to(descriptor: int, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = os.read(descriptor, min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _kind_name(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
