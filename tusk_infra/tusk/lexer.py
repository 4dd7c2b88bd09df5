"""Tokens for the LALR driver: the grammar's terminals plus statement and bracket context.

A context-free lexer cannot tell a block's `{` from an inline object's, or know that a newline inside `[ ]`
does not end a statement; this one keeps a stack of open brackets to decide. Tokens are plain
(type, text, start, end) tuples with character offsets; line and column are worked out only for errors.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

from tusk_infra.tusk.errors import SyntaxProblem
from tusk_infra.tusk.unsupported import opens_triple_quotes, triple_quotes

# (type, text, start, end); a STATIC_PAIR's text is (key, literal, literal's start) instead.
Token = tuple[str, Any, int, int]

# Synthetic terminals (declared in the grammar, produced here from context).
NEWLINE = "_NL"
SECTION_OPEN = "SECTION_OPEN"
BLOCK_OPEN = "BLOCK_OPEN"
BLOCK_CLOSE = "BLOCK_CLOSE"
STATIC_PAIR = "STATIC_PAIR"
SECTION_HEADER = "SECTION_HEADER"
_SYNTHETIC = {NEWLINE, SECTION_OPEN, BLOCK_OPEN, BLOCK_CLOSE, STATIC_PAIR, SECTION_HEADER}

# A whole `key: literal` statement, tried only where a statement starts: most lines of a config file are
# this, and one match instead of many tokens is most of the lexer's and the parser's speed. A literal is
# one the slow path reads the same way: a string without escapes or `$`, a number, true/false/null, or a
# one-line array of those.
STATIC_LITERAL = (
    r""""[^"\\\n$]*"|'[^'\n]*'|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null"""
)
# Possessive (`*+`): an element is never given back, so the regex engine keeps no backtracking state per
# element (a 10 MB line of 5 million elements took 4 GB without it).
STATIC_ARRAY = rf"\[[ \t]*(?:(?:{STATIC_LITERAL})[ \t]*,[ \t]*)*+(?:(?:{STATIC_LITERAL})[ \t]*)?\]"
STATIC_KEY = r"(?!(?:true|false|null)\b)[A-Za-z_][A-Za-z0-9_]*"
_END_OF_LINE = r"[ \t\f\r]*(?:#[^\n]*)?(?:[\n;](?:[ \t\f\r\n;]|#[^\n]*)*|\Z)"
_STATIC_PAIR_PATTERN = (
    rf"(?P<static_key>{STATIC_KEY})[ \t]*[:=](?!=)[ \t]*(?P<static_value>{STATIC_LITERAL}|{STATIC_ARRAY})"
    + _END_OF_LINE
)
_SECTION_HEADER_PATTERN = (
    rf"\[[ \t]*(?P<section_names>{STATIC_KEY}(?:[ \t]*\.[ \t]*{STATIC_KEY})*)[ \t]*(?P<section_end>\])"
    + _END_OF_LINE
)

# A whole static line as the loader reads it (loader.py), with the blank lines and comments after it:
# `key: literal`, `name {` or `name >` (a block opens), a lone `}` or `<` (a block closes), or `[a.b]`.
# Groups: 1 key, 2 literal, 3 block opener, 4 closer, 5 section names, 6 the section's `]`.
STATIC_LINE = re.compile(
    rf"(?:({STATIC_KEY})[ \t]*(?:[:=](?!=)[ \t]*({STATIC_LITERAL}|{STATIC_ARRAY})|([{{>]))"
    rf"|([}}<])"
    rf"|\[[ \t]*({STATIC_KEY}(?:[ \t]*\.[ \t]*{STATIC_KEY})*)[ \t]*(\]))"
    + _END_OF_LINE
)
LINE_KEY, LINE_LITERAL, LINE_OPEN, LINE_CLOSE, LINE_SECTION, LINE_SECTION_END = range(1, 7)
_BLOCK_LINE = re.compile(rf"{STATIC_KEY}[ \t]*[{{>]" + _END_OF_LINE)  # STATIC_LINE's `name {` alone
# What may come between statements: blank lines, indentation, comments and stray ';'.
BLANK = re.compile(r"(?:[ \t\f\r\n;]|#[^\n]*)*")

