"""Profile: where the time of one evaluation goes, per section, as the document grows.

Run: .venv/bin/python bench/tsk_phases.py [--sizes 100,500,2000,5000,20000]

Evaluates the documents of bench/tsk_parse.py the way `evaluate_text` does (collector paused, then switched
back on), timing each phase in CPU time (best of several runs): loading (static lines straight into the
tables, the rest parsed and laid out), evaluating, the collector's pass when it is switched back on, and
freeing the result. A phase whose cost per section grows with the size is what makes the whole grow faster
than the input. It also prints the 10x growth with the collector off for the whole run, and the memory a
loaded layout keeps per section beside tomllib's result. Reads language internals: a profile, not an API.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tomllib
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tsk_parse import documents, evaluate_static  # noqa: E402

from tusk_infra.tusk.errors import SourceText  # noqa: E402
from tusk_infra.tusk.evaluator import Evaluator  # noqa: E402
from tusk_infra.tusk.loader import load  # noqa: E402
from tusk_infra.tusk.providers import Providers  # noqa: E402

PHASES = ("load", "evaluate", "collector", "free")


def phase_times(text: str) -> list[float]:
    """CPU seconds of each phase of one evaluation, from a collected heap."""
    gc.collect()
    gc.disable()
    clock = time.process_time
    started = clock()
    source = SourceText(text, "bench.tsk")
    layout = load(source)
    laid_out = clock()
    data = Evaluator(layout, {}, Providers(env={})).run()
    evaluated = clock()
    gc.enable()
    trigger = [[]]  # the first allocation after switching the collector on runs its pass
    collected = clock()
    del layout, source, data, trigger
    freed = clock()
    ends = [started, laid_out, evaluated, collected, freed]
    return [end - start for start, end in zip(ends[:-1], ends[1:], strict=True)]


def best_phases(sections: int, runs: int) -> list[float]:
    """The best time of each phase over `runs` evaluations."""
    text = documents(sections)[0]
    timings = [phase_times(text) for _ in range(runs)]
    return [min(run[index] for run in timings) for index in range(len(PHASES))]


def growth_without_collector(small: int, large: int, runs: int) -> float:
    """Time of `large` sections over time of `small` ones, the collector off throughout."""
    texts = {size: documents(size)[0] for size in (small, large)}
    best = {size: float("inf") for size in texts}
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            for size, text in texts.items():
                for _ in range(large // size):
                    started = time.process_time()
                    evaluate_static(text)
                    best[size] = min(best[size], time.process_time() - started)
    finally:
        gc.enable()
    return best[large] / best[small]


def main(argv: list[str] | None = None) -> int:
    """Print each phase's cost per section at each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,2000,5000,20000")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    evaluate_static("a: 1\n")  # build the LALR tables once
    print(f"{'µs per section (CPU time)':<31}" + "  ".join(f"{phase:>9}" for phase in PHASES))
    for size in sizes:
        runs = max(3, 20_000 // size // 2)
        best = best_phases(size, runs)
        cells = "  ".join(f"{seconds / size * 1e6:9.2f}" for seconds in best)
        print(f"{size:6d} sections, best of {runs:3d}: {cells}")
    growth = growth_without_collector(500, 5000, 5)
    print(f"growth 500 -> 5000 sections with the collector off: {growth:.1f}x")
    layout_bytes, toml_bytes = memory_per_section(5000)
    print(f"memory per section (5000 sections): layout {layout_bytes:.0f} B, tomllib's {toml_bytes:.0f} B")
    return 0


def memory_per_section(sections: int) -> tuple[float, float]:
    """Bytes per section the loaded layout keeps alive, and the same for tomllib's result (tracemalloc)."""
    tsk_text, toml_text = documents(sections)
    tracemalloc.start()
    try:
        layout = load(SourceText(tsk_text, "bench.tsk"))
        layout_bytes = tracemalloc.get_traced_memory()[0]
        del layout
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        data = tomllib.loads(toml_text)
        toml_bytes = tracemalloc.get_traced_memory()[0] - baseline
        del data
    finally:
        tracemalloc.stop()
    return layout_bytes / sections, toml_bytes / sections


if __name__ == "__main__":
    raise SystemExit(main())
