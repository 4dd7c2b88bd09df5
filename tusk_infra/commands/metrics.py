"""`tusk-infra metrics pull`: snapshot each stack's observed load into metrics/<stack>.json, for review.

Every `@metrics` name global.tsk mentions (in every branch) is read for the stack through its configured
provider as a peak over a window; the file is replaced only when every metric has a value, and what changed
against the previous snapshot is printed. Commit the files: preview, check, diff and `pulumi up` read them.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tusk_infra.backends.config import PULL_STATISTICS, parse_duration
from tusk_infra.backends.selection import add_aws_options, name_value, option_type, settings_from_args
from tusk_infra.backends.snapshot import (
    SnapshotError,
    display_name,
    read_snapshot,
    snapshot_changes,
    snapshot_path,
    write_snapshot,
)
from tusk_infra.commands import write_output
from tusk_infra.project import ProjectError, select_stacks
from tusk_infra.stack_config import config_strings, parse_stack_config
from tusk_infra.stack_file import load_stack_file, stack_file_path
from tusk_infra.stack_inputs import stack_backend_settings
from tusk_infra.tusk import TuskError
from tusk_infra.tusk.metric_names import MetricUse, metric_names, metric_uses_in_file

SETTINGS_FILE = "global.tsk"


def register(subparsers: Any) -> None:
    """Add `metrics` (with `pull`) to the command line."""
    parser = subparsers.add_parser(
        "metrics",
        help="snapshot observed load for @metrics (metrics/<stack>.json)",
        description="Metric snapshots: the observed load global.tsk's @metrics read, one reviewable file per "
        "stack, so the same commit always gives the same plan.",
    )
    actions = parser.add_subparsers(dest="metrics_action", metavar="ACTION", required=True)
    pull = actions.add_parser(
        "pull",
        help="read every @metrics name of global.tsk from the provider and write metrics/<stack>.json",
        description="Read every metric global.tsk mentions (in every @if branch) for each stack from its "
        "configured provider (CloudWatch GetMetricData with the stack's dimensions), reduce the window's "
        "per-period values to one peak, and write metrics/<stack>.json. On any failure the stack's old "
        "snapshot is left as it was.",
    )
    target = pull.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", metavar="NAME", help="one stack, e.g. us-west-2")
    target.add_argument("--all-stacks", action="store_true", help="every Pulumi.<stack>.yaml")
    pull.add_argument("--statistic", dest="backend_metrics_statistic", choices=PULL_STATISTICS,
                      help="how a window's values become one number "
                      "(default p95; tusk-infra:metricsStatistic)")
    pull.add_argument("--window", dest="backend_metrics_pull_window", metavar="DURATION",
                      type=option_type("metrics_pull_window_seconds"),
                      help="how far back to look (default 7d; tusk-infra:metricsPullWindow)")
    pull.add_argument("--period", type=_period, default=300, metavar="DURATION",
                      help="the per-period statistic's period (default 5m: CloudWatch keeps it 63 days)")
    pull.add_argument("--timeout", type=_seconds, default=60.0, metavar="DURATION",
                      help="total time allowed per stack (default 60s)")
    pull.add_argument("--metric-dimension", dest="backend_metric_dimensions", action="append",
                      type=name_value, metavar="NAME=VALUE",
                      help="fill a {NAME} in the CloudWatch dimensions, over tusk-infra:metricsDimensions")
    add_aws_options(pull, "the metrics")
    pull.add_argument("--project-dir", type=Path, default=Path("."), metavar="DIR",
                      help="the directory holding Pulumi.yaml and global.tsk (default: .)")
    pull.set_defaults(handler=run_pull)


def run_pull(args: argparse.Namespace) -> int:
    """Pull each requested stack; a failed one keeps its old file and makes the exit status 1."""
    project_dir: Path = args.project_dir
    try:
        stacks = select_stacks(project_dir, None if args.all_stacks else args.stack)
        uses = metric_uses_in_file(project_dir / SETTINGS_FILE)
    except ProjectError as error:
        print(f"tusk-infra metrics pull: {error}", file=sys.stderr)
        return 1
    except TuskError as error:
        print(error.render(), file=sys.stderr)
        return 1
    names = metric_names(uses)
    if not names:
        write_output(f"{SETTINGS_FILE} reads no @metrics: nothing to pull\n")
        return 0
    report: list[str] = []
    failed = False
    for stack in stacks:
        try:
            report.extend(_pull_stack(args, project_dir, stack, names, uses))
        except TuskError as error:
            print(error.render(), file=sys.stderr)
            failed = True
        except _StackFailure as failure:
            print(f"tusk-infra metrics pull: {failure}", file=sys.stderr)
            failed = True
    if report:
        write_output("\n".join(report) + "\n")
    return 1 if failed else 0


class _StackFailure(Exception):
    """One stack could not be pulled; the message says which, why, and that its file is unchanged."""


def _pull_stack(
    args: argparse.Namespace, project_dir: Path, stack: str, names: list[str], uses: list[MetricUse]
) -> list[str]:
    from tusk_infra.backends.metrics_pull import PullError, pull_snapshot

    stack_file = load_stack_file(stack_file_path(project_dir, stack))
    config = parse_stack_config(stack, config_strings(stack_file), stack_file)
    settings = settings_from_args(args, base=stack_backend_settings(config))
    path = snapshot_path(project_dir, stack)
    shown = display_name(path)
    if settings.metrics_provider != "cloudwatch":
        raise _StackFailure(
            f"stack {stack}: no metrics provider to pull from; set tusk-infra:metricsProvider: cloudwatch "
            f"(and tusk-infra:metricsDimensions) in {stack_file.path.name}; {shown} left unchanged")
    where: dict[str, str] = {}
    for use in uses:
        where.setdefault(use.name, f"{Path(use.file).name}:{use.line}:{use.column}")
    try:
        snapshot = pull_snapshot(stack, names, settings, now=datetime.now(UTC), period=args.period,
                                 timeout=args.timeout, where=where)
    except PullError as error:
        raise _StackFailure(f"stack {stack}: {error}; {shown} left unchanged") from None
    try:
        previous = read_snapshot(path)
    except SnapshotError:
        previous = None  # unreadable before: everything reads as new
    try:
        write_snapshot(path, snapshot)
    except OSError as error:
        raise _StackFailure(f"stack {stack}: cannot write {shown}: {error.strerror or error}") from None
    lines = [f"{shown}: pulled {snapshot.pulled_at_text}"]
    if previous is not None and previous.example:
        lines[0] += " (replaces the example snapshot)"
    lines.extend(f"  {line}" for line in snapshot_changes(previous, snapshot))
    return lines


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _period(text: str) -> int:
    seconds = _seconds(text)
    if seconds < 60 or seconds % 60:
        raise argparse.ArgumentTypeError(f"expected a multiple of 60s (e.g. 5m), found {text!r}")
    return int(seconds)
