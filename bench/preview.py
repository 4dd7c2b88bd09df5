"""Benchmark: `tusk-infra preview --all-stacks` against a process that only imports what the program imports.

Run: .venv/bin/python bench/preview.py [--repeat R] [--regions 3,10,20,30]

1. Wall time and peak memory (ru_maxrss of the child process) of the preview of the project's own stacks,
   and of a baseline child that only imports pulumi and the pulumi_aws / pulumi_kubernetes modules the
   program loads (found by running the preview once and listing them). Target: preview <= 2x the baseline.
2. Scale: a generated project (global.tsk and one Pulumi.<region>.yaml per region) with up to 30 regions, to
   show the preview grows linearly. Targets: <= 0.1 s and <= 10 MB per extra region, and the 30-region
   preview <= 1.7x the time of the 3-region one (when both counts are run).
The project is the tests' fixture project (tests/fixtures/project), so the figures do not move with edits to
the live global.tsk; --project DIR measures another one (the live one: --project .).
Each run is a fresh process, the commands of a table take turns; wall and CPU time are the best of R runs
(default 5: the machine's other load only ever adds time), peak memory the median.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "project"
PRIMARY = "us-east-1"
TEMPLATE_REPLICA = "us-west-2"
# 29 replica regions besides the primary: real AWS region names, so every check of region names passes.
REPLICA_REGIONS = (
    "us-west-2", "eu-west-1", "us-east-2", "us-west-1", "ca-central-1", "ca-west-1", "sa-east-1",
    "mx-central-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "eu-south-2", "af-south-1", "me-south-1", "me-central-1", "il-central-1", "ap-south-1", "ap-south-2",
    "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ap-southeast-3", "ap-southeast-4",
)
_PULUMI_PACKAGES = ("pulumi", "pulumi_aws", "pulumi_kubernetes")
_LIST_MODULES = """
import contextlib, io, json, sys
from tusk_infra.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["preview", "--all-stacks", "--project-dir", sys.argv[1]])
assert code == 0, code
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {packages!r})))
"""


@dataclass(frozen=True)
class Sample:
    wall_seconds: float
    # User + system CPU time of the child: what the work costs, much less disturbed by other load than wall.
    cpu_seconds: float
    peak_mb: float


def measure(command: list[str], env: dict[str, str]) -> Sample:
    """Run `command` once; its wall time and its own peak RSS (os.wait4 gives the child's rusage alone)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        stderr = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(wall, cpu, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def best_of_interleaved(commands: list[list[str]], env: dict[str, str], repeat: int) -> list[Sample]:
    """Per command: best wall and CPU time, median peak memory of `repeat` fresh runs. The commands take
    turns, so a burst of other load on the machine hits all of them alike rather than one."""
    runs: list[list[Sample]] = [[] for _ in commands]
    for _ in range(repeat):
        for samples, command in zip(runs, commands, strict=True):
            samples.append(measure(command, env))
    return [Sample(min(s.wall_seconds for s in samples), min(s.cpu_seconds for s in samples),
                   statistics.median(s.peak_mb for s in samples)) for samples in runs]


def bench_env() -> dict[str, str]:
    """No secrets, no colours: the same preview for everyone who runs the benchmark."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {name: value for name, value in os.environ.items() if name in keep}


def program_modules(project_dir: Path, env: dict[str, str]) -> list[str]:
    """The pulumi / pulumi_aws / pulumi_kubernetes modules a preview actually loads."""
    script = _LIST_MODULES.format(packages=set(_PULUMI_PACKAGES))
    output = subprocess.run([sys.executable, "-c", script, str(project_dir)], env=env, check=True,
                            capture_output=True, text=True).stdout
    modules: list[str] = json.loads(output)
    return modules


def preview_command(project_dir: Path) -> list[str]:
    return [sys.executable, "-m", "tusk_infra", "preview", "--all-stacks", "--project-dir", str(project_dir)]


def baseline_command(modules: list[str]) -> list[str]:
    return [sys.executable, "-c", f"import importlib\nfor m in {modules!r}: importlib.import_module(m)"]


def generate_project(destination: Path, regions: int) -> Path:
    """A copy of the project's configuration with the primary and `regions - 1` replica regions."""
    replicas = REPLICA_REGIONS[: regions - 1]
    destination.mkdir(parents=True)
    shutil.copy2(PROJECT / "Pulumi.yaml", destination)
    shutil.copy2(PROJECT / f"Pulumi.{PRIMARY}.yaml", destination)
    template = (PROJECT / f"Pulumi.{TEMPLATE_REPLICA}.yaml").read_text(encoding="utf-8")
    # Each stack's metric snapshot too, so every region evaluates @metrics as the real ones do.
    (destination / "metrics").mkdir()
    shutil.copy2(PROJECT / "metrics" / f"{PRIMARY}.json", destination / "metrics")
    snapshot = (PROJECT / "metrics" / f"{TEMPLATE_REPLICA}.json").read_text(encoding="utf-8")
    for region in replicas:
        short = "".join(part[:2] for part in region.split("-"))
        stack_file = template.replace(TEMPLATE_REPLICA, region).replace("usw2", short)
        (destination / f"Pulumi.{region}.yaml").write_text(stack_file, encoding="utf-8")
        (destination / "metrics" / f"{region}.json").write_text(
            snapshot.replace(TEMPLATE_REPLICA, region).replace("usw2", short), encoding="utf-8")
    (destination / "global.tsk").write_text(generated_global_tsk(replicas), encoding="utf-8")
    return destination


def generated_global_tsk(replicas: tuple[str, ...]) -> str:
    """global.tsk with one regional_config block per region and every replica in database.replica_regions."""
    text = (PROJECT / "global.tsk").read_text(encoding="utf-8")
    key = TEMPLATE_REPLICA.replace("-", "_")
    block = re.search(rf"^{key} \{{.*?^\}}\n", text, re.S | re.M)
    replica_line = re.search(r"^replica_regions: \[.*\]$", text, re.M)
    if block is None or replica_line is None:
        raise SystemExit("global.tsk has no us_west_2 block or replica_regions line: update bench/preview.py")
    blocks = "".join(
        "\n" + block.group(0).replace(key, region.replace("-", "_")).replace(TEMPLATE_REPLICA, region)
        for region in replicas if region.replace("-", "_") + " {" not in text
    )
    text = text.replace(block.group(0), block.group(0) + blocks, 1)
    listed = ", ".join(f'"{region}"' for region in replicas)
    return text.replace(replica_line.group(0), f"replica_regions: [{listed}]", 1)


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares growth per region."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x in xs)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--regions", default="3,10,20,30", help="region counts for the scale run")
    parser.add_argument("--project", type=Path, default=PROJECT, help="the project to measure and to grow")
    args = parser.parse_args()
    _use_project(args.project.resolve())
    env = bench_env()
    modules = program_modules(PROJECT, env)
    baseline, preview = best_of_interleaved([baseline_command(modules), preview_command(PROJECT)], env,
                                            args.repeat)
    print(f"{'':58}wall s   cpu s   peak MB")
    print(f"{f'baseline: import the {len(modules)} pulumi* modules the program loads':58}{_row(baseline)}")
    print(f"{'preview --all-stacks (the project: 3 stacks)':58}{_row(preview)}")
    print(f"{'ratio (target <= 2.0x)':58}{preview.wall_seconds / baseline.wall_seconds:6.2f}x "
          f"{preview.cpu_seconds / baseline.cpu_seconds:6.2f}x {preview.peak_mb / baseline.peak_mb:8.2f}x")
    counts = [int(n) for n in args.regions.split(",")]
    print("\nscale: generated projects, preview --all-stacks")
    print("regions   wall s   cpu s   peak MB")
    with tempfile.TemporaryDirectory(prefix="tusk-infra-bench-") as scratch:
        projects = [generate_project(Path(scratch) / f"regions-{count}", count) for count in counts]
        samples = best_of_interleaved([preview_command(project) for project in projects], env, args.repeat)
    points = list(zip(counts, samples, strict=True))
    for count, sample in points:
        print(f"{count:7d}   {_row(sample)}")
    wall_slope = slope([(n, s.wall_seconds) for n, s in points])
    cpu_slope = slope([(n, s.cpu_seconds) for n, s in points])
    memory_slope = slope([(n, s.peak_mb) for n, s in points])
    print(f"per extra region (least squares; target <= 0.1 s, <= 10 MB): wall {wall_slope:.3f} s   "
          f"cpu {cpu_slope:.3f} s   memory {memory_slope:.2f} MB")
    by_count = dict(points)
    if 3 in by_count and 30 in by_count:
        few, many = by_count[3], by_count[30]
        print(f"30 regions / 3 regions (target <= 1.7x): wall {many.wall_seconds / few.wall_seconds:.2f}x   "
              f"cpu {many.cpu_seconds / few.cpu_seconds:.2f}x")
    return 0


def _use_project(project: Path) -> None:
    global PROJECT
    PROJECT = project


def _row(sample: Sample) -> str:
    return f"{sample.wall_seconds:6.3f}  {sample.cpu_seconds:6.3f}  {sample.peak_mb:8.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
