"""The live backends end to end, through `evaluate_text`: what a user's global.tsk sees."""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import boto3
import psycopg
import pytest

from tusk_infra.backends.config import BackendSettings
from tusk_infra.backends.errors import BackendError
from tusk_infra.backends.selection import build_providers
from tusk_infra.tusk import Document, InputUse, Providers, Secret, TuskError, evaluate_text
from tusk_infra.tusk.providers import ProviderError

REGION = "us-east-1"
# Moto's dummy credentials on every test here, so none can reach a real AWS account.
pytestmark = pytest.mark.usefixtures("fake_aws_credentials")
NOW = datetime.now(UTC).replace(microsecond=0)
CANARY = "canary-3f9a1c77-e2e-SECRET"
DIMENSIONS = {
    "cluster": "tusk-use1", "namespace": "tusk", "service": "tusklang-app", "db_instance": "tusk-db",
}

PERFORMANCE = """
[performance]
cache_ttl: @if(@metrics("cpu_usage", 0) > 80, "30s", "5m")
worker_count: @if(@metrics("cpu_usage", 0) > 80, 16, 8)
connection_pool_size: @if(@metrics("active_connections", 0) > 100, 500, 200)
"""


def evaluate(text: str, settings: BackendSettings, warnings: list[str] | None = None,
             env: dict[str, str] | None = None) -> Document:
    sink = warnings if warnings is not None else []
    providers = build_providers(settings, Providers(env=env or {}, warn=sink.append))
    return evaluate_text(text, filename="global.tsk", providers=providers)


def cloudwatch(**changes: object) -> BackendSettings:
    base = BackendSettings(stack="us-east-1", metrics_provider="cloudwatch", aws_region=REGION,
                           metric_dimensions=DIMENSIONS)
    return base if not changes else BackendSettings(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def put_metric(namespace: str, metric: str, dimensions: dict[str, str], value: float) -> None:
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace=namespace,
        MetricData=[{
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Timestamp": NOW - timedelta(minutes=1),
            "Value": value,
        }],
    )


def test_cloudwatch_values_steer_the_settings_and_are_recorded(aws: None) -> None:
    put_metric("ContainerInsights", "pod_cpu_utilization_over_pod_limit",
               {"ClusterName": "tusk-use1", "Namespace": "tusk", "Service": "tusklang-app"}, 91.5)
    put_metric("AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": "tusk-db"}, 40)
    warnings: list[str] = []
    doc = evaluate(PERFORMANCE, cloudwatch(), warnings)
    assert doc.data == {"performance": {"cache_ttl": "30s", "worker_count": 16, "connection_pool_size": 200}}
    assert InputUse("metric", "cpu_usage", 91.5) in doc.inputs
    assert InputUse("metric", "active_connections", 40.0) in doc.inputs
    assert InputUse("metric", "cpu_usage", 91.5) in doc.provenance("performance.worker_count").inputs
    assert warnings == []


def test_metrics_down_falls_back_to_defaults_within_the_bound() -> None:
    warnings: list[str] = []
    started = time.monotonic()
    doc = evaluate(PERFORMANCE, cloudwatch(aws_endpoint_url="http://127.0.0.1:9"), warnings)
    assert time.monotonic() - started < 2.5
    assert doc.data == {"performance": {"cache_ttl": "5m", "worker_count": 8, "connection_pool_size": 200}}
    assert InputUse("metric", "cpu_usage", 0, defaulted=True) in doc.inputs
    # One warning per metric with its cause, however many expressions read it; the document keeps the same.
    assert [w.split(":")[0] for w in warnings] == ["metric 'cpu_usage'", "metric 'active_connections'"]
    # Within the 2 s bound either cause may come first on a busy machine (refused, or the limit reached).
    assert all(
        "CloudWatch unavailable (cannot reach AWS" in w or "CloudWatch unavailable (AWS did not answer" in w
        for w in warnings
    ), warnings
    assert all(w.endswith("; using its default, the integer 0") for w in warnings)
    assert doc.warnings == tuple(warnings)


