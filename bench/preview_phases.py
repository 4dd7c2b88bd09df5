"""Benchmark: where a region's time goes in `preview --all-stacks`, phase by phase, in one process.

Run: .venv/bin/python bench/preview_phases.py [--regions N]

Generates the N-region project bench/preview.py measures (default 30), runs its stacks once in this process
as `preview` does (the runner with the preview's per-stack step), timing the first (database primary) stack on
its own: it is the one that loads the modules of every resource kind. Then runs them all again, warm, and
prints the milliseconds per stack of each phase: evaluating global.tsk into settings, Pulumi registering the
resources under the mocks (the recording monitor's share of it apart), and the per-stack step (its policy
check, its plan, its plain-text tree). Stacks run in one process (TUSK_INFRA_WORKERS=1), so the phases are not
mixed with a worker's; the collector is off, as in the CLI.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from preview import generate_project  # noqa: E402 (the benchmark beside this one)

from tusk_infra import project as stacks  # noqa: E402
from tusk_infra import stack as program  # noqa: E402
from tusk_infra.checks.apply import stack_check  # noqa: E402
from tusk_infra.offline import mocks, runner  # noqa: E402
from tusk_infra.offline.model import StackRun  # noqa: E402
from tusk_infra.render.plan import stack_plan_parts  # noqa: E402
from tusk_infra.render.tree import run_tree_lines  # noqa: E402

SPENT: dict[str, float] = {}


def timed(owner: Any, name: str, phase: str) -> None:
    """Wrap owner.name so each call's wall time adds to SPENT[phase]."""
    function: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[phase] = SPENT.get(phase, 0.0) + time.perf_counter() - started

    setattr(owner, name, wrapper)


def per_stack_step(project: Path) -> Callable[[StackRun], None]:
    """The preview's per-stack step (commands/preview.py), each part timed."""
    def prepare(run: StackRun) -> None:
        for phase, derive in (("policy check", stack_check), ("plan", stack_plan_parts),
                              ("plain-text tree", run_tree_lines)):
            started = time.perf_counter()
            derive(run, project)
            SPENT[phase] = SPENT.get(phase, 0.0) + time.perf_counter() - started

    return prepare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regions", type=int, default=30)
    args = parser.parse_args()
    os.environ["TUSK_INFRA_WORKERS"] = "1"
    gc.disable()
    timed(program, "load", "evaluate global.tsk, settings")
    timed(runner, "_execute", "register resources (Pulumi SDK + mocks)")
    timed(mocks.RecordingMonitor, "RegisterResource", "  of which the recording monitor")
    with tempfile.TemporaryDirectory(prefix="tusk-infra-bench-") as scratch:
        project = generate_project(Path(scratch) / "project", args.regions)
        primary = stacks.primary_first(stacks.stack_files(project, stacks.stack_names(project)))[0]
        started = time.perf_counter()
        runner.run_stacks(project, [primary], prepare=per_stack_step(project))
        first = time.perf_counter() - started
        runner.run_stacks(project, prepare=per_stack_step(project))  # every stack once, warm
        SPENT.clear()
        started = time.perf_counter()
        runs = runner.run_stacks(project, prepare=per_stack_step(project))
        total = time.perf_counter() - started
    count = len(runs)
    print(f"{args.regions} regions, one process; the primary stack run first, cold: {first * 1000:.0f} ms "
          f"(loading the resource modules)")
    print(f"warm, per stack: {total / count * 1000:.1f} ms in all")
    for phase, seconds in sorted(SPENT.items(), key=lambda item: -item[1]):
        print(f"  {phase:44}{seconds / count * 1000:6.1f} ms")
    resources = sum(len(run.resources) for run in runs) / count
    print(f"resources per stack: {resources:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
