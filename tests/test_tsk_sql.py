"""The shared single-SELECT check that every query adapter relies on (tusk_infra/tusk/sql.py)."""

from __future__ import annotations

import pytest

from tusk_infra.tusk import SqlRejected, ensure_single_select

ACCEPTED = {
    "SELECT 1": "SELECT 1",
    "  select count(*) from users  ": "select count(*) from users",
    "SELECT 1;": "SELECT 1",
    "SELECT 1; -- trailing comment": "SELECT 1",
    "WITH a AS (SELECT 1 AS x) SELECT x FROM a": "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
    "SELECT 'DROP TABLE users; DELETE' AS note": "SELECT 'DROP TABLE users; DELETE' AS note",
    'SELECT "update" FROM "insert"': 'SELECT "update" FROM "insert"',
    "SELECT 'it''s' -- DELETE\n": "SELECT 'it''s' -- DELETE",
    "SELECT /* INSERT; */ 1": "SELECT /* INSERT; */ 1",
    "SELECT $$DELETE;$$": "SELECT $$DELETE;$$",
    "SELECT replace_me FROM t WHERE a = ?": "SELECT replace_me FROM t WHERE a = ?",
    'SELECT "comment" FROM reviews': 'SELECT "comment" FROM reviews',
    # Division is not a comment: only `/*` opens one.
    "SELECT COUNT(*) / 1000.0 FROM t": "SELECT COUNT(*) / 1000.0 FROM t",
    "SELECT 1 / 2": "SELECT 1 / 2",
    "SELECT 6/3 AS half, 'a/*b' AS s": "SELECT 6/3 AS half, 'a/*b' AS s",
    "SELECT a /* note */ / b FROM t": "SELECT a /* note */ / b FROM t",
}

REJECTED = {
    "": "the query is empty",
    "-- only a comment": "the query is empty",
    "DELETE FROM users": "found DELETE",
    "UPDATE users SET a = 1": "found UPDATE",
    "insert into users values (1)": "found insert",
    "DROP TABLE users": "found DROP",
    "PRAGMA writable_schema = 1": "found PRAGMA",
    "ATTACH DATABASE 'x.db' AS x": "found ATTACH",
    "SELECT 1; DROP TABLE users": "only one statement is allowed",
    "SELECT 1; SELECT 2": "only one statement is allowed",
    "SELECT * INTO copy FROM users": "found INTO",
    "SELECT * FROM users FOR UPDATE": "found UPDATE",
    "WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d": "found DELETE",
    "WITH a AS (SELECT 1)": "a WITH query must end in a SELECT",
    "SELECT 'unterminated": "unterminated string (') starting at character 8",
    "SELECT /* unterminated": "unterminated comment (/*) starting at character 8",
    "SELECT 1 / 2 /* unterminated": "unterminated comment (/*) starting at character 14",
    'SELECT "unterminated': 'unterminated quoted identifier (") starting at character 8',
    "SELECT $tag$ unterminated": "unterminated dollar-quoted string ($tag$) starting at character 8",
    "SELECT x FROM t WHERE region = $region": (
        "a reference ($region) inside the SQL at character 32: the SQL is sent as written, never filled in; "
        "write '?' and pass the value as a parameter"
    ),
    "SELECT x FROM t WHERE id = $1": "'$1' at character 28: write '?' for each parameter",
    "SELECT $ FROM t": "unexpected '$' at character 8",
    "(SELECT 1)": "only SELECT (or WITH ... SELECT) queries are allowed",
    "SELECT comment FROM notes": 'found COMMENT (if comment is a column or table name, quote it: "comment")',
    "SELECT id FROM jobs WHERE load > 3": 'found LOAD (if load is a column or table name, quote it: "load")',
    "VACUUM": "found VACUUM",
}


@pytest.mark.parametrize(("sql", "statement"), ACCEPTED.items(), ids=list(ACCEPTED))
def test_accepted(sql: str, statement: str) -> None:
    assert ensure_single_select(sql) == statement


@pytest.mark.parametrize(("sql", "fragment"), REJECTED.items(), ids=list(REJECTED))
def test_rejected(sql: str, fragment: str) -> None:
    with pytest.raises(SqlRejected) as raised:
        ensure_single_select(sql)
    assert fragment in str(raised.value)
