"""Benchmark: TuskLang parse+evaluate against Python's tomllib on the same ~1 MB document.

Run: .venv/bin/python bench/tsk_parse.py [--sections N] [--repeat R]

Prints MB/s for both, the throughput ratio (target >= 1.0x tomllib), the evaluation time of a realistic
global.tsk (the seed's restored global.tsk + distributed.tsk), and the growth when the input is 10x larger
(target <= 12x), with the per-byte cost at sizes in between and a least-squares fit of time against size.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tusk_infra.tusk import Providers, StaticMetrics, evaluate_text

SEED_DIR = Path(__file__).resolve().parents[1] / "tests" / "tsk" / "seed"


def tsk_section(index: int) -> str:
    """One section of the static benchmark document, in TuskLang."""
    return (
        f"[service_{index:05d}]\n"
        f'name: "service-{index:05d}"\n'
        f"port: {8000 + index % 1000}\n"
        f"weight: {index % 97 / 10}\n"
        f"enabled: {'true' if index % 2 else 'false'}\n"
        f'tags: ["web", "tier-{index % 3}", "zone-{chr(97 + index % 6)}"]\n'
        f'hosts: ["10.0.{index % 250}.1", "10.0.{index % 250}.2"]\n'
        "limits {\n"
        '    cpu: "500m"\n'
        '    memory: "256Mi"\n'
        "    retry {\n"
        f"        attempts: {index % 5 + 1}\n"
        "        backoff: 1.5\n"
        "    }\n"
        "}\n"
    )


def toml_section(index: int) -> str:
    """The same section in TOML."""
    return (
        f"[service_{index:05d}]\n"
        f'name = "service-{index:05d}"\n'
        f"port = {8000 + index % 1000}\n"
        f"weight = {index % 97 / 10}\n"
        f"enabled = {'true' if index % 2 else 'false'}\n"
        f'tags = ["web", "tier-{index % 3}", "zone-{chr(97 + index % 6)}"]\n'
        f'hosts = ["10.0.{index % 250}.1", "10.0.{index % 250}.2"]\n'
        f"[service_{index:05d}.limits]\n"
        'cpu = "500m"\n'
        'memory = "256Mi"\n'
        f"[service_{index:05d}.limits.retry]\n"
        f"attempts = {index % 5 + 1}\n"
        "backoff = 1.5\n"
    )


def documents(sections: int) -> tuple[str, str]:
    """The TuskLang and TOML texts with `sections` sections each."""
    return (
        "".join(tsk_section(i) for i in range(sections)),
        "".join(toml_section(i) for i in range(sections)),
    )


def best_of(repeat: int, *runs: Callable[[], Any]) -> list[float]:
    """The fastest of `repeat` timed runs of each function, in seconds.

    The runs are interleaved (a, b, a, b, ...) so a noisy machine slows both sides alike, and timed in
    process CPU time, which other processes on a shared machine disturb far less than wall-clock time.
    """
    timings: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, times in zip(runs, timings, strict=True):
            started = time.process_time()
            run()
            times.append(time.process_time() - started)
    return [min(times) for times in timings]


@dataclass
class SizeTimings:
    """CPU seconds per evaluation at one size: from the best batch, and the best single run."""

    batch: float
    single: float


def growth_timings(parse: Callable[[str], Any], texts: dict[int, str], rounds: int) -> dict[int, SizeTimings]:
    """How long one `parse` of each text (keyed by its number of sections) takes, in CPU seconds.

    Every size is timed in `rounds` batches of equal length: a batch at size n parses the text
    largest // n times (the 500-section document 10 times, as long as one 5,000-section run), and the
    figure is the best batch divided by its runs. Comparing the best of 5 equal batches with the best of
    5 equal batches is fair; comparing the best of 50 short runs with the best of 5 long ones is not (the
    more samples, the luckier the best), so that reading is kept only for comparison (`single`).
    The sizes take turns each round, so a busy spell on a shared machine slows all of them. Garbage is
    collected before each batch, outside the timing; freeing each result is inside it.
    """
    largest = max(texts)
    batches: dict[int, list[float]] = {size: [] for size in texts}
    singles: dict[int, list[float]] = {size: [] for size in texts}
    clock = time.process_time
    for _ in range(rounds):
        for size, text in texts.items():
            runs = largest // size
            gc.collect()
            batch_started = clock()
            for _ in range(runs):
                started = clock()
                parse(text)
                singles[size].append(clock() - started)
            batches[size].append((clock() - batch_started) / runs)
    return {size: SizeTimings(min(batches[size]), min(singles[size])) for size in texts}


def least_squares(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(slope, intercept) of the line closest to the points."""
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    return slope, mean_y - slope * mean_x


