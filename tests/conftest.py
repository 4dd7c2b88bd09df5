"""Shared fixtures. Add yours below; keep each one small."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

# The repository: its code, scripts/, grammar/, __main__.py. Never its global.tsk or Pulumi.*.yaml: those are
# the shipped deployment, which `make check` checks with the tool itself (editing them never breaks a test).
REPO = Path(__file__).resolve().parent.parent
# The project the tool's tests run against: a frozen copy of the deployment's global.tsk, Pulumi.yaml and
# Pulumi.<stack>.yaml files (tests/fixtures/README.md: refreshed only on purpose, with `make fixtures-sync`).
PROJECT_DIR = Path(__file__).resolve().parent / "fixtures" / "project"
# Its stacks, in deploy order (the database primary's first).
PROJECT_STACKS = ("us-east-1", "eu-west-1", "us-west-2")


def project_files(project_dir: Path = PROJECT_DIR) -> list[Path]:
    """The files that make a project: global.tsk, Pulumi.yaml, every Pulumi.<stack>.yaml and the stacks'
    metric snapshots (metrics/<stack>.json)."""
    return [
        project_dir / "global.tsk",
        *sorted(project_dir.glob("Pulumi*.yaml")),
        *sorted(project_dir.glob("metrics/*.json")),
    ]


def copy_project(destination: Path, source: Path = PROJECT_DIR) -> Path:
    """A copy of a project's files in `destination` (created if need be), for a test to edit."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in project_files(source):
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return destination


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the throwaway PostgreSQL server: $TUSK_TEST_POSTGRES_URL, else started by scripts/pgtest.sh.

    `make test` starts the one server before pytest and exports the variable, so every pytest-xdist
    worker shares it. Run without it, each worker sources `scripts/pgtest.sh start`, which holds a lock
    while starting and finds a server already running: they share that one too (stop it with `make
    pgstop`). Tests create their tables in a schema of their own, so workers never see each other's."""
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
    """Every stack of the fixture project run once under mocks (primary first), keyed by stack name."""
    from tusk_infra.offline.runner import run_stacks

    return {run.stack: run for run in run_stacks(PROJECT_DIR, env=PROGRAM_SECRETS)}


@pytest.fixture
def program_project(tmp_path: Path) -> Path:
    """A copy of the fixture project's global.tsk and stack files that a test may edit."""
    return copy_project(tmp_path)


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
