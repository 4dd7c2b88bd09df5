"""Text to layout: static lines go straight into their tables; every other statement through the parser.

Most lines of a configuration file are `key: literal`, `[section]`, `name {` and `}`. Reading each of those
with one regex match and writing the literal's value straight into its table (no tokens, no syntax nodes,
no Entry) is what lets a large static file load faster than tomllib reads the same data, with fewer
objects alive. Anything else — an expression, a one-line block, anything malformed — goes to the LALR
parser, which hands back at the next static line at the top level.

A block is read here only if every line of it is static: at the first line that is not, the block is taken
back out of its table and the parser reads it whole, so its syntax errors and contents come from one place.
The outcome is the parser's own, error messages included (tests/test_tsk_fast_path.py compares the two).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tusk_infra.tusk.errors import DefinitionConflict, SourceText, SyntaxProblem
from tusk_infra.tusk.lexer import (
    BLANK,
    LINE_CLOSE,
    LINE_KEY,
    LINE_LITERAL,
    LINE_OPEN,
    LINE_SECTION,
    LINE_SECTION_END,
    MAX_NESTING,
    STATIC_LINE,
)
from tusk_infra.tusk.parser import Parser, compiled, static_expr, static_value
from tusk_infra.tusk.syntax import ArrayLit, Const
from tusk_infra.tusk.tables import Layout, Table
from tusk_infra.tusk.unsupported import refuse_directives

_CLOSES = {"{": "}", ">": "<"}


def load(source: SourceText, parser: Parser | None = None) -> Layout:
    """The layout of a .tsk text: its tables and globals, each value a literal or an unevaluated Entry.

    A syntax error anywhere in the file is reported before a duplicate definition (the parser-only path
    lays out only a file that parsed), so on a conflict the rest of the file is parsed to look for one.
    """
    parser = parser or compiled()
    refuse_directives(source)
    layout = Layout(source)
    if not parser.fast_statements:
        layout.add(parser.parse(source))
        return layout
    try:
        _Loader(source, parser, layout).run()
    except SyntaxProblem as problem:  # a literal's value out of range
        raise source.error(problem.message, problem.offset, problem.span) from None
    except DefinitionConflict:
        parser.parse(source)
        raise
    return layout


def literal_expr(text: str, key_start: int) -> Const | ArrayLit:
    """The syntax node of the literal on the static line whose key starts at `key_start` (for provenance:
    the loader keeps only the key's offset, and the line reads the same again)."""
    line = STATIC_LINE.match(text, key_start)
    assert line is not None and line.group(LINE_LITERAL) is not None, "not a static key: literal line"
    return static_expr(line.group(LINE_LITERAL), line.start(LINE_LITERAL))


def _blank_end(text: str, pos: int) -> int:
    """Past the blank lines, comments and stray ';' at `pos`."""
    blank = BLANK.match(text, pos)
    assert blank is not None  # BLANK matches the empty string too
    return blank.end()


@dataclass(slots=True)
class _OpenBlock:
    """A block the loader is reading: its table, where it was added and how it closes."""

    table: Table
    parent: Table
    key: str
    line_start: int
    closer: str


class _Loader:
    """One pass over one text."""

    def __init__(self, source: SourceText, parser: Parser, layout: Layout) -> None:
        self.source = source
        self.parser = parser
        self.layout = layout
        self.current = layout.root  # the section top-level statements belong to
        self.blocks: list[_OpenBlock] = []

    def run(self) -> None:
        text = self.source.text
        end = len(text)
        match_line = STATIC_LINE.match
        add_literal = self.layout.add_literal
        # One object per distinct key and per distinct scalar literal (as json's scanner memoises keys): a
        # large file repeats both, and fewer objects is less memory to fill and free. Both are immutable;
        # an array's text is never a key of `scalars`, so every array line gets its own list.
        keys: dict[str, str] = {}
        scalars: dict[str, Any] = {}
        target = self.layout.root  # the table a literal line goes to
        pos = _blank_end(text, 0)
        while pos < end or self.blocks:
            line = match_line(text, pos)
            if line is None or line[LINE_LITERAL] is None:
                pos = self._not_literal(line, pos)
                target = self.blocks[-1].table if self.blocks else self.current
                continue
            literal = line[LINE_LITERAL]  # the commonest line by far: `key: literal`
            if literal in scalars:
                value = scalars[literal]
            else:
                value = static_value(literal, line.start(LINE_LITERAL), scalars)
            key = line[LINE_KEY]
            add_literal(target, keys.setdefault(key, key), pos, value)
            pos = line.end()

    def _not_literal(self, line: re.Match[str] | None, pos: int) -> int:
        """Handle a line that is not `key: literal`; returns where the next line starts."""
        if line is not None and self._structure(line):
            return line.end()
        return self._parse_from(self._hand_back_blocks(pos))

    def _structure(self, line: re.Match[str]) -> bool:
        """Open or close a block, or start a section; False when the parser must read the line."""
        opener = line.group(LINE_OPEN)
        if opener is not None:
            if len(self.blocks) >= MAX_NESTING:
                return False
            parent = self.blocks[-1].table if self.blocks else self.current
            key = line.group(LINE_KEY)
            table = self.layout.open_block(parent, key, line.start())
            self.blocks.append(_OpenBlock(table, parent, key, line.start(), _CLOSES[opener]))
            return True
        closer = line.group(LINE_CLOSE)
        if closer is not None:
            if not self.blocks or self.blocks[-1].closer != closer:
                return False
            self.blocks.pop()
            return True
        if self.blocks:  # a section inside a block: the parser says why not
            return False
        names = [name.strip() for name in line.group(LINE_SECTION).split(".")]
        self.current = self.layout.section(names, line.start(), line.end(LINE_SECTION_END))
        return True

    def _hand_back_blocks(self, pos: int) -> int:
        """Take the outermost open block back out of its table: the parser will read it from its key."""
        if not self.blocks:
            return pos
        outermost = self.blocks[0]
        self.layout.take_back(outermost.parent, outermost.key)
        self.blocks.clear()
        return outermost.line_start

    def _parse_from(self, pos: int) -> int:
        """Parse top-level statements from `pos` up to the next static line; returns where they end."""
        statements, end = self.parser.parse_segment(self.source, pos, hand_back=True)
        for statement in statements:
            self.current = self.layout.add_statement(self.current, statement)
        return end
