"""The language API as the rest of tusk-infra uses it: documents, provenance, inputs, secrets, providers."""

from __future__ import annotations

import gc
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tsk.cases import SEED_DIR, DictSecrets, build_database

from tusk_infra.tusk import (
    SECRET_MASK,
    CacheHit,
    InputUse,
    MemoryCache,
    MissingEnvironment,
    PathNotFound,
    Providers,
    QueryResult,
    Secret,
    StaticMetrics,
    TuskError,
    evaluate_file,
    evaluate_text,
    register_adapter,
)
from tusk_infra.tusk.caching import cache_key
from tusk_infra.tusk.evaluator import Evaluator
from tusk_infra.tusk.parser import compiled, grammar_path
from tusk_infra.tusk.providers import MetricUnavailable, ProviderError
from tusk_infra.tusk.sqlite_adapter import SqliteAdapter
from tusk_infra.tusk.tables import Table

SHOP_SQL = Path(__file__).parent / "tsk" / "fixtures" / "shop.sql"


def _global_tsk(region: str) -> Any:
    return evaluate_file(SEED_DIR / "global.tsk", providers=Providers(env={"REGION": region}))


# ---- provenance ----
def test_provenance_of_a_value_names_its_expression_and_inputs() -> None:
    document = _global_tsk("us-west-2")
    provenance = document.provenance("performance.worker_count")
    assert (provenance.line, provenance.column) == (43, 15)
    assert provenance.location == f"{SEED_DIR / 'global.tsk'}:43:15"
    assert provenance.source == '@if($region == "us-east-1", 16, 8)'
    assert provenance.inputs == (InputUse("env", "REGION", "us-west-2"),)


def test_provenance_accepts_tuple_paths_and_list_indexes() -> None:
    document = _global_tsk("eu-west-1")
    by_tuple = document.provenance(("regional_settings", "cache_nodes", 2))
    assert by_tuple == document.provenance("regional_settings.cache_nodes.2")
    assert by_tuple.source == "$regional_config.${region}.cache_nodes"
    literal_item = document.provenance("regional_config.us_east_1.cache_nodes.1")
    assert literal_item.source == '"us-east-1-cache-2:6379"'
    assert (literal_item.line, literal_item.column) == (15, 45)


def test_provenance_of_sections_and_blocks() -> None:
    document = _global_tsk("us-east-1")
    section = document.provenance("regional_config")
    assert (section.line, section.column, section.source) == (12, 1, "[regional_config]")
    block = document.provenance("regional_config.us_west_2")
    assert (block.line, block.column, block.source) == (20, 1, "us_west_2")


def _all_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _all_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _all_paths(item, (*prefix, index))
    return paths


def test_provenance_items_cover_every_value_in_document_order() -> None:
    document = _global_tsk("us-west-2")
    items = list(document.provenance_items())
    assert [path for path, _ in items] == _all_paths(document.data)
    for path, provenance in items:
        assert provenance == document.provenance(path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("nope.path", "t.tsk: no value at 'nope.path': the file has no top-level key 'nope'; it has: 'app'"),
        (
            "app.nam",
            "t.tsk:2:1: no value at 'app.nam': 'app' has no key 'nam' (did you mean 'name'?); "
            "it has: 'name', 'ports', 'limits'",
        ),
        (
            "app.ports.5",
            "t.tsk:4:8: no value at 'app.ports.5': 'app.ports' is a list of 2: no item 5; "
            "its items are 0 to 1",
        ),
        (
            "app.name.x",
            "t.tsk:3:7: no value at 'app.name.x': 'app.name' is the string \"shop\", which has no keys",
        ),
        (
            "app.limits.cpu.x",
            "t.tsk:6:8: no value at 'app.limits.cpu.x': 'app.limits.cpu' has no key 'x'; it has: 'max'",
        ),
        (
            "app.limits.mem",
            "t.tsk:5:1: no value at 'app.limits.mem': 'app.limits' has no key 'mem'; it has: 'cpu'",
        ),
    ],
)
def test_a_path_not_in_the_document_names_the_deepest_part_that_exists(path: str, expected: str) -> None:
    text = '# a comment\n[app]\nname: "shop"\nports: [80, 443]\nlimits {\n  cpu: {max: 2}\n}\n'
    document = evaluate_text(text, filename="t.tsk")
    with pytest.raises(PathNotFound) as raised:
        document.get(path)
    assert str(raised.value) == expected
    if raised.value.line == 0:
        assert raised.value.render() == expected  # no snippet of an unrelated line


