"""Mistakes a new user makes, run the way the user runs them: each is one clear error, never a traceback,
never partial output, never a secret; exit 1 (2 for usage errors)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, REPO, copy_project

_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
SECRETS = {"DB_PRIMARY_PASSWORD": "canary-XYZ-123", "REDIS_CLUSTER_PASSWORD": "canary-ABC-456-0123456789"}


def tusk_infra(
    *args: str, cwd: Path = PROJECT_DIR, stdout: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m tusk_infra ARGS` in a fresh process with the secrets set and nothing else of ours."""
    env = {name: value for name, value in os.environ.items() if name in _KEEP}
    env.update(SECRETS)
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "tusk_infra", *args],
        cwd=cwd,
        env=env,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The run failed with `code`, printed nothing on stdout, no traceback and no secret; its stderr."""
    assert result.returncode == code, (result.returncode, result.stdout[:500], result.stderr)
    assert not result.stdout, result.stdout[:500]
    # Nothing after the error either: no traceback, no asyncio noise from work the failed run left behind.
    for noise in ("Traceback", "Exception ignored", "Task was destroyed", "RuntimeWarning"):
        assert noise not in result.stderr, result.stderr
    for value in SECRETS.values():
        assert value not in result.stderr
    return result.stderr


def project_copy(destination: Path) -> Path:
    """The fixture project's global.tsk and Pulumi files in a folder of their own (the code stays the
    repository's)."""
    return copy_project(destination / "project")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("command", ["preview", "check"])
def test_outside_the_project_is_an_error_not_a_pass(command: str, tmp_path: Path) -> None:
    # `check --all-stacks` used to print "policy check passed: 0 stack(s)" and exit 0 here: a CI gate that
    # passes by checking nothing.
    stderr = assert_clean_error(tusk_infra(command, "--all-stacks", cwd=tmp_path))
    assert stderr == (f"tusk-infra {command}: no Pulumi.yaml in .; run it in the project directory or pass "
                      "--project-dir\n")


@pytest.mark.parametrize("command", ["preview", "check"])
def test_a_project_without_stacks_is_an_error(command: str, tmp_path: Path) -> None:
    shutil.copy2(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    stderr = assert_clean_error(tusk_infra(command, "--all-stacks", "--project-dir", str(tmp_path)))
    assert stderr == (f"tusk-infra {command}: no stacks in {tmp_path}: expected at least one "
                      "Pulumi.<stack>.yaml beside Pulumi.yaml\n")


@pytest.mark.parametrize("extra", [(), ("--policy-pack-config",)])
def test_check_names_the_stacks_when_one_is_unknown(extra: tuple[str, ...]) -> None:
    stderr = assert_clean_error(tusk_infra("check", "--stack", "us-west-3", *extra), code=2)
    assert stderr == ("tusk-infra check: error: --stack us-west-3: no stack 'us-west-3' (no "
                      "Pulumi.us-west-3.yaml in .); the stacks are: us-east-1, eu-west-1, us-west-2\n")


@pytest.mark.parametrize("command", ["preview", "check"])
def test_a_stack_key_without_a_value_is_reported_as_missing(command: str, tmp_path: Path) -> None:
    # It used to be a yaml ParserError traceback from the policy reader, after the program had run with the
    # image tag "null".
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    edit(stack_file, 'tusk-infra:imageTag: "1.8.3"', "tusk-infra:imageTag:")
    line = stack_file.read_text().splitlines().index("  tusk-infra:imageTag:") + 1
    stderr = assert_clean_error(tusk_infra(command, "--stack", "us-west-2", "--project-dir", str(project)))
    first = stderr.splitlines()[0]
    assert first == (f"{stack_file}:{line}:3: missing tusk-infra:imageTag; set it with "
                     "`pulumi config set tusk-infra:imageTag <value>`")


@pytest.mark.parametrize("command", ["preview", "check"])
def test_a_misspelt_stack_key_is_an_error_at_the_key_with_a_suggestion(command: str, tmp_path: Path) -> None:
    # It used to say "missing tusk-infra:vpcId" at the `config:` line, never naming the key actually written.
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    edit(stack_file, "  tusk-infra:vpcId: ", "  tusk-infra:vpcID: ")
    line = next(number for number, text in enumerate(stack_file.read_text().splitlines(), 1)
                if "tusk-infra:vpcID:" in text)
    stderr = assert_clean_error(tusk_infra(command, "--all-stacks", "--project-dir", str(project)))
    assert stderr.splitlines()[0] == (f"{stack_file}:{line}:3: unknown key tusk-infra:vpcID: no part of "
                                      "tusk-infra reads it; did you mean tusk-infra:vpcId?")


def test_stack_keys_of_the_backends_and_policies_and_secret_names_pass(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    stack_file.write_text(stack_file.read_text() + "  tusk-infra:metricsWindow: 10m\n"
                          "  tusk-infra:policyAcknowledgements: []\n  tusk-infra:policyConfig: {}\n"
                          "  tusk-infra:DB_PRIMARY_PASSWORD:\n    secure: v1:AAAA\n")
    result = tusk_infra("check", "--stack", "us-west-2", "--project-dir", str(project))
    assert result.returncode == 0, result.stderr
    assert "unknown key" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--format", "sarif"), "--format sarif only applies"),
        (("--format", "text"), "--format text only applies"),
        (("--no-cross-stack",), "--no-cross-stack only applies"),
        (("--format", "json", "--cross-stack"), "--format json and --cross-stack only apply"),
    ],
)
def test_policy_pack_config_with_a_report_option_is_a_usage_error(
    options: tuple[str, ...], named: str
) -> None:
    # `--policy-pack-config --format sarif` used to print the config JSON, ignoring --format without a word.
    result = tusk_infra("check", "--stack", "us-east-1", "--policy-pack-config", *options)
    stderr = assert_clean_error(result, code=2)
    assert stderr == ("tusk-infra check: error: --policy-pack-config prints the CrossGuard config as JSON, "
                      f"not a report; {named} to the report: use one or the other\n")


