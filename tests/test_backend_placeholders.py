"""`?` placeholders become psycopg's `%s` only outside quoted text and comments; `%` is escaped."""

from __future__ import annotations

import pytest

from tusk_infra.backends.errors import BackendError
from tusk_infra.backends.placeholders import to_psycopg


@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", 2, "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("SELECT '?' , ?", 1, "SELECT '?' , %s"),
        ("SELECT 'it''s ?' , ?", 1, "SELECT 'it''s ?' , %s"),
        ("SELECT E'\\' ?' , ?", 1, "SELECT E'\\' ?' , %s"),
        ('SELECT "odd?name" FROM t WHERE x = ?', 1, 'SELECT "odd?name" FROM t WHERE x = %s'),
        ("SELECT $$ ? $$, $tag$ ? $tag$, ?", 1, "SELECT $$ ? $$, $tag$ ? $tag$, %s"),
        ("SELECT 1 -- why?\n, ?", 1, "SELECT 1 -- why?\n, %s"),
        ("SELECT /* a /* nested ? */ still ? */ ?", 1, "SELECT /* a /* nested ? */ still ? */ %s"),
        ("SELECT name FROM t WHERE name LIKE 'a%' AND n % 2 = ?", 1,
         "SELECT name FROM t WHERE name LIKE 'a%%' AND n %% 2 = %s"),
        ("SELECT 1", 0, "SELECT 1"),
    ],
)
def test_translation(sql: str, params: int, expected: str) -> None:
    assert to_psycopg(sql, params) == expected


def test_positional_dollar_parameter_is_not_a_dollar_quote() -> None:
    # `$1` is not a dollar quote (a tag cannot start with a digit), so the `?` after it is a placeholder.
    assert to_psycopg("SELECT $1, ?", 1) == "SELECT $1, %s"


@pytest.mark.parametrize(
    ("sql", "params", "found"), [("SELECT ?", 0, 1), ("SELECT 1", 2, 0), ("SELECT '?'", 1, 0)]
)
def test_counts_must_agree(sql: str, params: int, found: int) -> None:
    expected = rf"the query has {found} '\?' placeholder\(s\) but {params} parameter"
    with pytest.raises(BackendError, match=expected):
        to_psycopg(sql, params)
