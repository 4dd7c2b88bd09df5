"""Shared fixtures. Add yours below; keep each one small."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the throwaway PostgreSQL server: $TUSK_TEST_POSTGRES_URL, else started by scripts/pgtest.sh."""
    url = os.environ.get("TUSK_TEST_POSTGRES_URL")
    if url:
        return url
    # Never a silent skip: the SQL tests need a real server, so failing to start one fails them.
    started = subprocess.run(
        ["bash", "-c", '. ./scripts/pgtest.sh start >&2 && printf %s "$TUSK_TEST_POSTGRES_URL"'],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if started.returncode != 0 or not started.stdout:
        pytest.fail(f"could not start PostgreSQL with scripts/pgtest.sh:\n{started.stderr}", pytrace=False)
    return started.stdout
