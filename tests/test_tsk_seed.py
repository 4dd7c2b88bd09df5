"""The seed document's .tsk snippets, restored, evaluated for each region stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tsk.cases import REGIONS, SEED_DIR, case_inputs, read_json, tsk_files

from tusk_infra.tusk import Secret, evaluate_file

SEED_FILES = tsk_files(SEED_DIR)
SEED_RUNS = [(snippet, region) for snippet in SEED_FILES for region in REGIONS]


def test_every_seed_snippet_is_restored() -> None:
    assert {path.stem for path in SEED_FILES} == {"distributed", "global", "scaling_cache", "scale_optimized"}


def _evaluate(snippet: Path, region: str, tmp_path: Path) -> tuple[object, object]:
    spec = read_json(snippet.with_name(f"{snippet.stem}.inputs.json"))
    spec.setdefault("env", {}).update({"REGION": region, "ZONE": f"{region}a"})
    inputs = case_inputs(spec, tmp_path)
    return evaluate_file(snippet, providers=inputs.providers), inputs


@pytest.mark.parametrize(("snippet", "region"), SEED_RUNS, ids=[f"{s.stem}-{r}" for s, r in SEED_RUNS])
def test_seed_snippet_for_region(snippet: Path, region: str, tmp_path: Path) -> None:
    document, _ = _evaluate(snippet, region, tmp_path)
    expected_file = SEED_DIR / "expected" / f"{snippet.stem}.{region}.json"
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert json.dumps(document.to_plain()) == json.dumps(expected)  # type: ignore[attr-defined]


@pytest.mark.parametrize("region", REGIONS)
def test_global_regional_settings_follow_the_region(region: str, tmp_path: Path) -> None:
    document, _ = _evaluate(SEED_DIR / "global.tsk", region, tmp_path)
    settings = document.data["regional_settings"]  # type: ignore[attr-defined]
    block = region.replace("-", "_")
    assert settings["cdn_url"] == f"https://cdn-{region}.example.com"
    assert settings["cache_nodes"] == [f"{region}-cache-{n}:6379" for n in (1, 2, 3)]
    assert document.data["regional_config"][block]["database_host"] == settings["database_host"]  # type: ignore[attr-defined]
    primary = region == "us-east-1"
    assert document.data["performance"]["worker_count"] == (16 if primary else 8)  # type: ignore[attr-defined]
    assert document.data["monitoring"]["metrics_endpoint"] == f"https://metrics-{region}.example.com"  # type: ignore[attr-defined]


def test_distributed_secrets_stay_wrapped(tmp_path: Path) -> None:
    document, _ = _evaluate(SEED_DIR / "distributed.tsk", "us-east-1", tmp_path)
    password = document.data["database"]["primary"]["password"]  # type: ignore[attr-defined]
    assert isinstance(password, Secret)
    assert password.reveal() == "primary-db-password"
    assert "primary-db-password" not in json.dumps(document.to_plain())  # type: ignore[attr-defined]
