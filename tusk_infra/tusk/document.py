"""The result of evaluating a file: plain data plus where every value came from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tusk_infra.tusk.errors import TuskError, quoted_list, suggestion
from tusk_infra.tusk.evaluator import unique_inputs
from tusk_infra.tusk.loader import literal_expr
from tusk_infra.tusk.syntax import ArrayLit, Expr, ObjectLit, PathSegment, Ref
from tusk_infra.tusk.tables import DONE, Entry, Layout, Table
from tusk_infra.tusk.values import SECRET_MASK, InputUse, Provenance, Secret
from tusk_infra.tusk.valuetypes import describe

PathLike = str | tuple[str | int, ...]


class PathNotFound(TuskError, KeyError):
    """`provenance()` / `explain` asked for a path the document does not have.

    When not even the first key exists there is no place in the file to point at: line and column are 0
    and the error reads `file: message`, with no source snippet.
    """

    def __str__(self) -> str:
        return super().__str__() if self.line else f"{self.file}: {self.message}"


class Document:
    """An evaluated .tsk file: `data` (globals excluded), provenance per value, inputs used and warnings."""

    def __init__(
        self, data: dict[str, Any], layout: Layout, inputs: tuple[InputUse, ...], warnings: tuple[str, ...]
    ) -> None:
        self.data = data
        self.inputs = inputs
        self.warnings = warnings
        self._layout = layout
        self._source = layout.source

    @property
    def file(self) -> str:
        """The file name the document was evaluated as."""
        return self._source.file

    def line_text(self, line: int) -> str:
        """The text of a 1-based line of the evaluated source (for caret snippets in later errors)."""
        return self._source.line_text(line)

    def to_plain(self, show_secrets: bool = False) -> Any:
        """A JSON-ready copy of the data; secrets become "[secret]" unless show_secrets."""
        return _plain(self.data, show_secrets)

    def get(self, path: PathLike) -> Any:
        """The value at a dotted path (or tuple path; list items by index)."""
        return self._locate(_split_path(path))[0]

    def provenance(self, path: PathLike) -> Provenance:
        """Where the value at `path` came from: file:line:col, expression text and the inputs it used."""
        return self._locate(_split_path(path))[1]

    def key_location(self, path: PathLike) -> tuple[str, int, int] | None:
        """file, line and column where the key at `path` is written: for a key of a section or block (an
        object literal's keys are inside an expression: None there, as for a path that does not exist)."""
        table = self._layout.root
        parts = _split_path(path)
        for depth, key in enumerate(parts):
            if str(key) not in table.children:
                return None
            child = table.children[str(key)]
            if depth == len(parts) - 1:
                return (self._source.file, *self._source.line_col(table.key_start(str(key))))
            if not isinstance(child, Table):
                return None
            table = child
        return None

    def block_span(self, path: PathLike) -> tuple[int, int] | None:
        """Character offsets (start, end) of the `key { ... }` block at `path` as written, from its key to
        just after its closer; None when the path is not a block (a section, a value, or absent)."""
        start = self._key_offset(_split_path(path))
        if start is None:
            return None
        from tusk_infra.tusk.lexer import BLOCK_CLOSE, BLOCK_OPEN
        from tusk_infra.tusk.parser import compiled

        depth = 0
        for kind, _value, _start, end in compiled().scanner.tokens(self._source.text, start):
            depth += (kind == BLOCK_OPEN) - (kind == BLOCK_CLOSE)
            if kind == BLOCK_CLOSE and depth == 0:
                return start, end
            if depth == 0 and kind not in ("NAME", BLOCK_OPEN):
                return None  # the key's statement is a value or a section, not a block
        return None

    def _key_offset(self, parts: tuple[str | int, ...]) -> int | None:
        """Where the key of a block at `parts` is written (None unless every part is a section or block)."""
        table = self._layout.root
        for depth, key in enumerate(parts):
            child = table.children.get(str(key))
            if not isinstance(child, Table):
                return None
            if depth == len(parts) - 1:
                return None if depth == 0 else table.key_start(str(key))
            table = child
        return None

    def reference_chain(self, path: PathLike) -> tuple[Provenance, ...]:
        """Where a value written as a bare reference is itself written, following each reference in turn:
        `shards: $regional_config.${region}.redis_shards` -> the block's `redis_shards: 2` line. Empty when
        the value is not a bare reference (or one whose target cannot be told without evaluating)."""
        chain: list[Provenance] = []
        expr = self._entry_expr(_split_path(path))
        while isinstance(expr, Ref) and len(chain) < 16:
            step = self._reference_target(expr)
            if step is None:
                break
            expr, provenance = step
            chain.append(provenance)
        return tuple(chain)

    def _entry_expr(self, parts: tuple[str | int, ...]) -> Expr | None:
        """The expression of the key at `parts` (None for a table, a literal or a path inside a value)."""
        table = self._layout.root
        for depth, key in enumerate(parts):
            child = table.children.get(str(key))
            if depth == len(parts) - 1:
                return child.expr if isinstance(child, Entry) else None
            if not isinstance(child, Table):
                return None
            table = child
        return None

    def _reference_target(self, ref: Ref) -> tuple[Expr | None, Provenance] | None:
        """The expression a reference reads and its provenance; None when it cannot be told statically."""
        entry = self._layout.globals.get(ref.name)
        if entry is not None:
            return (entry.expr, self._entry_provenance(entry, entry.expr)) if not ref.segments else None
        node: Table | Entry | None = self._layout.root.children.get(ref.name)
        table = node if isinstance(node, Table) else None
        for index, segment in enumerate(ref.segments):
            key = self._static_key(segment)
            if table is None or key is None:
                return None
            key = key if key in table.children else key.replace("-", "_")
            if key not in table.children:
                return None
            child = self._child(table, key, table.key_start(key))
            if index == len(ref.segments) - 1:
                if isinstance(child, Entry):
                    return child.expr, self._entry_provenance(child, child.expr)
                return None
            table = child if isinstance(child, Table) else None
        return None

    def _static_key(self, segment: PathSegment) -> str | None:
        """A segment's key: `.key`, or `.${global}` from the global's evaluated value."""
        if segment.dynamic is None:
            return segment.key
        dynamic = segment.dynamic
        entry = self._layout.globals.get(dynamic.name)
        if dynamic.segments or entry is None or entry.state != DONE or not isinstance(entry.value, str):
            return None
        return entry.value

    def global_provenance(self, name: str) -> Provenance | None:
        """Where the global `$name` is declared (its expression and inputs), or None if the file has none."""
        entry = self._layout.globals.get(name)
        return self._entry_provenance(entry, entry.expr) if entry is not None else None

    def provenance_items(self) -> Iterator[tuple[tuple[str | int, ...], Provenance]]:
        """(path, provenance) for every value in document order, containers before their contents."""
        yield from self._table_items(self._layout.root, ())

    # ---- navigation ----
    def _locate(self, path: tuple[str | int, ...]) -> tuple[Any, Provenance]:
        node: Table | Entry = self._layout.root
        value: Any = self.data
        for depth, key in enumerate(path):
            if isinstance(node, Entry):
                return self._inside_entry(node, value, path, depth)
            if str(key) not in node.children:
                raise self._not_in_table(path, depth, node)
            node, value = self._child(node, str(key), node.key_start(str(key))), value[str(key)]
        if isinstance(node, Entry):
            return value, self._entry_provenance(node, node.expr)
        return value, self._table_provenance(node)

    def _inside_entry(
        self, entry: Entry, value: Any, path: tuple[str | int, ...], depth: int
    ) -> tuple[Any, Provenance]:
        expr: Expr = entry.expr
        for index in range(depth, len(path)):
            key = path[index]
            value, expr = self._step_value(value, expr, key, path[: index + 1], entry)
        return value, self._entry_provenance(entry, expr)

    def _step_value(
        self, value: Any, expr: Expr, key: str | int, shown: tuple[str | int, ...], entry: Entry
    ) -> tuple[Any, Expr]:
        if isinstance(value, list):
            index = key if isinstance(key, int) else int(key) if str(key).isdigit() else -1
            if not 0 <= index < len(value):
                items = f"its items are 0 to {len(value) - 1}" if value else "it is empty"
                what = f"is a list of {len(value)}: no item {key}; {items}"
                raise self._not_found(shown, what, expr.start)
            item_expr = (
                expr.items[index] if isinstance(expr, ArrayLit) and len(expr.items) == len(value) else expr
            )
            return value[index], item_expr
        if isinstance(value, dict) and str(key) in value:
            member_expr = expr
            if isinstance(expr, ObjectLit):
                member_expr = next((m.value for m in expr.members if m.key == str(key)), expr)
            return value[str(key)], member_expr
        if isinstance(value, dict):
            what = f"has no key '{key}'{suggestion(str(key), value)}; it has: {quoted_list(value)}"
        else:
            what = f"is {describe(value)}, which has no keys"
        raise self._not_found(shown, what, expr.start)

    def _not_in_table(self, path: tuple[str | int, ...], depth: int, table: Table) -> PathNotFound:
        key = str(path[depth])
        keys = f"{suggestion(key, table.children)}; it has: {quoted_list(table.children)}"
        dotted = ".".join(str(part) for part in path)
        if table is self._layout.root:
            message = f"no value at '{dotted}': the file has no top-level key '{key}'{keys}"
            return PathNotFound(message, self._source.file, 0, 0)
        return self._not_found(path[: depth + 1], f"has no key '{key}'{keys}", table.start, path)

    def _not_found(
        self,
        reached: tuple[str | int, ...],
        what: str,
        offset: int,
        path: tuple[str | int, ...] | None = None,
    ) -> PathNotFound:
        """`no value at 'a.b.c': 'a.b' has no key 'c' ...`, at the deepest part of the path that exists."""
        dotted = ".".join(str(part) for part in (path or reached))
        parent = ".".join(str(part) for part in reached[:-1])
        line, column = self._source.line_col(offset)
        return PathNotFound(
            f"no value at '{dotted}': '{parent}' {what}",
            self._source.file,
            line,
            column,
            source_line=self._source.line_text(line),
        )

    # ---- provenance ----
    def _entry_provenance(self, entry: Entry, expr: Expr) -> Provenance:
        line, column = self._source.line_col(expr.start)
        text = self._source.text[expr.start : expr.end]
        return Provenance(self._source.file, line, column, text, entry.inputs)

    def _table_provenance(self, table: Table) -> Provenance:
        line, column = self._source.line_col(table.start)
        text = self._source.text[table.start : table.end]
        return Provenance(self._source.file, line, column, text, _table_inputs(table))

    def _table_items(
        self, table: Table, prefix: tuple[str | int, ...]
    ) -> Iterator[tuple[tuple[str | int, ...], Provenance]]:
        for key, key_start in zip(table.children, table.key_starts, strict=True):
            path = (*prefix, key)
            child = self._child(table, key, key_start)
            if isinstance(child, Table):
                yield path, self._table_provenance(child)
                yield from self._table_items(child, path)
            else:
                yield from self._value_items(child, child.expr, child.value, path)

    def _child(self, table: Table, key: str, key_start: int) -> Table | Entry:
        """A table's child; a literal's value comes back as an evaluated Entry read again from its line."""
        child = table.children[key]
        if isinstance(child, Table | Entry):
            return child
        entry = Entry(key, key_start, literal_expr(self._source.text, key_start))
        entry.state, entry.value = DONE, child
        return entry

    def _value_items(
        self, entry: Entry, expr: Expr, value: Any, path: tuple[str | int, ...]
    ) -> Iterator[tuple[tuple[str | int, ...], Provenance]]:
        yield path, self._entry_provenance(entry, expr)
        if isinstance(value, list):
            for index, item in enumerate(value):
                _, item_expr = self._step_value(value, expr, index, (*path, index), entry)
                yield from self._value_items(entry, item_expr, item, (*path, index))
        elif isinstance(value, dict):
            for key, item in value.items():
                _, member_expr = self._step_value(value, expr, key, (*path, key), entry)
                yield from self._value_items(entry, member_expr, item, (*path, key))


def _table_inputs(table: Table) -> tuple[InputUse, ...]:
    collected: list[InputUse] = []
    for child in table.children.values():
        if isinstance(child, Table):
            collected.extend(_table_inputs(child))
        elif isinstance(child, Entry):  # a literal's value used no inputs
            collected.extend(child.inputs)
    return unique_inputs(collected)


def _split_path(path: PathLike) -> tuple[str | int, ...]:
    if isinstance(path, tuple):
        return path
    return tuple(int(part) if part.isdigit() else part for part in path.split(".")) if path else ()


def _plain(value: Any, show_secrets: bool) -> Any:
    if isinstance(value, Secret):
        return value.reveal() if show_secrets else SECRET_MASK
    if isinstance(value, dict):
        return {key: _plain(item, show_secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, show_secrets) for item in value]
    return value
