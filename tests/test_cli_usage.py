"""The command line's common behaviour, each as a user meets it (exit code and first stderr line): an unknown
stack is a usage error everywhere, the project is found from a subdirectory, `diff`'s one-line errors carry
its prefix, eval/explain --stack use placeholder secrets as preview does, an unset @env name gets a
did-you-mean, every option has a help text, and `python -m tusk_infra` works without the package metadata."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_preview_cli import REPO, offline_env, tusk_infra

SECRETS = {"DB_PRIMARY_PASSWORD": "db-password-canary-51e0",
           "REDIS_CLUSTER_PASSWORD": "redis-canary-0123456789ab"}
STACKS = "the stacks are: us-east-1, eu-west-1, us-west-2"


def first_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert (result.returncode, result.stdout) == (code, ""), result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "prefix"),
    [
        (("preview", "--stack", "mars-1"), "tusk-infra preview: error: --stack mars-1: "),
        (("check", "--stack", "mars-1"), "tusk-infra check: error: --stack mars-1: "),
        (("check", "--stack", "mars-1", "--policy-pack-config"), "tusk-infra check: error: --stack mars-1: "),
        (("eval", "global.tsk", "--stack", "mars-1"), "tusk-infra: error: --stack mars-1: "),
        (("explain", "global.tsk", "app.port", "--stack", "mars-1"), "tusk-infra: error: --stack mars-1: "),
        (("region", "remove", "mars-1"), "tusk-infra region remove: error: "),
        (("region", "add", "eu-west-2", "--from", "mars-1"), "tusk-infra region add: error: --from mars-1: "),
    ],
    ids=["preview", "check", "policy-pack-config", "eval", "explain", "region-remove", "region-add-from"],
)
def test_an_unknown_stack_is_a_usage_error_in_every_command(
    program_project: Path, args: tuple[str, ...], prefix: str
) -> None:
    line = first_error(tusk_infra(*args, env=offline_env(**SECRETS), cwd=program_project), 2)
    assert line == f"{prefix}no stack 'mars-1' (no Pulumi.mars-1.yaml in .); {STACKS}"


def test_the_project_is_found_from_a_subdirectory(program_project: Path) -> None:
    below = program_project / "docs" / "notes"
    below.mkdir(parents=True)
    result = tusk_infra("preview", "--stack", "us-west-2", env=offline_env(**SECRETS), cwd=below)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("stack us-west-2 ")
    elsewhere = tusk_infra("preview", "--stack", "us-west-2", env=offline_env(), cwd=Path("/"))
    assert first_error(elsewhere, 1) == (
        "tusk-infra preview: no Pulumi.yaml in .; run it in the project directory or pass --project-dir")


def test_every_one_line_diff_error_has_the_prefix(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "Pulumi.yaml").write_text("name: tusk-infra\n", encoding="utf-8")
    bad_revision = tusk_infra("diff", "--base", "no-such-rev", env=offline_env(), cwd=tmp_path)
    assert first_error(bad_revision, 1).startswith("tusk-infra diff: --base 'no-such-rev' is not a commit")
    outside = tusk_infra("diff", "--base", "main", "--project-dir", "/", env=offline_env())
    assert first_error(outside, 1).startswith("tusk-infra diff: ")


def test_eval_and_explain_with_a_stack_use_placeholder_secrets_as_preview_does() -> None:
    # The README's example, on a fresh clone: no secret anywhere.
    explain = ("explain", "global.tsk", "performance.worker_count", "--stack", "us-west-2")
    result = tusk_infra(*explain, env=offline_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("performance.worker_count = 8\n")
    assert result.stderr.splitlines() == [
        f"notice: secret {name}: not in the environment and no stack secret tusk-infra:{name}; a placeholder "
        "secret stands in for it offline (--strict-secrets to refuse)"
        for name in ("REDIS_CLUSTER_PASSWORD", "DB_PRIMARY_PASSWORD")
    ]
    strict = tusk_infra(*explain, "--strict-secrets", env=offline_env())
    line = first_error(strict, 1)
    assert "2 environment variables are not set: REDIS_CLUSTER_PASSWORD (secret, line" in line
    assert line.endswith("; export the secrets REDIS_CLUSTER_PASSWORD, DB_PRIMARY_PASSWORD in the "
                         "environment (from your secret store; not --env, which shell history and `ps` keep)")
    evaluated = tusk_infra("eval", "global.tsk", "--stack", "eu-west-1", env=offline_env(**SECRETS))
    assert evaluated.returncode == 0 and evaluated.stderr == ""  # given: no placeholder, no notice


def test_an_unset_env_name_gets_a_did_you_mean(tmp_path: Path) -> None:
    source = tmp_path / "typo.tsk"
    source.write_text('region: @env("REGION", "us-east-1")\nzone: @env("ZOEN")\n', encoding="utf-8")
    line = first_error(tusk_infra("eval", str(source), env=offline_env(ZONE="us-east-1a")), 1)
    assert line == (f"{source}:2:7: environment variable is not set: ZOEN (line 2; did you mean ZONE?); "
                    "set it in the environment or with --env NAME=VALUE")
    # The names the file reads elsewhere count too, set or not.
    source.write_text('region: @env("REGION", "us-east-1")\nother: @env("REGOIN")\n', encoding="utf-8")
    line = first_error(tusk_infra("eval", str(source), env=offline_env()), 1)
    assert "REGOIN (line 2; did you mean REGION?)" in line
    # A name of another length by four is no typo of it, however long both are.
    source.write_text('password: @env("REDIS_CLUSTER_PASSWORD")\n', encoding="utf-8")
    line = first_error(tusk_infra("eval", str(source), env=offline_env(REQUESTS_CA_BUNDLE="/etc/ca.pem")), 1)
    assert "REDIS_CLUSTER_PASSWORD (line 1)" in line and "did you mean" not in line


def test_every_option_of_eval_explain_and_diff_has_a_help_text() -> None:
    from tusk_infra.cli import build_parser

    subcommands = next(
        action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)
    )
    for name in ("eval", "explain", "diff", "preview", "check", "region"):
        undocumented = [action.dest for action in subcommands.choices[name]._actions if not action.help]
        assert undocumented == [], name


def test_python_m_tusk_infra_without_installed_metadata() -> None:
    # A source checkout that was never pip-installed has no distribution metadata for the version.
    code = ("import importlib.metadata as m, runpy, sys\n"
            "def missing(name):\n    raise m.PackageNotFoundError(name)\n"
            "m.version = missing\nsys.argv = ['tusk-infra', *sys.argv[1:]]\n"
            "runpy.run_module('tusk_infra', run_name='__main__')\n")
    for args, expected in ((["--help"], "usage: tusk-infra "), (["--version"], "tusk-infra 0.")):
        result = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=offline_env(),
                                capture_output=True, text=True, timeout=60, check=False)
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
        assert result.stdout.startswith(expected)


def test_stacks_are_listed_in_deploy_order_everywhere(program_project: Path) -> None:
    from tusk_infra.project import discover_stacks, select_stacks

    assert select_stacks(program_project, None) == discover_stacks(program_project) == [
        "us-east-1", "eu-west-1", "us-west-2"]
    stack_file = program_project / "Pulumi.us-west-2.yaml"
    text = stack_file.read_text(encoding="utf-8")
    stack_file.write_text(text.replace("tusk-infra/us-east-1", "tusk-infra/us-east-9"))
    result = tusk_infra("check", "--stack", "us-west-2", env=offline_env(**SECRETS), cwd=program_project)
    assert first_error(result, 1).endswith(f"has no Pulumi.us-east-9.yaml; {STACKS}")


def test_policy_pack_config_for_all_stacks_is_a_usage_error(program_project: Path) -> None:
    # A map keyed by stack is a file no engine reads; the config is one stack's, for one `pulumi preview`.
    args = ("check", "--all-stacks", "--policy-pack-config")
    result = tusk_infra(*args, env=offline_env(), cwd=program_project)
    assert first_error(result, 2) == (
        "tusk-infra check: error: --policy-pack-config prints one stack's CrossGuard config, for `pulumi "
        "preview --stack NAME --policy-pack-config FILE`: pass --stack NAME instead of --all-stacks "
        "(once per stack)")


def test_check_prints_each_notice_once_and_the_from_line_names_the_key_once(program_project: Path) -> None:
    stack_file = program_project / "Pulumi.us-west-2.yaml"
    text = stack_file.read_text(encoding="utf-8")
    assert 'tusk-infra:imageTag: "1.8.3"' in text
    # Pinned by tag alone (no digest), a moving tag is a violation of image-tag-pinned.
    lines = text.splitlines(keepends=True)
    unpinned = "".join(line for line in lines if "tusk-infra:imageDigest:" not in line)
    stack_file.write_text(unpinned.replace('tusk-infra:imageTag: "1.8.3"', "tusk-infra:imageTag: latest"))
    result = tusk_infra("check", "--all-stacks", env=offline_env(), cwd=program_project)
    assert result.returncode == 1, result.stderr
    notice = ("secret DB_PRIMARY_PASSWORD: not in the environment and no stack secret "
              "tusk-infra:DB_PRIMARY_PASSWORD; a placeholder secret stands in for it offline")
    assert result.stdout.count(notice) == 1
    assert "\nnotes:\n  - secret REDIS_CLUSTER_PASSWORD: " in result.stdout
    lines = enumerate(stack_file.read_text().splitlines(), 1)
    line, column = next((n, text.index("latest") + 1) for n, text in lines if "imageTag" in text)
    from_line = f"      from: Pulumi.us-west-2.yaml:{line}:{column}  tusk-infra:imageTag = latest\n"
    assert from_line in result.stdout


def test_check_points_a_referenced_value_at_where_it_is_written(program_project: Path) -> None:
    tsk = program_project / "global.tsk"
    text = tsk.read_text(encoding="utf-8")
    block = re.search(r"^us_east_1 \{\n.*?^\}\n", text, re.M | re.S)
    assert block and "    redis_shards: 3\n" in block.group(0), "update this test: no us_east_1 redis_shards"
    tuned = block.group(0).replace("redis_shards: 3", "redis_shards: 30")
    tsk.write_text(text.replace(block.group(0), tuned), encoding="utf-8")
    line = text[: block.start()].count("\n") + 1 + block.group(0).split("\n").index("    redis_shards: 3")
    result = tusk_infra("check", "--stack", "us-east-1", env=offline_env(**SECRETS), cwd=program_project)
    assert result.returncode == 1, result.stderr
    assert (f"      from: global.tsk:{line}:19  distributed_cache.redis_cluster.shards = 30  "
            "(via $regional_config.${region}.redis_shards)\n") in result.stdout