def test_unknown_path_suggests_the_near_miss() -> None:
    document = _global_tsk("us-east-1")
    with pytest.raises(PathNotFound) as raised:
        document.provenance("performance.worker_cnt")
    assert "did you mean 'worker_count'?" in raised.value.message
    assert isinstance(raised.value, TuskError) and isinstance(raised.value, KeyError)


# ---- inputs ----
def test_document_inputs_list_every_external_input(tmp_path: Path) -> None:
    text = """
    $region: @env("REGION")
    [x]
    token: @env.secure("TOKEN")
    load: @metrics("cpu_usage", 0)
    users: @query("SELECT COUNT(*) FROM users WHERE region = ?", $region)
    team: $team
    today: @date("%Y")
    """
    providers = Providers(
        env={"REGION": "us-east-1", "TOKEN": "t0ken"},
        metrics=StaticMetrics({"cpu_usage": 12.5}),
        database_url=build_database(SHOP_SQL, tmp_path),
        clock=lambda: datetime(2030, 1, 1, tzinfo=UTC),
    )
    document = evaluate_text(text, variables={"team": "infra"}, providers=providers)
    assert [(use.kind, use.name) for use in document.inputs] == [
        ("env", "REGION"),
        ("secret", "TOKEN"),
        ("metric", "cpu_usage"),
        ("query", "SELECT COUNT(*) FROM users WHERE region = ? ['us-east-1']"),
        ("var", "team"),
        ("date", "%Y"),
    ]
    secret_use = document.inputs[1]
    assert secret_use.value == SECRET_MASK
    assert document.inputs[2].value == 12.5
    assert document.inputs[3].value == 3
    assert document.provenance("x.users").inputs == (document.inputs[0], document.inputs[3])


def test_defaulted_inputs_are_marked() -> None:
    document = evaluate_text('a: @env("NOPE", 5)\nb: @metrics("m", 1)', providers=Providers(env={}))
    assert document.inputs == (
        InputUse("env", "NOPE", 5, defaulted=True),
        InputUse("metric", "m", 1, defaulted=True),
    )


# ---- secrets ----
def test_secrets_stay_wrapped_and_masked() -> None:
    document = evaluate_text(
        'password: @env.secure("DB_PASSWORD")\n'
        'url: "postgres://app:${pw}@db/app"\n'
        '$pw: @env.secure("DB_PASSWORD")',
        providers=Providers(env={"DB_PASSWORD": "s3cr3t"}),
    )
    password = document.data["password"]
    assert isinstance(password, Secret) and password.reveal() == "s3cr3t"
    assert isinstance(document.data["url"], Secret)
    assert document.data["url"].reveal() == "postgres://app:s3cr3t@db/app"
    assert document.to_plain() == {"password": SECRET_MASK, "url": SECRET_MASK}
    assert document.to_plain(show_secrets=True)["password"] == "s3cr3t"
    everything = repr(document.data) + str(document.inputs) + json.dumps(document.to_plain())
    assert "s3cr3t" not in everything


def test_secure_env_reads_env_first_then_secret_sources_in_order() -> None:
    providers = Providers(
        env={"A": "from-env"},
        secrets=(
            DictSecrets({"A": "first-source", "B": "first-b"}),
            DictSecrets({"B": "second-b", "C": "second-c"}),
        ),
    )
    document = evaluate_text(
        'a: @env.secure("A")\nb: @env.secure("B")\nc: @env.secure("C")', providers=providers
    )
    assert document.to_plain(show_secrets=True) == {"a": "from-env", "b": "first-b", "c": "second-c"}


def test_secret_values_never_reach_error_messages() -> None:
    providers = Providers(env={"TOKEN": "abc-very-secret"})
    with pytest.raises(TuskError) as raised:
        evaluate_text('a: @env.secure("TOKEN") < 5', providers=providers)
    assert "abc-very-secret" not in raised.value.render()