def test_a_numeric_image_tag_keeps_the_text_written(tmp_path: Path) -> None:
    # YAML reads 1.10 as the float 1.1; the engine hands the program the text, so must the offline run.
    project = project_copy(tmp_path)
    edit(project / "Pulumi.us-west-2.yaml", 'tusk-infra:imageTag: "1.8.3"', "tusk-infra:imageTag: 1.10")
    # By tag, not by the digest the shipped stack pins, so the image shows the tag's text.
    edit(project / "Pulumi.us-west-2.yaml", "  tusk-infra:imageDigest:", "  # tusk-infra:imageDigest:")
    result = tusk_infra("preview", "--stack", "us-west-2", "--format", "json", "--project-dir", str(project))
    assert result.returncode == 0, result.stderr
    images = {
        container["image"]
        for stack in json.loads(result.stdout)["stacks"]
        for resource in stack["resources"]
        if resource["type"] == "kubernetes:apps/v1:Deployment"
        for container in resource["inputs"]["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"tusklang/app:1.10"}


@pytest.mark.parametrize("metric", ["cpu_usage=nan", "cpu_usage=inf", "cpu_usage=-Infinity"])
def test_a_metric_that_is_not_a_finite_number_is_a_usage_error(metric: str) -> None:
    stderr = assert_clean_error(tusk_infra("eval", "global.tsk", "--metric", metric), code=2)
    assert stderr.startswith("tusk-infra: error: --metric cpu_usage expects a number, e.g. cpu_usage=42.5")


def committed_repository(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "notes.txt").write_text("not a project\n")
    git = ["git", "-C", str(folder), "-c", "user.email=test@example.com", "-c", "user.name=test"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "notes.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "notes"], check=True)
    return folder


def test_diff_outside_the_project_says_so(tmp_path: Path) -> None:
    # It used to say "HEAD @ 1a2b3c4d has no tusk_infra package in tusk-infra-diff-xxxx".
    repository = committed_repository(tmp_path / "repo")
    stderr = assert_clean_error(tusk_infra("diff", "--base", "HEAD", cwd=repository))
    assert stderr == (f"tusk-infra diff: no Pulumi.yaml in {repository.resolve()}; run it in the project "
                      "directory or pass --project-dir\n")


@pytest.mark.parametrize(
    ("option", "target", "why"),
    [
        ("--output", "missing/report.md", "no directory {tmp}/missing"),
        ("--json-output", ".", "it is a directory"),
    ],
)
def test_diff_refuses_an_unwritable_output_before_rendering(
    option: str, target: str, why: str, tmp_path: Path
) -> None:
    path = tmp_path / target
    started = time.monotonic()
    stderr = assert_clean_error(tusk_infra("diff", "--base", "HEAD", option, str(path)))
    assert stderr == f"tusk-infra diff: cannot write {option} {path}: {why.format(tmp=tmp_path)}\n"
    # Both revisions were not rendered first (that takes seconds): the check comes before any work.
    assert time.monotonic() - started < 30


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [("eval", str(REPO / "examples" / "sample.tsk")), ("preview", "--stack", "us-east-1"),
     ("check", "--stack", "us-east-1",
                                                                            "--format", "sarif")],
)
def test_a_full_disk_on_stdout_is_one_line_not_a_traceback(args: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        result = tusk_infra(*args, stdout=full.fileno())
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    expected = f"tusk-infra {args[0]}: cannot write to standard output: No space left on device\n"
    assert result.stderr == expected


def test_strict_secrets_says_why_an_encrypted_secret_is_unavailable(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    encrypted = "  tusk-infra:REDIS_CLUSTER_PASSWORD:\n    secure: AAABAnotdecryptable\n"
    edit(stack_file, "config:\n", "config:\n" + encrypted)
    env_without_redis = {name: value for name, value in os.environ.items() if name in _KEEP}
    env_without_redis["DB_PRIMARY_PASSWORD"] = SECRETS["DB_PRIMARY_PASSWORD"]
    env_without_redis["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-m", "tusk_infra", "preview", "--stack", "us-west-2", "--strict-secrets",
         "--project-dir", str(project)],
        cwd=project, env=env_without_redis, capture_output=True, text=True, timeout=300, check=False,
    )
    stderr = assert_clean_error(result)
    lines = stderr.splitlines()
    assert lines[0].endswith(
        "stack us-west-2: secrets not available offline (--strict-secrets): REDIS_CLUSTER_PASSWORD: "
        "tusk-infra:REDIS_CLUSTER_PASSWORD is encrypted in Pulumi.us-west-2.yaml (only the Pulumi CLI "
        "decrypts); export them in the environment of this command"
    ), lines[0]
    assert '@env.secure("REDIS_CLUSTER_PASSWORD")' in lines[2], "a caret snippet at the @env.secure call"


def test_broken_stack_yaml_shows_the_line_and_what_was_left_open(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    edit(stack_file, "aws:region: us-west-2", "aws:region: [us-west-2")
    lines = stack_file.read_text().splitlines()
    opened = lines.index("  aws:region: [us-west-2") + 1
    stderr = assert_clean_error(tusk_infra("preview", "--stack", "us-west-2", "--project-dir", str(project)))
    first, _gutter, shown, caret = stderr.splitlines()[:4]
    # Noticed on the next line; the message also names where the unclosed '[' is.
    assert first.startswith(f"{stack_file}:{opened + 1}:")
    assert first.endswith(": invalid YAML: did not find expected ',' or ']' "
                          f"(while parsing a flow sequence at line {opened}, column 15)")
    assert shown.endswith(lines[opened]) and caret.rstrip().endswith("^")


@pytest.mark.parametrize(
    ("added", "message"),
    [
        ("  tusk-infra:policyAcknowledgements: yes\n",
         "tusk-infra:policyAcknowledgements must be a list of {policy, resource, reason} entries, "
         "found 'yes'"),
        ("  tusk-infra:policyAcknowledgements:\n    -\n",
         "an acknowledgement must be a mapping with policy, resource, reason; found an empty value"),
        ("  tusk-infra:policyConfig:\n    hpa-replica-bounds:\n",
         "tusk-infra:policyConfig hpa-replica-bounds: found an empty value; expected a mapping"),
        ("  tusk-infra:policyConfig: []\n",
         "tusk-infra:policyConfig must map policy ids to their settings, found a list"),
    ],
)
def test_bad_policy_settings_speak_yaml_and_show_the_line(added: str, message: str, tmp_path: Path) -> None:
    # They used to say "found bool", "found None", "None is not of type 'object'", with no snippet.
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    stack_file.write_text(stack_file.read_text() + added)
    stderr = assert_clean_error(tusk_infra("check", "--stack", "us-west-2", "--project-dir", str(project)))
    first, _gutter, shown, caret = stderr.splitlines()[:4]
    assert first.startswith(f"{stack_file}:") and first.endswith(f": {message}"), first
    line = int(first[len(f"{stack_file}:"):].split(":")[0])
    assert shown.endswith(stack_file.read_text().splitlines()[line - 1]) and caret.rstrip().endswith("^")


def test_diff_against_a_revision_older_than_the_preview_says_so(tmp_path: Path) -> None:
    # Such a revision's own tusk-infra rejects `preview`: the report used to be its argparse usage text.
    repository = committed_repository(tmp_path / "repo")
    project = project_copy(tmp_path)
    for path in project.iterdir():
        if path.is_file():
            shutil.copy2(path, repository / path.name)
    package = repository / "tusk_infra"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import argparse\nargparse.ArgumentParser(prog='tusk-infra').add_subparsers(required=True)"
        ".add_parser('eval')\nargparse.ArgumentParser(prog='tusk-infra').parse_args()\n"
    )
    git = ["git", "-C", str(repository), "-c", "user.email=test@example.com", "-c", "user.name=test"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "before the preview"], check=True)
    # From the repository, not from inside the fake project: `python -m` would import its package instead.
    stderr = assert_clean_error(tusk_infra("diff", "--base", "HEAD", "--project-dir", str(repository)))
    assert stderr.startswith("tusk-infra diff: HEAD @ ") and stderr.endswith(
        " cannot be rendered: its tusk-infra has no `preview --all-stacks --format json` (it predates the "
        "offline preview); compare against a later revision\n"
    ), stderr


def test_a_stack_file_that_is_not_utf8_is_a_positioned_error(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    lines = stack_file.read_bytes().splitlines(keepends=True)
    stack_file.write_bytes(b"".join(lines) + b"  tusk-infra:instance: caf\xe9\n")
    stderr = assert_clean_error(tusk_infra("preview", "--stack", "us-west-2", "--project-dir", str(project)))
    assert stderr.splitlines()[0] == (f"{stack_file}:{len(lines) + 1}:27: the stack file is not valid UTF-8: "
                                      "byte 0xe9 here; save it as UTF-8")


@pytest.mark.parametrize("command", ["preview", "check"])
def test_a_stack_key_set_twice_is_an_error_not_the_last_one_silently(command: str, tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    stack_file.write_text(stack_file.read_text() + '  tusk-infra:imageTag: "2.0.0"\n')
    lines = stack_file.read_text().splitlines()
    first = lines.index('  tusk-infra:imageTag: "1.8.3"') + 1
    stderr = assert_clean_error(tusk_infra(command, "--stack", "us-west-2", "--project-dir", str(project)))
    assert stderr.splitlines()[0] == (f"{stack_file}:{len(lines)}:3: duplicate key tusk-infra:imageTag: "
                                      f"already set on line {first}; keep one of them")


def test_a_stack_file_that_is_a_list_says_what_is_expected(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    (project / "Pulumi.us-west-2.yaml").write_text("- aws:region: us-west-2\n")
    stderr = assert_clean_error(tusk_infra("preview", "--stack", "us-west-2", "--project-dir", str(project)))
    assert stderr.splitlines()[0] == (f"{project / 'Pulumi.us-west-2.yaml'}:1:1: expected a mapping with a "
                                      "'config:' key at the top of the stack file")


def test_a_misspelt_primary_stack_is_an_error_not_known_after_deploy(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    edit(stack_file, "databasePrimaryStack: organization/tusk-infra/us-east-1",
         "databasePrimaryStack: organization/tusk-infra/us-east-2")
    line = next(number for number, text in enumerate(stack_file.read_text().splitlines(), 1)
                if "databasePrimaryStack" in text)
    stderr = assert_clean_error(tusk_infra("preview", "--all-stacks", "--project-dir", str(project)))
    assert stderr.splitlines()[0] == (
        f"{stack_file}:{line}:3: tusk-infra:databasePrimaryStack names stack 'us-east-2', but the project "
        "has no Pulumi.us-east-2.yaml; the stacks are: us-east-1, eu-west-1, us-west-2"
    )


def test_preview_names_the_stacks_a_notice_is_about(tmp_path: Path) -> None:
    # Only us-west-2 has the stack secret: "no stack secret tusk-infra:DB_PRIMARY_PASSWORD" is not true of it.
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    plain_secret = "  tusk-infra:DB_PRIMARY_PASSWORD: from-the-stack-file-01\n"
    stack_file.write_text(stack_file.read_text() + plain_secret)
    env = {name: value for name, value in os.environ.items() if name in _KEEP}
    env.update(PYTHONPATH=str(REPO), REDIS_CLUSTER_PASSWORD=SECRETS["REDIS_CLUSTER_PASSWORD"])
    result = subprocess.run(
        [sys.executable, "-m", "tusk_infra", "preview", "--all-stacks", "--project-dir", str(project)],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    expected = ("  - us-east-1, eu-west-1: secret DB_PRIMARY_PASSWORD: not in the environment and no stack "
                "secret tusk-infra:DB_PRIMARY_PASSWORD; a placeholder secret stands in for it offline")
    assert expected in result.stdout
    assert "  - us-west-2: tusk-infra:DB_PRIMARY_PASSWORD is stored in plain text" in result.stdout
    assert "from-the-stack-file-01" not in result.stdout + result.stderr
    # A warning, not a value the preview could not have offline: listed under its own heading.
    after_heading = result.stdout.split("\nwarnings:\n")[1]
    warnings, placeholders = after_heading.split("\nnotice: rendered with placeholders")
    # Besides it, only each stack's note that its committed metric snapshot is an example.
    listed = warnings.splitlines()
    assert [line for line in listed if "is an example snapshot" not in line] == [
        "  - us-west-2: tusk-infra:DB_PRIMARY_PASSWORD is stored in plain text; set it with "
        "`pulumi config set --secret tusk-infra:DB_PRIMARY_PASSWORD ...`"] and len(listed) == 4
    assert "plain text" not in placeholders and expected in placeholders


@pytest.mark.parametrize("command", ["preview", "check"])
def test_an_eks_cluster_of_another_region_is_refused_at_the_context(command: str, tmp_path: Path) -> None:
    # It used to pass: two stacks would have written the same Kubernetes object names into one cluster.
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.us-west-2.yaml"
    other = "arn:aws:eks:us-east-1:111122223333:cluster/tusk-use1"
    edit(stack_file, "arn:aws:eks:us-west-2:111122223333:cluster/tusk-usw2", other)
    line = next(number for number, text in enumerate(stack_file.read_text().splitlines(), 1) if other in text)
    column = stack_file.read_text().splitlines()[line - 1].index(other) + 1
    stderr = assert_clean_error(tusk_infra(command, "--stack", "us-west-2", "--project-dir", str(project)))
    assert stderr.splitlines()[0].startswith(
        f"{stack_file}:{line}:{column}: tusk-infra:kubeContext: EKS cluster 'tusk-use1' is in 'us-east-1', "
        "but the stack's aws:region is 'us-west-2'"
    )


def test_a_misspelt_option_is_reported_with_the_subcommands_usage() -> None:
    result = tusk_infra("preview", "--all-stacks", "--fromat", "json")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[0].startswith("usage: tusk-infra preview ")
    error = result.stderr.splitlines()[-1]
    assert error == "tusk-infra preview: error: unrecognized arguments: --fromat json"


def test_version() -> None:
    result = tusk_infra("--version")
    assert result.returncode == 0 and result.stdout.startswith("tusk-infra ")


def test_the_event_loop_pulumi_leaves_behind_is_closed_before_exit() -> None:
    # pulumi.runtime.sync_await makes the thread's loop and never closes it; left to interpreter shutdown,
    # its __del__ sometimes printed an 'Exception ignored' traceback after a failed preview.
    import asyncio

    from tusk_infra.cli import _close_event_loop

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        _close_event_loop()
        assert loop.is_closed()
        _close_event_loop()  # nothing left to close: no error
    finally:
        asyncio.set_event_loop(asyncio.new_event_loop())  # later tests in this process run Pulumi again
