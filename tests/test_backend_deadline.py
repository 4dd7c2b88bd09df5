"""The hard wall-clock bound around blocking calls."""

from __future__ import annotations

import threading
import time

import pytest

from tusk_infra.backends.deadline import DeadlineExceeded, call_with_deadline


def test_result_and_errors_pass_through() -> None:
    assert call_with_deadline(lambda: 42, 1) == 42
    with pytest.raises(KeyError):
        call_with_deadline(lambda: {}["missing"], 1)


def test_an_overrunning_call_is_abandoned_on_time() -> None:
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"no answer within 0.2 s"):
        call_with_deadline(lambda: release.wait(30), 0.2)
    assert time.monotonic() - started < 0.5
    release.set()
