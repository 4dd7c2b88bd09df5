"""Shared fixtures. Add yours below; keep each one small."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

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


# --- The Pulumi program under mocks (tests/test_program_*.py, test_offline_*.py, test_settings*.py) ---

# Secret values handed to the program through its env mapping; tests assert they never appear in plain.
PROGRAM_SECRETS = {
    "REDIS_CLUSTER_PASSWORD": "redis-auth-token-for-tests-0123456789",
    "DB_PRIMARY_PASSWORD": "db-password-for-tests-9876",
}


@pytest.fixture(scope="session")
def program_runs() -> dict[str, object]:
    """Every real stack run once under mocks (primary first), keyed by stack name."""
    from tusk_infra.offline.runner import run_stacks

    return {run.stack: run for run in run_stacks(REPO, env=PROGRAM_SECRETS)}


@pytest.fixture
def program_project(tmp_path: Path) -> Path:
    """A copy of the project's global.tsk and stack files that a test may edit."""
    for path in [REPO / "global.tsk", REPO / "Pulumi.yaml", *REPO.glob("Pulumi.*-*.yaml")]:
        (tmp_path / path.name).write_text(path.read_text())
    # The stacks' metric snapshots, which global.tsk's @metrics read (metrics/<stack>.json).
    (tmp_path / "metrics").mkdir()
    for path in (REPO / "metrics").glob("*.json"):
        (tmp_path / "metrics" / path.name).write_text(path.read_text())
    return tmp_path


@pytest.fixture
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy AWS credentials and region (opt in per module with `pytest.mark.usefixtures`)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws(fake_aws_credentials: None) -> Iterator[None]:
    """Moto's in-process AWS for the test."""
    with mock_aws():
        yield
