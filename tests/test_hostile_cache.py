"""A damaged or tampered persistent cache (issue 11, cache): never fails a run, never prints invalid JSON.

A cache is only a copy of values the file computes: a damaged file is set aside with one warning and rebuilt,
an unreadable row is a miss, and a value JSON cannot carry is neither cached nor printed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from hostile import Outcome, assert_quiet, run_cli

from tusk_infra.backends.file_cache import CACHE_FILE_NAME

FILE = 'ttl: @cache("10m", 40 + 2)\n'


def _run(tmp_path: Path, *extra: str) -> Outcome:
    (tmp_path / "c.tsk").write_text(FILE, encoding="utf-8")
    return run_cli("eval", "c.tsk", "--cache-dir", "cache", *extra, cwd=tmp_path)


def _cache_file(tmp_path: Path) -> Path:
    return tmp_path / "cache" / CACHE_FILE_NAME


def _prime(tmp_path: Path) -> None:
    first = _run(tmp_path)
    assert first.returncode == 0, first.stderr
    assert _cache_file(tmp_path).is_file()


DAMAGE = {
    "random-bytes": lambda path: path.write_bytes(os.urandom(64 * 1024)),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:100]),
    "text": lambda path: path.write_text("not a database\n" * 100),
    "zero-header": lambda path: path.write_bytes(b"\0" * 4096 + path.read_bytes()[4096:]),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
@pytest.mark.parametrize("command", ["eval", "eval-yaml"])
def test_a_damaged_cache_file_is_set_aside_and_rebuilt(tmp_path: Path, damage: object, command: str) -> None:
    _prime(tmp_path)
    for suffix in ("-wal", "-shm"):
        Path(f"{_cache_file(tmp_path)}{suffix}").unlink(missing_ok=True)
    damage(_cache_file(tmp_path))  # type: ignore[operator]
    extra = ("--format", "yaml") if command == "eval-yaml" else ()
    outcome = _run(tmp_path, *extra)
    assert outcome.returncode == 0, outcome.stderr
    assert_quiet(outcome)
    assert "42" in outcome.stdout
    warnings = [line for line in outcome.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "set it aside" in warnings[0], outcome.stderr
    assert list((tmp_path / "cache").glob(f"{CACHE_FILE_NAME}.damaged-*"))
    # The new cache works: the next run is silent.
    again = _run(tmp_path)
    assert again.returncode == 0 and not again.stderr, again.stderr


TAMPERED_ROWS = {"bad-json": "{not json", "nan": "NaN", "infinity": "[Infinity]", "blob": b"\x00\x01"}


@pytest.mark.parametrize("stored", TAMPERED_ROWS.values(), ids=TAMPERED_ROWS.keys())
def test_a_tampered_row_is_a_miss_and_never_printed(tmp_path: Path, stored: object) -> None:
    _prime(tmp_path)
    with sqlite3.connect(_cache_file(tmp_path)) as db:
        assert db.execute("UPDATE entries SET value_json = ?", (stored,)).rowcount == 1
    outcome = _run(tmp_path)
    assert outcome.returncode == 0, outcome.stderr
    assert json.loads(outcome.stdout) == {"ttl": 42}
    assert_quiet(outcome)
    assert "NaN" not in outcome.stdout and "Infinity" not in outcome.stdout


def test_a_cache_directory_that_is_a_file_is_still_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("a file")
    outcome = _run(tmp_path)
    assert outcome.returncode == 2, outcome.stderr
    assert "choose a directory you can write to" in outcome.stderr
    assert_quiet(outcome)
