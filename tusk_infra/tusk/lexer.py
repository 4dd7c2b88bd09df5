"""The lexer lark's LALR parser pulls tokens from: the grammar's terminals plus statement/bracket context.

A context-free lexer cannot tell a block's `{` from an inline object's, or know that a newline inside `[ ]`
does not end a statement; this one keeps a stack of open brackets to decide. It only records offsets
(line and column are worked out when an error needs them), which keeps tokens cheap.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from lark.lexer import Lexer, LexerState, Token

from tusk_infra.tusk.errors import SyntaxProblem

# Synthetic terminals (declared in the grammar, produced here from context).
NEWLINE = "_NL"
SECTION_OPEN = "SECTION_OPEN"
BLOCK_OPEN = "BLOCK_OPEN"
BLOCK_CLOSE = "BLOCK_CLOSE"
_SYNTHETIC = {NEWLINE, SECTION_OPEN, BLOCK_OPEN, BLOCK_CLOSE}

# Newlines and ';' end statements; a run of them (with blank lines and comments between) is one token.
_NEWLINE_PATTERN = r"[\n;](?:[ \t\f\r\n;]|#[^\n]*)*"

# Kinds of open brackets on the stack; newlines inside the first three do not end a statement.
_PAREN, _ARRAY, _INLINE, _BLOCK_BRACE, _BLOCK_ANGLE, _SECTION = range(6)
_CLOSER = {_PAREN: ")", _ARRAY: "]", _INLINE: "}", _BLOCK_BRACE: "}", _BLOCK_ANGLE: "<", _SECTION: "]"}
_OPENER = {_PAREN: "(", _ARRAY: "[", _INLINE: "{", _BLOCK_BRACE: "{", _BLOCK_ANGLE: ">", _SECTION: "["}


# The stream of the parse running on this thread, so a parse error can ask which brackets are still open.
_current = threading.local()


def open_bracket() -> tuple[str, str, int] | None:
    """(opener, closer, offset) of the innermost ( [ or inline { still open in this thread's last parse."""
    stream: _TokenStream | None = getattr(_current, "stream", None)
    if stream is None:
        return None
    for kind, opened_at in reversed(stream.stack):
        if kind <= _INLINE:
            return _OPENER[kind], _CLOSER[kind], opened_at
    return None


class TuskLexer(Lexer):
    """Tokens for the LALR parser, built from the grammar's own terminal definitions."""

    __future_interface__ = 2

    def __init__(self, conf: Any) -> None:
        terminals = [t for t in conf.terminals if t.name not in _SYNTHETIC]
        # Longest alternatives first, as lark orders them, so `==` wins over `=` and FLOAT over INT.
        terminals.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        keywords = {
            t.pattern.value: t.name
            for t in terminals
            if t.pattern.type == "str" and t.pattern.value.isalpha()
        }
        regex_terminals = [t for t in terminals if t.pattern.value not in keywords]
        alternatives = [f"(?P<{NEWLINE}>{_NEWLINE_PATTERN})"]
        alternatives += [f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in regex_terminals]
        self.scanner = re.compile("|".join(alternatives))
        self.ignored = frozenset(conf.ignore)
        self.keywords = keywords

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        """Yield the tokens of the whole text (lark calls this once per parse)."""
        return _TokenStream(self, lexer_state.text.text).tokens()


class _TokenStream:
    """One pass over one text: the bracket stack and the 'at start of a statement' state live here."""

    def __init__(self, lexer: TuskLexer, text: str) -> None:
        self.lexer = lexer
        self.text = text
        self.stack: list[tuple[int, int]] = []  # (bracket kind, offset of the opener)
        _current.stream = self

    def tokens(self) -> Iterator[Token]:
        text = self.text
        match = self.lexer.scanner.match
        ignored = self.lexer.ignored
        keywords = self.lexer.keywords
        stack = self.stack
        # Token() goes through a deprecation shim per call; the classmethod behind it does not.
        new_token: Callable[..., Token] = Token._future_new
        at_start = True  # nothing but newlines since the last statement ended
        after_key = False  # the previous token was the key that starts a statement
        pos = 0
        end = len(text)
        while pos < end:
            m = match(text, pos)
            if m is None:
                raise self._bad_character(pos)
            kind = m.lastgroup
            value = m.group()
            start, pos = pos, m.end()
            if kind in ignored:
                continue
            key_before = after_key
            after_key = False
            if kind == NEWLINE:
                if at_start or (stack and stack[-1][0] <= _INLINE):
                    continue
                at_start = True
                yield new_token(NEWLINE, value, start, None, None, None, None, pos)
                continue
            if kind == "NAME":
                kind = keywords.get(value, kind)
                after_key = at_start
            elif kind in _BRACKET_KINDS:
                kind = self._bracket(kind, value, start, at_start, key_before)
                if kind == BLOCK_CLOSE and not at_start:
                    yield new_token(NEWLINE, "", start, None, None, None, None, start)
                if kind == BLOCK_OPEN:
                    at_start = True
                    yield new_token(kind, value, start, None, None, None, None, pos)
                    continue
            elif kind == "COMPARE" and (value == ">" and key_before or value == "<" and at_start):
                kind = self._angle(value, start, at_start)
                if kind == BLOCK_OPEN:
                    at_start = True
                    yield new_token(kind, value, start, None, None, None, None, pos)
                    continue
            at_start = False
            yield new_token(kind, value, start, None, None, None, None, pos)
        if stack:
            kind_open, opened_at = stack[-1]
            raise SyntaxProblem(
                f"unclosed '{_OPENER[kind_open]}': "
                f"expected '{_CLOSER[kind_open]}' before the end of the file",
                opened_at,
            )
        if not at_start:
            yield new_token(NEWLINE, "", end, None, None, None, None, end)

    def _bracket(self, kind: str, value: str, start: int, at_start: bool, after_key: bool) -> str:
        """Push or pop the bracket stack; returns the token type the parser should see."""
        if value == "(":
            self.stack.append((_PAREN, start))
            return kind
        if value == "[":
            if at_start:
                self.stack.append((_SECTION, start))
                return SECTION_OPEN
            self.stack.append((_ARRAY, start))
            return kind
        if value == "{":
            if after_key:
                self.stack.append((_BLOCK_BRACE, start))
                return BLOCK_OPEN
            self.stack.append((_INLINE, start))
            return kind
        opened = self._close(value, start)
        return BLOCK_CLOSE if opened == _BLOCK_BRACE else kind

    def _angle(self, value: str, start: int, at_start: bool) -> str:
        """`key >` opens a block, a `<` that starts a statement closes one."""
        if value == ">":
            self.stack.append((_BLOCK_ANGLE, start))
            return BLOCK_OPEN
        self._close("<", start)
        return BLOCK_CLOSE

    def _close(self, closer: str, start: int) -> int:
        if not self.stack:
            raise SyntaxProblem(
                f"unexpected '{closer}': there is no open {_opener_names(closer)} to close", start
            )
        kind, opened_at = self.stack[-1]
        if _CLOSER[kind] != closer:
            line_hint = self.text.count("\n", 0, opened_at) + 1
            raise SyntaxProblem(
                f"found '{closer}' but the '{_OPENER[kind]}' opened on line {line_hint} is still open "
                f"(expected '{_CLOSER[kind]}')",
                start,
            )
        self.stack.pop()
        return kind

    def _rest_of_line(self, pos: int) -> int:
        line_end = self.text.find("\n", pos)
        return (len(self.text) if line_end < 0 else line_end) - pos

    def _bad_character(self, pos: int) -> SyntaxProblem:
        char = self.text[pos]
        if char in "\"'":
            return SyntaxProblem(
                f"unclosed string: expected a closing {char} on the same line", pos, self._rest_of_line(pos)
            )
        if char == "$":
            return SyntaxProblem("expected a name after '$' (like $region or ${region})", pos)
        if char == "@":
            return SyntaxProblem("expected an operator name after '@' (like @env)", pos)
        return SyntaxProblem(f"unexpected character {char!r}", pos)


_BRACKET_KINDS = frozenset({"_LPAR", "RPAR", "LSQB", "RSQB", "LBRACE", "RBRACE"})


def _opener_names(closer: str) -> str:
    return {")": "'('", "]": "'[' (array or section)", "}": "block or object", "<": "'>' block"}[closer]