# Newlines and ';' end statements; a run of them (with blank lines, indentation and comments) is one token.
_NEWLINE_PATTERN = r"[\n;](?:[ \t\f\r\n;]|#[^\n]*)*"
# Spaces and comments in the middle of a line are skipped as part of the next token's match; atomic, so a
# failed match never backtracks into a comment and reads its words as tokens.
_SKIP_PATTERN = r"(?>(?:[ \t\f\r]|#[^\n]*)*)"
_ERROR = "ERROR"
# After a `<`: the rest of the line is empty (or a comment), or another block closes right away.
_ANGLE_CLOSE = re.compile(r"[ \t\f\r]*(?:#[^\n]*)?(?:[\n;<]|\Z)")

# Kinds of open brackets; newlines inside the first four do not end a statement. A LINE_OBJECT is an
# inline object whose `{` ends its line: one member per line, so a newline after a member separates it
# from the next as a ',' would (`key: {` + lines reads like the block `key {` + lines).
PAREN, ARRAY, INLINE, LINE_OBJECT, BLOCK_BRACE, BLOCK_ANGLE, SECTION = range(7)
_CLOSER = {
    PAREN: ")", ARRAY: "]", INLINE: "}", LINE_OBJECT: "}", BLOCK_BRACE: "}", BLOCK_ANGLE: "<", SECTION: "]",
}  # fmt: skip
_OPENER = {
    PAREN: "(", ARRAY: "[", INLINE: "{", LINE_OBJECT: "{", BLOCK_BRACE: "{", BLOCK_ANGLE: ">", SECTION: "[",
}  # fmt: skip
# The rest of the line is empty or a comment (after a `{`: the object takes one member per line).
_LINE_END = re.compile(r"[ \t\f\r]*(?:#[^\n]*)?(?:\n|\Z)")
# Tokens that can end a value: a newline after one, inside a LINE_OBJECT, ends the member.
_ENDS_VALUE = frozenset(
    {"NAME", "VAR", "DYNAMIC_KEY", "STRING", "RAW_STRING", "INT", "FLOAT", "TRUE", "FALSE", "NULL", "RPAR",
     "RSQB", "RBRACE"}
)  # fmt: skip
_BRACKETS = frozenset({"_LPAR", "RPAR", "LSQB", "RSQB", "LBRACE", "RBRACE"})
# Deeper nesting is certainly a mistake, and the evaluator's recursion must stay well inside Python's limit.
MAX_NESTING = 100


class Scanner:
    """The compiled token regex for a grammar's terminals (lark TerminalDefs)."""

    def __init__(
        self, terminals: Collection[Any], ignore: Collection[str], fast_statements: bool = True
    ) -> None:
        wanted = [t for t in terminals if t.name not in _SYNTHETIC and t.name not in ignore]
        # Longest alternatives first, as lark orders them, so `==` wins over `=` and FLOAT over INT.
        wanted.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        self.keywords = {
            t.pattern.value: t.name for t in wanted if t.pattern.type == "str" and t.pattern.value.isalpha()
        }
        alternatives = [f"(?P<{NEWLINE}>{_NEWLINE_PATTERN})"]
        alternatives += [
            f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in wanted if t.name not in self.keywords.values()
        ]
        alternatives.append(rf"(?P<{_ERROR}>[\s\S])")
        self.regex = re.compile(_SKIP_PATTERN + "(?:" + "|".join(alternatives) + ")")
        static = [
            f"(?P<{STATIC_PAIR}>{_STATIC_PAIR_PATTERN})",
            f"(?P<{SECTION_HEADER}>{_SECTION_HEADER_PATTERN})",
        ]
        # Without the fast path (tests compare the two) statements are read token by token.
        with_static = [*static, *alternatives] if fast_statements else alternatives
        self.statement_regex = re.compile(_SKIP_PATTERN + "(?:" + "|".join(with_static) + ")")

    def tokens(self, text: str, start: int = 0, hand_back: bool = False) -> TokenStream:
        """A fresh token stream over text from `start`; see TokenStream for `hand_back`."""
        return TokenStream(self, text, start, hand_back)


