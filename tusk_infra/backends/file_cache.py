"""A persistent `@cache` provider: one SQLite file (stdlib sqlite3, WAL) shared safely by concurrent runs.

Keys are stored hashed (a key may be derived from input values); values are stored as JSON. A value that
holds a Secret, or is not plain JSON, is never written: it is simply recomputed on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tusk_infra.backends.defaults import DEFAULT_CACHE_DIR as DEFAULT_CACHE_DIR
from tusk_infra.backends.errors import BackendError
from tusk_infra.tusk.providers import CacheHit
from tusk_infra.tusk.values import Secret

CACHE_FILE_NAME = "cache.sqlite3"
# How long a run waits for the other run's write lock before giving up on one cache operation.
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key_hash TEXT PRIMARY KEY,
    value_json TEXT NOT NULL,
    expires_at REAL NOT NULL
)
"""


class FileCache:
    """A CacheProvider backed by `<directory>/cache.sqlite3`; expired entries are never returned."""

    def __init__(
        self,
        directory: Path | str = DEFAULT_CACHE_DIR,
        *,
        clock: Callable[[], float] = time.time,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.path = Path(directory) / CACHE_FILE_NAME
        self._clock = clock
        self._warn = warn
        self._warned = False
        self._db = _open_or_rebuild(self.path, warn)

    def get(self, key: str) -> CacheHit | None:
        """The cached value if present and not expired."""
        try:
            row = self._db.execute(
                "SELECT value_json FROM entries WHERE key_hash = ? AND expires_at > ?",
                (_hash(key), self._clock()),
            ).fetchone()
        except sqlite3.Error as error:
            self._degrade(error)
            return None
        if row is None:
            return None
        value = _decode(row[0])
        if value is _UNREADABLE:
            # A row this code did not write (edited, damaged): a miss, and it is replaced on the next put.
            self._degrade(sqlite3.DataError("an entry is not valid JSON"))
            return None
        return CacheHit(value)

    def put(self, key: str, value: Any, ttl_seconds: float) -> None:
        """Store `value` for `ttl_seconds`, unless it holds a secret or is not plain JSON."""
        encoded = _encode(value)
        if encoded is None or ttl_seconds <= 0:
            return
        now = self._clock()
        try:
            # Autocommit: each statement is its own short transaction, so a concurrent run waits
            # at most one statement for the write lock.
            self._db.execute(
                "INSERT INTO entries (key_hash, value_json, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key_hash) DO UPDATE SET value_json = excluded.value_json, "
                "expires_at = excluded.expires_at",
                (_hash(key), encoded, now + ttl_seconds),
            )
            self._db.execute("DELETE FROM entries WHERE expires_at <= ?", (now,))
        except sqlite3.Error as error:
            self._degrade(error)

    def close(self) -> None:
        """Close the database file."""
        self._db.close()

    def _degrade(self, error: sqlite3.Error) -> None:
        # A cache problem must not fail a run: the expression is just evaluated again. Say so once.
        if not self._warned:
            self._warned = True
            self._warn(f"persistent cache {self.path} unavailable ({error}); evaluating without it")


def _open_or_rebuild(path: Path, warn: Callable[[str], None]) -> sqlite3.Connection:
    """The cache database; a file that is not one (damaged, overwritten) is set aside and a new one made.

    A cache is only ever a copy: losing it costs a recomputation, so a damaged one must not fail the run."""
    try:
        return _open(path)
    except _DamagedCache as damaged:
        aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
        try:
            path.replace(aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        except OSError as error:
            raise BackendError(
                f"the persistent cache {path} is damaged ({damaged}) and cannot be set aside: "
                f"{error.strerror or error}; remove it"
            ) from None
        warn(
            f"persistent cache {path} was damaged ({damaged}); set it aside as {aside.name} "
            "and started a new one"
        )
        return _open(path)


class _DamagedCache(Exception):
    """The cache file exists but is not a usable SQLite database."""


def _open(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _prepare(db)
        if path.stat().st_uid == os.getuid():
            os.chmod(path, 0o600)
    except sqlite3.DatabaseError as error:
        if path.is_file() and _is_damage(error):
            raise _DamagedCache(str(error)) from None
        raise _unusable_directory(path, error) from None
    except OSError as error:
        raise _unusable_directory(path, error) from None
    return db


def _is_damage(error: sqlite3.DatabaseError) -> bool:
    text = str(error).lower()
    return any(sign in text for sign in ("not a database", "malformed", "no such column", "corrupt"))


def _unusable_directory(path: Path, error: OSError | sqlite3.Error) -> BackendError:
    """The cache cannot be kept where it was asked to be (unwritable, not a directory): the user's to fix."""
    reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
    if path.parent.exists() and not path.parent.is_dir():
        reason = "it is a file, not a directory"
    return BackendError(
        f"cannot keep the persistent cache in {path.parent}: {reason[:1].lower()}{reason[1:]}; "
        "choose a directory you can write to"
    )


def _prepare(db: sqlite3.Connection) -> None:
    """WAL mode and the schema, retried while another run is doing the same to a new file.

    Switching a new database to WAL needs an exclusive lock, and SQLite may answer "database is locked" at
    once, without waiting through busy_timeout, when two runs open the cache together."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            # WAL lets one run read while another writes; NORMAL sync is durable enough for a cache.
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(_SCHEMA)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


_UNREADABLE = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _decode(text: Any) -> Any:
    """The value of a stored row, or _UNREADABLE for text that is not strict JSON (NaN, Infinity included)."""
    if not isinstance(text, str):
        return _UNREADABLE
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return _UNREADABLE


def _encode(value: Any) -> str | None:
    """JSON text for a plain value; None for anything holding a Secret or not representable."""
    if _holds_secret(value):
        return None
    try:
        return json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError):
        return None


def _holds_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(_holds_secret(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_secret(item) for item in value)
    return False
