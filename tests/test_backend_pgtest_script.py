"""scripts/pgtest.sh is sourced by `make test` (/bin/sh) and by people (bash): it must behave as a guest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent


def shell(program: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([program, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.mark.skipif(shutil.which("dash") is None, reason="make's /bin/sh is dash on Debian; no dash here")
def test_sourced_by_dash_twice_reuses_the_server() -> None:
    run = shell("dash", '. ./scripts/pgtest.sh; first="$TUSK_TEST_POSTGRES_URL"; . ./scripts/pgtest.sh; '
                        'echo "$first"; echo "$TUSK_TEST_POSTGRES_URL"; echo still-here')
    assert run.returncode == 0, run.stderr
    first, second, marker = run.stdout.split()
    assert first == second and first.startswith("postgresql://tusk_test:")
    assert marker == "still-here"
    with psycopg.connect(first, connect_timeout=5) as connection:
        assert connection.execute("SELECT current_database(), current_user").fetchone() == (
            "tusk_test", "tusk_test")


def test_sourcing_keeps_the_callers_shell_options_and_namespace() -> None:
    run = shell("bash", 'set -e; before="$-"; . ./scripts/pgtest.sh start; echo "$before|$-"; '
                        'set +e; declare -F | grep -c _pgtest; set | grep -c "^_pgtest"; echo done')
    assert run.returncode == 0, run.stderr
    options, functions_left, variables_left, marker = run.stdout.split()
    before, after = options.split("|")
    assert before == after and "e" in after
    assert (functions_left, variables_left, marker) == ("0", "0", "done")


def test_a_bad_subcommand_returns_without_ending_the_callers_shell() -> None:
    run = shell("bash", '. ./scripts/pgtest.sh restart-everything; echo "status=$?"')
    assert run.stdout.strip() == "status=2"
    assert "usage: . ./scripts/pgtest.sh [start|stop]" in run.stderr
