"""Hostile `@query` input (issue 11, SQL and secrets): unbounded results, silent servers, secrets leaking
through results and database errors. Each runs the CLI in a bounded child (1.5 GB, 30 s) and checks every
output format for the canary."""

from __future__ import annotations

import socket
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import Outcome, assert_positioned_error, assert_quiet, run_cli, serve_on_loopback

SECRET = "7351canary"
FORMATS = ("json", "yaml")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.executemany("INSERT INTO users VALUES (?)", [("ann",), ("bob",)])
    return f"sqlite:///{path}"


def _write(tmp_path: Path, expression: str) -> str:
    (tmp_path / "q.tsk").write_text(f"value: {expression}\n", encoding="utf-8")
    return "q.tsk"


def _eval(tmp_path: Path, expression: str, url: str, output: str = "json") -> Outcome:
    name = _write(tmp_path, expression)
    return run_cli("eval", name, "--db", url, "--format", output, cwd=tmp_path, env={"TOKEN": SECRET})


SQLITE_BLOWUPS = {
    "zeroblob": "SELECT zeroblob(900000000)",
    "printf": "SELECT length(printf('%.*c', 900000000, 'x')) + length(zeroblob(900000000))",
    "repeat": "WITH RECURSIVE r(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM r) SELECT s FROM r",
    "endless-rows": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
    "wide-rows": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
    "SELECT n, hex(randomblob(4000)) FROM r",
}


@pytest.mark.parametrize("sql", SQLITE_BLOWUPS.values(), ids=SQLITE_BLOWUPS.keys())
def test_an_unbounded_sqlite_result_is_a_positioned_error(tmp_path: Path, sqlite_url: str, sql: str) -> None:
    outcome = _eval(tmp_path, f'@query("{sql}")', sqlite_url)
    assert_positioned_error(outcome, "q.tsk")
    assert "limit" in outcome.first_error_line


def test_the_row_limit_can_be_raised(tmp_path: Path, sqlite_url: str) -> None:
    sql = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r LIMIT 20) SELECT n FROM r"
    name = _write(tmp_path, f'@query("{sql}")')
    refused = run_cli("eval", name, "--db", sqlite_url, cwd=tmp_path, env={"TUSK_MAX_QUERY_ROWS": "10"})
    assert_positioned_error(refused, "q.tsk")
    assert "TUSK_MAX_QUERY_ROWS" in refused.first_error_line
    allowed = run_cli("eval", name, "--db", sqlite_url, cwd=tmp_path, env={"TUSK_MAX_QUERY_ROWS": "20"})
    assert allowed.returncode == 0, allowed.stderr


@pytest.mark.parametrize("output", FORMATS)
@pytest.mark.parametrize("sql", ["SELECT 1e999", "SELECT -1e999"])
def test_a_non_finite_number_is_never_printed(tmp_path: Path, sqlite_url: str, sql: str, output: str) -> None:
    outcome = _eval(tmp_path, f'@query("{sql}")', sqlite_url, output)
    assert_positioned_error(outcome, "q.tsk")
    assert "not a finite number" in outcome.first_error_line


SQLITE_SIDE_CHANNELS = {
    "number": "SELECT ? + 0",
    "character-codes": "SELECT unicode(substr(?, 1, 1))",
    "hex": "SELECT length(hex(?))",
    "json-path-error": "SELECT json_extract('{}', ?)",
    "rows": "SELECT name FROM users WHERE ? LIKE '7%'",
    "columns": "SELECT ? AS a, 1 AS b",
}


@pytest.mark.parametrize("output", FORMATS)
@pytest.mark.parametrize("sql", SQLITE_SIDE_CHANNELS.values(), ids=SQLITE_SIDE_CHANNELS.keys())
def test_a_secret_never_leaks_through_a_sqlite_query(
    tmp_path: Path, sqlite_url: str, sql: str, output: str
) -> None:
    outcome = _eval(tmp_path, f'@query("{sql}", @env.secure("TOKEN"))', sqlite_url, output)
    assert_positioned_error(outcome, "q.tsk", canaries=[SECRET, "7351", str(ord("7"))])


def test_a_text_result_of_a_secret_is_printed_masked(tmp_path: Path, sqlite_url: str) -> None:
    outcome = _eval(tmp_path, '@query("SELECT upper(?)", @env.secure("TOKEN"))', sqlite_url)
    assert outcome.returncode == 0, outcome.stderr
    assert_quiet(outcome, canaries=[SECRET, SECRET.upper()])


POSTGRES_SIDE_CHANNELS = {
    "cast-error": "SELECT upper(?)::int",
    "reverse-error": "SELECT reverse(?)::int",
    "substr-error": "SELECT substr(?, 2)::int",
    "json-key": "SELECT json_build_object(?::text, 1)",
    "number": "SELECT length(?)",
    "array": "SELECT ARRAY[?::text]",
}


