"""Run a blocking call with a hard wall-clock bound, whatever the library underneath does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The call did not finish within its bound."""


def call_with_deadline(call: Callable[[], T], seconds: float) -> T:
    """Return call()'s result, re-raise its exception, or raise DeadlineExceeded after `seconds`."""
    results: list[T] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as error:  # handed back to the caller's thread below
            failures.append(error)

    # A daemon thread: if the call overruns, it may finish in the background but never delays the
    # process's exit (a ThreadPoolExecutor would join it at shutdown).
    worker = threading.Thread(target=run, name="tusk-deadline", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise DeadlineExceeded(f"no answer within {seconds:g} s")
    if failures:
        raise failures[0]
    return results[0]
