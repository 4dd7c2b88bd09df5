"""Running the CLI on hostile input in a child process with hard bounds, and checking what it left behind.

Every hostile-input test module uses this: the child gets an address-space limit and a deadline, so a
regression shows as a failed test (MemoryError, killed by the timeout), never as a hung or swapping suite.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The bounds of issue 11: every hostile input ends within these, whatever it is.
MEMORY_LIMIT_BYTES = 1536 * 1024 * 1024
TIME_LIMIT_SECONDS = 30.0
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
# What a traceback or leftover asyncio work prints; none of it may reach a user.
NOISE = ("Traceback", "Exception ignored", "Task was destroyed", "RuntimeWarning", "MemoryError")


@dataclass(frozen=True)
class Outcome:
    """What a bounded CLI run did: exit code, output, and how long it took."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def first_error_line(self) -> str:
        return self.stderr.splitlines()[0] if self.stderr else ""


def _bounded() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def run_cli(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Outcome:
    """`python -m tusk_infra ARGS` in a child limited to 1.5 GB of address space and 30 seconds."""
    child_env = {name: value for name, value in os.environ.items() if name in _KEEP}
    child_env["PYTHONPATH"] = str(REPO)
    child_env.update(env or {})
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tusk_infra", *args],
            cwd=cwd, env=child_env, capture_output=True, text=True, errors="replace",
            timeout=TIME_LIMIT_SECONDS, preexec_fn=_bounded, check=False,
        )
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(f"tusk-infra {' '.join(args)} ran past {TIME_LIMIT_SECONDS} s") from expired
    return Outcome(result.returncode, result.stdout, result.stderr, time.monotonic() - started)


def assert_positioned_error(outcome: Outcome, file: str, canaries: Iterable[str] = ()) -> None:
    """Exit 1, nothing on stdout, `FILE:LINE:COL: message` first, no traceback, no canary anywhere."""
    assert outcome.returncode == 1, (outcome.returncode, outcome.stdout[:300], outcome.stderr[:2000])
    assert not outcome.stdout, outcome.stdout[:300]
    first = outcome.first_error_line
    assert first.startswith(f"{file}:"), outcome.stderr[:2000]
    line, column, _rest = first[len(file) + 1 :].split(":", 2)
    assert line.isdigit() and column.isdigit(), first
    assert_quiet(outcome, canaries)


def assert_quiet(outcome: Outcome, canaries: Iterable[str] = ()) -> None:
    """No traceback or asyncio noise, and no canary in any output."""
    for noise in NOISE:
        assert noise not in outcome.stderr, outcome.stderr[-2000:]
    for canary in canaries:
        assert canary not in outcome.stdout, f"canary {canary!r} on stdout"
        assert canary not in outcome.stderr, f"canary {canary!r} on stderr"


def serve_on_loopback(handle: Callable[[socket.socket], None]) -> socket.socket:
    """A listener on 127.0.0.1 (a free port) that hands each connection to `handle` in a thread of its own;
    closing the listener stops it. Fault-test servers never listen beyond the loopback interface."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve() -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener
