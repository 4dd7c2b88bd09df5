"""`tusk-infra preview`: what every region stack would get, rendered offline with no credentials."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tusk_infra.commands import write_output
from tusk_infra.render.findings import attach_change_policies, policy_findings
from tusk_infra.render.plan import Plan, build_plan, plan_json
from tusk_infra.render.revisions import DigestKeyError, digest_key_from_env
from tusk_infra.tusk import TuskError

if TYPE_CHECKING:
    from tusk_infra.offline.model import StackRun


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
    parser.add_argument("--live-metrics", action="store_true",
                        help="read @metrics from each stack's provider now, not its snapshot "
                        "metrics/<stack>.json (the plan then depends on the moment it runs)")
    parser.add_argument("--project-dir", type=Path, default=Path("."), metavar="DIR",
                        help="the directory holding Pulumi.yaml and global.tsk (default: .)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Render the requested stacks; on any error print it to stderr and print nothing to stdout."""
    # Imported here, not at the top: building the command line must not pay for pulumi's import.
    from tusk_infra.offline.runner import ProjectError
    from tusk_infra.project import UnknownStack, find_project_dir

    args.project_dir = find_project_dir(args.project_dir)
    terminal = _terminal() if args.format == "text" else None
    plain = terminal is not None and not terminal.is_terminal  # drawn without rich's layout (render.tree)
    try:
        plan, freshness, runs = _plan_and_runs(args, draw_trees=plain)
    except TuskError as error:
        print(error.render(), file=sys.stderr)
        return 1
    except UnknownStack as error:
        print(f"tusk-infra preview: error: --stack {args.stack}: {error}", file=sys.stderr)
        return 2
    except (DigestKeyError, ProjectError) as error:
        print(f"tusk-infra preview: {error}", file=sys.stderr)
        return 1
    # Everything is rendered before anything is written: an error never leaves half a preview on stdout.
    output = plan_json(plan) if terminal is None else _text(plan, runs if plain else [], args.project_dir,
                                                            terminal)
    write_output(output)
    # Apart from the plan, on stderr: how old a snapshot is depends on when the preview runs.
    for message in freshness:
        print(f"warning: {message}", file=sys.stderr)
    return 0


def _terminal() -> Any:
    # rich (the tree renderer's library) is imported only for a text preview: JSON never needs it.
    from rich.console import Console

    return Console()


def _text(plan: Plan, runs: list[StackRun], project_dir: Path, terminal: Any) -> str:
    """The plan as text; each of `runs` lends the plain tree its runner step drew."""
    from tusk_infra.render.tree import render_text, run_tree_lines

    trees = {run.stack: run_tree_lines(run, project_dir) for run in runs}
    return str(render_text(plan, terminal=terminal, trees=trees))


def _plan_and_runs(
    args: argparse.Namespace, *, draw_trees: bool
) -> tuple[Plan, list[str], list[StackRun]]:
    """Run the stacks offline, check them against the policy pack and build their plan; with it, what to say
    about the age of the metric snapshots read (kept out of the plan) and the runs it was built from."""
    from tusk_infra.offline.runner import run_stacks, select_stacks

    digest_key = digest_key_from_env() if args.format == "json" else None
    stacks = select_stacks(args.project_dir, None if args.all_stacks else args.stack)
    _freeze_imported_objects()
    runs = run_stacks(args.project_dir, stacks, env=dict(os.environ), strict_secrets=args.strict_secrets,
                      live_metrics=getattr(args, "live_metrics", False),
                      prepare=_per_stack_work(args.project_dir, digest_key, draw_trees))
    plan = build_plan(runs, args.project_dir, findings=policy_findings(runs, args.project_dir),
                      digest_key=digest_key)
    plan = attach_change_policies(plan, runs, args.project_dir)
    return plan, [message for run in runs for message in run.freshness], runs


def _per_stack_work(
    project_dir: Path, digest_key: bytes | None, draw_trees: bool
) -> Callable[[StackRun], None]:
    """What the plan needs of each run alone, done as soon as the run is made, in the process that made it
    (a forked worker at many stacks: see run_stacks), so only the cross-stack part is left for the end.
    Imported here, before any worker starts: each inherits the modules instead of importing them again."""
    from tusk_infra.checks.apply import stack_check
    from tusk_infra.render.plan import stack_plan_parts

    draw: Callable[[StackRun, Path], object] | None = None
    if draw_trees:  # only then: the tree module imports rich, which a JSON preview never loads
        from tusk_infra.render.tree import run_tree_lines as draw

    def prepare(run: StackRun) -> None:
        stack_check(run, project_dir)
        stack_plan_parts(run, project_dir, digest_key)
        if draw is not None:
            draw(run, project_dir)

    return prepare


@cache
def _freeze_imported_objects() -> None:
    # The ~700 pulumi_aws / pulumi_kubernetes modules the program imports live as long as the process; moving
    # them out of the collector's sight stops every full collection from rescanning them (measured: 17% of a
    # 30-region preview). Once per process, so later garbage stays collectable.
    gc.freeze()
