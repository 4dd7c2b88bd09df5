"""The loader: static lines go straight into the tables; the parser reads everything else, whole blocks too.

tests/test_tsk_fast_path.py checks that the outcome equals the parser-only path on every case file; these
check the loader's own decisions (what it keeps as a literal, when it hands a block back) and that its
savings are real: a static line leaves a plain value in its table, not an Entry.
"""

from __future__ import annotations

import pytest

from tusk_infra.tusk import Providers, TuskError, evaluate_text
from tusk_infra.tusk.errors import SourceText
from tusk_infra.tusk.loader import load
from tusk_infra.tusk.tables import Entry, Table


def is_literal(child: object) -> bool:
    """A table child that is a literal's plain value (what the loader stores), not a Table or an Entry."""
    return not isinstance(child, Table | Entry)


def layout_of(text: str) -> Table:
    return load(SourceText(text, "case.tsk")).root


def evaluate(text: str) -> dict[str, object]:
    return evaluate_text(text, filename="case.tsk", providers=Providers(env={})).data


def test_static_lines_leave_plain_values_in_their_tables() -> None:
    root = layout_of('a: 1\n[s.t]\nname: "x"\nblk {\n  inner >\n    flag: true\n  <\n  list: [1, 2]\n}\n')
    assert root.children["a"] == 1 and is_literal(root.children["a"])
    table = root.children["s"].children["t"]
    assert table.children["name"] == "x"
    block = table.children["blk"]
    assert isinstance(block, Table) and block.children["list"] == [1, 2]
    assert block.children["inner"].children["flag"] is True


def test_a_block_with_an_expression_is_read_whole_by_the_parser() -> None:
    text = (
        "before: 0\nouter {\n  a: 1\n  inner {\n    b: 2\n    c: $outer.a + $outer.inner.b\n  }\n}\n"
        "after: 3\n"
    )
    root = layout_of(text)
    outer = root.children["outer"]
    # The parser read the block: its keys are Entries, and the lines after it are the loader's again.
    assert isinstance(outer.children["a"], Entry)
    assert isinstance(outer.children["inner"].children["c"], Entry)
    assert is_literal(root.children["after"]) and is_literal(root.children["before"])
    assert list(root.children) == ["before", "outer", "after"]
    document = evaluate_text(text, filename="case.tsk", providers=Providers(env={}))
    assert document.data == {"before": 0, "outer": {"a": 1, "inner": {"b": 2, "c": 3}}, "after": 3}
    assert document.provenance("outer.inner.c").location == "case.tsk:6:8"
    assert document.provenance("after").location == "case.tsk:9:8"


def test_provenance_of_literals_points_at_the_literal_and_its_items() -> None:
    document = evaluate_text("[s]\nhosts: ['a', \"b\"]  # two\nport = -8\n", filename="case.tsk")
    assert document.provenance("s.hosts").source == "['a', \"b\"]"
    assert document.provenance("s.hosts.1").location == "case.tsk:2:14"
    assert document.provenance("s.port").source == "-8"
    assert [path for path, _ in document.provenance_items()] == [
        ("s",), ("s", "hosts"), ("s", "hosts", 0), ("s", "hosts", 1), ("s", "port")
    ]


def test_equal_array_literals_are_separate_lists() -> None:
    data = evaluate("a: [1, 'x']\nb: [1, 'x']\n")
    assert data["a"] == data["b"] and data["a"] is not data["b"]


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("a {\n  x: 1\n", "case.tsk:1:3", "unclosed '{': expected '}' before the end of the file"),
        ("a {\n  x: 1\n  [s]\n}\n", "case.tsk:3:3", "a [section] header cannot appear inside a block"),
        ("a >\n  x: 1\n}\n", "case.tsk:3:1", "found '}' but the '>' opened on line 1 is still open"),
        ("x: 1\n}\n", "case.tsk:2:1", "unexpected '}'"),
        ("n: 99999999999999999999\n", "case.tsk:1:4", "is too large: integers are 64-bit"),
        ("l: [1, 99999999999999999999]\n", "case.tsk:1:8", "is too large: integers are 64-bit"),
        # Looks like a literal line up to the '-': never read as 8000 (or -1000) by the loader.
        ("a {\n  p: 8000-9000\n}\n", "case.tsk:2:6", "'8000-9000' is ambiguous"),
        ("p: [1, 8000-9000]\n", "case.tsk:1:8", "'8000-9000' is ambiguous"),
    ],
)
def test_errors_in_static_lines_are_the_parsers_errors(text: str, where: str, fragment: str) -> None:
    with pytest.raises(TuskError) as raised:
        evaluate(text)
    assert str(raised.value).startswith(f"{where}: ")
    assert fragment in raised.value.message


def test_a_syntax_error_later_in_the_file_is_reported_before_a_duplicate_key() -> None:
    with pytest.raises(TuskError) as raised:
        evaluate("a: 1\na: 2\nb: (1\n")
    assert str(raised.value).startswith("case.tsk:3:")
    with pytest.raises(TuskError) as raised:
        evaluate("a: 1\na: 2\nb: 1\n")
    assert str(raised.value) == "case.tsk:2:1: duplicate key 'a': first defined on line 1, again on line 2"


def test_deep_static_nesting_is_refused_at_the_limit() -> None:
    depth = 101
    text = "".join(f"b{level} {{\n" for level in range(depth)) + "}\n" * depth
    with pytest.raises(TuskError) as raised:
        evaluate(text)
    assert "nest deeper than 100 levels" in raised.value.message


def test_key_positions_stay_right_after_a_block_is_taken_back() -> None:
    layout = load(SourceText("a: 1\nb: 2\n", "case.tsk"))
    root = layout.root
    assert (root.key_start("a"), root.key_start("b")) == (0, 5)
    block = layout.open_block(root, "c", 10)
    assert root.key_start("c") == 10 and block.key_starts.tolist() == []
    layout.take_back(root, "c")
    layout.add_literal(root, "d", 20, True)  # same number of children as before the take-back
    assert (root.key_start("b"), root.key_start("d")) == (5, 20)
    with pytest.raises(KeyError):
        root.key_start("c")