def test_a_metric_read_three_times_warns_once() -> None:
    warnings: list[str] = []
    text = (
        "[performance]\n"
        'workers: @if(@metrics("cpu_usage", 0) > 80, 16, 8)\n'
        'ttl: @if(@metrics("cpu_usage", 0) > 80, "30s", "5m")\n'
        'replicas: @if(@metrics("cpu_usage", 1) > 90, 6, 3)\n'
    )
    # A generous limit, so the cause is the refused connection even on a busy machine.
    settings = cloudwatch(aws_endpoint_url="http://127.0.0.1:9", metrics_timeout_seconds=30.0)
    doc = evaluate(text, settings, warnings)
    assert doc.data == {"performance": {"workers": 8, "ttl": "5m", "replicas": 3}}
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("metric 'cpu_usage': CloudWatch unavailable (cannot reach AWS (")
    assert warnings[0].endswith("; using its default, the integer 0")
    assert doc.warnings == tuple(warnings)


def test_secrets_resolve_from_secrets_manager_and_stay_secret(aws: None) -> None:
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="/tusk-infra/us-east-1/DB_PRIMARY_PASSWORD", SecretString=CANARY)
    settings = BackendSettings(stack="us-east-1", secret_sources=("secretsmanager",), aws_region=REGION)
    doc = evaluate('[database]\npassword: @env.secure("DB_PRIMARY_PASSWORD")\n', settings)
    assert doc.data["database"]["password"] == Secret(CANARY)
    assert doc.to_plain() == {"database": {"password": "[secret]"}}
    assert InputUse("secret", "DB_PRIMARY_PASSWORD", "[secret]") in doc.inputs


def test_environment_wins_over_aws(aws: None) -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/tusk-infra/us-east-1/TOKEN", Value="from-ssm", Type="SecureString")
    settings = BackendSettings(stack="us-east-1", secret_sources=("ssm",), aws_region=REGION)
    doc = evaluate('token: @env.secure("TOKEN")\n', settings, env={"TOKEN": "from-env"})
    assert doc.data["token"].reveal() == "from-env"


def test_every_missing_secret_is_listed_in_one_error(aws: None) -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/tusk-infra/us-east-1/PRESENT", Value=CANARY, Type="SecureString")
    settings = BackendSettings(stack="us-east-1", secret_sources=("ssm", "secretsmanager"), aws_region=REGION)
    text = 'a: @env.secure("PRESENT")\nb: @env.secure("MISSING_ONE")\nc: @env.secure("MISSING_TWO")\n'
    with pytest.raises(TuskError) as caught:
        evaluate(text, settings)
    assert "MISSING_ONE" in str(caught.value) and "MISSING_TWO" in str(caught.value)
    assert str(caught.value).startswith("global.tsk:2:")
    assert CANARY not in caught.value.render()


def test_unreachable_secret_store_is_a_positioned_error() -> None:
    settings = BackendSettings(stack="us-east-1", secret_sources=("ssm",), aws_region=REGION,
                               aws_endpoint_url="http://127.0.0.1:9")
    with pytest.raises(TuskError) as caught:
        evaluate('\npassword: @env.secure("DB_PRIMARY_PASSWORD")\n', settings)
    # The backend's own message, cause included, at the expression that asked.
    assert str(caught.value).startswith(
        "global.tsk:2:11: cannot read secret 'DB_PRIMARY_PASSWORD' from SSM Parameter Store "
        "(/tusk-infra/us-east-1/DB_PRIMARY_PASSWORD): cannot reach AWS ("
    )


def test_backend_errors_are_provider_errors() -> None:
    # So the evaluator shows a backend's message (safe by contract) instead of just its type name.
    assert issubclass(BackendError, ProviderError)


def test_canary_never_reaches_logs_warnings_or_output(
    aws: None, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="/tusk-infra/us-east-1/DB_PRIMARY_PASSWORD", SecretString=CANARY)
    capsys.readouterr()
    caplog.set_level(logging.DEBUG)
    warnings: list[str] = []
    settings = BackendSettings(stack="us-east-1", secret_sources=("secretsmanager",), aws_region=REGION,
                               metrics_provider="cloudwatch", metric_dimensions=DIMENSIONS)
    text = ('[database]\npassword: @env.secure("DB_PRIMARY_PASSWORD")\n'
            'workers: @if(@metrics("cpu_usage", 0) > 80, 16, 8)\n'
            'bad: @int(@string(@metrics("nope", 0)) + "x")\n')
    with pytest.raises(TuskError) as caught:
        evaluate(text, settings, warnings)
    captured = capsys.readouterr()
    for text_seen in (caught.value.render(), caplog.text, captured.out, captured.err, *warnings):
        assert CANARY not in text_seen


# ---- PostgreSQL ----

