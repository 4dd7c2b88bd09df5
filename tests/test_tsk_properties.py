"""Property tests: whatever the input, evaluation gives a Document or a TuskError, quickly, and the
lexer's fast path agrees with the token path."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tsk_fast_path import TOKEN_PATH, outcome
from tsk.cases import SEED_DIR, VALID_DIR, tsk_files

from tusk_infra.tusk import Document, Providers, StaticMetrics, TuskError, evaluate_text
from tusk_infra.tusk.parser import compiled

SOURCES = [path.read_text(encoding="utf-8") for path in tsk_files(VALID_DIR) + tsk_files(SEED_DIR)]
# Pieces of the language, so random text often gets past the lexer and exercises the parser and evaluator.
VOCABULARY = [
    "key", "a", "b", "region", ":", " = ", "=", "==", "!=", "<", ">", "<=", ">=", "&&", "||", "!", "+",
    "-", "*", "/", "%", "?", ",", ".", ";", "\n", "\n\n", "  ", "#c\n", "(", ")", "[", "]", "{", "}", "[s]",
    "[a.b]", '"str"', '"${region}"', '"${a.b}"', '"\\n"', "'raw'", "1", "0", "-3", "1.5", "1e3", "007",
    "true", "false", "null", "$region", "$a", "$a.b", ".${region}", "@env(", '@env("REGION")',
    '@env("UNSET")', "@env.secure(",
    "@if(", "@metrics(", '"cpu", 0)', "@cache(", '"5m", ', "@query(", '"SELECT 1")', "@date(", "@int(",
    "@string(", "@nope(", ".split(", '",")', ".length()", ".upper()", "$region: ", "a {\n", "}\n", "a >\n",
    "<\n", "{x: 1}", "[1, 2,]", "9223372036854775807", "-9223372036854775808", "9" * 30,
    '"\\ud83d"', '"\\ud83d\\ude00"', '"\\ude00"',
    # Constructs of other implementations, refused by name; objects across lines; `${...}` in sections.
    "#!api\n", '"""', "'''", "8000-9000", "@learn(", "@request.x", "@env.HOME", "env(", "k: {\n", "  m: 2\n",
    "server:\n  host: 1\n", '"${b}"', '@date("c U F j q")', '@query("SELECT 1 / 2")',
]  # fmt: skip


def providers() -> Providers:
    return Providers(
        env={"REGION": "us-west-2", "NODES": "a,b", "TOKEN": "t"},
        metrics=StaticMetrics({"cpu": 50}),
        clock=lambda: datetime(2030, 1, 1, tzinfo=UTC),
    )


def check_outcome(text: str) -> None:
    """Evaluate text: a Document or a positioned TuskError, never anything else, within a second."""
    started = time.perf_counter()
    try:
        result = evaluate_text(text, filename="fuzz.tsk", providers=providers())
    except TuskError as error:
        lines = text.split("\n")
        assert 1 <= error.line <= len(lines), error.render()
        assert 1 <= error.column <= len(lines[error.line - 1]) + 1, error.render()
        assert error.render().startswith(f"fuzz.tsk:{error.line}:{error.column}: ")
    else:
        assert isinstance(result, Document)
        # Printable as the CLI prints it: UTF-8 JSON (no lone surrogate, no integer str() refuses).
        json.dumps(result.to_plain(), ensure_ascii=False).encode("utf-8")
        list(result.provenance_items())
    assert time.perf_counter() - started < 1.0


token_soup = st.lists(st.sampled_from(VOCABULARY), max_size=40).map("".join)

# Whole lines, static and not, so the loader's hand-over to the parser is tried at every kind of line:
# inside blocks it began, after sections, at the end of the file, with duplicates and stray closers.
LINES = [
    "a: 1", "b = 'x'", 'c: "y"', "d: [1, \"z\", true,]", "e: -2.5e3", "f: null", "a: 2", "n: 9" + "9" * 20,
    "a {", "blk {", "ang >", "}", "<", "} # end", "[s]", "[s.t]", "[ a . b ]", "[s]; k: 1", "k: 1; j: 2",
    "x: $a", "y: @env(\"REGION\")", "z: 1 +", "w: {p: 1}", "one { v: 1 }", "g: 1 }", "$v: 3", "# note", "",
    "  indented: 4", "t: true # trailing", "bad: 007", "[s", "q: [1,", "2]", "e.f: 1",
    "o: {", "  m: 1", "r: 1-2", "#!x", "u: \"${a}\"", "b: $a", "s:",
]  # fmt: skip
line_soup = st.lists(st.sampled_from(LINES), max_size=30).map("\n".join)


@st.composite
def mutated_sources(draw: st.DrawFn) -> str:
    """A valid file with a few random edits: deletions, insertions, duplicated lines, swapped characters."""
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["delete", "insert", "duplicate_line", "replace"]))
        if edit == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 12)) :]
        elif edit == "insert":
            text = text[:position] + draw(st.sampled_from(VOCABULARY)) + text[position:]
        elif edit == "duplicate_line":
            lines = text.split("\n")
            index = draw(st.integers(0, len(lines) - 1))
            text = "\n".join([*lines[: index + 1], lines[index], *lines[index + 1 :]])
        else:
            text = text[:position] + draw(st.characters()) + text[position + 1 :]
    return text


# TSK_FUZZ_EXAMPLES=3000 for a longer hunt; the suite's default stays quick.
FUZZ = settings(
    max_examples=int(os.environ.get("TSK_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    check_outcome(text)


@FUZZ
@given(token_soup)
def test_token_soup(text: str) -> None:
    check_outcome(text)


@FUZZ
@given(mutated_sources())
def test_mutated_valid_files(text: str) -> None:
    check_outcome(text)


@FUZZ
@given(st.one_of(mutated_sources(), token_soup, line_soup))
def test_fast_path_agrees_with_token_path(text: str) -> None:
    assert outcome(compiled(), text, providers()) == outcome(TOKEN_PATH, text, providers())
