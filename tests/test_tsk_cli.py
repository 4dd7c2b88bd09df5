"""`tusk-infra eval` and `tusk-infra explain`, run the way a user runs them (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import PROGRAM_SECRETS, PROJECT_DIR, REPO, copy_project
from tsk.cases import SEED_DIR, VALID_DIR, build_database

from tusk_infra.offline.model import StackRun

SHOP_SQL = Path(__file__).parent / "tsk" / "fixtures" / "shop.sql"


def tusk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m tusk_infra ARGS` in the fixture project with a clean environment (plus env)."""
    clean = {"PATH": os.environ.get("PATH", ""), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tusk_infra", *args],
        cwd=PROJECT_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_eval_prints_json_in_document_order() -> None:
    result = tusk("eval", str(SEED_DIR / "global.tsk"), "--env", "REGION=eu-west-1")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["global", "regional_config", "regional_settings", "performance", "monitoring"]
    assert document["regional_settings"]["cdn_url"] == "https://cdn-eu-west-1.example.com"
    assert result.stdout == tusk("eval", str(SEED_DIR / "global.tsk"), "--env", "REGION=eu-west-1").stdout


def test_eval_yaml_matches_json() -> None:
    as_json = tusk("eval", str(VALID_DIR / "arrays.tsk"))
    as_yaml = tusk("eval", str(VALID_DIR / "arrays.tsk"), "--format", "yaml")
    assert as_yaml.returncode == 0, as_yaml.stderr
    assert yaml.safe_load(as_yaml.stdout) == json.loads(as_json.stdout)
    assert as_yaml.stdout.startswith("empty: []\ntrailing:\n- 1\n")


def test_process_environment_counts_and_env_option_overrides_it() -> None:
    from_process = tusk("eval", str(SEED_DIR / "global.tsk"), env={"REGION": "us-west-2"})
    assert json.loads(from_process.stdout)["global"]["region"] == "us-west-2"
    overridden = tusk(
        "eval", str(SEED_DIR / "global.tsk"), "--env", "REGION=eu-west-1", env={"REGION": "us-west-2"}
    )
    assert json.loads(overridden.stdout)["global"]["region"] == "eu-west-1"


def test_secrets_are_masked_unless_asked_for() -> None:
    args = ("eval", str(SEED_DIR / "scaling_cache.tsk"), "--env", "REDIS_PASSWORD=hunter2")
    masked = tusk(*args)
    assert "hunter2" not in masked.stdout + masked.stderr
    assert json.loads(masked.stdout)["scaling_cache"]["redis_cache"]["password"] == "[secret]"
    shown = tusk(*args, "--show-secrets")
    assert json.loads(shown.stdout)["scaling_cache"]["redis_cache"]["password"] == "hunter2"


def test_var_metric_and_db_options(tmp_path: Path) -> None:
    database = build_database(SHOP_SQL, tmp_path)
    result = tusk(
        "eval",
        str(SEED_DIR / "scale_optimized.tsk"),
        "--db",
        database,
        "--metric",
        "cpu_usage=95",
        "--env",
        "REGION=us-west-2",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["scale_optimized"]["user_count"] == 4
    with_var = tusk("eval", str(VALID_DIR / "caller_variables.tsk"), "--var", "region=ap-south-1")
    assert json.loads(with_var.stdout)["deploy"]["bucket"] == "assets-ap-south-1-production"
    assert "warning: --var" not in with_var.stderr


POSTGRES_TSK = """\
$floor: 2
[database]
active: @query("SELECT COUNT(*) FROM generate_series(1, 5) AS n WHERE n > ?", $floor)
ids: @query("SELECT ARRAY[1,2,3]")
meta: @query("SELECT '{\\"a\\": 1}'::jsonb")
"""


def test_eval_and_explain_query_postgresql(tmp_path: Path, postgres_url: str) -> None:
    settings = tmp_path / "global.tsk"
    settings.write_text(POSTGRES_TSK)
    result = tusk("eval", str(settings), "--db", postgres_url, "--query-timeout", "2s")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"database": {"active": 3, "ids": [1, 2, 3], "meta": {"a": 1}}}
    explained = tusk("explain", str(settings), "database.active", "--db", postgres_url)
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout.splitlines()[-1] == (
        '    query SELECT COUNT(*) FROM generate_series(1, 5) AS n WHERE n > ? [2] = 3'
    )


def test_database_url_can_come_from_the_environment(tmp_path: Path, postgres_url: str) -> None:
    settings = tmp_path / "global.tsk"
    settings.write_text(POSTGRES_TSK)
    result = tusk("eval", str(settings), env={"TUSK_DATABASE_URL": postgres_url})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["database"]["active"] == 3


def test_unreachable_postgresql_is_a_positioned_error_without_the_password(tmp_path: Path) -> None:
    settings = tmp_path / "global.tsk"
    settings.write_text(POSTGRES_TSK)
    result = tusk("eval", str(settings), "--db", "postgresql://app:pw-canary-77@127.0.0.1:9/app")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(
        f"{settings}:3:9: the query failed: cannot connect to PostgreSQL at postgresql://app:***@127.0.0.1:9/app"
    )
    assert "pw-canary-77" not in result.stderr


def test_cloudwatch_down_warns_once_per_metric_and_uses_the_defaults(tmp_path: Path) -> None:
    settings = tmp_path / "global.tsk"
    settings.write_text(
        'a: @metrics("cpu_usage", 10)\nb: @metrics("cpu_usage", 10) * 2\nc: @metrics("cpu_usage", 10) + 1\n'
    )
    result = tusk(
        "eval", str(settings), "--metrics-provider", "cloudwatch", "--aws-region", "us-east-1",
        "--aws-endpoint-url", "http://127.0.0.1:9", "--metrics-timeout", "1s",
        *("--metric-dimension", "cluster=c", "--metric-dimension", "namespace=n"),
        *("--metric-dimension", "service=s"),
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"a": 10, "b": 20, "c": 11}
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("warning: metric 'cpu_usage': CloudWatch unavailable (")
    assert warnings[0].endswith("; using its default, the integer 10")


def test_a_bad_backend_option_is_a_usage_error() -> None:
    result = tusk("eval", str(VALID_DIR / "env.tsk"), "--metrics-provider", "prometheus")
    assert result.returncode == 2
    assert "argument --metrics-provider: invalid choice: 'prometheus'" in result.stderr


def test_error_goes_to_stderr_with_location_and_snippet(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tsk"
    broken.write_text('$region: "us-east-1"\n[a]\nurl: "https://${regon}.example.com"\n')
    result = tusk("eval", str(broken))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"{broken}:3:17: unknown global '$regon' (did you mean '$region'?)"
    assert lines[2] == '3 | url: "https://${regon}.example.com"'
    assert lines[3].endswith("^^^^^")
    assert "Traceback" not in result.stderr


def test_missing_environment_is_one_error_naming_all() -> None:
    result = tusk("eval", str(SEED_DIR / "distributed.tsk"))
    assert result.returncode == 1 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{SEED_DIR / 'distributed.tsk'}:14:12: 10 environment variables are not set:")
    assert "REDIS_CLUSTER_PASSWORD (secret, line 15)" in first and "DB_REPLICA_EU_WEST_1 (line 38)" in first
    # One way for each: --env is never suggested for a secret (shell history and `ps` keep it).
    assert first.endswith(
        "; export the secrets REDIS_CLUSTER_PASSWORD, DB_PRIMARY_PASSWORD in the environment (from your "
        "secret store; not --env, which shell history and `ps` keep); set the others in the environment or "
        "with --env NAME=VALUE"
    )


def test_one_missing_variable_says_how_to_set_it(tmp_path: Path) -> None:
    source = tmp_path / "one.tsk"
    source.write_text('host: @env("DB_HOST")\n')
    for command in (("eval", str(source)), ("explain", str(source), "host")):
        result = tusk(*command)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.splitlines()[0] == (
            f"{source}:1:7: environment variable is not set: DB_HOST (line 1); "
            "set it in the environment or with --env NAME=VALUE"
        )


def test_a_secret_read_with_plain_env_is_an_error_that_never_shows_it(tmp_path: Path) -> None:
    text = (PROJECT_DIR / "global.tsk").read_text()
    plain = 'min_replicas: @env("DB_PRIMARY_PASSWORD")'
    assert "min_replicas: 3" in text
    source = tmp_path / "global.tsk"
    source.write_text(text.replace("min_replicas: 3", plain, 1))
    line = next(number for number, row in enumerate(source.read_text().splitlines(), 1) if plain in row)
    column = source.read_text().splitlines()[line - 1].index("@env") + 1
    secure_line = next(
        number
        for number, row in enumerate(text.splitlines(), 1)
        if '@env.secure("DB_PRIMARY_PASSWORD")' in row
    )
    env = {"DB_PRIMARY_PASSWORD": "canary-XYZ-123", "REDIS_CLUSTER_PASSWORD": "r" * 20}
    for command in (
        ("eval", str(source)),
        ("eval", str(source), "--show-secrets"),
        ("explain", str(source), "scaling.autoscaler.min_replicas"),
    ):
        result = tusk(*command, env=env)
        assert result.returncode == 1 and result.stdout == ""
        assert "canary-XYZ-123" not in result.stderr
        assert result.stderr.splitlines()[0] == (
            f"{source}:{line}:{column}: DB_PRIMARY_PASSWORD is a secret (read with @env.secure at line "
            f"{secure_line}): read it with @env.secure here too"
        )


def test_usage_errors_exit_2() -> None:
    assert tusk("eval").returncode == 2
    assert tusk("eval", str(VALID_DIR / "env.tsk"), "--env", "NO_EQUALS_SIGN").returncode == 2
    assert tusk("eval", str(VALID_DIR / "env.tsk"), "--format", "xml").returncode == 2
    bad_metric = tusk("eval", str(VALID_DIR / "metrics.tsk"), "--metric", "cpu_usage=lots")
    assert bad_metric.returncode == 2 and "expects a number" in bad_metric.stderr
    assert tusk("explain", str(VALID_DIR / "env.tsk")).returncode == 2


def test_missing_file_is_a_positioned_error(tmp_path: Path) -> None:
    result = tusk("eval", str(tmp_path / "nope.tsk"))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"{tmp_path / 'nope.tsk'}:1:1: cannot read the file")


def test_explain_shows_value_source_and_inputs() -> None:
    result = tusk(
        "explain", str(SEED_DIR / "global.tsk"), "performance.worker_count", "--env", "REGION=us-west-2"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "performance.worker_count = 8",
        f"  defined at {SEED_DIR / 'global.tsk'}:43:15",
        '  expression: @if($region == "us-east-1", 16, 8)',
        "  inputs:",
        '    env REGION = "us-west-2"',
    ]


def test_explain_masks_secrets_and_marks_defaults() -> None:
    secret = tusk(
        "explain",
        str(SEED_DIR / "scaling_cache.tsk"),
        "scaling_cache.redis_cache.password",
        "--env",
        "REDIS_PASSWORD=hunter2",
    )
    assert "hunter2" not in secret.stdout
    assert 'secret REDIS_PASSWORD = "[secret]"' in secret.stdout
    defaulted = tusk("explain", str(SEED_DIR / "global.tsk"), "global.zone")
    assert 'env ZONE = "us-east-1a" (not set; default used)' in defaulted.stdout


def test_explain_unknown_path_is_an_error() -> None:
    result = tusk("explain", str(SEED_DIR / "global.tsk"), "regional_settings.cdn")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines()[:4] == [
        f"{SEED_DIR / 'global.tsk'}:34:1: no value at 'regional_settings.cdn': 'regional_settings' has no "
        "key 'cdn' (did you mean 'cdn_url'?); it has: 'database_host', 'cache_nodes', 'cdn_url', 'timezone'",
        "   |",
        "34 | [regional_settings]",
        "   | ^",
    ]


def test_explain_a_path_with_no_top_level_key_is_not_pinned_to_a_line() -> None:
    result = tusk("explain", str(SEED_DIR / "global.tsk"), "nope.path")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        f"{SEED_DIR / 'global.tsk'}: no value at 'nope.path': the file has no top-level key 'nope'; it has: "
        "'global', 'regional_config', 'regional_settings', 'performance', 'monitoring'\n"
    )


