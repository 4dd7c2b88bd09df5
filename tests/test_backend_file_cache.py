"""The persistent `@cache` provider: TTL, persistence across runs, two concurrent runs, never a secret."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tusk_infra.backends.errors import BackendError
from tusk_infra.backends.file_cache import CACHE_FILE_NAME, FileCache
from tusk_infra.tusk.providers import CacheHit
from tusk_infra.tusk.values import Secret

CANARY = "canary-0b6c2f7e-cache-SECRET"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_values_survive_to_the_next_run(tmp_path: Path) -> None:
    value = {"rows": [{"n": 1}], "ok": True, "ratio": 0.5, "none": None}
    FileCache(tmp_path).put("k", value, 300)
    assert FileCache(tmp_path).get("k") == CacheHit(value)


def test_ttl_is_honoured(tmp_path: Path) -> None:
    clock = Clock()
    cache = FileCache(tmp_path, clock=clock)
    cache.put("k", 42, 60)
    clock.now += 59.9
    assert cache.get("k") == CacheHit(42)
    clock.now += 0.1
    assert cache.get("k") is None


def test_a_newer_put_replaces_the_value_and_expiry(tmp_path: Path) -> None:
    clock = Clock()
    cache = FileCache(tmp_path, clock=clock)
    cache.put("k", "old", 10)
    cache.put("k", "new", 100)
    clock.now += 50
    assert cache.get("k") == CacheHit("new")


def test_expired_entries_are_purged(tmp_path: Path) -> None:
    import sqlite3

    clock = Clock()
    cache = FileCache(tmp_path, clock=clock)
    cache.put("short", 1, 1)
    clock.now += 5
    cache.put("long", 2, 100)
    with sqlite3.connect(tmp_path / CACHE_FILE_NAME) as db:
        assert db.execute("SELECT count(*) FROM entries").fetchone() == (1,)


def test_secrets_and_their_keys_never_reach_the_file(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    cache.put(f"key-with-{CANARY}", "plain", 300)
    cache.put("secret-inside", {"password": Secret(CANARY, "DB_PASSWORD")}, 300)
    cache.put("secret-in-list", [1, Secret(CANARY)], 300)
    cache.close()
    assert FileCache(tmp_path).get("secret-inside") is None
    assert FileCache(tmp_path).get("secret-in-list") is None
    assert FileCache(tmp_path).get(f"key-with-{CANARY}") == CacheHit("plain")
    for path in tmp_path.iterdir():
        assert CANARY.encode() not in path.read_bytes(), path


def test_values_that_are_not_plain_json_are_not_cached(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    cache.put("nan", float("nan"), 300)
    cache.put("bytes", b"raw", 300)
    assert (cache.get("nan"), cache.get("bytes")) == (None, None)


def test_a_directory_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    expected = r"^cannot keep the persistent cache in .*/not-a-dir: it is a file, not a directory; choose"
    with pytest.raises(BackendError, match=expected):
        FileCache(blocker)


def test_a_corrupt_cache_file_is_set_aside_with_one_warning(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILE_NAME).write_bytes(b"this is not sqlite" * 100)
    warnings: list[str] = []
    cache = FileCache(tmp_path, warn=warnings.append)
    cache.put("k", 1, 60)
    assert cache.get("k") == CacheHit(1)
    (aside,) = tmp_path.glob(f"{CACHE_FILE_NAME}.damaged-*")
    assert aside.read_bytes() == b"this is not sqlite" * 100
    assert len(warnings) == 1
    assert f"set it aside as {aside.name}" in warnings[0] and "file is not a database" in warnings[0]


def test_a_failing_cache_degrades_with_one_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    cache = FileCache(tmp_path, warn=warnings.append)
    cache.close()  # every later operation fails like a vanished disk would
    cache.put("k", 1, 60)
    assert cache.get("k") is None
    assert len(warnings) == 1
    assert warnings[0].startswith(f"persistent cache {tmp_path / CACHE_FILE_NAME} unavailable (")


WORKER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from tusk_infra.backends.file_cache import FileCache
    # Both runs start together, so their writes really interleave.
    while not (Path(sys.argv[1]) / "go").exists():
        time.sleep(0.005)
    warnings = []
    cache = FileCache(sys.argv[1], warn=warnings.append)
    me = os.getpid()
    for i in range(400):
        key = f"k{i % 25}"
        cache.put(key, {"writer": me, "i": i, "rows": list(range(i % 7))}, 60)
        hit = cache.get(key)
        assert hit is not None and set(hit.value) == {"writer", "i", "rows"}, hit
    print(len(warnings), flush=True)
    """
)


def test_two_concurrent_runs_share_the_cache_safely(tmp_path: Path) -> None:
    runs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    (tmp_path / "go").touch()
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    # No operation gave up on the lock: each run reports zero degraded operations.
    assert [out.strip() for out, _ in outputs] == ["0", "0"]
    cache = FileCache(tmp_path)
    assert all(cache.get(f"k{i}") is not None for i in range(25))


def test_the_file_uses_write_ahead_logging(tmp_path: Path) -> None:
    import sqlite3

    FileCache(tmp_path).put("k", 1, 60)
    with sqlite3.connect(tmp_path / CACHE_FILE_NAME) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