@pytest.mark.parametrize(
    "expression",
    [
        "@int($s)",
        "@float($s)",
        "@bool($s)",
        "$s.length()",
        "$s.length",
        '$s.split(",")',
        '"ab".split($s)',
        '[$s].join(",")',
        '$s == "x"',
        "$s >= 1",
        "$s * 2",
        "-$s",
        "!$s",
        '"pre-${s}" + 1',
        '"pre-${s}" - "x"',
        "$s + 1",
        "1 + $s",
        "@if($s, 1, 2)",
        "$s ? 1 : 2",
        "$s && true",
        "@env($s)",
        "@metrics($s, 1)",
        "@cache($s, 1)",
        "@date($s)",
        "$table.${s}",
        "@query.batch([$s])",
    ],
)
def test_no_error_about_a_value_made_from_a_secret_shows_it(expression: str) -> None:
    text = f'$s: @env.secure("TOKEN")\n$table: {{a: 1}}\nvalue: {expression}\n'
    with pytest.raises(TuskError) as raised:
        evaluate_text(text, providers=Providers(env={"TOKEN": "canary-XYZ-123"}))
    assert "canary-XYZ-123" not in raised.value.render()
    assert "canary-XYZ-123" not in repr(raised.value.args)


class _ReadRecorder(dict[str, str]):
    """An environment that records every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.read.append(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.append(key)
        return super().__getitem__(key)


@pytest.mark.parametrize(
    "plain_read",
    [
        'min_replicas: @env("DB_PASSWORD")',
        'user: @env("DB_PASSWORD", "tuskapp")',
        'min_replicas: @int(@env("DB_PASSWORD"))',
        'url: "postgres://" + @env("DB_PASSWORD")',
    ],
)
def test_a_secret_name_read_with_plain_env_is_an_error_before_any_value_is_read(plain_read: str) -> None:
    # The @env.secure comes later, in a branch that never runs: it still makes the name secret.
    text = f'[db]\n{plain_read}\npassword: @if(false, @env.secure("DB_PASSWORD"), "unused")\n'
    env = _ReadRecorder({"DB_PASSWORD": "canary-XYZ-123"})
    with pytest.raises(TuskError) as raised:
        evaluate_text(text, filename="g.tsk", providers=Providers(env=env))
    column = plain_read.index("@env") + 1
    assert str(raised.value) == (
        f"g.tsk:2:{column}: DB_PASSWORD is a secret (read with @env.secure at line 3): "
        "read it with @env.secure here too"
    )
    assert env.read == []


def test_plain_env_of_other_names_and_computed_names_is_allowed() -> None:
    text = '$p: @env.secure("DB_PASSWORD")\nuser: @env("DB_USER", "app")\nname: @env("DB_" + "NAME", "x")\n'
    document = evaluate_text(text, providers=Providers(env={"DB_PASSWORD": "pw"}))
    assert document.data == {"user": "app", "name": "x"}


def test_failing_secret_source_is_reported_without_its_message() -> None:
    class Broken:
        def lookup(self, name: str) -> str | None:
            raise RuntimeError("connection to vault failed; token=leaked-value")

    with pytest.raises(TuskError) as raised:
        evaluate_text('a: @env.secure("X")', providers=Providers(env={}, secrets=(Broken(),)))
    assert "Broken failed to look up X (RuntimeError)" in raised.value.message
    assert "leaked-value" not in raised.value.render()


class FailingProvider:
    """A secret source, metrics provider, cache and query adapter that raises the error it is given."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def lookup(self, name: str) -> str | None:
        raise self.failure

    def metric(self, name: str) -> float | None:
        raise self.failure

    def get(self, key: str) -> CacheHit | None:
        raise self.failure

    def put(self, key: str, value: Any, ttl_seconds: float) -> None:
        raise self.failure

    def fetch(self, sql: str, params: Sequence[Any]) -> QueryResult:
        raise self.failure

    def close(self) -> None:
        pass


LEAKY = RuntimeError("backend down; token=leaked-value")


def failing_providers(failure: Exception) -> Providers:
    failing = FailingProvider(failure)
    register_adapter("failing", lambda url: failing)
    return Providers(env={}, secrets=(failing,), metrics=failing, cache=failing, database_url="failing://x")


PROVIDER_EXPRESSIONS = ('@env.secure("TOKEN")', '@metrics("cpu", 1)', '@cache("1m", 2)', '@query("SELECT 1")')


