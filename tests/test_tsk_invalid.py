"""Every tests/tsk/invalid/*.tsk must fail with a TuskError at the expected line:col and message."""

from __future__ import annotations

from pathlib import Path

import pytest
from tsk.cases import INVALID_DIR, case_inputs, read_json, tsk_files

from tusk_infra.tusk import TuskError, evaluate_file, evaluate_text

INVALID_CASES = tsk_files(INVALID_DIR)


def test_invalid_folder_has_enough_cases() -> None:
    assert len(INVALID_CASES) >= 40


@pytest.mark.parametrize("case", INVALID_CASES, ids=[case.stem for case in INVALID_CASES])
def test_invalid_case(case: Path, tmp_path: Path) -> None:
    expect = read_json(case.with_suffix(".expect.json"))
    assert expect, f"{case.name} has no .expect.json"
    inputs = case_inputs(expect.get("inputs", {}), tmp_path)
    with pytest.raises(TuskError) as raised:
        evaluate_file(case, variables=inputs.variables, providers=inputs.providers)
    error = raised.value
    assert expect["message"] in error.message, error.render()
    assert (error.line, error.column) == (expect["line"], expect["column"]), error.render()
    assert str(error) == f"{case}:{error.line}:{error.column}: {error.message}"
    rendered = error.render().splitlines()
    assert rendered[0] == str(error)
    assert "^" in rendered[-1]
    for secret in expect.get("never_shown", []):
        assert secret not in error.render()


def test_a_long_line_is_shown_around_the_error() -> None:
    text = "a: " + "1 + " * 3000 + "x\n"
    with pytest.raises(TuskError) as raised:
        evaluate_text(text, filename="long.tsk")
    _, _, shown, caret = raised.value.render().splitlines()
    assert shown.startswith("1 | ...") and shown.endswith("+ x")
    assert len(shown) < 200
    # The caret still sits under the offending word.
    assert shown[caret.index("^")] == "x"
