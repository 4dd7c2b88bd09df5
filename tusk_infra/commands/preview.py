"""`tusk-infra preview`: what every region stack would get, rendered offline with no credentials."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from tusk_infra.offline.model import StackRun
from tusk_infra.render.plan import build_plan, plan_json
from tusk_infra.render.revisions import DIGEST_KEY_VARIABLE
from tusk_infra.render.tree import render_text
from tusk_infra.tusk import TuskError

if TYPE_CHECKING:
    from tusk_infra.checks import Finding

# A shorter key would make the keyed hashes of short secrets guessable.
_MIN_KEY_BYTES = 32


class DigestKeyError(Exception):
    """The digest key variable is set but unusable."""


def register(subparsers: Any) -> None:
    """Add `preview` to the command line."""
    parser = subparsers.add_parser(
        "preview",
        help="show what each region stack would create, offline",
        description="Run the Pulumi program offline (mock engine: no CLI, no credentials, no network) and "
        "show what `pulumi preview` would create in each region stack.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", metavar="NAME", help="one stack, e.g. us-west-2")
    target.add_argument("--all-stacks", action="store_true", help="every Pulumi.<stack>.yaml, primary first")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="a tree for people (default) or the stable plan JSON")
    parser.add_argument("--strict-secrets", action="store_true",
                        help="fail instead of using placeholders for secrets not available offline")
    parser.add_argument("--project-dir", type=Path, default=Path("."), metavar="DIR",
                        help="the directory holding Pulumi.yaml and global.tsk (default: .)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Render the requested stacks; on any error print it to stderr and print nothing to stdout."""
    # Imported here, not at the top: building the command line must not pay for pulumi's import.
    from tusk_infra.offline.runner import discover_stacks, run_stacks

    if not (args.project_dir / "Pulumi.yaml").is_file():
        print(f"tusk-infra preview: no Pulumi.yaml in {args.project_dir}; run it in the project directory "
              "or pass --project-dir", file=sys.stderr)
        return 1
    try:
        digest_key = digest_key_from_env() if args.format == "json" else None
        stacks = None if args.all_stacks else [args.stack]
        known = discover_stacks(args.project_dir)
        if args.stack is not None and args.stack not in known:
            print(f"tusk-infra preview: no stack '{args.stack}' (no Pulumi.{args.stack}.yaml in "
                  f"{args.project_dir}); the stacks are: {', '.join(known) or 'none'}", file=sys.stderr)
            return 1
        runs = run_stacks(args.project_dir, stacks, env=dict(os.environ), strict_secrets=args.strict_secrets)
        findings = policy_findings(runs, args.project_dir)
        plan = build_plan(runs, args.project_dir, findings=findings, digest_key=digest_key)
    except TuskError as error:
        print(error.render(), file=sys.stderr)
        return 1
    except DigestKeyError as error:
        print(f"tusk-infra preview: {error}", file=sys.stderr)
        return 1
    output = plan_json(plan) if args.format == "json" else render_text(plan, terminal=Console())
    sys.stdout.write(output)
    return 0


def policy_findings(runs: list[StackRun], project_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The policy pack's findings per stack, as plan data (source files relative to the project)."""
    from tusk_infra.checks import check_runs  # lazily, like the runner

    result = check_runs(runs, project_dir)
    return {stack.stack: [finding_data(finding, project_dir) for finding in stack.findings]
            for stack in result.stacks}


def finding_data(finding: Finding, project_dir: Path) -> dict[str, Any]:
    """One finding as plan data."""
    return {
        "policy": finding.policy,
        "level": finding.enforcement,
        "severity": finding.severity,
        "urn": finding.urn,
        "name": finding.resource_name,
        "type": finding.resource_type,
        "path": finding.path,
        "found": finding.found,
        "message": finding.message,
        "remediation": finding.remediation,
        "source": _source_position(finding, project_dir),
        "acknowledged": finding.acknowledged,
    }


def _source_position(finding: Finding, project_dir: Path) -> str | None:
    if finding.source is None:
        return None
    file = Path(finding.source.file)
    if file.is_absolute() and file.resolve().is_relative_to(project_dir.resolve()):
        file = file.resolve().relative_to(project_dir.resolve())
    return f"{file.as_posix()}:{finding.source.line}:{finding.source.column}"


def digest_key_from_env() -> bytes | None:
    """The random key `tusk-infra diff` hands its renders; absent when a person runs preview."""
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
