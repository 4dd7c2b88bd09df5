"""Choosing backends from stack config and command-line options; offline unless something is configured."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, REPO

from tusk_infra.backends.aws_secrets import ParameterStoreSource, SecretsManagerSource
from tusk_infra.backends.cloudwatch import CloudWatchMetrics, MetricSpec
from tusk_infra.backends.config import (
    BackendConfigError,
    BackendOptionError,
    BackendSettings,
    load_stack_settings,
    parse_duration,
    settings_from_stack_config,
)
from tusk_infra.backends.file_cache import FileCache
from tusk_infra.backends.selection import (
    FirstAnswer,
    add_backend_arguments,
    build_providers,
    metric_map,
    settings_from_args,
)
from tusk_infra.tusk import TuskError
from tusk_infra.tusk.builtin_providers import StaticMetrics
from tusk_infra.tusk.providers import ADAPTERS, Providers


def write_stack(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def test_nothing_configured_keeps_the_offline_defaults() -> None:
    base = Providers(env={}, metrics=StaticMetrics({"cpu_usage": 50}))
    providers = build_providers(BackendSettings(), base)
    assert providers.metrics is base.metrics
    assert providers.cache is None and providers.secrets == () and providers.database_url is None
    assert not BackendSettings().uses_network


def test_building_registers_the_postgres_adapter() -> None:
    build_providers(BackendSettings(), Providers(env={}))
    assert {"postgresql", "postgres"} <= set(ADAPTERS)


def test_full_stack_config_is_read(tmp_path: Path) -> None:
    path = write_stack(tmp_path, """
        config:
          aws:region: eu-west-1
          tusk-infra:imageTag: "1.0"
          tusk-infra:secretSources: [ssm, secretsmanager]
          tusk-infra:secretPrefix: /apps/{stack}/
          tusk-infra:metricsProvider: cloudwatch
          tusk-infra:metricsWindow: 10m
          tusk-infra:metricsTimeout: 1500ms
          tusk-infra:metricsDimensions: {cluster: tusk-euw1, namespace: tusk, service: tusklang-app}
          tusk-infra:metrics:
            queue_depth: {namespace: AWS/SQS, metric: ApproximateNumberOfMessagesVisible,
                          dimensions: {QueueName: "jobs-{region}"}, stat: Maximum}
          tusk-infra:cache: file
          tusk-infra:cacheDir: /var/cache/tusk
          tusk-infra:queryTimeout: 2s
          tusk-infra:databaseConnectTimeout: 3
          tusk-infra:databaseUrl: postgresql://reader@db/app
    """)
    settings = load_stack_settings(path, "eu-west-1")
    assert settings == BackendSettings(
        stack="eu-west-1",
        metrics_snapshot=str(tmp_path / "metrics" / "eu-west-1.json"),
        secret_sources=("ssm", "secretsmanager"),
        secret_prefix="/apps/{stack}/",
        metrics_provider="cloudwatch",
        metrics_window_seconds=600,
        metrics_timeout_seconds=1.5,
        metric_dimensions={"cluster": "tusk-euw1", "namespace": "tusk", "service": "tusklang-app"},
        metric_specs={"queue_depth": MetricSpec("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                                                (("QueueName", "jobs-{region}"),), "Maximum")},
        cache="file",
        cache_dir="/var/cache/tusk",
        database_url="postgresql://reader@db/app",
        query_timeout_ms=2000,
        database_connect_timeout_seconds=3,
        aws_region="eu-west-1",
    )
    specs, unmapped = metric_map(settings)
    assert specs["queue_depth"].dimensions == (("QueueName", "jobs-eu-west-1"),)
    assert specs["cpu_usage"].dimensions == (
        ("ClusterName", "tusk-euw1"), ("Namespace", "tusk"), ("Service", "tusklang-app"))
    assert set(unmapped) == {"active_connections"}
    assert "tusk-infra:metricsDimensions.db_instance" in unmapped["active_connections"]


def test_the_projects_own_stacks_configure_nothing_live() -> None:
    stacks = sorted(PROJECT_DIR.glob("Pulumi.*.yaml"))
    stacks = [path for path in stacks if path.name != "Pulumi.yaml"]
    assert stacks, "expected the project's stack files"
    for path in stacks:
        assert not load_stack_settings(path, path.stem.split(".", 1)[1]).uses_network, path


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("tusk-infra:metricsProvider: prometheus",
         "tusk-infra:metricsProvider: expected one of static, cloudwatch, found 'prometheus'"),
        ("tusk-infra:metricsWindow: 5 minutes",
         "tusk-infra:metricsWindow: expected a duration like '30s', '5m' or '500ms', found '5 minutes'"),
        ("tusk-infra:metricsWindow: 30s",
         "tusk-infra:metricsWindow: expected a window of at least 60s, found '30s'"),
        ("tusk-infra:metricsTimeout: 5m",
         "tusk-infra:metricsTimeout: expected at most 30s (a preview must not wait long on metrics), "
         "found '5m'"),
        ("tusk-infra:secretSources: [vault]",
         "tusk-infra:secretSources: expected one of secretsmanager, ssm, found 'vault'"),
        ("tusk-infra:cache: redis", "tusk-infra:cache: expected one of memory, file, found 'redis'"),
        ("tusk-infra:databaseUrl: {secure: v1:abc}",
         "tusk-infra:databaseUrl: found an encrypted Pulumi secret, which an offline run cannot decrypt; "
         "pass it through the environment or the command line instead"),
        ("tusk-infra:metrics: {cpu_usage: {namespace: X}}",
         "tusk-infra:metrics: metric 'cpu_usage': expected keys namespace, metric and optionally dimensions, "
         "stat, perSecond; found {'namespace': 'X'}"),
    ],
)
def test_bad_values_point_at_the_stack_file(tmp_path: Path, line: str, message: str) -> None:
    path = write_stack(tmp_path, f"config:\n  aws:region: us-east-1\n  {line}\n")
    with pytest.raises(BackendConfigError) as caught:
        load_stack_settings(path, "test")
    key = line.split(": ", 1)[0]
    value_column = len("  ") + len(key) + len(": ") + 1
    assert str(caught.value) == f"{path}:3:{value_column}: {message}"
    assert isinstance(caught.value, TuskError)


def test_invalid_yaml_is_positioned(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "config:\n  tusk-infra:cache: [file\n")
    with pytest.raises(BackendConfigError, match=r"Pulumi.test.yaml:3:1: invalid YAML: "):
        load_stack_settings(path, "test")


def test_custom_metric_with_an_undefined_placeholder_is_an_error(tmp_path: Path) -> None:
    path = write_stack(tmp_path, """
        config:
          tusk-infra:metricsProvider: cloudwatch
          tusk-infra:metrics: {q: {namespace: AWS/SQS, metric: M, dimensions: {QueueName: "{queue}"}}}
    """)
    settings = load_stack_settings(path, "test")
    with pytest.raises(BackendConfigError) as caught:
        build_providers(settings, Providers(env={}))
    assert str(caught.value) == (
        f"{path}:3:23: tusk-infra:metrics: metric 'q' uses {{queue}}, which tusk-infra:metricsDimensions "
        "(or --metric-dimension) does not define"
    )


def test_durations() -> None:
    assert [parse_duration(v) for v in ("30s", "5m", "1h", "1d", "250ms", 7, "1.5s")] == [
        30, 300, 3600, 86400, 0.25, 7, 1.5]
    for bad in ("0s", -1, True, "soon"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def parser() -> argparse.ArgumentParser:
    built = argparse.ArgumentParser(prog="tusk-infra eval")
    add_backend_arguments(built)
    return built


def test_command_line_overrides_the_stack_config() -> None:
    stack = settings_from_stack_config(
        {
            "tusk-infra:metricsProvider": "cloudwatch",
            "tusk-infra:metricsDimensions": {"cluster": "a", "x": "1"},
        },
        stack="us-east-1",
    )
    args = parser().parse_args([
        "--metrics-provider", "static", "--metric-dimension", "cluster=b", "--cache-dir", "/tmp/c",
        "--secrets-from", "ssm", "--secrets-from", "secretsmanager", "--metrics-timeout", "1s",
        "--query-timeout", "750ms", "--aws-region", "us-west-2", "--aws-endpoint-url", "http://localhost:4566",
    ])
    settings = settings_from_args(args, stack)
    assert settings.metrics_provider == "static"
    assert settings.metric_dimensions == {"cluster": "b", "x": "1"}
    assert (settings.cache, settings.cache_dir) == ("file", "/tmp/c")
    assert settings.secret_sources == ("ssm", "secretsmanager")
    assert (settings.metrics_timeout_seconds, settings.query_timeout_ms) == (1.0, 750)
    assert (settings.aws_region, settings.aws_endpoint_url) == ("us-west-2", "http://localhost:4566")
    assert settings.stack == "us-east-1"


def test_a_commands_own_stack_option_names_the_stack() -> None:
    args = parser().parse_args(["--secrets-from", "ssm"])
    args.stack = "eu-west-1"
    assert settings_from_args(args).stack == "eu-west-1"
    assert settings_from_args(args, BackendSettings(stack="us-east-1")).stack == "us-east-1"


def test_no_options_change_nothing() -> None:
    base = BackendSettings(stack="s", metrics_provider="cloudwatch")
    assert settings_from_args(parser().parse_args([]), base) == base


def test_a_bad_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["--metrics-window", "soon"])
    assert exited.value.code == 2
    assert "argument --metrics-window: expected a duration like '30s', '5m' or '500ms', found 'soon'" in (
        capsys.readouterr().err)


def test_live_backends_are_built_as_configured(tmp_path: Path) -> None:
    settings = BackendSettings(
        stack="us-east-1", secret_sources=("ssm", "secretsmanager"), metrics_provider="cloudwatch",
        metric_dimensions={"cluster": "c", "namespace": "n", "service": "s"}, cache="file",
        cache_dir=str(tmp_path), aws_region="us-east-1", database_url="postgresql://reader@db/app",
    )
    static = StaticMetrics({"cpu_usage": 1.0})
    providers = build_providers(settings, Providers(env={}, metrics=static))
    assert [type(source) for source in providers.secrets] == [ParameterStoreSource, SecretsManagerSource]
    assert isinstance(providers.metrics, FirstAnswer) and providers.metrics.first is static
    assert isinstance(providers.metrics.then, CloudWatchMetrics)
    assert isinstance(providers.cache, FileCache) and providers.cache.path.parent == tmp_path
    assert providers.database_url == "postgresql://reader@db/app"


def test_an_unusable_cache_directory_is_a_tusk_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    path = write_stack(tmp_path, f"config:\n  tusk-infra:cache: file\n  tusk-infra:cacheDir: {blocker}\n")
    with pytest.raises(BackendConfigError) as caught:
        build_providers(load_stack_settings(path, "test"), Providers(env={}))
    assert str(caught.value) == (
        f"{path}:3:24: tusk-infra:cacheDir: cannot keep the persistent cache in {blocker}: "
        "it is a file, not a directory; choose a directory you can write to"
    )


def test_an_unusable_cache_dir_option_is_named_as_the_option(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    path = write_stack(tmp_path, "config:\n  tusk-infra:cache: file\n  tusk-infra:cacheDir: /tmp\n")
    args = parser().parse_args(["--cache-dir", str(blocker)])
    with pytest.raises(BackendOptionError) as caught:
        build_providers(settings_from_args(args, load_stack_settings(path, "test")), Providers(env={}))
    assert str(caught.value) == (
        f"--cache-dir: cannot keep the persistent cache in {blocker}: "
        "it is a file, not a directory; choose a directory you can write to"
    )


def test_a_bad_cache_dir_option_is_a_usage_error_named_by_the_option(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = subprocess.run(
        [sys.executable, "-m", "tusk_infra", "eval", "examples/sample.tsk", "--cache-dir", str(blocker)],
        cwd=REPO, env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"tusk-infra: error: --cache-dir: cannot keep the persistent cache in {blocker}: "
        "it is a file, not a directory; choose a directory you can write to\n"
    )


def test_eval_with_secrets_from_aws_needs_a_stack_for_the_default_prefix(tmp_path: Path) -> None:
    run = partial(
        subprocess.run, cwd=REPO, env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    # In a project with the stack, since --stack reads Pulumi.<stack>.yaml beside the file.
    for name in ("Pulumi.yaml", "Pulumi.us-west-2.yaml"):
        shutil.copy2(PROJECT_DIR / name, tmp_path / name)
    source = tmp_path / "s.tsk"
    source.write_text('a: @env.secure("TOKEN")\n')
    command = [sys.executable, "-m", "tusk_infra", "eval", str(source), "--secrets-from", "ssm"]
    result = run(command)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "tusk-infra: error: --secrets-from needs a stack name for the secret prefix '/tusk-infra/{stack}/': "
        "pass --stack NAME, or --secret-prefix without {stack}\n"
    )
    # With --stack the prefix names the stack (here the lookup then fails: no AWS credentials in the test).
    offline_aws = ["--aws-region", "us-east-1", "--aws-endpoint-url", "http://127.0.0.1:9"]
    named = run([*command, "--stack", "us-west-2", *offline_aws])
    assert named.returncode == 1 and named.stdout == ""
    assert "(/tusk-infra/us-west-2/TOKEN)" in named.stderr.splitlines()[0]
    # A prefix without {stack} needs no stack.
    prefixed = run([*command, "--secret-prefix", "/shared/", *offline_aws])
    assert prefixed.returncode == 1 and "(/shared/TOKEN)" in prefixed.stderr.splitlines()[0]


def test_database_url_precedence_is_command_line_then_environment_then_stack() -> None:
    stack = BackendSettings(database_url="postgres://stack@h/d")
    env = {"TUSK_DATABASE_URL": "postgres://env@h/d"}
    assert build_providers(stack, Providers(env={})).database_url == "postgres://stack@h/d"
    assert build_providers(stack, Providers(env=env)).database_url == "postgres://env@h/d"
    assert build_providers(stack, Providers(env=env, database_url="sqlite:///x.db")).database_url == (
        "sqlite:///x.db")


NO_NETWORK = textwrap.dedent(
    """
    import contextlib, io, socket, sys
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled by the test")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from pathlib import Path
    from tusk_infra.backends.config import load_stack_settings
    from tusk_infra.backends.selection import build_providers
    from tusk_infra.cli import main
    from tusk_infra.tusk import Providers, evaluate_text

    TEXT = (
        '[performance]\\n'
        'worker_count: @if(@metrics("cpu_usage", 0) > 80, 16, 8)\\n'
        'pool: @cache("5m", @if(@metrics("active_connections", 0) > 100, 500, 200))\\n'
        'password: @env.secure("DB_PASSWORD")\\n'
    )
    EXPECTED = {"performance": {"worker_count": 8, "pool": 200, "password": "[secret]"}}

    # The API with the stack's settings: a provider to pull from, but @metrics reads the snapshot...
    settings = load_stack_settings(Path(sys.argv[1]), "us-east-1")
    assert settings.metrics_provider == "cloudwatch", settings
    warnings = []
    providers = build_providers(settings, Providers(env={"DB_PASSWORD": "x"}, warn=warnings.append))
    doc = evaluate_text(TEXT, providers=providers)
    assert doc.to_plain() == {"performance": {**EXPECTED["performance"], "worker_count": 16}}, doc.data

    # ...and `tusk-infra eval` / `explain` with no backend option, as a user runs them.
    tsk = Path(sys.argv[2])
    tsk.write_text(TEXT)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        codes = [main(["eval", str(tsk), "--env", "DB_PASSWORD=x"]),
                 main(["explain", str(tsk), "performance.pool", "--env", "DB_PASSWORD=x"])]
    assert codes == [0, 0], err.getvalue()
    assert out.getvalue().startswith('{\\n  "performance": {\\n    "worker_count": 8,'), out.getvalue()
    warnings.extend(err.getvalue().splitlines())

    loaded = sorted(name for name in ("boto3", "botocore", "psycopg") if name in sys.modules)
    print(len(attempts), loaded, warnings)
    """
)


SNAPSHOT = {
    "format": "tusk-infra/metrics@1", "stack": "us-east-1", "pulled_at": "2026-12-01T09:00:00Z",
    "metrics": {"cpu_usage": {"value": 91.0, "statistic": "p95", "window": "7d", "source": {}},
                "active_connections": {"value": 40.0, "statistic": "p95", "window": "7d", "source": {}}},
}


def test_nothing_configured_means_no_network_and_no_aws_or_driver_loaded(tmp_path: Path) -> None:
    # The project's stack file configures CloudWatch for `metrics pull`; every other run reads the snapshot.
    stack_file = tmp_path / "Pulumi.us-east-1.yaml"
    shutil.copy2(REPO / "Pulumi.us-east-1.yaml", stack_file)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "us-east-1.json").write_text(json.dumps(SNAPSHOT))
    run = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, str(stack_file), str(tmp_path / "global.tsk")],
        capture_output=True, text=True, timeout=60, check=False,
        env={key: value for key, value in os.environ.items() if key != "TUSK_DATABASE_URL"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "0 [] []"


def test_backend_options_fit_every_command_without_clashing() -> None:
    # eval and explain carry the backend options; any other command must be able to take them too.
    from tusk_infra.cli import build_parser

    top = build_parser()
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    assert commands.choices, "expected the CLI's subcommands"
    backend_options = set(parser()._option_string_actions) - {"-h", "--help"}
    for name, command_parser in commands.choices.items():
        if name in ("eval", "explain"):
            missing = backend_options - set(command_parser._option_string_actions)
            assert not missing, f"`tusk-infra {name}` lacks {sorted(missing)}"
            continue
        try:
            add_backend_arguments(command_parser)
        except argparse.ArgumentError as clash:
            pytest.fail(f"backend options clash with `tusk-infra {name}`: {clash}")


@pytest.mark.parametrize("command", ["eval", "explain"])
def test_eval_options_keep_their_meaning_beside_the_backend_options(command: str) -> None:
    # `--metric` and `--cache` are whole options, not abbreviations of `--metrics-*` / `--cache-dir`.
    from tusk_infra.cli import build_parser

    extra = ["performance.workers"] if command == "explain" else []
    args = build_parser().parse_args(
        [command, "x.tsk", *extra, "--metric", "cpu=1", "--cache", "file", "--db", "postgresql://h/d"]
    )
    assert (args.metric, args.backend_cache, args.db) == (["cpu=1"], "file", "postgresql://h/d")
    assert args.backend_metrics_provider is None and args.backend_cache_dir is None
