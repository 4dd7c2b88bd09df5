"""Benchmark: how long the `tusk-infra` process takes to start, and what skipping GC and teardown saves.

Run: .venv/bin/python bench/startup.py [--repeat R] [--project DIR]

1. Start-up, whole process, median of R runs (default 21), the commands taking turns:
   `tusk-infra --version` against `python -c pass` (target <= 4x), and `tusk-infra eval examples/sample.tsk`
   against `python -c "import lark, pydantic"` (target <= 1.5x).
2. Short-lived process: `preview --all-stacks` and `check --all-stacks` through the console entry point (GC
   off for the run, no interpreter teardown) against the same command through `tusk_infra.cli.main()` with
   the interpreter's defaults (GC on, full teardown), median of R // 3 runs (at least 3) each.
Wall time of fresh processes, so the machine's other load shows: read the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "project"
SAMPLE = REPO / "examples" / "sample.tsk"
# main() without the console's shortcuts: what the process cost before they existed.
_WITH_TEARDOWN = "import sys; from tusk_infra.cli import main; sys.exit(main(sys.argv[1:]))"


def tusk_infra() -> list[str]:
    """The console script next to this interpreter (what a user runs), else `python -m tusk_infra`."""
    script = Path(sys.executable).with_name("tusk-infra")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tusk_infra"]


def run_once(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr.decode()}")
    return elapsed


def medians(commands: list[list[str]], env: dict[str, str], repeat: int) -> list[float]:
    """Median wall time of each command over `repeat` rounds; in each round every command runs once."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(repeat):
        for samples, command in zip(times, commands, strict=True):
            samples.append(run_once(command, env))
    return [statistics.median(samples) for samples in times]


def bench_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {name: value for name, value in os.environ.items() if name in keep}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--project", type=Path, default=FIXTURE,
                        help="project for part 2 (default: the tests' fixture project)")
    args = parser.parse_args()
    env = bench_env()
    cli = tusk_infra()
    python_pass = [sys.executable, "-c", "pass"]
    lark_pydantic = [sys.executable, "-c", "import lark, pydantic"]
    version = [*cli, "--version"]
    evaluate = [*cli, "eval", str(SAMPLE)]
    t_pass, t_libs, t_version, t_eval = medians([python_pass, lark_pydantic, version, evaluate], env,
                                                args.repeat)
    print(f"start-up, median of {args.repeat} (wall s)")
    print(f"  python -c pass                          {t_pass:7.3f}")
    print(f"  python -c 'import lark, pydantic'       {t_libs:7.3f}")
    print(f"  tusk-infra --version                    {t_version:7.3f}  {t_version / t_pass:5.2f}x "
          "python -c pass (target <= 4x)")
    print(f"  tusk-infra eval examples/sample.tsk     {t_eval:7.3f}  {t_eval / t_libs:5.2f}x lark+pydantic "
          "(target <= 1.5x)")

    rounds = max(3, args.repeat // 3)
    project = str(args.project)
    print(f"\nshort-lived process, median of {rounds} (wall s): console entry point vs main() with GC and "
          "teardown")
    for command in ("preview", "check"):
        argv = [command, "--all-stacks", "--project-dir", project]
        fast, slow = medians([[*cli, *argv], [sys.executable, "-c", _WITH_TEARDOWN, *argv]], env, rounds)
        print(f"  {command:8} --all-stacks   {fast:7.3f} vs {slow:7.3f}  {fast / slow:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
