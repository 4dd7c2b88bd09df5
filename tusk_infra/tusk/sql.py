"""The one check every query adapter shares: the text is a single read-only SELECT (or WITH ... SELECT).

Adapters also open their connections read-only; this check gives the user a clear message first and keeps
statements that read-only mode would not stop (SELECT ... INTO, locks) out. It tokenizes just enough SQL
to skip strings, quoted identifiers and comments, so a keyword inside a string literal is not a statement.
"""

from __future__ import annotations

import re

# Words that make a statement write, lock or reach outside the database. SELECT ... INTO creates a table in
# PostgreSQL, so INTO is refused too; quoted identifiers ("update") are skipped and stay allowed.
FORBIDDEN_WORDS = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "INTO", "CREATE", "DROP", "ALTER", "TRUNCATE",
        "GRANT", "REVOKE", "ATTACH", "DETACH", "PRAGMA", "VACUUM", "COPY", "CALL", "LOCK", "EXECUTE",
        "PREPARE", "DEALLOCATE", "LISTEN", "NOTIFY", "REINDEX", "REFRESH", "CLUSTER", "COMMENT", "SET",
        "RESET", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "DO", "LOAD", "IMPORT",
    }
)  # fmt: skip

# Forbidden words that are also everyday column names: the refusal says how to use one as a name.
_COMMON_NAMES = frozenset(
    {"COMMENT", "SET", "RESET", "LOAD", "CLUSTER", "REFRESH", "RELEASE", "IMPORT", "LOCK", "CALL", "DO"}
)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<line_comment>--[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\])
  | (?P<dollar>\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<semicolon>;)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class SqlRejected(ValueError):
    """The query text is not one read-only SELECT; the message says what was found."""


def ensure_single_select(sql: str) -> str:
    """Return the statement without a trailing ';', or raise SqlRejected explaining why it is refused."""
    words: list[tuple[str, int]] = []  # (upper-cased word, parenthesis depth)
    first: str | None = None
    depth = 0
    end_of_statement: int | None = None
    position = 0
    while position < len(sql):
        match = _TOKEN.match(sql, position)
        assert match is not None  # `other` matches any single character
        kind, text = match.lastgroup, match.group()
        position = match.end()
        if kind in ("space", "line_comment", "block_comment"):
            continue
        # A quote, `$` or `/*` the patterns above could not close; a lone `/` is division.
        if kind == "other" and text in "'\"`[$" or text == "/" and sql.startswith("/*", match.start()):
            raise SqlRejected(_unterminated(sql, match.start()))
        if kind == "semicolon":
            end_of_statement = match.start() if end_of_statement is None else end_of_statement
            continue
        if end_of_statement is not None:
            raise SqlRejected("only one statement is allowed: found more SQL after ';'")
        first = text if first is None else first
        depth += 1 if text == "(" else -1 if text == ")" else 0
        if kind == "word":
            words.append((text.upper(), depth))
    _check_words(first, words)
    return sql[:end_of_statement].rstrip() if end_of_statement is not None else sql.strip()


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_POSITIONAL = re.compile(r"\$[0-9]+")
_REFERENCE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")


def _unterminated(sql: str, at: int) -> str:
    """Why the quote, comment or `$` at `at` opens something that never ends (a lone `/` is division and
    never comes here)."""
    where = f"starting at character {at + 1}"
    char = sql[at]
    if char == "'":
        return f"unterminated string (') {where}"
    if char == "/":
        return f"unterminated comment (/*) {where}"
    if char != "$":
        return f"unterminated quoted identifier ({char}) {where}"
    tag = _DOLLAR_TAG.match(sql, at)
    if tag:
        return f"unterminated dollar-quoted string ({tag.group()}) {where}"
    positional = _POSITIONAL.match(sql, at)
    if positional:
        return (
            f"'{positional.group()}' at character {at + 1}: write '?' for each parameter and pass the values "
            "after the SQL"
        )
    reference = _REFERENCE.match(sql, at)
    if reference:
        return (
            f"a reference ({reference.group()}) inside the SQL at character {at + 1}: the SQL is sent as "
            f"written, never filled in; write '?' and pass the value as a parameter "
            f'(@query("... WHERE x = ?", {reference.group()}))'
        )
    return f"unexpected '$' at character {at + 1}"


def _check_words(first: str | None, words: list[tuple[str, int]]) -> None:
    if first is None:
        raise SqlRejected("the query is empty: expected a SELECT statement")
    if first.upper() not in ("SELECT", "WITH"):
        raise SqlRejected(f"only SELECT (or WITH ... SELECT) queries are allowed, found {first}")
    for word, _ in words:
        if word in FORBIDDEN_WORDS:
            hint = ""
            if word in _COMMON_NAMES:
                # Refused wherever it appears; a column really called so is fine once quoted.
                hint = f' (if {word.lower()} is a column or table name, quote it: "{word.lower()}")'
            raise SqlRejected(f"only read-only SELECT queries are allowed, found {word}{hint}")
    if first.upper() == "WITH" and ("SELECT", 0) not in words:
        raise SqlRejected("a WITH query must end in a SELECT")
