"""The one error type of the language: a message pinned to file:line:col, with a caret snippet."""

from __future__ import annotations

import difflib
import re
from bisect import bisect_right
from collections.abc import Iterable


class TuskError(Exception):
    """A problem a user can fix in a .tsk file (or in the inputs handed to it), pinned to file:line:col."""

    def __init__(
        self,
        message: str,
        file: str = "<string>",
        line: int = 1,
        column: int = 1,
        *,
        source_line: str | None = None,
        span: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.source_line = source_line
        self.span = max(1, span)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def render(self) -> str:
        """The `file:line:col: message` line, then the offending source line with a caret under the spot."""
        if self.source_line is None:
            return str(self)
        gutter = str(self.line)
        pad = " " * len(gutter)
        line = masked_secret_literals(self.source_line.expandtabs(1).rstrip("\r\n"))
        shown, column = _window(line, self.column)
        width = max(1, min(self.span, len(shown) - column + 1))
        caret = " " * (column - 1) + "^" * width
        return f"{self}\n{pad} |\n{gutter} | {shown}\n{pad} | {caret}"


# A key named like a secret (`password: "..."`, `api_token = '...'`): a string literal written for it is a
# secret pasted where `@env.secure(...)` belongs, and a snippet never shows it, whatever the error is about.
_SECRET_LITERAL = re.compile(
    r"""(?P<key>[\w.$-]*(?:password|passwd|secret|token|api_?key|private_?key|credential)[\w-]*\s*[:=]\s*)"""
    r"""(?P<quote>["'])(?:\\.|(?!(?P=quote)).)*(?:(?P=quote)|$)""",
    re.IGNORECASE,
)


def masked_secret_literals(line: str) -> str:
    """The line with every string literal written for a secret-named key replaced by [secret]."""
    return _SECRET_LITERAL.sub(lambda match: f"{match['key']}{match['quote']}[secret]{match['quote']}", line)


# A longer line is cut to this many characters around the column (a minified or generated line can be huge).
SNIPPET_WIDTH = 160


def _window(line: str, column: int) -> tuple[str, int]:
    """The part of a long line around `column`, with '...' where it was cut, and the column within it."""
    if len(line) <= SNIPPET_WIDTH:
        return line, column
    start = max(0, min(column - 1 - SNIPPET_WIDTH // 4, len(line) - SNIPPET_WIDTH))
    end = start + SNIPPET_WIDTH
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(line) else ""
    return prefix + line[start:end] + suffix, column - start + len(prefix)


class MissingEnvironment(TuskError):
    """Environment variables (or secrets) the file reads but nobody set; a command can add how to set them."""

    names: tuple[str, ...] = ()
    secret_names: tuple[str, ...] = ()  # those of `names` read with @env.secure

    def with_hint(self, hint: str) -> MissingEnvironment:
        """The same error with `; {hint}` after the message."""
        error = MissingEnvironment(
            f"{self.message}; {hint}",
            self.file,
            self.line,
            self.column,
            source_line=self.source_line,
            span=self.span,
        )
        error.names = self.names
        error.secret_names = self.secret_names
        return error


class DefinitionConflict(TuskError):
    """A key, block, section or global defined twice, or a section over a key: found while laying out."""


class SyntaxProblem(Exception):
    """A problem found at a character offset while parsing; the parser pins it to file:line:col."""

    def __init__(self, message: str, offset: int, span: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.span = span


class SourceText:
    """A file's text with a line index, so positions can travel as plain offsets and become line:col late."""

    __slots__ = ("file", "text", "_line_starts")

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self._line_starts: list[int] | None = None

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        starts = self._starts()
        index = bisect_right(starts, offset) - 1
        return index + 1, offset - starts[index] + 1

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its newline."""
        starts = self._starts()
        begin = starts[line - 1]
        end = self.text.find("\n", begin)
        return self.text[begin:] if end < 0 else self.text[begin:end]

    def error(self, message: str, offset: int, span: int = 1, kind: type[TuskError] = TuskError) -> TuskError:
        """A TuskError (or the subclass `kind`) at a character offset of this text."""
        offset = max(0, min(offset, len(self.text)))
        line, column = self.line_col(offset)
        return kind(message, self.file, line, column, source_line=self.line_text(line), span=span)

    def location(self, offset: int) -> str:
        """`file:line:col` of an offset."""
        line, column = self.line_col(offset)
        return f"{self.file}:{line}:{column}"

    def _starts(self) -> list[int]:
        if self._line_starts is None:
            starts = [0]
            find = self.text.find
            position = find("\n")
            while position >= 0:
                starts.append(position + 1)
                position = find("\n", position + 1)
            self._line_starts = starts
        return self._line_starts


def suggestion(name: str, candidates: Iterable[str], prefix: str = "", suffix: str = "") -> str:
    """` (did you mean 'x'?)` for the closest candidate, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{prefix}{close[0]}{suffix}'?)" if close else ""


def quoted_list(names: Iterable[str], limit: int = 12) -> str:
    """A short, readable list of names for messages: 'a', 'b', 'c' (and 4 more)."""
    names = list(names)
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    if len(names) > limit:
        shown += f" (and {len(names) - limit} more)"
    return shown or "none"
