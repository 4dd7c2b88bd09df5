"""Constructs other TuskLang implementations have and this one refuses on purpose, named in the refusal.

A file written for another implementation must either mean the same here or stop with an error that says
which construct is not supported: never be read as something else (a `#!api` directive as a comment, `@learn`
as an unknown name). The README's language section lists them.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from tusk_infra.tusk.errors import SourceText, suggestion

Token = tuple[str, Any, int, int]

# `#!name` at the start of a line (after indentation). A `#!/...` shebang on the first line is a comment.
_DIRECTIVE = re.compile(r"^[ \t]*(#![ \t]*([^\s]*))", re.MULTILINE)

# Operators of other implementations, with what they do there, refused by name while parsing (this one has
# no code execution, learning or request context; see operators.py for what it has). Any other unknown
# operator, `@php` or `@file` say, is the evaluator's "unknown operator" with its suggestions.
UPSTREAM_OPERATORS = {
    "learn": "values learned at run time",
    "optimize": "values tuned at run time",
    "json": "JSON parsing and building",
    "feature": "feature flags",
    "lambda": "inline functions",
    "request": "the web request being served",
}


def refuse_directives(source: SourceText) -> None:
    """Raise a TuskError at the first `#!` directive line (`#!api`); a first-line `#!/...` shebang passes."""
    text = source.text
    if "#!" not in text:  # the usual case: one fast scan, no regex
        return
    for found in _DIRECTIVE.finditer(text):
        if found.start() == 0 and found.group(2).startswith("/"):
            continue
        directive = found.group(1)
        raise source.error(
            f"'{directive}' is a directive, which this implementation does not support (it is not read as a "
            f"comment); remove the line, or write '# {found.group(2)}' to keep it as a comment",
            found.start(1),
            len(directive),
        )


def operator_refusal(name: str, supported: Collection[str]) -> str | None:
    """Why `@name` (`name` may be `family.member`) is refused while parsing, or None to leave it to the
    evaluator (which knows every operator and suggests close names)."""
    family = name.split(".", 1)[0]
    what = UPSTREAM_OPERATORS.get(family)
    if what is not None:
        return f"@{family} ({what}) is not supported by this implementation ({_supported(supported)})"
    if name not in supported and family == "env" and not suggestion(name, supported):
        member = name.split(".", 1)[1]
        return f"'@{name}' is not an operator: read the variable {member} with @env(\"{member}\")"
    return None


def named_construct(
    source: SourceText, found: Token, expected: set[str], supported: Collection[str]
) -> tuple[str, int, int] | None:
    """(message, offset, span) naming the construct of another implementation a refused token belongs to:
    a call without '@', a triple-quoted string, YAML-style indented nesting, an @operator without ( )."""
    kind, text, start, end = found
    wants_value = "INT" in expected and "STRING" in expected
    if kind == "NAME" and wants_value and _CALL_AFTER.match(source.text, end):
        return _bare_call(text, supported), start, end - start
    if kind in ("STRING", "RAW_STRING") and opens_triple_quotes(source.text, start):
        return triple_quotes(source.text[start]), start - 2, 3
    if kind == "_NL" and wants_value:
        nested = _indented_nesting(source, start)
        if nested is not None:
            return nested, start, 1
    if expected == {"_LPAR"}:
        return NO_PARENTHESES, start, max(1, end - start)
    return None


NO_PARENTHESES = 'an @operator takes its arguments in parentheses, like @env("NAME")'


def opens_triple_quotes(text: str, quote_at: int) -> bool:
    """Whether the quote at `quote_at` is the third of three in a row (a triple-quoted string opens)."""
    return quote_at >= 2 and text[quote_at - 2 : quote_at + 1] == text[quote_at] * 3


def triple_quotes(quote: str) -> str:
    """The refusal of a string opened with three quotes (`\"\"\"` or `\'\'\'`)."""
    return (
        f"triple-quoted strings ({quote * 3}) are not supported by this implementation: write the text on "
        'one line in "...", with \\n for a line break, or join lines with +'
    )


_CALL_AFTER = re.compile(r"[ \t]*\(")
# The line after `key:`: indented deeper, `name:` or a `- item`.
_NESTED_LINE = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\n)*([ \t]+)(?:[A-Za-z_][A-Za-z0-9_]*[ \t]*:|(-)[ \t])")


def _supported(names: Collection[str]) -> str:
    return "supported operators: " + ", ".join(f"@{name}" for name in sorted(names))


def _bare_call(name: str, supported: Collection[str]) -> str:
    if name in supported or any(known.startswith(f"{name}.") for known in supported):
        return f"'{name}(...)' is a call without '@': write @{name}(...)"
    what = UPSTREAM_OPERATORS.get(name)
    if what is not None:
        return f"'{name}(...)' ({what}) is not supported by this implementation ({_supported(supported)})"
    return f"'{name}(...)': there are no functions; an operator starts with '@' ({_supported(supported)})"


def _indented_nesting(source: SourceText, newline: int) -> str | None:
    """`key:` with nothing after it and deeper-indented lines below: nesting by indentation (YAML)."""
    line, _ = source.line_col(newline)
    written = source.line_text(line)
    key = written.split("#", 1)[0].strip().rstrip(":= \t")
    if not key.isidentifier():
        return None
    indent = len(written) - len(written.lstrip())
    below = _NESTED_LINE.match(source.text, newline + 1)
    if below is None or len(below.group(1).expandtabs(4)) <= indent:
        return None
    if below.group(2) == "-":
        return (
            "lists by indentation (YAML style) are not supported by this implementation: write "
            f"'{key}: [...]' (an array)"
        )
    return (
        "nesting by indentation (YAML style) is not supported by this implementation: write "
        f"'{key} {{' ... '}}' (a block) or '[{key}]' (a section)"
    )