def print_growth(sections: int, rounds: int) -> None:
    """The growth for 10x the input, the per-byte cost at each size and the straight-line fit."""
    sizes = [sections // 10, sections // 5, sections // 2, sections]
    texts = {size: documents(size) for size in sizes}
    best = growth_timings(evaluate_static, {size: texts[size][0] for size in sizes}, rounds)
    # tomllib measured the same way in its own loop (not interleaved: each parser starts from its own heap).
    toml_best = growth_timings(tomllib.loads, {size: texts[size][1] for size in sizes}, rounds)
    size_bytes = {size: len(texts[size][0].encode()) for size in sizes}
    for size in sizes:
        print(f"  {size:6d} sections {size_bytes[size] / 1e6:5.2f} MB: {best[size].batch * 1000:7.1f} ms "
              f"(best of {rounds} batches of {sections // size:2d}), "
              f"{best[size].batch / size_bytes[size] * 1e9:5.1f} ns/byte")
    slope, intercept = least_squares([(size_bytes[size], best[size].batch) for size in sizes])
    print(f"  least squares: {slope * 1e9:.1f} ns/byte + {intercept * 1000:.1f} ms")
    small, large = sizes[0], sizes[-1]
    growth = best[large].batch / best[small].batch
    per_byte = growth * size_bytes[small] / size_bytes[large]
    verdict = "linear: <= 12x" if growth <= 12 else "superlinear: > 12x"
    print(
        f"growth: {small} -> {large} sections (10x input) took {growth:.1f}x time ({verdict}); "
        f"per-byte cost {per_byte:.2f}x the small document's"
    )
    single = best[large].single / best[small].single
    print(f"  best single runs instead (best of {rounds * (sections // small)} vs {rounds}): {single:.1f}x")
    toml_growth = toml_best[large].batch / toml_best[small].batch
    print(f"  for reference, tomllib on the same sizes, measured the same way: {toml_growth:.1f}x")


def evaluate_static(text: str) -> dict[str, Any]:
    """Parse and evaluate with no external inputs."""
    return evaluate_text(text, filename="bench.tsk", providers=Providers(env={})).data


def realistic_eval_ms(repeat: int) -> float:
    """Best time (ms) to evaluate the seed's global.tsk and distributed.tsk as a stack would."""
    env = json.loads((SEED_DIR / "distributed.inputs.json").read_text(encoding="utf-8"))["env"]
    env.update({"REGION": "us-west-2", "ZONE": "us-west-2a"})
    texts = [(SEED_DIR / name).read_text(encoding="utf-8") for name in ("global.tsk", "distributed.tsk")]

    def run() -> None:
        for text in texts:
            evaluate_text(text, providers=Providers(env=env, metrics=StaticMetrics({"cpu_usage": 50})))

    return best_of(repeat, run)[0] * 1000


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures the README quotes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    tsk_text, toml_text = documents(args.sections)
    evaluate_static("a: 1\n")  # build the LALR tables once, as every process does before its first file
    if evaluate_static(tsk_text) != tomllib.loads(toml_text):
        print("error: the TuskLang and TOML documents do not evaluate to the same data", file=sys.stderr)
        return 1
    tsk_seconds, toml_seconds = best_of(
        args.repeat, lambda: evaluate_static(tsk_text), lambda: tomllib.loads(toml_text)
    )
    tsk_mb = len(tsk_text.encode()) / 1e6
    toml_mb = len(toml_text.encode()) / 1e6
    tsk_rate, toml_rate = tsk_mb / tsk_seconds, toml_mb / toml_seconds
    print(
        f"document: {args.sections} sections, .tsk {tsk_mb:.2f} MB, .toml {toml_mb:.2f} MB, "
        f"best of {args.repeat} (CPU time)"
    )
    print(f"tusk parse+evaluate: {tsk_seconds * 1000:8.1f} ms  {tsk_rate:5.2f} MB/s")
    print(f"tomllib.loads:       {toml_seconds * 1000:8.1f} ms  {toml_rate:5.2f} MB/s")
    print(f"throughput ratio (tusk / tomllib): {tsk_rate / toml_rate:.2f}x  (target >= 1.00x)")

    print(f"realistic global.tsk + distributed.tsk evaluation: {realistic_eval_ms(args.repeat):.2f} ms")

    print(f"growth, {args.repeat} rounds (CPU time):")
    print_growth(args.sections, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
