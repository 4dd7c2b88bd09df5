"""Rendering the plan of a git revision: a temporary worktree, and that revision's own program run in it.

Each revision is rendered by its own code (`python -m tusk_infra preview --all-stacks --format json` in the
checkout, with PYTHONPATH pointing there), so a change to a component shows up in the diff just as a change to
global.tsk does; the plan JSON is the contract between the two. The working tree needs no checkout.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from tusk_infra.render.plan import PLAN_FORMAT, Plan

# The diff hands each render a random key through this variable; secrets come back only as keyed hashes.
DIGEST_KEY_VARIABLE = "TUSK_INFRA_SECRET_DIGEST_KEY"
WORKING_TREE = "working tree"
_STDERR_LINES = 20
# A shorter key would make the keyed hashes of short secrets guessable.
_MIN_KEY_BYTES = 32


class RevisionError(Exception):
    """A revision that cannot be resolved, checked out or rendered; the message says which and why."""


class DigestKeyError(Exception):
    """The digest key variable is set but unusable."""


def digest_key_from_env() -> bytes | None:
    """The random key `tusk-infra diff` hands its renders; None when a person runs the preview."""
    text = os.environ.get(DIGEST_KEY_VARIABLE)
    if text is None:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise DigestKeyError(f"{DIGEST_KEY_VARIABLE} is not hex; it is set by `tusk-infra diff`, "
                             "unset it to preview") from None
    if len(key) < _MIN_KEY_BYTES:
        raise DigestKeyError(f"{DIGEST_KEY_VARIABLE} holds {len(key)} bytes, expected at least "
                             f"{_MIN_KEY_BYTES}; it is set by `tusk-infra diff`, unset it to preview")
    return key


@dataclass(frozen=True)
class Revision:
    """What the user named (`origin/main`) and the commit it resolved to; no commit means the working tree."""

    label: str
    commit: str | None = None

    @property
    def description(self) -> str:
        """`origin/main @ 1a2b3c4d`, or `working tree`."""
        if self.commit is None:
            return WORKING_TREE
        return f"{self.label} @ {self.commit[:8]}"


def resolve_revision(project_dir: Path, rev: str | None, option: str) -> Revision:
    """The commit `rev` (given as `option`) names; None means the working tree."""
    if rev is None:
        return Revision(WORKING_TREE)
    if rev.startswith("-"):
        raise RevisionError(f"{option} '{rev}' is not a revision (it looks like an option)")
    if _git(project_dir, "rev-parse", "--show-toplevel", check=False).returncode != 0:
        raise RevisionError(f"{project_dir} is not inside a git repository; `tusk-infra diff` compares "
                            "git revisions")
    result = _git(project_dir, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}",
                  check=False)
    if result.returncode != 0 or not result.stdout.strip():
        raise RevisionError(f"{option} '{rev}' is not a commit in the repository at {project_dir} "
                            "(expected a branch, tag or commit, e.g. origin/main or HEAD~1)")
    return Revision(rev, result.stdout.strip())


@contextmanager
def checked_out(project_dir: Path, revision: Revision) -> Iterator[Path]:
    """The project directory as it is at `revision`; a temporary worktree that is removed whatever happens."""
    if revision.commit is None:
        yield project_dir
        return
    where = _git(project_dir, "rev-parse", "--show-prefix", "--git-common-dir").stdout
    prefix, common = where.split("\n")[:2]
    lock = project_dir / common / "tusk-infra-worktree.lock"
    scratch = Path(tempfile.mkdtemp(prefix="tusk-infra-diff-"))
    # A unique leaf name: git names the worktree's admin entry after it, and diffs may run side by side.
    worktree = scratch / scratch.name
    try:
        with _worktree_lock(lock):
            added = _git(project_dir, "worktree", "add", "--detach", "--quiet", str(worktree),
                         revision.commit, check=False)
        if added.returncode != 0:
            raise RevisionError(f"cannot check out {revision.description}: {added.stderr.strip()}")
        yield worktree / prefix
    finally:
        with _worktree_lock(lock):
            _git(project_dir, "worktree", "remove", "--force", str(worktree), check=False)
            shutil.rmtree(scratch, ignore_errors=True)
            _git(project_dir, "worktree", "prune", check=False)


@contextmanager
def _worktree_lock(lock: Path) -> Iterator[None]:
    """One worktree add/remove/prune at a time in a repository, across processes (`lock`: a file in its git
    directory). git reads every worktree's admin entry while it adds one; another diff's half-made or
    half-removed entry then fails it ("failed to read .git/worktrees/<name>/commondir"), as two diffs side by
    side did."""
    with open(lock, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def render_revision(checkout: Path, revision: Revision, digest_key: bytes) -> Plan:
    """Every stack's plan as the revision's own code renders it; secrets hashed with `digest_key`."""
    if not (checkout / "tusk_infra" / "__init__.py").is_file():
        # Without its own package the child would import whichever tusk_infra is installed: the wrong code.
        # (The checkout's own name would be a temporary directory's: it means nothing to the reader.)
        raise RevisionError(f"{revision.description} has no tusk_infra package beside its Pulumi.yaml; "
                            "it cannot be rendered with its own code")
    command = [sys.executable, "-m", "tusk_infra", "preview", "--all-stacks", "--format", "json"]
    result = subprocess.run(command, cwd=checkout, env=_render_env(checkout, digest_key), capture_output=True,
                            text=True, check=False)
    if result.returncode == 2:
        # A usage error: that revision's tusk-infra predates `preview --all-stacks --format json`.
        raise RevisionError(f"{revision.description} cannot be rendered: its tusk-infra has no "
                            "`preview --all-stacks --format json` (it predates the offline preview); "
                            "compare against a later revision")
    if result.returncode != 0:
        # Paths inside the temporary checkout mean nothing once it is gone: show them relative to the project.
        stderr = result.stderr.replace(f"{checkout}{os.sep}", "")
        raise RevisionError(_render_failure(revision, stderr))
    try:
        plan = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise RevisionError(f"{revision.description} printed no plan JSON ({error})") from None
    if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT:
        found = plan.get("format") if isinstance(plan, dict) else type(plan).__name__
        raise RevisionError(f"{revision.description} renders plan format {found!r}; this tusk-infra reads "
                            f"{PLAN_FORMAT!r}")
    return cast(Plan, plan)


def _render_env(checkout: Path, digest_key: bytes) -> dict[str, str]:
    env = dict(os.environ)
    # The checkout's own packages first, ahead of whatever tusk-infra is installed in this environment.
    env["PYTHONPATH"] = os.pathsep.join([str(checkout), str(checkout / "policy")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env[DIGEST_KEY_VARIABLE] = digest_key.hex()
    return env


def _render_failure(revision: Revision, stderr: str) -> str:
    lines = stderr.strip().splitlines() or ["(no error output)"]
    if len(lines) > _STDERR_LINES:
        lines = [*lines[:_STDERR_LINES], f"... ({len(lines) - _STDERR_LINES} more lines)"]
    return "\n".join([*lines, f"(while rendering {revision.description})"])


def _git(project_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=True,
                                check=False)
    except FileNotFoundError:
        raise RevisionError("git is not installed; `tusk-infra diff` needs it for revisions") from None
    if check and result.returncode != 0:
        raise RevisionError(f"git {args[0]} failed in {project_dir}: {result.stderr.strip()}")
    return result