@pytest.fixture(scope="module")
def database(postgres_url: str) -> Iterator[str]:
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        admin.execute(f"SET search_path = {schema}")
        admin.execute("CREATE TABLE users (id serial PRIMARY KEY, name text, active integer)")
        admin.execute("INSERT INTO users (name, active) VALUES ('ada', 1), ('bob', 1), ('cy', 0)")
        admin.execute("CREATE TABLE orders (id serial PRIMARY KEY)")
        admin.execute("CREATE FUNCTION forget() RETURNS integer LANGUAGE sql VOLATILE AS "
                      "$$ DELETE FROM users RETURNING 1 $$")
    separator = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


def sql_settings(url: str) -> BackendSettings:
    return BackendSettings(database_url=url, query_timeout_ms=300)


def test_query_scalar_rows_and_batch(database: str) -> None:
    doc = evaluate(
        '$min_active: 1\n'
        '[scale_optimized]\n'
        'user_count: @query("SELECT COUNT(*) FROM users WHERE active = ?", $min_active)\n'
        'names: @query("SELECT name, active FROM users ORDER BY id")\n'
        'batch_stats: @query.batch(["SELECT COUNT(*) FROM users", "SELECT COUNT(*) FROM orders"])\n',
        sql_settings(database),
    )
    assert doc.data == {"scale_optimized": {
        "user_count": 2,
        "names": [{"name": "ada", "active": 1}, {"name": "bob", "active": 1}, {"name": "cy", "active": 0}],
        "batch_stats": [3, 0],
    }}
    assert any(use.kind == "query" and use.value == 2 for use in doc.inputs)


def test_query_arrays_and_json_stay_lists_and_objects(database: str) -> None:
    doc = evaluate(
        'ids: @query("SELECT ARRAY[1,2,3]")\n'
        'meta: @query("SELECT \'{\\"a\\": 1}\'::jsonb")\n'
        'rows: @query("SELECT name, ARRAY[active, 2] AS flags, json_build_object(\'n\', name) AS doc '
        'FROM users WHERE active = 1 ORDER BY id")\n'
        'sizes: @query("SELECT \'{\\"a\\": [1.5, null, {\\"b\\": true}]}\'::json")\n',
        sql_settings(database),
    )
    assert doc.data == {
        "ids": [1, 2, 3],
        "meta": {"a": 1},
        "rows": [
            {"name": "ada", "flags": [1, 2], "doc": {"n": "ada"}},
            {"name": "bob", "flags": [1, 2], "doc": {"n": "bob"}},
        ],
        "sizes": {"a": [1.5, None, {"b": True}]},
    }
    assert doc.to_plain()["meta"] == {"a": 1}


@pytest.mark.parametrize(
    ("sql", "shown"),
    [
        ("SELECT 12345678901234567890123::numeric", "12345678901234567890123"),
        ("SELECT 1e5000::numeric", "a number of 1000+ digits"),
        ("SELECT ARRAY[1, 99999999999999999999]::numeric[]", "99999999999999999999"),
    ],
)
def test_a_result_beyond_64_bit_integers_is_a_clear_error(database: str, sql: str, shown: str) -> None:
    with pytest.raises(TuskError) as caught:
        evaluate(f'total: @query("{sql}")\n', sql_settings(database))
    assert caught.value.message == (
        f"the query returned {shown}, beyond the language's 64-bit integers; "
        "cast it in SQL (::float8 or ::text)"
    )
    # The cast the message suggests works.
    assert isinstance(evaluate(f'total: @query("{sql}::text")\n', sql_settings(database)).data["total"], str)


def test_injection_through_an_interpolated_value_is_a_bound_parameter(database: str) -> None:
    doc = evaluate(
        '$who: "ada\' OR \'1\'=\'1"\n'
        'matches: @query("SELECT COUNT(*) FROM users WHERE name = ?", "${who}")\n'
        'after: @query("SELECT COUNT(*) FROM users")\n',
        sql_settings(database),
    )
    assert doc.data == {"matches": 0, "after": 3}