@pytest.mark.parametrize("sql", POSTGRES_SIDE_CHANNELS.values(), ids=POSTGRES_SIDE_CHANNELS.keys())
def test_a_secret_never_leaks_through_a_postgres_query(tmp_path: Path, postgres_url: str, sql: str) -> None:
    secret = "ab"  # short: the old scrubber never hid secrets under 3 characters
    name = _write(tmp_path, f'@query("{sql}", @env.secure("TOKEN"))')
    outcome = run_cli("eval", name, "--db", postgres_url, cwd=tmp_path, env={"TOKEN": secret})
    assert_positioned_error(outcome, "q.tsk", canaries=['"ab"', "'ab'", "AB", '"ba"', "'ba'", ' b"', "'b'"])


def test_an_endless_postgres_result_stops_at_the_row_limit(tmp_path: Path, postgres_url: str) -> None:
    endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"
    name = _write(tmp_path, f'@query("{endless}")')
    outcome = run_cli("eval", name, "--db", postgres_url, cwd=tmp_path)
    assert_positioned_error(outcome, "q.tsk")
    assert "TUSK_MAX_QUERY_ROWS" in outcome.first_error_line


def test_a_large_postgres_value_stops_at_the_byte_limit(tmp_path: Path, postgres_url: str) -> None:
    name = _write(tmp_path, '@query("SELECT repeat(\'x\', 1000000) FROM generate_series(1, 100)")')
    outcome = run_cli("eval", name, "--db", postgres_url, cwd=tmp_path)
    assert_positioned_error(outcome, "q.tsk")
    assert "TUSK_MAX_QUERY_BYTES" in outcome.first_error_line


@pytest.fixture
def silent_postgres() -> Iterator[str]:
    """A server on 127.0.0.1 that completes PostgreSQL's start-up (trust auth) and then never answers."""
    held: list[socket.socket] = []

    def start_up_then_silence(client: socket.socket) -> None:
        held.append(client)
        length, code = struct.unpack("!ii", client.recv(8))
        if code == 80877103:  # SSLRequest: no TLS here; then the real start-up packet follows
            client.sendall(b"N")
            length, code = struct.unpack("!ii", client.recv(8))
        client.recv(length - 8)
        # AuthenticationOk, then ReadyForQuery (idle): the connection is up. Then silence.
        client.sendall(b"R" + struct.pack("!ii", 8, 0) + b"Z" + struct.pack("!i", 5) + b"I")

    listener = serve_on_loopback(start_up_then_silence)
    yield f"postgresql://u:pw@127.0.0.1:{listener.getsockname()[1]}/db?sslmode=disable"
    listener.close()
    for client in held:
        client.close()


def test_a_server_that_stops_answering_after_the_handshake_hits_the_client_deadline(
    tmp_path: Path, silent_postgres: str
) -> None:
    name = _write(tmp_path, '@query("SELECT 1")')
    outcome = run_cli("eval", name, "--db", silent_postgres, "--query-timeout", "1s", cwd=tmp_path)
    assert_positioned_error(outcome, "q.tsk", canaries=["pw@"])
    assert "client-side deadline" in outcome.first_error_line
    assert outcome.seconds < 15


BAD_URLS = {
    "space-in-password": "postgresql://u:pa ssX9@127.0.0.1:1/x",
    "slash-in-password": "postgresql://u:pa/ssX9@127.0.0.1:1/x",
    "at-in-password": "postgresql://u:p@ssX9@127.0.0.1:1/x",
    "hash-in-password": "postgresql://u:pa#ssX9@127.0.0.1:1/x",
    "bracket-sqlite": "sqlite://[x/db",
    "bracket-postgres": "postgresql://[::1:1/x",
    "port-out-of-range": "postgresql://u:ssX9@127.0.0.1:99999/x",
}


@pytest.mark.parametrize("where", ["option", "environment"])
@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_malformed_database_url_is_a_positioned_error_without_its_password(
    tmp_path: Path, url: str, where: str
) -> None:
    name = _write(tmp_path, '@query("SELECT 1")')
    if where == "option":
        outcome = run_cli("eval", name, "--db", url, cwd=tmp_path)
    else:
        outcome = run_cli("eval", name, cwd=tmp_path, env={"TUSK_DATABASE_URL": url})
    assert_positioned_error(outcome, "q.tsk", canaries=["ssX9"])
    assert "database URL" in outcome.first_error_line


def test_a_sqlite_path_may_hold_an_at_sign(tmp_path: Path) -> None:
    path = tmp_path / "a@b.db"
    sqlite3.connect(path).close()
    name = _write(tmp_path, '@query("SELECT 42")')
    outcome = run_cli("eval", name, "--db", f"sqlite:///{path}", cwd=tmp_path)
    assert outcome.returncode == 0, outcome.stderr
    assert "42" in outcome.stdout
