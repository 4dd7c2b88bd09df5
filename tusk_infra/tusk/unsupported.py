"""Constructs other TuskLang implementations have and this one refuses on purpose, named in the refusal.

A file written for another implementation must either mean the same here or stop with an error that says
which construct is not supported: never be read as something else (a `#!api` directive as a comment, `@learn`
as an unknown name). The README's language section lists them.
"""

from __future__ import annotations

import re

from tusk_infra.tusk.errors import SourceText

# `#!name` at the start of a line (after indentation). A `#!/...` shebang on the first line is a comment.
_DIRECTIVE = re.compile(r"^[ \t]*(#![ \t]*([^\s]*))", re.MULTILINE)

# Operators of other implementations, with what they do there (this one has no code execution, file or
# network access, learning or request context; see operators.py for what it has).
UPSTREAM_OPERATORS = {
    "learn": "values learned at run time",
    "optimize": "values tuned at run time",
    "json": "JSON parsing and building",
    "feature": "feature flags",
    "lambda": "inline functions",
    "request": "the web request being served",
    "php": "inline PHP code",
    "file": "reading files",
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


def unsupported_operator(name: str, supported: list[str]) -> str | None:
    """The refusal for `@name` (`name` may be `family.member`), or None if other implementations do not
    have it either."""
    family = name.split(".", 1)[0]
    what = UPSTREAM_OPERATORS.get(family)
    if what is None:
        return None
    listed = ", ".join(f"@{known}" for known in supported)
    return f"@{family} ({what}) is not supported by this implementation (supported operators: {listed})"