class TokenStream:
    """One pass over one text: the bracket stack and the 'at the start of a statement' state live here.

    With `hand_back`, the stream ends early at the first top-level statement after its first one that is a
    static line (loader.STATIC_LINE: the loader reads those itself); `end` is then where it stopped. The
    statement regex already tries `key: literal` and `[a.b]` first, so only a block's opening line costs
    one more match to recognise.
    """

    def __init__(self, scanner: Scanner, text: str, start: int = 0, hand_back: bool = False) -> None:
        self.scanner = scanner
        self.text = text
        self.start = start
        self.hand_back = hand_back
        self.end = len(text)
        self.stack: list[tuple[int, int]] = []  # (bracket kind, offset of the opener)
        # The last bracket token: its offset, and the bracket it closed (None if it opened one). A token
        # the parser refuses was already lexed: errors look at the brackets as they were before it.
        self._bracket_at = -1
        self._closed: tuple[int, int] | None = None

    def __iter__(self) -> Iterator[Token]:
        text = self.text
        keywords = self.scanner.keywords
        match_token = self.scanner.regex.match
        match_statement = self.scanner.statement_regex.match
        hand_back = self.hand_back
        stack = self.stack
        at_start = True  # nothing but newlines since the last statement ended (or the file began)
        after_key = False  # the previous token was the NAME that starts a statement
        last = ""  # the type of the previous token inside brackets (for LINE_OBJECT's member separators)
        pos = first = self.start
        while True:
            match = match_statement(text, pos) if at_start else match_token(text, pos)
            if match is None:  # only spaces or comments were left
                break
            kind = match.lastgroup
            assert kind is not None
            if at_start and hand_back and not stack and pos != first and _is_static(kind, text, pos):
                self.end = pos
                return
            value = match.group(kind)
            start, pos = match.end() - len(value), match.end()
            if kind == STATIC_PAIR:  # a whole statement, its newline included: hand over its parts
                after_key = False
                literal = match.group("static_value")
                yield kind, (match.group("static_key"), literal, match.start("static_value")), start, pos
                continue
            if kind == SECTION_HEADER:  # a whole `[a.b]` line
                after_key = False
                yield kind, (match.group("section_names"), match.end("section_end")), start, pos
                continue
            if kind == "NAME":
                after_key = at_start
                at_start = False
                last = keywords.get(value, kind)
                yield last, value, start, pos
                continue
            key_before, after_key = after_key, False
            if kind == NEWLINE:
                if not at_start and not (stack and stack[-1][0] <= LINE_OBJECT):
                    at_start = True
                    yield NEWLINE, value, start, pos
                elif stack and stack[-1][0] == LINE_OBJECT and last in _ENDS_VALUE:
                    last = "COMMA"
                    yield last, ",", start, start
                continue
            if (
                kind in _BRACKETS
                or kind == "COMPARE"
                and (value == ">" and key_before or value == "<" and (at_start or self._closes_angle(pos)))
            ):
                kind = self._bracket(value, start, at_start, key_before) or kind
                if kind == BLOCK_CLOSE and not at_start:
                    yield NEWLINE, "", start, start
                at_start = kind == BLOCK_OPEN
                last = kind
                yield kind, value, start, pos
                continue
            if kind == _ERROR:
                raise self._bad_character(start)
            at_start = False
            last = kind
            yield kind, value, start, pos
        yield from self._end(at_start)

    def _closes_angle(self, after: int) -> bool:
        """A `<` that ends its line inside a `name > ... <` block closes it (`blk > a: 1 <`): a comparison
        there would have no right-hand side."""
        return (
            bool(self.stack)
            and self.stack[-1][0] == BLOCK_ANGLE
            and _ANGLE_CLOSE.match(self.text, after) is not None
        )

    def _end(self, at_start: bool) -> Iterator[Token]:
        if self.stack:
            kind, opened_at = self.stack[-1]
            raise SyntaxProblem(
                f"unclosed '{_OPENER[kind]}': expected '{_CLOSER[kind]}' before the end of the file",
                opened_at,
            )
        if not at_start:
            end = len(self.text)
            yield NEWLINE, "", end, end

    def open_bracket(self, before: int | None = None) -> tuple[str, str, int] | None:
        """(opener, closer, offset) of the innermost ( [ or inline { still open; with `before`, the offset of
        the last token lexed, as it was before that token (a '}' still inside its object)."""
        for kind, opened_at in reversed(self._stack_before(before)):
            if kind <= LINE_OBJECT:
                return _OPENER[kind], _CLOSER[kind], opened_at
        return None

    def _stack_before(self, offset: int | None) -> list[tuple[int, int]]:
        if offset is None or offset != self._bracket_at:
            return self.stack
        return self.stack[:-1] if self._closed is None else [*self.stack, self._closed]

    def open_block(self) -> int | None:
        """The offset of the innermost block opener (`{` or `>`) still open."""
        for kind, opened_at in reversed(self.stack):
            if kind in (BLOCK_BRACE, BLOCK_ANGLE):
                return opened_at
        return None

    def _bracket(self, value: str, start: int, at_start: bool, after_key: bool) -> str | None:
        """Push or pop the bracket stack; returns the synthetic token type, if the bracket is one."""
        if len(self.stack) >= MAX_NESTING and value in "([{>":
            raise SyntaxProblem(
                f"blocks, arrays, objects and parentheses nest deeper than {MAX_NESTING} levels", start
            )
        self._bracket_at, self._closed = start, None
        if value == "(":
            self.stack.append((PAREN, start))
        elif value == "[":
            self.stack.append((SECTION if at_start else ARRAY, start))
            return SECTION_OPEN if at_start else None
        elif value == "{" or value == ">":
            # `key {` and `key >` open blocks; any other `{` is an inline object.
            kind = INLINE if value == "{" and not after_key else BLOCK_BRACE if value == "{" else BLOCK_ANGLE
            if kind == INLINE and _LINE_END.match(self.text, start + 1):
                kind = LINE_OBJECT
            self.stack.append((kind, start))
            return BLOCK_OPEN if kind in (BLOCK_BRACE, BLOCK_ANGLE) else None
        else:
            closed = self._close(value, start)
            return BLOCK_CLOSE if closed in (BLOCK_BRACE, BLOCK_ANGLE) else None
        return None

    def _close(self, closer: str, start: int) -> int:
        if not self.stack:
            raise SyntaxProblem(
                f"unexpected '{closer}': there is no open {_opener_names(closer)} to close", start
            )
        kind, opened_at = self.stack[-1]
        if _CLOSER[kind] != closer:
            line = self.text.count("\n", 0, opened_at) + 1
            raise SyntaxProblem(
                f"found '{closer}' but the '{_OPENER[kind]}' opened on line {line} is still open "
                f"(expected '{_CLOSER[kind]}')",
                start,
            )
        self._closed = self.stack.pop()
        return kind

    def _bad_character(self, pos: int) -> SyntaxProblem:
        char = self.text[pos]
        if char in "\"'" and opens_triple_quotes(self.text, pos):
            return SyntaxProblem(triple_quotes(char), pos - 2, 3)
        if char in "\"'":
            line_end = self.text.find("\n", pos)
            span = (len(self.text) if line_end < 0 else line_end) - pos
            return SyntaxProblem(f"unclosed string: expected a closing {char} on the same line", pos, span)
        if char == "$":
            return SyntaxProblem("expected a name after '$' (like $region or ${region})", pos)
        if char == "@":
            return SyntaxProblem("expected an operator name after '@' (like @env)", pos)
        return SyntaxProblem(f"unexpected character {char!r}", pos)


def _is_static(kind: str, text: str, pos: int) -> bool:
    """Whether the statement at `pos`, whose first match is of type `kind`, is a static line."""
    if kind == STATIC_PAIR or kind == SECTION_HEADER:
        return True
    return kind == "NAME" and _BLOCK_LINE.match(text, pos) is not None


def _opener_names(closer: str) -> str:
    return {")": "'('", "]": "'[' (array or section)", "}": "block or object", "<": "'>' block"}[closer]