def test_sample_file_evaluates_with_defaults_and_per_region() -> None:
    sample = str(REPO / "examples" / "sample.tsk")
    default = json.loads(tusk("eval", sample).stdout)
    assert default["network"] == {
        "cidr": "10.10.0.0/16",
        "zones": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "zone_count": 3,
    }
    west = json.loads(tusk("eval", sample, "--env", "REGION=us-west-2", "--metric", "cpu_usage=95").stdout)
    assert (west["app"]["replicas"], west["network"]["cidr"], west["cache"]["ttl"]) == (
        3,
        "10.20.0.0/16",
        "30s",
    )


# --- --stack NAME: the inputs the program gives global.tsk for that stack ---

STACK_SECRETS = ("--env", f"REDIS_CLUSTER_PASSWORD={'r' * 20}", "--env", "DB_PRIMARY_PASSWORD=canary-XYZ-123")


def stack_project(tmp_path: Path) -> Path:
    """The fixture project's files (global.tsk, Pulumi files, metric snapshots) in a folder of their own."""
    return copy_project(tmp_path)


def test_explain_with_a_stack_uses_the_stacks_region() -> None:
    # It used to print 16 with `env REGION = "us-east-1" (not set; default used)`: us-east-1's value.
    path = "distributed_cache.redis_cluster.snapshot_retention_days"
    result = tusk("explain", "global.tsk", path, "--stack", "us-west-2", *STACK_SECRETS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{path} = 3",
        f"  defined at global.tsk:{_line_of(PROJECT_DIR / 'global.tsk', 'snapshot_retention_days:')}:30",
        '  expression: @if($region == "us-east-1", 7, 3)',
        "  inputs:",
        '    env REGION = "us-west-2"',
    ]


