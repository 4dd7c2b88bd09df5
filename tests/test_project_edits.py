"""The config author's everyday edits — tune a value, add a region, remove one — never break the tool's tests.

The tool's tests run against the fixture project (tests/fixtures/project), never the live global.tsk and
Pulumi.*.yaml at the top of the repository (those are checked by the tool itself: `make check`). Proved twice:
the tool still previews and checks a project edited that way, and the suite, run in a copy of the repository
whose top-level deployment was edited that way, still passes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, REPO, copy_project, project_files
from test_preview_cli import offline_env, tusk_infra

NEW_REGION = "ap-southeast-1"
GONE_REGION = "eu-west-1"
WORKERS = (
    'worker_count: @if(@metrics("cpu_usage", 0) > 80, 16, 8)',
    'worker_count: @if(@metrics("cpu_usage", 0) > 80, 16, 6)',
)


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name}: expected {old!r} once; update this test"
    path.write_text(text.replace(old, new), encoding="utf-8")


def regional_block(text: str, region: str) -> str:
    """The `us_west_2 { ... }` block of a region in [regional_config], with the blank line after it."""
    key = region.replace("-", "_")
    block = re.search(rf"^{key} \{{\n.*?^\}}\n\n?", text, re.S | re.M)
    assert block, f"global.tsk has no {key} block in [regional_config]; update this test"
    return block.group(0)


def add_region(project: Path, region: str, like: str = "us-west-2") -> None:
    """What adding a replica region takes: its stack file, its regional_config block, its replica_regions
    entry."""
    short = {"us-west-2": "usw2"}[like]
    new_short = "".join(part[0] if part.isalpha() else part for part in region.split("-"))
    stack_text = (project / f"Pulumi.{like}.yaml").read_text(encoding="utf-8")
    (project / f"Pulumi.{region}.yaml").write_text(
        stack_text.replace(like, region).replace(short, new_short), encoding="utf-8")
    tsk = project / "global.tsk"
    block = regional_block(tsk.read_text(encoding="utf-8"), like)
    new_block = block.replace(like.replace("-", "_"), region.replace("-", "_")).replace(like, region)
    replace_once(tsk, block, block + new_block)
    text = tsk.read_text(encoding="utf-8")
    replicas = re.search(r"^replica_regions: \[(.*)\]$", text, re.M)
    assert replicas, "global.tsk has no replica_regions list; update this test"
    replace_once(tsk, replicas.group(0), f'replica_regions: [{replicas.group(1)}, "{region}"]')


def remove_region(project: Path, region: str) -> None:
    """The reverse: the stack file, the block and the list entry go."""
    (project / f"Pulumi.{region}.yaml").unlink()
    tsk = project / "global.tsk"
    replace_once(tsk, regional_block(tsk.read_text(encoding="utf-8"), region), "")
    text = tsk.read_text(encoding="utf-8")
    replicas = re.search(r"^replica_regions: \[(.*)\]$", text, re.M)
    assert replicas and f'"{region}"' in replicas.group(1), f"{region} is no replica region; update this test"
    kept = [name.strip() for name in replicas.group(1).split(",") if name.strip() != f'"{region}"']
    replace_once(tsk, replicas.group(0), f"replica_regions: [{', '.join(kept)}]")


def edit_like_a_config_author(project: Path) -> None:
    """One worker count tuned, one region added, one removed."""
    replace_once(project / "global.tsk", *WORKERS)
    add_region(project, NEW_REGION)
    remove_region(project, GONE_REGION)


def test_the_tool_previews_and_checks_an_edited_project(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    edit_like_a_config_author(project)
    secrets = {"REDIS_CLUSTER_PASSWORD": "r" * 20, "DB_PRIMARY_PASSWORD": "canary-edited-0001"}
    env = offline_env(**secrets)
    preview = tusk_infra("preview", "--all-stacks", "--format", "json", "--project-dir", str(project),
                         env=env)
    assert preview.returncode == 0, preview.stderr
    plan = json.loads(preview.stdout)
    assert [stack["stack"] for stack in plan["stacks"]] == ["us-east-1", NEW_REGION, "us-west-2"]
    for stack in plan["stacks"]:
        # The edited worker count reached the cool regions (the new one has no metric snapshot: cpu_usage 0);
        # us-east-1's snapshot is hot (> 80), so it kept 16.
        workers = 16 if stack["stack"] == "us-east-1" else 6
        assert stack["settings"]["performance"]["worker_count"] == workers, stack["stack"]
    check = tusk_infra("check", "--all-stacks", "--project-dir", str(project), env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "policy check passed: 3 stack(s)" in check.stdout
    for value in secrets.values():
        assert value not in preview.stdout + check.stdout + check.stderr


def _tree_digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in project_files(directory):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# The parts of the suite that broke when the live global.tsk was edited (issue 10): the program's resources
# per stack, the preview goldens, regional settings, `explain`/`eval --stack`, the policy pack over the
# project.
SUITE_PART = [
    "tests/test_program_stacks.py",
    "tests/test_preview_cli.py::test_preview_matches_golden",
    "tests/test_settings.py::test_regional_differences",
    "tests/test_tsk_cli.py::test_explain_with_a_stack_uses_the_stacks_region",
    "tests/test_tsk_cli.py::test_eval_with_a_stack_gives_the_document_the_program_evaluates",
    "tests/test_check_project.py",
]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the repository's files")
def test_editing_the_live_project_leaves_the_suite_green(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True, text=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    before = _tree_digest(root / "tests" / "fixtures" / "project")
    edit_like_a_config_author(root)
    assert _tree_digest(root / "tests" / "fixtures" / "project") == before == _tree_digest(PROJECT_DIR)
    # The copy's own tests, with this checkout's installed code, in one process.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-x", *SUITE_PART],
        cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", run.stdout) and " failed" not in run.stdout, run.stdout[-2000:]
