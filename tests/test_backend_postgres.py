"""The PostgreSQL `@query` adapter against a real server (scripts/pgtest.sh): results, types, and refusals."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from tusk_infra.backends.errors import BackendError
from tusk_infra.backends.postgres import PostgresAdapter, PostgresLimits, plain_value
from tusk_infra.tusk.query import redact_url, url_passwords

REPO = Path(__file__).resolve().parent.parent

SCHEMA_SQL = """
CREATE TABLE items (
    id serial PRIMARY KEY, name text NOT NULL, price numeric(10, 2), qty integer, active boolean,
    created date, tags text[], meta jsonb
);
INSERT INTO items (name, price, qty, active, created, tags, meta) VALUES
    ('bolt', 9.50, 120, true, '2026-01-02', ARRAY['hw', 'small'], '{"size": "M4"}'),
    ('nut', 10.00, 80, false, NULL, ARRAY[]::text[], NULL),
    ('100% cotton', 3.25, 5, true, '2026-03-04', NULL, '[1, 2]');
CREATE TABLE audit (id serial PRIMARY KEY, note text);
CREATE FUNCTION bump() RETURNS integer LANGUAGE sql VOLATILE AS
    $$ INSERT INTO audit (note) VALUES ('written') RETURNING id $$;
"""


def with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="module")
def database(postgres_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema holding the test tables."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        admin.execute(f"SET search_path = {schema}")
        admin.execute(SCHEMA_SQL)
    yield with_search_path(postgres_url, schema)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def adapter(database: str) -> Iterator[PostgresAdapter]:
    opened = PostgresAdapter(database, PostgresLimits(connect_timeout_seconds=3, statement_timeout_ms=500))
    yield opened
    opened.close()


def count(database: str, table: str) -> int:
    with psycopg.connect(database) as connection:
        row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_rows_come_back_as_plain_values(adapter: PostgresAdapter) -> None:
    result = adapter.fetch("SELECT name, price, qty, active, created, tags, meta FROM items ORDER BY id", [])
    assert result.columns == ("name", "price", "qty", "active", "created", "tags", "meta")
    assert result.rows == (
        ("bolt", 9.5, 120, True, "2026-01-02", ["hw", "small"], {"size": "M4"}),
        ("nut", 10.0, 80, False, None, [], None),
        ("100% cotton", 3.25, 5, True, "2026-03-04", None, [1, 2]),
    )
    assert type(result.rows[1][1]) is float  # numeric(10,2) is a float column even when whole


def test_aggregates_keep_integer_and_float_types(adapter: PostgresAdapter) -> None:
    result = adapter.fetch("SELECT count(*), sum(qty), avg(qty), sum(price) FROM items", [])
    assert result.rows == ((3, 205, pytest.approx(68.3333333), 22.75),)
    assert [type(value) for value in result.rows[0]] == [int, int, float, float]


def test_parameters_are_bound(adapter: PostgresAdapter) -> None:
    result = adapter.fetch("SELECT name FROM items WHERE qty > ? AND active = ? ORDER BY name", [10, True])
    assert result.rows == (("bolt",),)


def test_literal_percent_and_question_mark_in_strings_are_left_alone(adapter: PostgresAdapter) -> None:
    result = adapter.fetch("SELECT name, '?' AS q FROM items WHERE name LIKE '100%' AND qty = ?", [5])
    assert result.rows == (("100% cotton", "?"),)


def test_division_is_not_a_comment(adapter: PostgresAdapter) -> None:
    result = adapter.fetch("SELECT sum(qty) / 1000.0, 7 / 2, 6/3 /* six by three */ FROM items", [])
    assert result.rows == ((pytest.approx(0.205), 3, 2),)


def test_with_query_runs(adapter: PostgresAdapter) -> None:
    sql = "WITH cheap AS (SELECT * FROM items WHERE price < ?) SELECT count(*) FROM cheap"
    result = adapter.fetch(sql, [5])
    assert result.rows == ((1,),)


def test_injection_through_a_value_stays_a_parameter(adapter: PostgresAdapter, database: str) -> None:
    hostile = "bolt'; DROP TABLE items; --"
    assert adapter.fetch("SELECT count(*) FROM items WHERE name = ?", [hostile]).rows == ((0,),)
    assert adapter.fetch("SELECT ?::text", [hostile]).rows == ((hostile,),)
    assert count(database, "items") == 3


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("INSERT INTO items (name) VALUES ('x')", "only SELECT (or WITH ... SELECT) queries are allowed"),
        ("UPDATE items SET qty = 0", "found UPDATE"),
        ("DELETE FROM items", "found DELETE"),
        ("DROP TABLE items", "found DROP"),
        ("COPY items TO STDOUT", "found COPY"),
        ("COPY items FROM STDIN", "found COPY"),
        ("SELECT 1; DELETE FROM items", "only one statement is allowed"),
        ("WITH gone AS (DELETE FROM items RETURNING *) SELECT count(*) FROM gone", "found DELETE"),
        ("SELECT * INTO copy_of_items FROM items", "found INTO"),
    ],
)
def test_writes_are_refused_before_reaching_the_server(
    adapter: PostgresAdapter, database: str, sql: str, expected: str
) -> None:
    with pytest.raises(BackendError, match=r"^refused before reaching PostgreSQL: ") as caught:
        adapter.fetch(sql, [])
    assert expected in caught.value.message
    assert (count(database, "items"), count(database, "audit")) == (3, 0)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT bump()", "cannot execute INSERT in a read-only transaction"),
        ("SELECT nextval('audit_id_seq')", "cannot execute nextval() in a read-only transaction"),
        ("SELECT setval('audit_id_seq', 99)", "cannot execute setval() in a read-only transaction"),
    ],
)
def test_read_only_transaction_stops_writes_the_text_check_cannot_see(
    adapter: PostgresAdapter, database: str, sql: str, expected: str
) -> None:
    with pytest.raises(BackendError, match=r"^PostgreSQL at postgresql://tusk_test:\*\*\*@") as caught:
        adapter.fetch(sql, [])
    assert expected in caught.value.message
    assert (count(database, "items"), count(database, "audit")) == (3, 0)
    # The connection is still usable afterwards.
    assert adapter.fetch("SELECT count(*) FROM items", []).rows == ((3,),)


def test_bound_values_never_appear_in_errors(adapter: PostgresAdapter) -> None:
    canary = "canary-7d1e-secret"
    with pytest.raises(BackendError) as caught:
        adapter.fetch("SELECT ?::integer", [canary])
    assert "invalid input syntax for type integer" in caught.value.message
    assert canary not in caught.value.message


def test_statement_timeout_is_enforced(adapter: PostgresAdapter) -> None:
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"longer than the statement_timeout of 500 ms and was cancelled"):
        adapter.fetch("SELECT pg_sleep(5)", [])
    assert time.monotonic() - started < 2


def test_a_query_cannot_lift_the_timeout_for_the_next_one(adapter: PostgresAdapter) -> None:
    adapter.fetch("SELECT set_config('statement_timeout', '0', false)", [])
    with pytest.raises(BackendError, match=r"statement_timeout"):
        adapter.fetch("SELECT pg_sleep(5)", [])


def test_placeholder_count_must_match(adapter: PostgresAdapter) -> None:
    with pytest.raises(BackendError, match=r"the query has 1 '\?' placeholder\(s\) but 2 parameter\(s\)"):
        adapter.fetch("SELECT name FROM items WHERE qty = ?", [1, 2])


def test_wrong_password_error_names_no_password(database: str) -> None:
    canary = "Canary-pw-91f3c0de"
    bad = database.replace("tusk_test:", f"tusk_test:{canary}x", 1)
    with pytest.raises(BackendError) as caught:
        PostgresAdapter(bad).fetch("SELECT 1", [])
    assert "password authentication failed" in caught.value.message
    assert canary not in caught.value.message
    assert "tusk_test:***@127.0.0.1" in caught.value.message


def test_nothing_listening_is_a_quick_clear_error(database: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    password = "Hunter2-canary"
    url = f"postgresql://tusk_test:{password}@127.0.0.1:{port}/tusk_test"
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        PostgresAdapter(url).fetch("SELECT 1", [])
    assert time.monotonic() - started < 1
    expected = f"cannot connect to PostgreSQL at postgresql://tusk_test:***@127.0.0.1:{port}/"
    assert caught.value.message.startswith(expected)
    assert "Connection refused" in caught.value.message
    assert password not in caught.value.message


def test_a_server_that_never_answers_hits_connect_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql://u:pw@127.0.0.1:{silent.getsockname()[1]}/db"
        started = time.monotonic()
        with pytest.raises(BackendError, match=r"cannot connect to .*timeout expired"):
            PostgresAdapter(url, PostgresLimits(connect_timeout_seconds=2)).fetch("SELECT 1", [])
        # libpq's smallest connect_timeout is 2 s.
        assert time.monotonic() - started < 3


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[str]:
    """A second throwaway server of our own, so the test can stop it."""
    env = {**os.environ, "PGTEST_REPO": str(tmp_path)}
    script = '. "$1/scripts/pgtest.sh" start >&2 && printf %s "$TUSK_TEST_POSTGRES_URL"'
    started = subprocess.run(["bash", "-c", script, "bash", str(REPO)], env=env, capture_output=True,
                             text=True, timeout=120, check=False)
    assert started.returncode == 0, started.stderr
    yield started.stdout
    stop_server(tmp_path)
    datadir = Path((tmp_path / ".pgtest" / "datadir").read_text().strip())
    subprocess.run(["rm", "-rf", str(datadir.parent if datadir.parent != tmp_path / ".pgtest" else datadir)],
                   check=False)


def stop_server(repo: Path) -> None:
    env = {**os.environ, "PGTEST_REPO": str(repo)}
    subprocess.run(["bash", "-c", '. "$1/scripts/pgtest.sh" stop', "bash", str(REPO)], env=env,
                   capture_output=True, timeout=60, check=True)


def test_stopped_database_is_a_clear_error(own_server: str, tmp_path: Path) -> None:
    adapter = PostgresAdapter(own_server, PostgresLimits(connect_timeout_seconds=2))
    assert adapter.fetch("SELECT 40 + ?", [2]).rows == ((42,),)
    stop_server(tmp_path)
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"^lost the connection to PostgreSQL at postgresql://\w+:\*\*\*@"):
        adapter.fetch("SELECT 1", [])
    with pytest.raises(BackendError, match=r"^cannot connect to PostgreSQL at postgresql://\w+:\*\*\*@.*refused"):
        adapter.fetch("SELECT 1", [])
    assert time.monotonic() - started < 3


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("postgresql://app:s3cr%40t@db.internal:6432/prod?sslmode=require") == (
        "postgresql://app:***@db.internal:6432/prod?sslmode=require"
    )
    assert redact_url("postgres://app@db/prod") == "postgres://app@db/prod"


def test_passwords_in_the_query_string_are_hidden_too() -> None:
    # libpq reads `password` and `sslpassword` from the query string as well as from the user-info.
    url = "postgresql://127.0.0.1:1/db?sslmode=require&password=Other99%26Secret&sslpassword=k3y"
    assert redact_url(url) == "postgresql://127.0.0.1:1/db?sslmode=require&password=***&sslpassword=***"
    assert url_passwords(url) == ["Other99&Secret", "k3y"]
    assert url_passwords("postgresql://app:s3cr%40t@db/prod") == ["s3cr@t"]


def test_a_connection_error_never_shows_a_query_string_password() -> None:
    adapter = PostgresAdapter(
        "postgresql://127.0.0.1:1/db?password=Other99Secret", PostgresLimits(connect_timeout_seconds=1)
    )
    with pytest.raises(BackendError) as raised:
        adapter.fetch("SELECT 1", [])
    assert "Other99Secret" not in str(raised.value)
    assert "password=***" in str(raised.value)


def test_plain_value_converts_driver_types() -> None:
    import datetime as dt
    import decimal

    assert plain_value(decimal.Decimal("12")) == 12
    assert plain_value(dt.timedelta(minutes=2)) == 120.0
    assert plain_value(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert plain_value(b"\x01\xff") == "01ff"
