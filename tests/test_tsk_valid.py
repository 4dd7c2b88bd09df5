"""Every tests/tsk/valid/*.tsk evaluates to its .json (same values, same types, same key order)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tsk.cases import VALID_DIR, case_inputs, read_json, tsk_files

from tusk_infra.tusk import evaluate_file

VALID_CASES = tsk_files(VALID_DIR)


def test_valid_folder_is_not_empty() -> None:
    assert len(VALID_CASES) >= 25


@pytest.mark.parametrize("case", VALID_CASES, ids=[case.stem for case in VALID_CASES])
def test_valid_case(case: Path, tmp_path: Path) -> None:
    expected_file = case.with_suffix(".json")
    assert expected_file.exists(), f"{case.name} has no expected .json"
    inputs = case_inputs(read_json(case.with_name(f"{case.stem}.inputs.json")), tmp_path)
    document = evaluate_file(case, variables=inputs.variables, providers=inputs.providers)
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    # Compared as JSON text so 1 vs 1.0 vs true and the order of keys all count.
    assert json.dumps(document.to_plain(show_secrets=inputs.show_secrets)) == json.dumps(expected)
