"""`tusk-infra diff` across a re-pulled metric snapshot: which setting moved because of which metric,
with both values, the comparison and the global.tsk line; a snapshot change that moved nothing is listed
as such."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_diff_git import build_repo_files, commit
from test_preview_cli import offline_env, tusk_infra

PULLED_AT = "2026-12-07T10:00:00Z"


def repull(root: Path, stack: str, **values: float) -> None:
    """What a real pull writes over an example snapshot: new values, a new time, no example note."""
    path = root / "metrics" / f"{stack}.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document.pop("example", None)
    document["pulled_at"] = PULLED_AT
    for name, value in values.items():
        document["metrics"][name]["value"] = value
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@dataclass
class SnapshotDiffRun:
    markdown: str
    data: dict[str, Any]
    root: Path


@pytest.fixture(scope="module")
def snapshot_diff(tmp_path_factory: pytest.TempPathFactory) -> SnapshotDiffRun:
    root = tmp_path_factory.mktemp("metrics-diff")
    # The repository's code around the fixture project (never the live deployment files).
    build_repo_files(root)
    commit(root, "base", lambda r: None)
    # us-east-1 cools down (85.4 → 62: below 80), eu-west-1 warms a little (41.2 → 45: still below 80).
    commit(root, "pulled", lambda r: (repull(r, "us-east-1", cpu_usage=62.0),
                                      repull(r, "eu-west-1", cpu_usage=45.0)))
    json_path = root.parent / "diff.json"
    result = tusk_infra("diff", "--base", "base", "--head", "pulled", "--json-output", str(json_path),
                        env=offline_env(), cwd=root)
    assert result.returncode == 0, result.stderr
    return SnapshotDiffRun(result.stdout, json.loads(json_path.read_text(encoding="utf-8")), root)


def line_of(root: Path, text: str) -> int:
    lines = (root / "global.tsk").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.startswith(text))


def stack(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in data["stacks"] if s["stack"] == name)
    return found


def test_markdown_names_the_metric_that_moved_each_setting(snapshot_diff: SnapshotDiffRun) -> None:
    workers = line_of(snapshot_diff.root, "worker_count:")
    ttl = line_of(snapshot_diff.root, "cache_ttl:")
    text = snapshot_diff.markdown
    assert ("**Metric snapshot** `metrics/us-east-1.json`, pulled 2026-12-01T09:00:00Z → "
            f"{PULLED_AT}") in text
    assert (f"- `performance.worker_count` `16` → `8`: `cpu_usage` (p95, 7d) 85.4 → 62, not > 80, "
            f"global.tsk:{workers}") in text.splitlines()
    assert (f'- `performance.cache_ttl` `"30s"` → `"5m"`: `cpu_usage` (p95, 7d) 85.4 → 62, not > 80, '
            f"global.tsk:{ttl}") in text.splitlines()


def test_markdown_lists_a_snapshot_change_with_no_effect(snapshot_diff: SnapshotDiffRun) -> None:
    text = snapshot_diff.markdown
    section = text.split("### `eu-west-1`", 1)[1].split("###", 1)[0]
    assert "- `cpu_usage` (p95, 7d) 41.2 → 45: no effect (no setting changed)" in section.splitlines()
    assert "**Resources**" not in section and "**Settings from global.tsk**" not in section
    assert "`us-west-2` (no changes)" in text


def test_json_carries_the_same_explanation(snapshot_diff: SnapshotDiffRun) -> None:
    data = snapshot_diff.data
    assert data["format"] == "tusk-infra/diff@3"
    east = stack(data, "us-east-1")["metrics_snapshot"]
    assert (east["file"], east["pulled_at_after"], east["has_effect"]) == (
        "metrics/us-east-1.json", PULLED_AT, True)
    (cpu,) = east["metrics"]
    assert (cpu["name"], cpu["statistic"], cpu["window"], cpu["before"], cpu["after"]) == (
        "cpu_usage", "p95", "7d", 85.4, 62.0)
    moved = {move["path"]: move for move in cpu["settings"]}
    assert set(moved) == {"performance.cache_ttl", "performance.worker_count"}
    assert moved["performance.worker_count"] == {
        "path": "performance.worker_count", "before": 16, "after": 8, "metric_before": 85.4,
        "metric_after": 62.0, "condition": "> 80", "holds": False,
        "location": f"global.tsk:{line_of(snapshot_diff.root, 'worker_count:')}",
    }
    west = stack(data, "eu-west-1")
    assert west["status"] == "changed" and west["settings"] == [] and west["resources"] == []
    assert west["metrics_snapshot"]["has_effect"] is False
    metrics = west["metrics_snapshot"]["metrics"]
    assert [(m["name"], m["before"], m["after"], m["settings"]) for m in metrics] == [
        ("cpu_usage", 41.2, 45.0, [])]
    assert stack(data, "us-west-2")["metrics_snapshot"] is None
