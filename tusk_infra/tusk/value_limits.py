"""Bounds on the values evaluation builds: elements, text bytes and nesting depth.

A few lines can describe an enormous value. `$g1: [$g0, $g0]` repeated 24 times shares one list at every
level, cheap to build, but it expands to 16 million elements when printed or validated; `$g1: $g0 + $g0`
doubles a string 40 times into a terabyte; `$g1: [$g0]` a thousand times nests deeper than any recursive
consumer (JSON, YAML, provenance) can follow. Each operation that makes a value bigger checks the result
here, and the finished document is measured once more as it would be expanded, shared parts counted
every time they appear, so every consumer gets a value of bounded size.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from tusk_infra.tusk.values import Secret
from tusk_infra.tusk.valuetypes import ValueProblem

MAX_ELEMENTS_VARIABLE = "TUSK_MAX_VALUE_ELEMENTS"
MAX_BYTES_VARIABLE = "TUSK_MAX_VALUE_BYTES"
DEFAULT_MAX_ELEMENTS = 1_000_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# As deep as the syntax may nest (lexer.MAX_NESTING): consumers of a value recurse once per level.
MAX_DEPTH = 100


def _limit(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else default


def max_elements() -> int:
    """Elements (list items, object members, scalars) in one document, expanded: $TUSK_MAX_VALUE_ELEMENTS."""
    return _limit(MAX_ELEMENTS_VARIABLE, DEFAULT_MAX_ELEMENTS)


def max_bytes() -> int:
    """Bytes of text in one document, expanded: $TUSK_MAX_VALUE_BYTES."""
    return _limit(MAX_BYTES_VARIABLE, DEFAULT_MAX_BYTES)


@dataclass(frozen=True)
class Extent:
    """How big a value is once expanded: elements, bytes of text, nesting depth; and whether it holds a NaN or
    an infinity (no JSON or YAML output can carry one, and no setting means one)."""

    elements: int
    text_bytes: int
    depth: int
    non_finite: bool = False


def check_text(length: int) -> None:
    """A string about to be built of `length` characters must fit the byte limit."""
    limit = max_bytes()
    if length > limit:
        raise ValueProblem(
            f"the result would be a string of {length:,} characters, more than the limit of {limit:,} bytes "
            f"per document; set {MAX_BYTES_VARIABLE} to raise it"
        )


def check_value(value: Any) -> None:
    """A value just built (or about to be rendered as text) must fit every limit."""
    problem = extent_problem(extent(value))
    if problem is not None:
        raise ValueProblem(problem)


def extent_problem(size: Extent) -> str | None:
    """Which limit an extent crosses, said the way the user can act on it; None if it fits."""
    if size.depth > MAX_DEPTH:
        return f"the value nests {size.depth} levels deep, more than the limit of {MAX_DEPTH}"
    limit = max_elements()
    if size.elements > limit:
        return (
            f"the value expands to {size.elements:,} elements, more than the limit of {limit:,} per "
            f"document; set {MAX_ELEMENTS_VARIABLE} to raise it"
        )
    limit = max_bytes()
    if size.text_bytes > limit:
        return (
            f"the value expands to {size.text_bytes:,} bytes of text, more than the limit of {limit:,} per "
            f"document; set {MAX_BYTES_VARIABLE} to raise it"
        )
    if size.non_finite:
        return "the value is not a finite number (NaN or an infinity); JSON and YAML output cannot carry it"
    return None


def extent(value: Any, memo: dict[int, Extent] | None = None) -> Extent:
    """The expanded extent of a value, without recursion and in time linear in its distinct parts."""
    known = memo if memo is not None else {}
    pending: list[tuple[Any, bool]] = [(value, False)]
    while pending:
        item, children_done = pending.pop()
        if not isinstance(item, list | dict) or id(item) in known:
            continue
        children = list(item.values()) if isinstance(item, dict) else item
        if not children_done:
            pending.append((item, True))
            pending.extend((child, False) for child in children if isinstance(child, list | dict))
            continue
        elements, text_bytes, depth, non_finite = 1, 0, 0, False
        for child in children:
            if isinstance(child, list | dict):
                part = known[id(child)]
                elements += part.elements
                text_bytes += part.text_bytes
                depth = max(depth, part.depth)
                non_finite = non_finite or part.non_finite
            else:
                elements += 1
                text_bytes += _text_length(child)
                non_finite = non_finite or _is_non_finite(child)
        if isinstance(item, dict):
            text_bytes += sum(len(key) for key in item)
        known[id(item)] = Extent(elements, text_bytes, depth + 1, non_finite)
    return known[id(value)] if isinstance(value, list | dict) else _leaf(value)


def _text_length(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Secret):
        return len(value.reveal())
    return 0


def _is_non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _leaf(value: Any) -> Extent:
    return Extent(1, _text_length(value), 0, _is_non_finite(value))


def oversized_path(data: Any) -> tuple[tuple[str | int, ...], str] | None:
    """Where a document's value first crosses a limit, and which: the smallest part that crosses it alone."""
    memo: dict[int, Extent] = {}
    problem = extent_problem(extent(data, memo))
    if problem is None:
        return None
    path: tuple[str | int, ...] = ()
    node = data
    while isinstance(node, list | dict):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        longest = max_bytes()
        # Only a container, a string longer than the byte limit or a NaN can cross a limit on its own.
        crossing = next(
            (
                (key, child)
                for key, child in items
                if (isinstance(child, list | dict) or _text_length(child) > longest or _is_non_finite(child))
                and extent_problem(_extent_of(child, memo, len(path) + 1))
            ),
            None,
        )
        if crossing is None:
            break
        path, node = (*path, crossing[0]), crossing[1]
    return path, extent_problem(_extent_of(node, memo, len(path))) or problem


def _extent_of(value: Any, memo: dict[int, Extent], above: int) -> Extent:
    """A part's extent with the levels above it counted in its depth (depth is measured from the root)."""
    size = memo.get(id(value)) if isinstance(value, list | dict) else _leaf(value)
    assert size is not None
    return Extent(size.elements, size.text_bytes, size.depth + above, size.non_finite)