@pytest.mark.parametrize("expression", PROVIDER_EXPRESSIONS)
def test_provider_error_message_is_shown_at_the_expression(expression: str) -> None:
    failure = ProviderError("cannot read 'TOKEN' from the vault: permission denied")
    with pytest.raises(TuskError) as raised:
        evaluate_text(f"\na: {expression}", filename="p.tsk", providers=failing_providers(failure))
    shown = "cannot read 'TOKEN' from the vault: permission denied"
    if expression.startswith("@query"):
        shown = f"the query failed: {shown}"
    assert str(raised.value) == f"p.tsk:2:4: {shown}"
    assert raised.value.render().splitlines()[-1] == "  |    " + "^" * len(expression)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ('@env.secure("TOKEN")', "secret source FailingProvider failed to look up TOKEN (RuntimeError)"),
        ('@metrics("cpu", 1)', "the metrics provider FailingProvider failed for 'cpu' (RuntimeError)"),
        ('@cache("1m", 2)', "the cache FailingProvider failed (RuntimeError)"),
        ('@query("SELECT 1")', "the query failed: RuntimeError from the adapter"),
    ],
)
def test_unexpected_provider_failure_names_only_its_type(expression: str, message: str) -> None:
    with pytest.raises(TuskError) as raised:
        evaluate_text(f"\na: {expression}", filename="p.tsk", providers=failing_providers(LEAKY))
    assert str(raised.value) == f"p.tsk:2:4: {message}"
    assert "leaked-value" not in raised.value.render()


def test_unopenable_database_shows_only_the_adapters_type() -> None:
    def refuse(url: str) -> Any:
        raise RuntimeError(f"cannot log in with {url} and password hunter2")

    register_adapter("refusing", refuse)
    with pytest.raises(TuskError) as raised:
        evaluate_text('a: @query("SELECT 1")', providers=Providers(env={}, database_url="refusing://db"))
    assert raised.value.message == "cannot open the database refusing://db: RuntimeError from the adapter"


# ---- missing environment ----
def test_every_missing_variable_is_reported_at_once() -> None:
    text = 'a: @env("ONE")\nb: @int(@env("TWO")) + 1\nc: @env.secure("THREE")\nd: "${x}"\n$x: @env("ONE")'
    with pytest.raises(TuskError) as raised:
        evaluate_text(text, filename="m.tsk", providers=Providers(env={}))
    # The API stays neutral about how to set them; the CLI adds its --env hint (test_tsk_cli).
    assert str(raised.value) == (
        "m.tsk:1:4: 3 environment variables are not set: ONE (line 1), TWO (line 2), THREE (secret, line 3)"
    )
    assert isinstance(raised.value, MissingEnvironment)
    assert raised.value.names == ("ONE", "TWO", "THREE")


# ---- caller variables ----
def test_file_declaration_wins_over_a_caller_variable() -> None:
    warnings: list[str] = []
    document = evaluate_text(
        '$region: "us-east-1"\nr: $region\nteam: $team',
        variables={"region": "eu-west-1", "team": "infra"},
        providers=Providers(env={}, warn=warnings.append),
    )
    assert document.data == {"r": "us-east-1", "team": "infra"}
    assert warnings == ["--var region is ignored: the file declares $region itself"]
    assert document.warnings == tuple(warnings)


def test_a_caller_variable_the_file_never_mentions_is_reported_with_the_likely_name() -> None:
    document = evaluate_text(
        "r: $region\nt: @if(false, $team, 0)", variables={"regoin": "x", "region": "y", "team": "infra"}
    )
    # `team` sits in a branch not taken: mentioned, so not a mistake.
    assert document.warnings == (
        "--var regoin is not used: the file never mentions $regoin (did you mean '$region'?)",
    )


# ---- @if, @metrics ----
class CountingMetrics:
    def __init__(self, values: dict[str, float]) -> None:
        self.values = values
        self.asked: list[str] = []

    def metric(self, name: str) -> float | None:
        self.asked.append(name)
        return self.values.get(name)


def test_if_evaluates_only_the_chosen_branch() -> None:
    metrics = CountingMetrics({"cpu": 90})
    text = (
        'a: @if(@metrics("cpu", 0) > 80, "hot", @metrics("never", 0))\nb: @if(false, @query("SELECT 1"), 2)'
    )
    document = evaluate_text(text, providers=Providers(env={}, metrics=metrics))
    assert document.data == {"a": "hot", "b": 2}
    assert metrics.asked == ["cpu"]


def test_metric_falling_back_to_its_default_warns() -> None:
    warnings: list[str] = []
    evaluate_text(
        'a: @metrics("cpu", 5)', providers=Providers(env={}, metrics=StaticMetrics({}), warn=warnings.append)
    )
    assert warnings == ["metric 'cpu' has no value; using its default, the integer 5"]


