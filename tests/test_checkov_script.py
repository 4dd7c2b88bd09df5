"""scripts/checkov_manifests.py: how checkov's report is judged, and that the README lists what it accepts.
(The script itself, with checkov from its own virtualenv, is `sh scripts/checkov_manifests.sh`.)"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import REPO


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("checkov_manifests", REPO / "scripts/checkov_manifests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = load_script()


def report(failed: list[str], passed: int = 3) -> dict[str, Any]:
    failures = [{"check_id": check, "file_path": "/us-east-1.yaml", "resource": "Deployment.tusk-app.app"}
                for check in failed]
    return {"check_type": "kubernetes",
            "results": {"passed_checks": [{}] * passed, "failed_checks": failures}}


@pytest.mark.parametrize(
    ("failed", "status"),
    [
        (["CKV_K8S_35"], 0),  # exactly what is accepted
        (["CKV_K8S_35", "CKV_K8S_40"], 1),  # a failure nobody accepted
        ([], 1),  # an accepted failure that no longer fails: the list must shrink
    ],
)
def test_the_judge_accepts_exactly_the_listed_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], failed: list[str], status: int
) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps([report(failed)]))
    assert SCRIPT.judge(results) == status
    out = capsys.readouterr().out
    assert f"3 passed checks, {len(failed)} failed" in out
    if "CKV_K8S_40" in failed:
        assert "CKV_K8S_40 (NOT ACCEPTED)" in out


def test_manifests_leave_out_secret_data_and_name_unknowns() -> None:
    inputs = {"kind": "Secret", "stringData": "[secret]", "metadata": {"name": "(known after deploy)"}}
    assert SCRIPT._plain(inputs) == {"kind": "Secret", "metadata": {"name": "known-after-deploy"}}


def test_the_readme_lists_every_accepted_failure_with_its_reason() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for check in SCRIPT.ACCEPTED:
        assert f"| `{check}` " in readme, check
