"""`tusk-infra diff`: what a change does to every region stack, as one report for a pull-request comment."""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tusk_infra.commands import write_output
from tusk_infra.project import find_project_dir
from tusk_infra.render.diff import diff_plans
from tusk_infra.render.diff_json import diff_json
from tusk_infra.render.markdown import render_markdown
from tusk_infra.render.plan import Plan
from tusk_infra.render.revisions import (
    Revision,
    RevisionError,
    checked_out,
    render_revision,
    resolve_revision,
)

# `FILE:LINE:COL: message`: an error that keeps its own form.
_POSITIONED = re.compile(r"^[^\s:][^\n]*?:\d+:\d+: ")


def register(subparsers: Any) -> None:
    """Add `diff` to the command line."""
    parser = subparsers.add_parser(
        "diff",
        help="what a change does to every region stack, as one Markdown report",
        description="Render every stack at two revisions (each with its own code, offline) and report what "
        "changes: a summary table, then property by property.",
    )
    parser.add_argument("--base", required=True, metavar="REV", help="the revision to compare against")
    parser.add_argument("--head", metavar="REV",
                        help="the revision with the change (default: the working tree)")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown",
                        help="markdown for a PR comment (default) or the tusk-infra/diff@2 JSON")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("--json-output", type=Path, metavar="FILE",
                        help="also write the JSON report here (one render for both, e.g. in CI)")
    parser.add_argument("--project-dir", type=Path, default=Path("."), metavar="DIR",
                        help="the directory holding Pulumi.yaml and global.tsk (default: .)")
    parser.add_argument("--fail-on-violations", action="store_true",
                        help="exit 1 (after writing the report) when the change brings new violations of "
                        "mandatory policies, for CI")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Render both revisions, compare them and print (or write) the report."""
    project_dir = find_project_dir(args.project_dir).resolve()
    try:
        base = resolve_revision(project_dir, args.base, "--base")
        head = resolve_revision(project_dir, args.head, "--head")
    except RevisionError as error:
        _report(error)
        return 1
    problem = _project_problem(project_dir) or _unwritable(args.output, "--output") or _unwritable(
        args.json_output, "--json-output"
    )
    if problem is not None:
        # Found before rendering: rendering both revisions takes seconds, and would be thrown away.
        print(f"tusk-infra diff: {problem}", file=sys.stderr)
        return 1
    try:
        base_plan, head_plan = render_both(project_dir, base, head)
    except RevisionError as error:
        _report(error)
        return 1
    diff = diff_plans(base_plan, head_plan, base_label=base.description, head_label=head.description)
    report = diff_json(diff) if args.format == "json" else render_markdown(diff, rerun_hint=_rerun_hint(args))
    try:
        if args.json_output is not None:
            _write(args.json_output, diff_json(diff), "--json-output")
        if args.output is not None:
            _write(args.output, report, "--output")
    except OSError as error:
        print(f"tusk-infra diff: {error}", file=sys.stderr)
        return 1
    if args.output is None:
        write_output(report)
    new_violations = sum(len(stack.new_mandatory) for stack in diff.stacks)
    if args.fail_on_violations and new_violations:
        print(f"tusk-infra diff: {new_violations} new mandatory policy violation(s) (--fail-on-violations)",
              file=sys.stderr)
        return 1
    return 0


def _report(error: RevisionError) -> None:
    """A revision's problem on stderr: a positioned error (from rendering it) as it is, anything else as one
    line after `tusk-infra diff:` (a render's own `tusk-infra preview:` prefix replaced)."""
    text = str(error)
    if _POSITIONED.match(text) is None:
        text = f"tusk-infra diff: {text.removeprefix('tusk-infra preview: ')}"
    print(text, file=sys.stderr)


def _project_problem(project_dir: Path) -> str | None:
    if not (project_dir / "Pulumi.yaml").is_file():
        return f"no Pulumi.yaml in {project_dir}; run it in the project directory or pass --project-dir"
    return None


def _unwritable(path: Path | None, option: str) -> str | None:
    """Why `path` cannot take a report (a directory, or a missing or read-only folder), or None."""
    if path is None:
        return None
    folder = path.parent
    if path.is_dir():
        return f"cannot write {option} {path}: it is a directory"
    if not folder.is_dir():
        return f"cannot write {option} {path}: no directory {folder}"
    if not os.access(path if path.exists() else folder, os.W_OK):
        return f"cannot write {option} {path}: permission denied"
    return None


def _write(path: Path, text: str, option: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise OSError(f"cannot write {option} {path}: {error.strerror}") from None


def render_both(project_dir: Path, base: Revision, head: Revision) -> tuple[Plan, Plan]:
    """Both revisions' plans, rendered side by side; the worktrees go away whatever happens."""
    # One random key per run: the renders hash secrets with it and it dies with this process.
    digest_key = secrets.token_bytes(32)
    with ExitStack() as checkouts:
        base_dir = checkouts.enter_context(checked_out(project_dir, base))
        head_dir = checkouts.enter_context(checked_out(project_dir, head))
        with ThreadPoolExecutor(max_workers=2) as pool:
            base_plan = pool.submit(render_revision, base_dir, base, digest_key)
            head_plan = pool.submit(render_revision, head_dir, head, digest_key)
            return base_plan.result(), head_plan.result()


def _rerun_hint(args: argparse.Namespace) -> str:
    head = f" --head {args.head}" if args.head else ""
    return f"tusk-infra diff --base {args.base}{head}"

