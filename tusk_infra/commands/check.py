"""`tusk-infra check`: the policy pack applied offline to every region stack; exit 1 on a mandatory one."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from tusk_infra.commands import write_output
from tusk_infra.tusk.errors import TuskError


def register(subparsers: Any) -> None:
    """Add `check` to the command line."""
    parser = subparsers.add_parser(
        "check",
        help="apply the policy pack to each region stack, offline",
        description="Run the Pulumi program offline (mock engine: no CLI, no credentials, no network) and "
        "apply every policy of the CrossGuard pack in policy/ to what each stack would create. Exits 1 when "
        "a mandatory policy is violated and not acknowledged in tusk-infra:policyAcknowledgements.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", metavar="NAME", help="one stack, e.g. us-west-2")
    target.add_argument("--all-stacks", action="store_true", help="every Pulumi.<stack>.yaml, primary first")
    parser.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default=None,
        help="the report: text for people (default), json, or SARIF 2.1.0 for code scanning",
    )
    parser.add_argument(
        "--cross-stack",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with several stacks, also apply the policies that span regions (connection-budget, "
        "rds-replica-count) to them together: a primary database's budget then counts every region's "
        "writers (default: on)",
    )
    parser.add_argument(
        "--policy-pack-config",
        action="store_true",
        help="print the --policy-pack-config JSON that makes `pulumi preview --policy-pack policy` "
        "apply the same limits to the stack, instead of checking (with --stack only: one file per stack; "
        "always JSON: not with --format or --[no-]cross-stack, which shape the check's report)",
    )
    parser.add_argument(
        "--strict-secrets",
        action="store_true",
        help="fail instead of using placeholders for secrets not available offline",
    )
    parser.add_argument(
        "--live-metrics",
        action="store_true",
        help="read @metrics from each stack's provider now, not its snapshot metrics/<stack>.json",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the directory holding Pulumi.yaml and global.tsk (default: .)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the requested stacks; print the report, or on an error only the error (to stderr)."""
    if args.policy_pack_config and args.all_stacks:
        # A map keyed by stack is a file no engine reads: `pulumi preview --policy-pack-config` takes one.
        print("tusk-infra check: error: --policy-pack-config prints one stack's CrossGuard config, for "
              "`pulumi preview --stack NAME --policy-pack-config FILE`: pass --stack NAME instead of "
              "--all-stacks (once per stack)", file=sys.stderr)
        return 2
    given = _report_options(args) if args.policy_pack_config else []
    if given:
        # Printing the config JSON for `--format sarif` would hand a code-scanning upload the wrong document.
        verb = "applies" if len(given) == 1 else "apply"
        print(f"tusk-infra check: error: --policy-pack-config prints the CrossGuard config as JSON, not a "
              f"report; {' and '.join(given)} only {verb} to the report: use one or the other",
              file=sys.stderr)
        return 2
    # Imported here: building the command line must not pay for pulumi's import.
    from tusk_infra.checks import check_runs
    from tusk_infra.checks.apply import stack_check
    from tusk_infra.checks.snapshot_age import add_snapshot_findings
    from tusk_infra.offline.runner import ProjectError, run_stacks, select_stacks
    from tusk_infra.project import UnknownStack, find_project_dir

    args.project_dir = find_project_dir(args.project_dir)
    try:
        stacks = select_stacks(args.project_dir, None if args.all_stacks else args.stack)
        # Each stack's own policy check runs as soon as the stack has run, in the worker that ran it.
        check_each = None if args.policy_pack_config else partial(stack_check, project_dir=args.project_dir)
        runs = run_stacks(args.project_dir, stacks, env=dict(os.environ), strict_secrets=args.strict_secrets,
                          live_metrics=args.live_metrics, prepare=check_each)
        if args.policy_pack_config:
            write_output(_pack_config(runs, args.project_dir))
            return 0
        result = check_runs(runs, args.project_dir, cross_stack=args.cross_stack is not False)
        # Apart from check_runs, whose results the preview's plan embeds: this one depends on today's date.
        add_snapshot_findings(result, runs, args.project_dir, datetime.now(UTC))
        report = _render(result, args.format or "text", args.project_dir)
    except TuskError as error:
        print(error.render(), file=sys.stderr)
        return 1
    except UnknownStack as error:
        print(f"tusk-infra check: error: --stack {args.stack}: {error}", file=sys.stderr)
        return 2
    except ProjectError as error:
        print(f"tusk-infra check: {error}", file=sys.stderr)
        return 1
    write_output(report)
    return 0 if result.passed else 1


def _report_options(args: argparse.Namespace) -> list[str]:
    """The options given that only shape the check's report, as written."""
    given = [f"--format {args.format}"] if args.format is not None else []
    if args.cross_stack is not None:
        given.append("--cross-stack" if args.cross_stack else "--no-cross-stack")
    return given


def _render(result: Any, output_format: str, project_dir: Path) -> str:
    from tusk_infra.checks.report_json import render_json
    from tusk_infra.checks.report_sarif import render_sarif
    from tusk_infra.checks.report_text import render_text

    renderers = {"text": render_text, "json": render_json, "sarif": render_sarif}
    return str(renderers[output_format](result, project_dir))


def _pack_config(runs: list[Any], project_dir: Path) -> str:
    """The CrossGuard config document of the one stack asked for."""
    from tusk_policy import BY_ID

    from tusk_infra.checks.config import stack_policy_config
    from tusk_infra.checks.stack_file import read_stack_settings

    configs = {
        run.stack: stack_policy_config(
            read_stack_settings(project_dir, run.stack), run.settings, BY_ID
        ).crossguard()
        for run in runs
    }
    return json.dumps(next(iter(configs.values())), indent=2) + "\n"
