"""The fast paths (static lines read by the loader, STATIC_PAIR tokens) must read every file exactly as the
token path does: the same data, the same provenance, the same error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tsk.cases import INVALID_DIR, SEED_DIR, VALID_DIR, case_inputs, read_json, tsk_files

from tusk_infra.tusk import MemoryCache, Providers, TuskError
from tusk_infra.tusk.document import Document
from tusk_infra.tusk.errors import SourceText
from tusk_infra.tusk.evaluator import Evaluator, unique_inputs
from tusk_infra.tusk.loader import load
from tusk_infra.tusk.parser import Parser, compiled, grammar_path

TOKEN_PATH = Parser(grammar_path().read_text(encoding="utf-8"), fast_statements=False)
FILES = tsk_files(VALID_DIR) + tsk_files(SEED_DIR) + tsk_files(INVALID_DIR)


def outcome(parser: Parser, text: str, providers: Providers) -> Any:
    """What a file evaluates to with a given parser: data and provenance, or the error."""
    source = SourceText(text, "case.tsk")
    try:
        layout = load(source, parser)
        evaluator = Evaluator(layout, {}, providers)
        document = Document(evaluator.run(), layout, unique_inputs(evaluator.all_inputs), ())
    except TuskError as error:
        return ("error", str(error))
    return ("ok", document.to_plain(), list(document.provenance_items()))


@pytest.mark.parametrize("case", FILES, ids=[f"{case.parent.name}/{case.stem}" for case in FILES])
def test_fast_path_reads_files_like_the_token_path(case: Path, tmp_path: Path) -> None:
    text = case.read_text(encoding="utf-8")
    spec = read_json(case.with_name(f"{case.stem}.inputs.json"))
    spec = spec or read_json(case.with_suffix(".expect.json")).get("inputs", {})
    fast_inputs, slow_inputs = case_inputs(spec, tmp_path), case_inputs(spec, tmp_path)
    for inputs in (fast_inputs, slow_inputs):  # each run its own cache, so neither sees the other's hits
        inputs.providers.cache = MemoryCache(inputs.providers.clock)
    fast = outcome(compiled(), text, fast_inputs.providers)
    slow = outcome(TOKEN_PATH, text, slow_inputs.providers)
    assert fast == slow