class UnavailableMetrics:
    """A provider that knows why it has no value, like CloudWatch being unreachable."""

    def __init__(self) -> None:
        self.asked = 0

    def metric(self, name: str) -> MetricUnavailable:
        self.asked += 1
        return MetricUnavailable(f"the metrics store is down ({name})")


def test_a_metric_falling_back_warns_once_with_the_providers_reason() -> None:
    warnings: list[str] = []
    metrics = UnavailableMetrics()
    text = 'a: @metrics("cpu", 5)\nb: @metrics("cpu", 5) + 1\nc: @metrics("cpu", 7)\nd: @metrics("mem", 1)'
    document = evaluate_text(text, providers=Providers(env={}, metrics=metrics, warn=warnings.append))
    assert document.data == {"a": 5, "b": 6, "c": 7, "d": 1}
    assert metrics.asked == 4
    assert warnings == [
        "metric 'cpu': the metrics store is down (cpu); using its default, the integer 5",
        "metric 'mem': the metrics store is down (mem); using its default, the integer 1",
    ]
    assert document.warnings == tuple(warnings)
    assert InputUse("metric", "cpu", 5, defaulted=True) in document.inputs


def test_a_metric_without_value_warns_once_per_evaluation() -> None:
    warnings: list[str] = []
    providers = Providers(env={}, metrics=StaticMetrics({}), warn=warnings.append)
    text = 'a: @metrics("cpu", 5)\nb: @metrics("cpu", 6)\nc: @metrics("cpu", 5)'
    evaluate_text(text, providers=providers)
    evaluate_text(text, providers=providers)
    assert warnings == ["metric 'cpu' has no value; using its default, the integer 5"] * 2


def test_a_metric_without_value_or_default_names_the_reason() -> None:
    with pytest.raises(TuskError) as raised:
        evaluate_text('a: @metrics("cpu")', providers=Providers(env={}, metrics=UnavailableMetrics()))
    assert raised.value.message == (
        "metric 'cpu' has no value and @metrics has no default; the metrics store is down (cpu)"
    )


# ---- @cache ----
class CountingAdapter:
    calls = 0

    def __init__(self, url: str) -> None:
        self.url = url

    def fetch(self, sql: str, params: Sequence[Any]) -> QueryResult:
        CountingAdapter.calls += 1
        return QueryResult(("n",), ((CountingAdapter.calls,),))

    def close(self) -> None:
        pass


class RecordingCache(MemoryCache):
    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self.keys: list[str] = []

    def get(self, key: str) -> CacheHit | None:
        self.keys.append(key)
        return super().get(key)


def test_cache_honours_ttl_with_the_injected_clock() -> None:
    register_adapter("counting", CountingAdapter)
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    cache = MemoryCache(lambda: now[0])
    providers = Providers(env={}, cache=cache, database_url="counting://x", clock=lambda: now[0])
    text = 'n: @cache("5m", @query("SELECT n FROM t"))'
    CountingAdapter.calls = 0
    assert evaluate_text(text, providers=providers).data == {"n": 1}
    now[0] += timedelta(minutes=4)
    assert evaluate_text(text, providers=providers).data == {"n": 1}
    now[0] += timedelta(minutes=2)
    assert evaluate_text(text, providers=providers).data == {"n": 2}
    assert CountingAdapter.calls == 2


def test_cache_key_follows_source_text_and_inputs() -> None:
    register_adapter("counting", CountingAdapter)
    clock = lambda: datetime(2030, 1, 1, tzinfo=UTC)  # noqa: E731
    cache = RecordingCache(clock)
    text = 'n: @cache(60, @query("SELECT n FROM t WHERE region = ?", @env("REGION")))'
    for region in ("us-east-1", "us-east-1", "eu-west-1"):
        evaluate_text(
            text, providers=Providers(env={"REGION": region}, cache=cache, database_url="counting://x")
        )
    evaluate_text(
        text.replace("60", "120"),
        providers=Providers(env={"REGION": "us-east-1"}, cache=cache, database_url="counting://x"),
    )
    evaluate_text(
        text.replace("region", "zone"),
        providers=Providers(env={"REGION": "us-east-1"}, cache=cache, database_url="counting://x"),
    )
    first, same, other_region, other_ttl, other_text = cache.keys
    assert first == same == other_ttl  # the ttl is not part of what is cached
    assert len({first, other_region, other_text}) == 3
    assert all(key.startswith("tusk-cache:v1:") for key in cache.keys)


