"""The document's shape before evaluation: sections, blocks and keys, each value still an expression.

Evaluation is lazy and order-free (`$section.key` may point forward), so the statements are first laid
out as tables of unevaluated entries; duplicate keys, sections and globals are caught here.

A table's child is a Table, an Entry, or — for a `key: literal` line the loader read itself — the plain
value: a literal needs no evaluation, and most keys of a large file are literals, so they cost one dict
slot and the key's offset (8 bytes in an array, no object) instead of a syntax node and an Entry each.
"""

from __future__ import annotations

from array import array
from typing import Any

from tusk_infra.tusk.errors import DefinitionConflict, SourceText, TuskError
from tusk_infra.tusk.syntax import Block, Expr, GlobalDecl, Pair, Section, Statement
from tusk_infra.tusk.value_limits import MAX_DEPTH
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
    """A section, block or the document root: ordered children by key, and where each key is written."""

    __slots__ = ("label", "start", "end", "children", "key_starts", "declared", "_positions")

    def __init__(self, label: str, start: int, end: int, declared: bool) -> None:
        self.label = label
        self.start = start
        self.end = end
        self.children: dict[str, Any] = {}  # Table, Entry or a literal's value
        # Where each child's key is written (a section's `[`), in the order of `children`.
        self.key_starts = array("q")
        self.declared = declared  # False for `a` when only `[a.b]` was written
        self._positions: dict[str, int] | None = None  # key -> index, built when first asked

    def forget_positions(self) -> None:
        """Drop the key index after a child is removed (adding one shows in the length)."""
        self._positions = None

    def add(self, key: str, key_start: int, child: Any) -> None:
        """Append a child (the caller has checked the key is new)."""
        self.children[key] = child
        self.key_starts.append(key_start)

    def key_start(self, key: str) -> int:
        """Where the child `key` is written. For messages and provenance, after loading: the index from
        keys to positions is built on the first call (a settings check may ask for every key)."""
        positions = self._positions
        if positions is None or len(positions) != len(self.children):
            positions = self._positions = {name: index for index, name in enumerate(self.children)}
        return self.key_starts[positions[key]]


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
            current = self.add_statement(current, statement)

    def add_statement(self, current: Table, statement: Statement) -> Table:
        """Lay out one top-level statement in the current section; returns the section after it."""
        if isinstance(statement, Section):
            return self.section(statement.names, statement.start, statement.end)
        self._statement(current, statement)
        return current

    def add_literal(self, table: Table, key: str, key_start: int, value: Any) -> None:
        """A `key: literal` whose value is already known."""
        if key in table.children:
            raise self._duplicate(table, key, key_start)
        table.add(key, key_start, value)

    def open_block(self, table: Table, key: str, key_start: int) -> Table:
        """The new, empty table of a `key { ... }` block."""
        block = Table(_join(table.label, key), key_start, key_start + len(key), True)
        self._insert(table, key, key_start, block)
        return block

    def take_back(self, table: Table, key: str) -> None:
        """Remove the child just added as `key` (the loader hands a block it began back to the parser)."""
        assert next(reversed(table.children)) == key, "only the last child can be taken back"
        del table.children[key]
        table.key_starts.pop()
        table.forget_positions()

    def _statement(self, table: Table, statement: Statement) -> None:
        if isinstance(statement, Pair):
            label = _join(table.label, statement.key)
            self._insert(
                table, statement.key, statement.key_start, Entry(label, statement.key_start, statement.value)
            )
        elif isinstance(statement, GlobalDecl):
            self._declare_global(statement)
        elif isinstance(statement, Block):
            block = self.open_block(table, statement.key, statement.key_start)
            for inner in statement.body:
                self._statement(block, inner)

    def _declare_global(self, statement: GlobalDecl) -> None:
        earlier = self.globals.get(statement.name)
        if earlier is not None:
            raise self._conflict(
                f"global '${statement.name}' is declared twice "
                f"(first on line {self._line(earlier.key_start)})",
                statement.start,
                len(statement.name) + 1,
            )
        self.globals[statement.name] = Entry(f"${statement.name}", statement.start, statement.value)

    def _insert(self, table: Table, key: str, start: int, child: Entry | Table) -> None:
        if key in table.children:
            raise self._duplicate(table, key, start)
        table.add(key, start, child)

    def _duplicate(self, table: Table, key: str, start: int) -> TuskError:
        where = f" in [{table.label}]" if table.label else ""
        return self._conflict(
            f"duplicate key '{key}'{where}: first defined on line {self._line(_start_of(table, key))}, "
            f"again on line {self._line(start)}",
            start,
            len(key),
        )

    def section(self, names: list[str], start: int, end: int) -> Table:
        """The table of a `[a.b]` header (created, or declared if `[a.b.c]` made it implicitly)."""
        if len(names) > MAX_DEPTH:
            # As deep as blocks may nest: every consumer of the document recurses once per level.
            raise self._conflict(
                f"section [{'.'.join(names[:3])}...] has {len(names)} parts, more than the limit of "
                f"{MAX_DEPTH} levels of nesting",
                start,
                end - start,
            )
        table = self.root
        for depth, name in enumerate(names):
            label = ".".join(names[: depth + 1])
            child = table.children.get(name)
            if name in table.children and not isinstance(child, Table):
                raise self._conflict(
                    f"section [{'.'.join(names)}] clashes with the key '{label}' "
                    f"defined on line {self._line(table.key_start(name))}",
                    start,
                    end - start,
                )
            if child is None:
                child = Table(label, start, end, False)
                table.add(name, start, child)
            table = child
        if table.declared:
            raise self._conflict(
                f"duplicate section [{table.label}]: first declared on line {self._line(table.start)}, "
                f"again on line {self._line(start)}",
                start,
                end - start,
            )
        table.declared = True
        table.start, table.end = start, end
        return table

    def _conflict(self, message: str, offset: int, span: int) -> TuskError:
        return self.source.error(message, offset, span, DefinitionConflict)

    def _line(self, offset: int) -> int:
        return self.source.line_col(offset)[0]


def _start_of(table: Table, key: str) -> int:
    """Where a child was defined: a section table's own header once it is declared, else its key."""
    child = table.children[key]
    return child.start if isinstance(child, Table) else table.key_start(key)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key