@pytest.mark.parametrize("stack", ["us-east-1", "us-west-2", "eu-west-1"])
def test_eval_with_a_stack_gives_the_document_the_program_evaluates(
    stack: str, program_runs: dict[str, StackRun]
) -> None:
    secrets = [f"--env={name}={value}" for name, value in PROGRAM_SECRETS.items()]
    result = tusk("eval", "global.tsk", "--stack", stack, "--show-secrets", *secrets)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == program_runs[stack].settings.to_plain(show_secrets=True)


def test_the_stack_wins_over_the_process_environment_and_env_options_win_over_the_stack() -> None:
    path = ("explain", "global.tsk", "global.zone", "--stack", "eu-west-1", *STACK_SECRETS)
    from_stack = tusk(*path, env={"ZONE": "us-west-2b"})
    assert '    env ZONE = "eu-west-1a"' in from_stack.stdout.splitlines(), from_stack.stderr
    overridden = tusk(*path, "--env", "ZONE=eu-west-1c")
    assert '    env ZONE = "eu-west-1c"' in overridden.stdout.splitlines(), overridden.stderr


def test_a_plain_stack_secret_is_used_with_a_warning_and_never_shown(tmp_path: Path) -> None:
    project = stack_project(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    stack_file.write_text(stack_file.read_text() + "  tusk-infra:DB_PRIMARY_PASSWORD: canary-XYZ-123\n")
    result = tusk("eval", str(project / "global.tsk"), "--stack", "us-west-2",
                  "--env", f"REDIS_CLUSTER_PASSWORD={'r' * 20}")
    assert result.returncode == 0, result.stderr
    assert "canary-XYZ-123" not in result.stdout + result.stderr
    assert result.stderr == (
        "warning: tusk-infra:DB_PRIMARY_PASSWORD is stored in plain text; set it with "
        "`pulumi config set --secret tusk-infra:DB_PRIMARY_PASSWORD ...`\n"
    )


def test_an_encrypted_stack_secret_is_named_as_such_when_missing(tmp_path: Path) -> None:
    project = stack_project(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    stack_file.write_text(stack_file.read_text() + "  tusk-infra:DB_PRIMARY_PASSWORD:\n    secure: v1:AAAA\n")
    result = tusk("eval", str(project / "global.tsk"), "--stack", "us-west-2", "--strict-secrets",
                  "--env", f"REDIS_CLUSTER_PASSWORD={'r' * 20}")
    assert result.returncode == 1 and result.stdout == ""
    line = _line_of(project / "global.tsk", '@env.secure("DB_PRIMARY_PASSWORD")')
    assert result.stderr.splitlines()[0].endswith(
        f"environment variable is not set: DB_PRIMARY_PASSWORD (secret, line {line}); export it in the "
        "environment (from your secret store; not --env, which shell history and `ps` keep); "
        "tusk-infra:DB_PRIMARY_PASSWORD is encrypted in Pulumi.us-west-2.yaml: only the Pulumi CLI decrypts"
    )
    # Without --strict-secrets it stands in as a placeholder, as in preview, and says so.
    lenient = tusk("explain", str(project / "global.tsk"), "database.primary.password",
                   "--stack", "us-west-2", "--env", f"REDIS_CLUSTER_PASSWORD={'r' * 20}")
    assert lenient.returncode == 0, lenient.stderr
    assert lenient.stdout.startswith('database.primary.password = "[secret]"\n')
    assert lenient.stderr == (
        "notice: secret DB_PRIMARY_PASSWORD: tusk-infra:DB_PRIMARY_PASSWORD is encrypted in "
        "Pulumi.us-west-2.yaml (only the Pulumi CLI decrypts); a placeholder secret stands in for it offline "
        "(--strict-secrets to refuse)\n"
    )


def test_the_stacks_live_backend_settings_apply(tmp_path: Path) -> None:
    # The stack file names the database @query reads; nothing on the command line does.
    project = stack_project(tmp_path)
    database = build_database(SHOP_SQL, tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    stack_file.write_text(stack_file.read_text() + f"  tusk-infra:databaseUrl: {database}\n")
    source = project / "users.tsk"
    source.write_text('region: @env("REGION", "nowhere")\n'
                      'users: @query("SELECT COUNT(*) FROM users WHERE active = 1")\n')
    result = tusk("eval", str(source), "--stack", "us-west-2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"region": "us-west-2", "users": 4}


def test_a_broken_stack_file_is_a_positioned_error(tmp_path: Path) -> None:
    project = stack_project(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    stack_file.write_text(stack_file.read_text().replace("aws:region: us-west-2", "aws:region: us-wst-2"))
    result = tusk("eval", str(project / "global.tsk"), "--stack", "us-west-2", *STACK_SECRETS)
    assert result.returncode == 1 and result.stdout == ""
    line = _line_of(stack_file, "aws:region:")
    assert result.stderr.splitlines()[0] == (
        f"{stack_file}:{line}:15: aws:region: found 'us-wst-2'; expected an AWS region: did you mean "
        "us-west-2 or us-west-1?"
    )


@pytest.mark.parametrize("command", [("eval", "global.tsk"), ("explain", "global.tsk", "global.region")])
def test_an_unknown_stack_is_a_usage_error_naming_the_stacks(command: tuple[str, ...]) -> None:
    result = tusk(*command, "--stack", "no-such-stack", *STACK_SECRETS)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "tusk-infra: error: --stack no-such-stack: no stack 'no-such-stack' (no Pulumi.no-such-stack.yaml in "
        ".); the stacks are: us-east-1, eu-west-1, us-west-2\n"
    )


def test_a_stack_for_a_file_outside_a_project_is_a_usage_error() -> None:
    sample = str(REPO / "examples" / "sample.tsk")
    result = tusk("eval", sample, "--stack", "us-west-2")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"tusk-infra: error: --stack us-west-2: no Pulumi.yaml in {REPO / 'examples'}: --stack reads "
        "Pulumi.us-west-2.yaml from the project directory holding FILE, as the program does\n"
    )


def _line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a."])
def test_explain_refuses_a_path_with_an_empty_part(path: str) -> None:
    result = tusk("explain", str(SEED_DIR / "global.tsk"), path)
    assert result.returncode == 2 and result.stdout == ""
    assert f"expected keys joined by dots, like performance.worker_count, found {path!r}" in result.stderr