def test_cache_key_reads_a_sections_own_key_for_its_interpolation() -> None:
    # `${host}` in [server] is server.host (not a global): the key follows it, so another host is a miss.
    register_adapter("counting", CountingAdapter)
    cache = RecordingCache(lambda: datetime(2030, 1, 1, tzinfo=UTC))
    text = '[server]\nhost: @env("HOST")\nn: @cache(60, @query("SELECT n FROM t WHERE h = ?", "${host}"))\n'
    CountingAdapter.calls = 0
    for host in ("a", "a", "b"):
        evaluate_text(text, providers=Providers(env={"HOST": host}, cache=cache, database_url="counting://x"))
    first, same, other = cache.keys
    assert first == same != other
    assert CountingAdapter.calls == 2


def test_a_secret_input_keys_the_cache_for_this_process_only() -> None:
    # Within one run the key follows the secret; nothing in it lets a guess be checked offline, and another
    # process (the next run, reading a persistent cache) computes a different key.
    key_of = "from tusk_infra.tusk.caching import cache_key; from tusk_infra.tusk import Secret; "
    expression = "cache_key('@query(\\'SELECT 1\\', $pw)', None, [('$pw', Secret('hunter2'))])"
    here = cache_key("@query('SELECT 1', $pw)", None, [("$pw", Secret("hunter2"))])
    assert here == cache_key("@query('SELECT 1', $pw)", None, [("$pw", Secret("hunter2"))])
    assert here != cache_key("@query('SELECT 1', $pw)", None, [("$pw", Secret("hunter3"))])
    unkeyed = "secret:" + hashlib.sha256(b"hunter2").hexdigest()
    assert here != cache_key("@query('SELECT 1', $pw)", None, [("$pw", unkeyed)])
    elsewhere = subprocess.run(
        [sys.executable, "-c", f"{key_of}print({expression})"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert elsewhere.startswith("tusk-cache:v1:") and elsewhere != here


def test_memory_cache_expires_entries() -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    cache = MemoryCache(lambda: now[0])
    cache.put("k", [1], 30)
    assert cache.get("k") == CacheHit([1])
    now[0] += timedelta(seconds=30)
    assert cache.get("k") is None


# ---- @query ----
def test_sqlite_connection_is_read_only_even_without_the_check(tmp_path: Path) -> None:
    adapter = SqliteAdapter(build_database(SHOP_SQL, tmp_path))
    with pytest.raises(Exception, match="readonly"):
        adapter.fetch("DELETE FROM users", [])
    assert adapter.fetch("SELECT COUNT(*) FROM users", []).rows == ((5,),)
    adapter.close()


def test_a_query_with_a_secret_parameter_gives_one_text_value_that_stays_secret(tmp_path: Path) -> None:
    text = 'echo: @query("SELECT upper(?) AS token", @env.secure("TOKEN"))\n'
    providers = Providers(env={"TOKEN": "hunter2"}, database_url=build_database(SHOP_SQL, tmp_path))
    document = evaluate_text(text, providers=providers)
    assert document.data["echo"] == Secret("HUNTER2", "TOKEN")
    shown = json.dumps([document.to_plain(), [repr(use) for use in document.inputs]])
    assert "hunter2" not in shown.lower()
    assert document.to_plain()["echo"] == SECRET_MASK


# Each would show the secret, or bits of it, through a number, a boolean, a NULL, a row count or a shape.
SECRET_SIDE_CHANNELS = {
    "number": "SELECT ? + 0",
    "character-code": "SELECT unicode(substr(?, 1, 1))",
    "length": "SELECT length(?)",
    "boolean": "SELECT ? LIKE '7%'",
    "null": "SELECT CASE WHEN ? LIKE '7%' THEN NULL ELSE 'no' END",
    "row-count": "SELECT name FROM users WHERE ? LIKE '7%'",
    "no-rows": "SELECT 'x' WHERE ? LIKE 'z%'",
    "columns": "SELECT name, ? AS token FROM users ORDER BY name LIMIT 1",
}


@pytest.mark.parametrize("sql", SECRET_SIDE_CHANNELS.values(), ids=SECRET_SIDE_CHANNELS.keys())
def test_a_query_that_would_show_a_secret_through_its_shape_is_refused(tmp_path: Path, sql: str) -> None:
    secret = "7351"  # digits: `? + 0` would print it as a number
    text = f'value: @query("{sql}", @env.secure("TOKEN"))\n'
    providers = Providers(env={"TOKEN": secret}, database_url=build_database(SHOP_SQL, tmp_path))
    refusal = "a query with a secret parameter must return one text value"
    with pytest.raises(TuskError, match=refusal) as caught:
        evaluate_text(text, providers=providers)
    assert secret not in caught.value.render()
    for code in (str(ord(secret[0])), str(len(secret))):
        assert f" {code} " not in caught.value.render()


def test_a_database_error_of_a_query_with_a_secret_names_its_class_only(tmp_path: Path) -> None:
    secret = "canary-path-41"
    text = 'value: @query("SELECT json_extract(\'{}\', ?)", @env.secure("TOKEN"))\n'
    providers = Providers(env={"TOKEN": secret}, database_url=build_database(SHOP_SQL, tmp_path))
    with pytest.raises(TuskError, match="OperationalError .the database's message is not shown") as caught:
        evaluate_text(text, providers=providers)
    assert "canary" not in caught.value.render()
    # Without a secret the database's own message helps, and is shown.
    plain = 'value: @query("SELECT json_extract(\'{}\', ?)", "canary-path-41")\n'
    with pytest.raises(TuskError, match="JSON path error near .canary-path-41"):
        evaluate_text(plain, providers=providers)


RUNAWAY_SQL = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) FROM r"


def test_a_runaway_sqlite_query_is_interrupted_at_the_time_limit(tmp_path: Path) -> None:
    adapter = SqliteAdapter(build_database(SHOP_SQL, tmp_path), timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        adapter.fetch(RUNAWAY_SQL, [])
    assert 0.3 <= time.monotonic() - started < 2
    assert raised.value.message == "it ran longer than the time limit of 300 ms and was interrupted"
    # The limit is per query: the next one runs normally.
    assert adapter.fetch("SELECT COUNT(*) FROM users", []).rows == ((5,),)
    adapter.close()


def test_database_password_is_not_shown_when_opening_fails() -> None:
    with pytest.raises(TuskError) as raised:
        evaluate_text(
            'a: @query("SELECT 1")', providers=Providers(env={}, database_url="sqlite:///no/such/file.db")
        )
    assert "cannot open the database sqlite:///no/such/file.db" in raised.value.message
    with pytest.raises(TuskError) as raised:
        evaluate_text(
            'a: @query("SELECT 1")', providers=Providers(env={}, database_url="mysql://app:pw123@db/x")
        )
    assert "pw123" not in raised.value.render()


# ---- errors ----
def test_error_render_has_location_line_snippet_and_caret() -> None:
    with pytest.raises(TuskError) as raised:
        evaluate_text('$region: "x"\n[a]\nurl: $regon\n', filename="global.tsk", providers=Providers(env={}))
    assert raised.value.render() == (
        "global.tsk:3:6: unknown global '$regon' (did you mean '$region'?)\n"
        "  |\n"
        "3 | url: $regon\n"
        "  |      ^^^^^^"
    )


def test_unreadable_files_are_tusk_errors(tmp_path: Path) -> None:
    with pytest.raises(TuskError, match="cannot read the file"):
        evaluate_file(tmp_path / "missing.tsk")
    broken = tmp_path / "broken.tsk"
    broken.write_bytes(b'a: 1\nb: "\xff"\n')
    with pytest.raises(TuskError) as raised:
        evaluate_file(broken)
    assert (raised.value.line, raised.value.column, raised.value.message) == (
        2,
        5,
        "the file is not valid UTF-8",
    )


def test_crlf_line_endings_and_bom() -> None:
    document = evaluate_text("a: 1\r\n[s]\r\nb {\r\n  c: [1,\r\n 2]\r\n}\r\n", providers=Providers(env={}))
    assert document.data == {"a": 1, "s": {"b": {"c": [1, 2]}}}


def test_date_uses_the_clock() -> None:
    providers = Providers(env={}, clock=lambda: datetime(2031, 12, 24, 18, 30, tzinfo=UTC))
    assert evaluate_text('d: @date("Y-m-d H:i")', providers=providers).data == {"d": "2031-12-24 18:30"}


def test_grammar_is_the_repository_file_and_compiled_once() -> None:
    assert grammar_path() == Path(__file__).resolve().parents[1] / "grammar" / "tusk.lark"
    assert compiled() is compiled()


def test_builtin_cache_is_shared_by_evaluations_in_one_process() -> None:
    register_adapter("counting", CountingAdapter)
    CountingAdapter.calls = 0
    text = 'n: @cache("1h", @query("SELECT n FROM shared_cache_test"))'
    providers = Providers(env={}, database_url="counting://shared")
    first = evaluate_text(text, providers=providers).data
    second = evaluate_text(text, providers=providers).data
    assert first == second == {"n": 1}
    assert CountingAdapter.calls == 1


def test_cache_hit_records_that_the_query_result_was_cached() -> None:
    register_adapter("counting", CountingAdapter)
    providers = Providers(env={}, database_url="counting://hit", cache=MemoryCache(lambda: datetime.now(UTC)))
    text = 'n: @cache("1h", @query("SELECT n FROM t"))'
    miss = evaluate_text(text, providers=providers)
    hit = evaluate_text(text, providers=providers)
    assert miss.provenance("n").inputs[0].name == "SELECT n FROM t"
    assert hit.provenance("n").inputs == (
        InputUse("query", 'cached: @query("SELECT n FROM t")', miss.data["n"]),
    )


class StructuredAdapter:
    """Returns what PostgreSQL drivers hand back for arrays and JSON: lists and dicts, not text."""

    def __init__(self, url: str) -> None:
        self.url = url

    def fetch(self, sql: str, params: Sequence[Any]) -> QueryResult:
        from decimal import Decimal

        mixed = (Decimal("1.5"), {"at": datetime(2030, 1, 1)})
        row = ([1, 2, 3], {"a": 1, "b": [True, None]}, mixed, {1: "x"})
        return QueryResult(("ints", "doc", "mixed", "odd_keys"), (row,))

    def close(self) -> None:
        pass


def test_query_lists_and_objects_stay_structured_with_plain_members() -> None:
    register_adapter("structured", StructuredAdapter)
    document = evaluate_text(
        'rows: @query("SELECT * FROM t")', providers=Providers(env={}, database_url="structured://x")
    )
    assert document.data["rows"] == [{
        "ints": [1, 2, 3],
        "doc": {"a": 1, "b": [True, None]},
        "mixed": ["1.5", {"at": "2030-01-01 00:00:00"}],
        "odd_keys": "{1: 'x'}",
    }]


@pytest.mark.parametrize(("value", "accepted"), [(2**63 - 1, True), (2**63, False), (-(2**63) - 1, False)])
def test_a_metric_beyond_64_bit_integers_is_a_positioned_error(value: int, accepted: bool) -> None:
    providers = Providers(env={}, metrics=StaticMetrics({"requests": value}))
    text = '\nrate: @metrics("requests", 0)\n'
    if accepted:
        assert evaluate_text(text, providers=providers).data == {"rate": value}
        return
    with pytest.raises(TuskError) as caught:
        evaluate_text(text, providers=providers)
    assert str(caught.value) == "<string>:2:7: metric 'requests' is beyond the language's 64-bit integers"


def test_an_evaluation_leaves_no_reference_cycle_behind() -> None:
    # Without the collector, only reference counting frees memory: an evaluator caught in a cycle would keep a
    # whole document's tables alive (a 5,000-section file held 340 MB instead of 67 MB over repeated runs).
    def evaluators() -> set[int]:
        return {id(obj) for obj in gc.get_objects() if isinstance(obj, Evaluator)}

    gc.collect()
    gc.disable()
    try:
        before = evaluators()  # whatever earlier tests still hold (an exception's traceback, ...)
        evaluate_text('$g: 2\n[a]\nb: $g * 3\nc: "x-${g}"\n')
        left_behind = evaluators() - before
    finally:
        gc.enable()
    assert left_behind == set()


def test_a_dropped_document_frees_its_tables_without_the_collector() -> None:
    # Entries find the section their `${name}` look in from their label, not by holding the Table (which
    # would make every layout a cycle, freed only when the collector runs).
    def tables() -> set[int]:
        return {id(obj) for obj in gc.get_objects() if isinstance(obj, Table)}

    gc.collect()
    gc.disable()
    try:
        before = tables()
        evaluate_text('$g: 2\n[a]\nh: "x"\nb: $g * 3\nc: "x-${h}"\nblk {\n  d: "${g}"\n}\n')
        left_behind = tables() - before
    finally:
        gc.enable()
    assert left_behind == set()
