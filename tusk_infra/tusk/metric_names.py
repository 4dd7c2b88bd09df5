"""Which metrics a .tsk file can read, found in its syntax tree without evaluating it.

Evaluation runs only the chosen branch of an `@if`, so the metrics one evaluation asked for are not all the
file may ask for; `tusk-infra metrics pull` needs them all, in every branch. The names must be string
literals for that (a computed name could be anything), and a comparison of a metric with a number (`> 80`)
is what the diff quotes when a metric moves a setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tusk_infra.tusk.errors import SourceText, TuskError
from tusk_infra.tusk.loader import load
from tusk_infra.tusk.parser import parse
from tusk_infra.tusk.syntax import (
    ArrayLit,
    Binary,
    Conditional,
    Const,
    Expr,
    Get,
    Interpolated,
    MethodCall,
    ObjectLit,
    OperatorCall,
    Pair,
    PathSegment,
    Ref,
    Unary,
)
from tusk_infra.tusk.tables import Entry, Table

# Comparisons a threshold can be read from, and how each reads with its sides swapped (80 < x is x > 80).
_COMPARISONS = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class MetricUse:
    """One `@metrics("name", ...)` in the file: the name, where it is written and the key it belongs to."""

    name: str
    file: str
    line: int
    column: int
    key: str  # the dotted key (`performance.worker_count`) or global (`$load`) whose expression reads it

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class MetricComparison:
    """`@metrics("name", d) OP threshold`, normalised so the metric is on the left."""

    name: str
    op: str
    threshold: int | float

    def holds(self, value: float) -> bool:
        """Whether `value OP threshold` is true."""
        checks = {">": value > self.threshold, ">=": value >= self.threshold, "<": value < self.threshold,
                  "<=": value <= self.threshold, "==": value == self.threshold,
                  "!=": value != self.threshold}
        return checks[self.op]


def metric_uses_in_file(path: str | Path) -> list[MetricUse]:
    """Every `@metrics` of a .tsk file, in file order; a syntax error or a computed name is a TuskError."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as failure:
        raise TuskError(f"cannot read the file: {failure.strerror or failure}", name, 1, 1) from None
    except UnicodeDecodeError:
        raise TuskError("the file is not valid UTF-8", name, 1, 1) from None
    return metric_uses(text.removeprefix("\ufeff"), name)


def metric_uses(text: str, filename: str = "<string>") -> list[MetricUse]:
    """Every `@metrics` of a .tsk text, in every branch, in file order."""
    source = SourceText(text, filename)
    layout = load(source)
    found: list[tuple[int, str, str]] = []
    entries = [*layout.globals.values(), *_entries(layout.root)]
    for entry in entries:
        for call in _metric_calls(entry.expr):
            found.append((call.start, _literal_name(source, call), entry.label))
    uses = []
    for offset, metric, key in sorted(found):
        line, column = source.line_col(offset)
        uses.append(MetricUse(metric, filename, line, column, key))
    return uses


def metric_names(uses: list[MetricUse]) -> list[str]:
    """The distinct names, sorted."""
    return sorted({use.name for use in uses})


def metric_comparisons(expression: str) -> list[MetricComparison]:
    """The `@metrics(...) OP number` comparisons in one expression's text (as provenance records it)."""
    try:
        statements = parse(SourceText(f"_: {expression}\n", "<expression>"))
    except TuskError:
        return []
    found: list[MetricComparison] = []
    for statement in statements:
        if isinstance(statement, Pair):
            found.extend(_comparisons(statement.value))
    return found


def _entries(table: Table) -> Iterator[Entry]:
    for child in table.children.values():
        if isinstance(child, Entry):
            yield child
        elif isinstance(child, Table):
            yield from _entries(child)


def _children(node: Expr) -> Iterator[Expr]:
    """The expressions directly inside `node`, whichever kind it is."""
    if isinstance(node, OperatorCall | MethodCall):
        if isinstance(node, MethodCall):
            yield node.target
        yield from node.args
    elif isinstance(node, Binary):
        yield from (node.left, node.right)
    elif isinstance(node, Unary):
        yield node.operand
    elif isinstance(node, Conditional):
        yield from (node.condition, node.then, node.otherwise)
    elif isinstance(node, ArrayLit):
        yield from node.items
    elif isinstance(node, ObjectLit):
        yield from (member.value for member in node.members)
    elif isinstance(node, Interpolated):
        yield from (part for part in node.parts if isinstance(part, Ref))
    elif isinstance(node, Ref):
        yield from _segment_refs(node.segments)
    elif isinstance(node, Get):
        yield node.target
        yield from _segment_refs([node.segment])


def _segment_refs(segments: list[PathSegment]) -> Iterator[Expr]:
    return (segment.dynamic for segment in segments if segment.dynamic is not None)


def _walk(node: Expr) -> Iterator[Expr]:
    yield node
    for child in _children(node):
        yield from _walk(child)


def _metric_calls(node: Expr) -> Iterator[OperatorCall]:
    return (n for n in _walk(node) if isinstance(n, OperatorCall) and n.name == "metrics")


def _literal_name(source: SourceText, call: OperatorCall) -> str:
    first = call.args[0] if call.args else None
    if isinstance(first, Const) and isinstance(first.value, str) and first.value:
        return first.value
    where = first if first is not None else call
    raise source.error(
        "the metric name of @metrics must be a string literal, like @metrics(\"cpu_usage\", 0): "
        "`tusk-infra metrics pull` finds the names without evaluating the file",
        where.start, max(1, where.end - where.start))


def _comparisons(node: Expr) -> Iterator[MetricComparison]:
    for candidate in _walk(node):
        if isinstance(candidate, Binary) and candidate.op in _COMPARISONS:
            found = _comparison(candidate)
            if found is not None:
                yield found


def _comparison(node: Binary) -> MetricComparison | None:
    sides = ((node.left, node.right, node.op), (node.right, node.left, _COMPARISONS[node.op]))
    for metric, other, op in sides:
        name = _called_metric(metric)
        if name is not None and isinstance(other, Const) and _is_number(other.value):
            return MetricComparison(name, op, other.value)
    return None


def _called_metric(node: Expr) -> str | None:
    if isinstance(node, OperatorCall) and node.name == "metrics" and node.args:
        first = node.args[0]
        if isinstance(first, Const) and isinstance(first.value, str):
            return first.value
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
