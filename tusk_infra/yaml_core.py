"""YAML as the Pulumi CLI reads a stack file: the YAML 1.2 core schema, plain types only, bounded in size.

PyYAML implements YAML 1.1, whose implicit types differ from what Pulumi (go-yaml v3, YAML 1.2) reads:
`2001-12-14` would become a date, `yes` a boolean, `012` the octal 10. A value that silently differs from
what the engine hands the program is worse than an error, so scalars resolve by the 1.2 core schema here.
Explicit tags (`!!binary`, `!!set`, `!!python/...`) name types no Pulumi config value can have; aliases can
expand a small file into billions of nodes (a "billion laughs"); a NUL in a value breaks every path and
process argument it reaches. Each is an error at its position, found by walking the composed document once,
before any value is built.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml._yaml import CParser

# The composed document may expand (through aliases) to at most this many nodes, and nest this deep. A real
# stack file has a few dozen nodes and a depth of four; these leave room for large policy configs.
MAX_EXPANDED_NODES = 100_000
MAX_DEPTH = 64

# Config integers are 64-bit, as the engine and the language keep them.
_INT64 = range(-(2**63), 2**63)

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)

_CORE_TYPES: tuple[tuple[str, str, str], ...] = (
    # (tag, first characters, pattern): the YAML 1.2 core schema's implicit scalars (spec 10.3.2).
    ("tag:yaml.org,2002:null", "~nN", r"^(?:~|null|Null|NULL|)$"),
    ("tag:yaml.org,2002:bool", "tTfF", r"^(?:true|True|TRUE|false|False|FALSE)$"),
    ("tag:yaml.org,2002:int", "-+0123456789", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    (
        "tag:yaml.org,2002:float",
        "-+.0123456789",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    ),
)


class CoreResolver(yaml.resolver.BaseResolver):
    """Implicit scalars of the YAML 1.2 core schema: no dates, no yes/no, no sexagesimal, no 012 octal."""


for _tag, _first, _pattern in _CORE_TYPES:
    CoreResolver.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
# The empty plain scalar is null (no first character to dispatch on).
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


class CoreConstructor(yaml.constructor.SafeConstructor):
    """Builds the core schema's values: decimal, 0o and 0x integers; floats; nothing else implicit."""

    def construct_core_int(self, node: yaml.ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        if digits.startswith("0x"):
            return sign * int(digits[2:], 16)
        return sign * int(digits, 10)


CoreConstructor.add_constructor(
    "tag:yaml.org,2002:int", CoreConstructor.construct_core_int  # type: ignore[type-var]
)

class CoreLoader(CParser, CoreConstructor, CoreResolver):
    """libyaml's parser (fast, the same marks as before) with the core schema's resolver and constructor."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        CoreConstructor.__init__(self)
        CoreResolver.__init__(self)


@dataclass(frozen=True)
class PlainValueProblem:
    """Why a composed value is not a plain config value, and where (1-based line and column)."""

    message: str
    line: int
    column: int


def compose(text: str) -> yaml.Node | None:
    """The composed document (YAML syntax errors propagate as PyYAML raises them)."""
    loader = CoreLoader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def construct(node: yaml.Node) -> Any:
    """The Python value of a node that `plain_value_problem` accepted."""
    loader = CoreLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def plain_value_problem(root: yaml.Node) -> PlainValueProblem | None:
    """The first reason `root` is not a plain, bounded config value, or None.

    Walks the node graph once, without recursion, counting nodes as aliases expand them (a shared node's
    size is counted once per reference, computed once), so a bomb is refused before it is built.
    """
    sizes: dict[int, int] = {}
    # Each entry: (node, depth, children pushed yet?).
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    open_nodes: set[int] = set()
    while stack:
        node, depth, expanded = stack.pop()
        if expanded:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[id(node)] > MAX_EXPANDED_NODES:
                return _problem(
                    node,
                    f"the value expands to more than {MAX_EXPANDED_NODES:,} nodes (through aliases); "
                    "a stack file holds plain, small values: write them out",
                )
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            return _problem(node, "an alias refers to the value that contains it (a recursive value)")
        problem = _node_problem(node, depth)
        if problem is not None:
            return problem
        open_nodes.add(id(node))
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _node_problem(node: yaml.Node, depth: int) -> PlainValueProblem | None:
    if depth > MAX_DEPTH:
        return _problem(node, f"values nest deeper than {MAX_DEPTH} levels")
    if node.tag not in _PLAIN_TAGS:
        return _problem(
            node,
            f"found the tag {_short_tag(node.tag)}; a stack file holds only strings, numbers, booleans, "
            "null, lists and mappings (remove the tag, or quote the value)",
        )
    if isinstance(node, yaml.MappingNode):
        for key, _value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                return _problem(key, "a mapping key must be a plain string, not a list or mapping")
            if key.value == "<<" and not key.style:
                # YAML 1.1's merge key: go-yaml merges, PyYAML's 1.2 reading would keep a key named "<<".
                return _problem(key, "found a merge key (<<); write the merged keys out")
    if isinstance(node, yaml.ScalarNode):
        return _scalar_problem(node)
    return None


def _scalar_problem(node: yaml.ScalarNode) -> PlainValueProblem | None:
    text = str(node.value)
    if "\x00" in text:
        return _problem(node, "found a NUL character (\\0) in a value; no config value can hold one")
    if node.tag == "tag:yaml.org,2002:int":
        digits = len(text.lstrip("+-"))
        if digits > 40 or construct(node) not in _INT64:
            return _problem(
                node,
                f"the integer {_abbreviated(text)} is out of range: config integers are 64-bit "
                "(quote it to keep it as a string)",
            )
    if node.tag == "tag:yaml.org,2002:float" and len(text) > 400:
        return _problem(node, f"the number {_abbreviated(text)} is too long to be a config value")
    if node.tag == "tag:yaml.org,2002:float" and not math.isfinite(construct(node)):
        return _problem(
            node, f"found {text}: a config number must be finite (quote it to keep it as a string)"
        )
    return None


def _problem(node: yaml.Node, message: str) -> PlainValueProblem:
    return PlainValueProblem(message, node.start_mark.line + 1, node.start_mark.column + 1)


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


def _abbreviated(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}...{text[-6:]} ({len(text)} characters)"

