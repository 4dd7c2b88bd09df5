"""`tusk-infra preview` run the way a user runs it: goldens per stack, errors, determinism across hash seeds.

The goldens (tests/golden/preview/<stack>.txt|json) are the previews of the fixture project
(tests/fixtures/project), never of the live global.tsk/Pulumi.*.yaml, so editing the deployment leaves them
alone.
Regenerate them after an intended change to the tool's output, or after `make fixtures-sync`, with:
    TUSK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_preview_cli.py -p no:xdist
then review `git diff tests/golden` (README: "Tests").
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, REPO, copy_project

from tusk_infra.cli import main

GOLDEN = REPO / "tests" / "golden" / "preview"
STACKS = ("us-east-1", "us-west-2", "eu-west-1")
UPDATE_GOLDEN = os.environ.get("TUSK_UPDATE_GOLDEN") == "1"
# Only what a process needs to start: the preview must not depend on whoever runs the tests.
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
_LOCATION = re.compile(r"^\S*global\.tsk:\d+:\d+: ")


def offline_env(**extra: str) -> dict[str, str]:
    """A minimal environment (no secrets, no colours forced) plus `extra`."""
    env = {name: value for name, value in os.environ.items() if name in _KEEP}
    env.update(extra)
    return env


def tusk_infra(
    *args: str, env: dict[str, str] | None = None, cwd: Path = PROJECT_DIR
) -> subprocess.CompletedProcess[str]:
    """`python -m tusk_infra ARGS` in a fresh process, stdout not a TTY."""
    return subprocess.run([sys.executable, "-m", "tusk_infra", *args], cwd=cwd, env=env or offline_env(),
                          capture_output=True, text=True, timeout=300, check=False)


def tusk_infra_in_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`tusk-infra ARGS` through the CLI's entry point in this process (pulumi is imported once, not per
    run), with the environment replaced by `env` for the call."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
        for name in list(os.environ):
            patch.delenv(name)
        for name, value in (env or offline_env()).items():
            patch.setenv(name, value)
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def previews() -> dict[tuple[str, str], subprocess.CompletedProcess[str]]:
    """Each stack's preview in both formats."""
    return {(stack, fmt): tusk_infra_in_process("preview", "--stack", stack, "--format", fmt,
                                                "--project-dir", str(PROJECT_DIR))
            for stack in STACKS for fmt in ("text", "json")}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("fmt, suffix", [("text", "txt"), ("json", "json")])
def test_preview_matches_golden(previews: dict[tuple[str, str], subprocess.CompletedProcess[str]], stack: str,
                                fmt: str, suffix: str) -> None:
    result = previews[(stack, fmt)]
    assert result.returncode == 0, result.stderr
    golden = GOLDEN / f"{stack}.{suffix}"
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.stdout, encoding="utf-8")
    assert golden.exists(), f"no golden {golden}; create it with TUSK_UPDATE_GOLDEN=1"
    assert result.stdout == golden.read_text(encoding="utf-8"), (
        f"preview of {stack} ({fmt}) differs from {golden.relative_to(REPO)}; if the change is intended, "
        "regenerate with TUSK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_preview_cli.py")


def test_text_preview_is_plain_when_not_a_tty(
    previews: dict[tuple[str, str], subprocess.CompletedProcess[str]]
) -> None:
    text = previews[("us-west-2", "text")].stdout
    assert "\x1b[" not in text
    assert text.startswith("stack us-west-2  ")
    # A replica's source database ARN and KMS key exist only once the cloud has created them.
    assert "replicateSourceDb: (known after deploy)" in text
    assert "authToken: [secret]" in text


def test_placeholder_secrets_are_listed_once(
    previews: dict[tuple[str, str], subprocess.CompletedProcess[str]]
) -> None:
    text = previews[("us-east-1", "text")].stdout
    assert text.count("notice:") == 1
    for name in secret_names():
        assert len(re.findall(rf"\bsecret {name}\b", text)) == 1, name


def test_all_stacks_is_byte_identical_across_runs_and_hash_seeds() -> None:
    seeds = ("1", "12345")
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(lambda job: tusk_infra("preview", "--all-stacks", "--format", job[1],
                                                    env=offline_env(PYTHONHASHSEED=job[0])),
                             [(seed, fmt) for seed in seeds for fmt in ("json", "text")]))
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    json_outputs = {run.stdout for run in runs[0::2]}
    text_outputs = {run.stdout for run in runs[1::2]}
    assert len(json_outputs) == 1 and len(text_outputs) == 1
    for stack in STACKS:
        assert f'"stack": "{stack}"' in runs[0].stdout


def test_strict_secrets_is_an_error_pointing_at_global_tsk() -> None:
    result = tusk_infra_in_process("preview", "--all-stacks", "--strict-secrets", "--project-dir",
                                   str(PROJECT_DIR))
    assert result.returncode == 1
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert _LOCATION.match(first), first
    assert "secrets not available offline" in first


def test_strict_secrets_passes_when_every_secret_is_set() -> None:
    env = offline_env(**{name: f"value-of-{name.lower()}" for name in secret_names()})
    result = tusk_infra_in_process("preview", "--stack", "us-east-1", "--strict-secrets", "--project-dir",
                                   str(PROJECT_DIR), env=env)
    assert result.returncode == 0, result.stderr
    assert "notice:" not in result.stdout


def test_bad_global_tsk_gives_a_positioned_error_and_no_output(tmp_path: Path) -> None:
    project = copy_project_files(tmp_path)
    source = (project / "global.tsk").read_text(encoding="utf-8")
    (project / "global.tsk").write_text(source + "\n[broken]\nvalue: @nosuchop(1)\n", encoding="utf-8")
    result = tusk_infra("preview", "--all-stacks", "--project-dir", str(project))
    assert result.returncode == 1
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert _LOCATION.match(first), first
    assert f":{source.count(chr(10)) + 3}:" in first and "nosuchop" in first
    assert "Traceback" not in result.stderr


def test_unknown_stack_is_a_clear_error() -> None:
    result = tusk_infra_in_process("preview", "--stack", "mars-north-1", "--project-dir", str(PROJECT_DIR))
    assert result.returncode == 2  # a usage error, as in every command
    assert result.stdout == ""
    assert result.stderr == (f"tusk-infra preview: error: --stack mars-north-1: no stack 'mars-north-1' (no "
                             f"Pulumi.mars-north-1.yaml in {PROJECT_DIR}); the stacks are: us-east-1, "
                             "eu-west-1, us-west-2\n")


def test_stack_or_all_stacks_is_required() -> None:
    result = tusk_infra("preview")
    assert result.returncode == 2
    assert "--stack" in result.stderr and result.stdout == ""


def secret_names() -> list[str]:
    """Every `@env.secure(NAME)` global.tsk reads."""
    text = (PROJECT_DIR / "global.tsk").read_text(encoding="utf-8")
    names = re.findall(r'@env\.secure\(\s*"([^"]+)"', text)
    assert names, "global.tsk reads no secrets: the secret tests would prove nothing"
    return sorted(set(names))


def copy_project_files(destination: Path) -> Path:
    """The fixture project's global.tsk and Pulumi stack files, for tests that break them (the code stays the
    repository's)."""
    return copy_project(destination / "project")


def test_missing_project_is_a_clear_error(tmp_path: Path) -> None:
    result = tusk_infra("preview", "--all-stacks", "--project-dir", str(tmp_path))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (f"tusk-infra preview: no Pulumi.yaml in {tmp_path}; run it in the project "
                             "directory or pass --project-dir\n")