@pytest.mark.parametrize(
    ("expression", "found"),
    [
        ("@query(\"SELECT COUNT(*) FROM users WHERE name = '${who}'\")", "a string with ${...}"),
        ("@query(\"SELECT COUNT(*) FROM users WHERE name = '\" + $who + \"'\")", "a '+' expression"),
        ("@query.batch([\"SELECT COUNT(*) FROM users WHERE name = '${who}'\"])", "${...} interpolation"),
    ],
)
def test_a_value_pasted_into_the_sql_text_never_reaches_the_server(
    database: str, expression: str, found: str
) -> None:
    # The same hostile value the parameter test above binds harmlessly: in the SQL text it would match
    # every row. It is refused before any connection is opened.
    text = f'$who: @env("WHO")\nmatches: {expression}\n'
    env = {"WHO": "ada' OR '1'='1"}
    with pytest.raises(TuskError) as caught:
        evaluate(text, sql_settings(database), env=env)
    assert str(caught.value).startswith("global.tsk:2:")
    assert "must be a string literal" in caught.value.message and found in caught.value.message
    # Nothing was opened: the same file against a database that is not there fails the same way.
    with pytest.raises(TuskError) as offline:
        evaluate(text, sql_settings("postgresql://app@127.0.0.1:9/none"), env=env)
    assert offline.value.message == caught.value.message
    bound_text = '$who: @env("WHO")\nmatches: @query("SELECT COUNT(*) FROM users WHERE name = ?", $who)\n'
    bound = evaluate(bound_text, sql_settings(database), env=env)
    assert bound.data == {"matches": 0}


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("INSERT INTO users (name) VALUES ('x')", "found INSERT"),
        ("UPDATE users SET active = 0", "found UPDATE"),
        ("DROP TABLE users", "found DROP"),
        ("COPY users TO STDOUT", "found COPY"),
        ("SELECT 1; DELETE FROM users", "only one statement is allowed"),
        ("SELECT forget()", "cannot execute DELETE in a read-only transaction"),
    ],
)
def test_writes_are_rejected_with_a_positioned_error(database: str, sql: str, fragment: str) -> None:
    with pytest.raises(TuskError) as caught:
        evaluate(f'\nn: @query("{sql}")\n', sql_settings(database))
    assert str(caught.value).startswith("global.tsk:2:")
    assert fragment in str(caught.value)
    password = psycopg.conninfo.conninfo_to_dict(database).get("password")
    assert password and str(password) not in caught.value.render()
    with psycopg.connect(database) as check:
        assert check.execute("SELECT count(*) FROM users").fetchone() == (3,)


def test_the_query_timeout_also_bounds_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    sqlite3.connect(path).close()
    settings = BackendSettings(database_url=f"sqlite:///{path}", query_timeout_ms=300)
    started = time.monotonic()
    with pytest.raises(TuskError) as caught:
        runaway = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) FROM r"
        evaluate(f'rows: @query("{runaway}")\n', settings)
    assert time.monotonic() - started < 2
    assert str(caught.value) == (
        "global.tsk:1:7: the query failed: it ran longer than the time limit of 300 ms and was interrupted"
    )


def test_statement_timeout_ends_a_slow_query(database: str) -> None:
    started = time.monotonic()
    with pytest.raises(TuskError, match=r"statement_timeout of 300 ms"):
        evaluate('slow: @query("SELECT pg_sleep(10)")\n', sql_settings(database))
    assert time.monotonic() - started < 2


def test_stopped_database_is_a_quick_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://app:{CANARY}@127.0.0.1:{port}/app"
    started = time.monotonic()
    with pytest.raises(TuskError) as caught:
        evaluate('\nusers: @query("SELECT COUNT(*) FROM users")\n', sql_settings(url))
    assert time.monotonic() - started < 2
    assert str(caught.value).startswith("global.tsk:2:8: ")
    assert "cannot connect to PostgreSQL at postgresql://app:***@127.0.0.1" in str(caught.value)
    assert CANARY not in caught.value.render()


# ---- persistent cache ----

def test_file_cache_serves_the_next_run_until_the_ttl(tmp_path: Path) -> None:
    db_path = tmp_path / "app.db"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE users (id INTEGER)")
        db.executemany("INSERT INTO users VALUES (?)", [(1,), (2,)])
    text = 'user_count: @cache("5m", @query("SELECT COUNT(*) FROM users"))\n'
    now = [datetime(2026, 11, 27, 12, 0, tzinfo=UTC)]

    def run() -> object:
        settings = BackendSettings(cache="file", cache_dir=str(tmp_path / "cache"))
        base = Providers(env={}, database_url=f"sqlite:///{db_path}", clock=lambda: now[0])
        return evaluate_text(text, providers=build_providers(settings, base)).data["user_count"]

    assert run() == 2
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO users VALUES (3)")
    now[0] += timedelta(minutes=4)
    assert run() == 2  # a new run, same process or not: served from the file
    now[0] += timedelta(minutes=2)
    assert run() == 3  # past the 5 minutes: evaluated again
