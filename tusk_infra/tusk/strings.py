"""Double-quoted string bodies: escapes and `${...}` interpolation, decoded once at parse time."""

from __future__ import annotations

import re

from tusk_infra.tusk.errors import SyntaxProblem
from tusk_infra.tusk.syntax import Const, Expr, Interpolated, PathSegment, ScopedRef

_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "/": "/", "$": "$", "'": "'"}
_SPECIAL = re.compile(r"\\|\$\{")
_OPERATOR = re.compile(r"@[A-Za-z_][A-Za-z0-9_.]*")
_PATH_START = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def string_literal(token_text: str, start: int) -> Expr:
    """The node for a double-quoted string token starting at offset `start` (quotes included)."""
    body = token_text[1:-1]
    if "\\" not in body and "${" not in body:
        return Const(body, start, start + len(token_text))
    parts = _decode(body, start + 1)
    end = start + len(token_text)
    if all(isinstance(part, str) for part in parts):
        return Const("".join(part for part in parts if isinstance(part, str)), start, end)
    return Interpolated(parts, start, end)


def reference_path(inner: str, offset: int) -> ScopedRef:
    """The reference written inside `${...}` (a global or a dotted path), starting at `offset`."""
    text = inner.strip()
    if not _PATH.match(text):
        raise SyntaxProblem(not_a_path_message(inner, closed=True), offset - 2, len(inner) + 3)
    lead = offset + inner.index(text)
    names = text.split(".")
    segments = []
    position = lead + len(names[0]) + 1
    for name in names[1:]:
        segments.append(PathSegment(name, None, position, position + len(name)))
        position += len(name) + 1
    return ScopedRef(names[0], segments, lead, lead + len(text))


def not_a_path_message(inner: str, closed: bool) -> str:
    """Why `${inner}` is not an interpolation: it holds a name or a dotted path only, never an expression."""
    shown = inner.strip()
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    found = f"'${{{shown}}}'" if closed else f"'${{{shown}' (the string ends there)"
    operator = _OPERATOR.match(inner.strip())
    example = f"{operator.group()}(...)" if operator else "..."
    return (
        f"invalid interpolation {found}: ${{...}} holds only a global name or a dotted path, "
        f"like ${{region}} or ${{database.primary.host}}, not an expression; "
        f"put the expression in a global ($value: {example}) and write ${{value}}"
    )


def _decode(body: str, offset: int) -> list[str | ScopedRef]:
    """Split a string body into literal text and references, resolving escapes."""
    parts: list[str | ScopedRef] = []
    text: list[str] = []
    index = 0
    while True:
        found = _SPECIAL.search(body, index)
        if found is None:
            text.append(body[index:])
            break
        text.append(body[index : found.start()])
        if found.group() == "\\":
            decoded, index = _escape(body, found.start(), offset)
            text.append(decoded)
            continue
        close = body.find("}", found.end())
        if close < 0:
            rest = body[found.end() :]
            if rest.strip() and not _PATH_START.match(rest.strip()):
                # `"${@env("X")}"`: the inner quote ended the string; the expression is the real mistake.
                raise SyntaxProblem(
                    not_a_path_message(rest, closed=False), offset + found.start(), len(rest) + 2
                )
            raise SyntaxProblem("unclosed '${' in string: expected '}'", offset + found.start(), 2)
        if text:
            parts.append("".join(text))
            text = []
        parts.append(reference_path(body[found.end() : close], offset + found.end()))
        index = close + 1
    literal = "".join(text)
    if literal:
        parts.append(literal)
    return parts


def _code_unit(body: str, index: int) -> int | None:
    """The value of the four hex digits after the `\\u` at body[index], or None if they are not that."""
    digits = body[index + 2 : index + 6]
    if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
        return int(digits, 16)
    return None


def _escape(body: str, index: int, offset: int) -> tuple[str, int]:
    """Decode the escape at body[index] (a backslash); returns the text and the index after it."""
    code = body[index + 1 : index + 2]
    if code in _SIMPLE_ESCAPES:
        if code == "$" and body.startswith("{", index + 2):
            return "${", index + 3
        return _SIMPLE_ESCAPES[code], index + 2
    if code == "u":
        unit = _code_unit(body, index)
        if unit is None:
            raise SyntaxProblem(
                "invalid \\u escape: expected four hex digits (like \\u00e9)", offset + index, 2
            )
        if 0xDC00 <= unit <= 0xDFFF:
            raise SyntaxProblem(
                "invalid \\u escape: lone low surrogate; a pair is high then low, like \\ud83d\\ude00",
                offset + index,
                6,
            )
        if 0xD800 <= unit <= 0xDBFF:
            # A UTF-16 pair written as two escapes (as JSON does) is one character; half a pair is no text.
            low = _code_unit(body, index + 6) if body.startswith("\\u", index + 6) else None
            if low is None or not 0xDC00 <= low <= 0xDFFF:
                raise SyntaxProblem(
                    "invalid \\u escape: lone high surrogate; a pair is high then low, like \\ud83d\\ude00",
                    offset + index,
                    6,
                )
            return chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)), index + 12
        return chr(unit), index + 6
    raise SyntaxProblem(
        f"unknown escape '\\{code}' (known: \\\" \\\\ \\n \\t \\r \\uXXXX \\${{)", offset + index, 2
    )
