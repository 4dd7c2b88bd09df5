"""scripts/pgtest.sh, sourced by people (bash, or dash as /bin/sh) it must behave as a guest; run as a command
(`make test`, `make pgstop`) it stops the server it started."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
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


# Connects with the URL the script exported, from inside a command it runs.
CONNECT = (f"{sys.executable} -c "
           "'import os, psycopg; psycopg.connect(os.environ[\"TUSK_TEST_POSTGRES_URL\"]).close()'")


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a cluster of the test's own (PGTEST_REPO): stopping it leaves the suite's alone."""
    env = {**os.environ, "PGTEST_REPO": str(tmp_path)}
    env.pop("TUSK_TEST_POSTGRES_URL", None)
    yield env
    subprocess.run(["sh", "scripts/pgtest.sh", "stop"], cwd=REPO, env=env, capture_output=True, check=False)
    datadir = tmp_path / ".pgtest" / "datadir"
    if datadir.is_file():
        # Unreachable by the postgres user, the cluster lives in a private directory under /tmp instead.
        data = Path(datadir.read_text().strip())
        if data.parent.name.startswith("tusk-pgtest."):
            shutil.rmtree(data.parent, ignore_errors=True)


def run_in(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def server_running(env: dict[str, str]) -> bool:
    datadir = Path(env["PGTEST_REPO"]) / ".pgtest" / "datadir"
    return run_in(env, "pgrep", "-f", f"postgres -D {datadir.read_text().strip()}").returncode == 0


def test_run_stops_the_server_it_started_and_keeps_the_commands_status(own_cluster: dict[str, str]) -> None:
    # `make test`: the tests fail (status 3 here), the server is stopped all the same, the status is kept.
    run = run_in(own_cluster, "sh", "scripts/pgtest.sh", "run", "sh", "-c", f"{CONNECT} && exit 3")
    assert run.returncode == 3, run.stderr
    assert "pgtest: stopped" in run.stderr
    assert not server_running(own_cluster)
    assert not (Path(own_cluster["PGTEST_REPO"]) / ".pgtest" / "started-by-run").exists()


def test_sourcing_start_during_a_run_does_not_keep_the_server(own_cluster: dict[str, str]) -> None:
    # The suite's own tests source the script while `make test` runs them: the run still stops its server.
    run = run_in(own_cluster, "sh", "scripts/pgtest.sh", "run", "bash", "-c", ". ./scripts/pgtest.sh start")
    assert run.returncode == 0, run.stderr
    assert not server_running(own_cluster)


@pytest.mark.skipif(shutil.which("dash") is None, reason="make's /bin/sh is dash on Debian; no dash here")
def test_run_leaves_a_server_a_person_started_and_stop_as_a_command_stops_it(
    own_cluster: dict[str, str],
) -> None:
    started = run_in(own_cluster, "dash", "-c", ". ./scripts/pgtest.sh start")
    assert started.returncode == 0, started.stderr
    run = run_in(own_cluster, "dash", "scripts/pgtest.sh", "run", "sh", "-c", CONNECT)
    assert run.returncode == 0, run.stderr
    assert server_running(own_cluster)
    # The README's way to stop it from any shell: dash would ignore `stop` given to `.`.
    stopped = run_in(own_cluster, "dash", "scripts/pgtest.sh", "stop")
    assert stopped.returncode == 0 and "pgtest: stopped" in stopped.stderr
    assert not server_running(own_cluster)


def test_the_run_that_started_the_server_leaves_it_to_a_run_still_using_it(own_cluster: dict[str, str],
                                                                          tmp_path: Path) -> None:
    # Two test runs in one checkout: the first ends while the second still runs its tests against the server.
    runs, result = tmp_path / ".pgtest" / "runs", tmp_path / "second.status"
    second_tests = tmp_path / "second-tests.sh"
    second_tests.write_text(f"sleep 2\n{CONNECT}\n")
    second = tmp_path / "second.sh"
    second.write_text(f"sh scripts/pgtest.sh run sh {second_tests}\necho $? > {result}\n")
    first = tmp_path / "first.sh"
    # The first run's tests end as soon as the second run holds its lease.
    first.write_text(f"sh {second} >/dev/null 2>&1 &\n"
                     f"while [ $(ls {runs} | wc -l) -lt 2 ]; do sleep 0.1; done\n")
    assert run_in(own_cluster, "sh", "scripts/pgtest.sh", "run", "sh", str(first)).returncode == 0
    deadline = time.monotonic() + 120
    while not result.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert result.read_text().strip() == "0"  # it reached the server after the first run had ended
    assert not server_running(own_cluster)  # and, the last one out, stopped it


def test_start_as_a_command_explains_itself() -> None:
    run = shell("sh", "sh scripts/pgtest.sh start")
    assert run.returncode == 2
    assert "start exports TUSK_TEST_POSTGRES_URL into your shell, so source it" in run.stderr
