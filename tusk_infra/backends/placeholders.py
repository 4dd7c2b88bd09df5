"""Translate TuskLang's `?` query placeholders into psycopg's `%s`, leaving quoted text and comments alone.

`@query` uses the same `?` placeholders for every database (SQLite's native style). psycopg wants `%s` and
treats every other `%` as special, so a literal `%` (as in `LIKE 'a%'`) is doubled. Nothing is ever
interpolated here: values stay bound parameters.
"""

from __future__ import annotations

import re

from tusk_infra.backends.errors import BackendError

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def to_psycopg(sql: str, param_count: int) -> str:
    """`sql` with each `?` outside strings/comments as `%s` and `%` escaped; the counts must agree."""
    out: list[str] = []
    placeholders = 0
    index = 0
    while index < len(sql):
        char = sql[index]
        end = _quoted_end(sql, index)
        if end is not None:
            out.append(sql[index:end].replace("%", "%%"))
            index = end
            continue
        if char == "?":
            out.append("%s")
            placeholders += 1
        else:
            out.append("%%" if char == "%" else char)
        index += 1
    if placeholders != param_count:
        raise BackendError(
            f"the query has {placeholders} '?' placeholder(s) but {param_count} parameter(s) were given"
        )
    return "".join(out)


def _quoted_end(sql: str, start: int) -> int | None:
    """If a string, quoted identifier or comment starts at `start`, the index just past it."""
    two = sql[start : start + 2]
    char = sql[start]
    if char == "'":
        escapes = start > 0 and sql[start - 1] in "eE" and not _is_word_char(sql, start - 2)
        return _closing_quote(sql, start, "'", backslash_escapes=escapes)
    if char == '"':
        return _closing_quote(sql, start, '"', backslash_escapes=False)
    if two == "--":
        newline = sql.find("\n", start)
        return len(sql) if newline < 0 else newline + 1
    if two == "/*":
        return _block_comment_end(sql, start)
    if char == "$" and not _is_word_char(sql, start - 1):
        match = _DOLLAR_TAG.match(sql, start)
        if match:
            close = sql.find(match.group(0), match.end())
            return len(sql) if close < 0 else close + len(match.group(0))
    return None


def _closing_quote(sql: str, start: int, quote: str, *, backslash_escapes: bool) -> int:
    index = start + 1
    while index < len(sql):
        if backslash_escapes and sql[index] == "\\":
            index += 2
            continue
        if sql[index] == quote:
            # A doubled quote is an escaped quote, not the end.
            if sql[index + 1 : index + 2] == quote:
                index += 2
                continue
            return index + 1
        index += 1
    return len(sql)


def _block_comment_end(sql: str, start: int) -> int:
    # PostgreSQL block comments nest.
    depth = 0
    index = start
    while index < len(sql):
        two = sql[index : index + 2]
        if two == "/*":
            depth += 1
            index += 2
        elif two == "*/":
            depth -= 1
            index += 2
            if depth == 0:
                return index
        else:
            index += 1
    return len(sql)


def _is_word_char(sql: str, index: int) -> bool:
    return index >= 0 and (sql[index].isalnum() or sql[index] == "_")
