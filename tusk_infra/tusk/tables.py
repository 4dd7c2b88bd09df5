"""The document's shape before evaluation: sections, blocks and keys, each value still an expression.

Evaluation is lazy and order-free (`$section.key` may point forward), so the statements are first laid
out as tables of unevaluated entries; duplicate keys, sections and globals are caught here.
"""

from __future__ import annotations

from typing import Any

from tusk_infra.tusk.errors import SourceText
from tusk_infra.tusk.syntax import Block, Expr, GlobalDecl, Pair, Section, Statement
from tusk_infra.tusk.values import InputUse

# Entry states: not yet evaluated, being evaluated (seeing it again means a cycle), evaluated.
PENDING, ACTIVE, DONE = 0, 1, 2


class Entry:
    """A key (or a global) and its expression; holds the value and inputs once evaluated."""

    __slots__ = ("label", "key_start", "expr", "state", "value", "inputs")

    def __init__(self, label: str, key_start: int, expr: Expr) -> None:
        self.label = label  # `$name` for a global, the dotted path for a document key
        self.key_start = key_start
        self.expr = expr
        self.state = PENDING
        self.value: Any = None
        self.inputs: tuple[InputUse, ...] = ()


class Table:
    """A section, block or the document root: ordered children by key."""

    __slots__ = ("label", "start", "end", "children", "declared")

    def __init__(self, label: str, start: int, end: int, declared: bool) -> None:
        self.label = label
        self.start = start
        self.end = end
        self.children: dict[str, Entry | Table] = {}
        self.declared = declared  # False for `a` when only `[a.b]` was written


class Layout:
    """The root table and the globals of one file."""

    def __init__(self, source: SourceText) -> None:
        self.source = source
        self.root = Table("", 0, 0, True)
        self.globals: dict[str, Entry] = {}

    def add(self, statements: list[Statement]) -> None:
        """Lay out a file's statements; keys before any section go to the root."""
        current = self.root
        for statement in statements:
            if isinstance(statement, Section):
                current = self._section(statement)
            else:
                self._statement(current, statement)

    def _statement(self, table: Table, statement: Statement) -> None:
        if isinstance(statement, Pair):
            label = _join(table.label, statement.key)
            self._insert(
                table, statement.key, statement.key_start, Entry(label, statement.key_start, statement.value)
            )
        elif isinstance(statement, GlobalDecl):
            self._declare_global(statement)
        elif isinstance(statement, Block):
            block = Table(_join(table.label, statement.key), statement.key_start, statement.key_start, True)
            block.end = statement.key_start + len(statement.key)
            self._insert(table, statement.key, statement.key_start, block)
            for inner in statement.body:
                self._statement(block, inner)

    def _declare_global(self, statement: GlobalDecl) -> None:
        earlier = self.globals.get(statement.name)
        if earlier is not None:
            raise self.source.error(
                f"global '${statement.name}' is declared twice "
                f"(first on line {self._line(earlier.key_start)})",
                statement.start,
                len(statement.name) + 1,
            )
        self.globals[statement.name] = Entry(f"${statement.name}", statement.start, statement.value)

    def _insert(self, table: Table, key: str, start: int, child: Entry | Table) -> None:
        earlier = table.children.get(key)
        if earlier is not None:
            where = f" in [{table.label}]" if table.label else ""
            raise self.source.error(
                f"duplicate key '{key}'{where}: first defined on line {self._line(_start_of(earlier))}, "
                f"again on line {self._line(start)}",
                start,
                len(key),
            )
        table.children[key] = child

    def _section(self, section: Section) -> Table:
        table = self.root
        for depth, name in enumerate(section.names):
            label = ".".join(section.names[: depth + 1])
            child = table.children.get(name)
            if isinstance(child, Entry):
                raise self.source.error(
                    f"section [{'.'.join(section.names)}] clashes with the key '{label}' "
                    f"defined on line {self._line(child.key_start)}",
                    section.start,
                    section.end - section.start,
                )
            if child is None:
                child = Table(label, section.start, section.end, False)
                table.children[name] = child
            table = child
        if table.declared:
            raise self.source.error(
                f"duplicate section [{table.label}]: first declared on line {self._line(table.start)}, "
                f"again on line {self._line(section.start)}",
                section.start,
                section.end - section.start,
            )
        table.declared = True
        table.start, table.end = section.start, section.end
        return table

    def _line(self, offset: int) -> int:
        return self.source.line_col(offset)[0]


def _start_of(node: Entry | Table) -> int:
    return node.key_start if isinstance(node, Entry) else node.start


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key
