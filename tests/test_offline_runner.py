"""The offline runner: discovery, secrets offline, stack-file errors, determinism, the real main()."""

from __future__ import annotations

import asyncio
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
from conftest import PROGRAM_SECRETS, PROJECT_DIR, REPO

from tusk_infra import stack as program
from tusk_infra.backends.config import STACK_KEYS as BACKEND_KEYS
from tusk_infra.checks.stack_file import ACKNOWLEDGEMENTS_KEY, POLICY_CONFIG_KEY
from tusk_infra.offline import runner
from tusk_infra.offline.model import StackRun
from tusk_infra.settings import REGION_FROM_STACK, SettingsError
from tusk_infra.stack_config import StackConfigError, config_strings, load_stack_file, parse_stack_config
from tusk_infra.tusk import TuskError
from tusk_infra.tusk.values import Secret


def test_discover_puts_the_database_primary_first() -> None:
    assert runner.discover_stacks(PROJECT_DIR) == ["us-east-1", "eu-west-1", "us-west-2"]


def test_discover_follows_the_stack_files_not_a_fixed_name(program_project: Path) -> None:
    for path in program_project.glob("Pulumi.*-*.yaml"):
        text = path.read_text().replace(
            "organization/tusk-infra/us-east-1", "organization/tusk-infra/us-west-2"
        )
        path.write_text(text)
    assert runner.discover_stacks(program_project) == ["us-west-2", "eu-west-1", "us-east-1"]


def test_runs_given_in_any_order_still_run_the_primary_first() -> None:
    runs = runner.run_stacks(PROJECT_DIR, ["us-west-2", "us-east-1"], env=PROGRAM_SECRETS)
    assert [run.stack for run in runs] == ["us-east-1", "us-west-2"]


def test_missing_secrets_become_placeholders_with_notices() -> None:
    run = runner.run_stack(PROJECT_DIR, "us-east-1", env={})
    assert run.notices == [
        "secret REDIS_CLUSTER_PASSWORD: not in the environment and no stack secret "
        "tusk-infra:REDIS_CLUSTER_PASSWORD; a placeholder secret stands in for it offline",
        "secret DB_PRIMARY_PASSWORD: not in the environment and no stack secret "
        "tusk-infra:DB_PRIMARY_PASSWORD; a placeholder secret stands in for it offline",
    ]
    (group,) = [r for r in run.resources if r.type == "aws:elasticache/replicationGroup:ReplicationGroup"]
    assert isinstance(group.inputs["authToken"], Secret)


def test_strict_secrets_fail_at_the_first_secure_call_before_any_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[runner.RecordingMonitor] = []

    class Capturing(runner.RecordingMonitor):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(runner, "RecordingMonitor", Capturing)
    with pytest.raises(TuskError) as caught:
        runner.run_stack(PROJECT_DIR, "us-west-2", env={"DB_PRIMARY_PASSWORD": "x"}, strict_secrets=True)
    error = caught.value
    line = (PROJECT_DIR / "global.tsk").read_text().splitlines()[error.line - 1]
    assert '@env.secure("REDIS_CLUSTER_PASSWORD")' in line
    assert error.message.startswith(
        "stack us-west-2: secrets not available offline (--strict-secrets): REDIS_CLUSTER_PASSWORD: "
        "not in the environment and no stack secret tusk-infra:REDIS_CLUSTER_PASSWORD; export them"
    )
    assert error.render().splitlines()[2].endswith(line), "the caret snippet shows the @env.secure line"
    assert made and made[0].registered == []


def test_stack_secret_config_is_used_and_plain_text_is_flagged(program_project: Path) -> None:
    path = program_project / "Pulumi.us-east-1.yaml"
    path.write_text(path.read_text() + "  tusk-infra:DB_PRIMARY_PASSWORD: from-the-stack-file-0001\n")
    env = {"REDIS_CLUSTER_PASSWORD": PROGRAM_SECRETS["REDIS_CLUSTER_PASSWORD"]}
    run = runner.run_stack(program_project, "us-east-1", env=env)
    (instance,) = [r for r in run.resources if r.type == "aws:rds/instance:Instance"]
    assert instance.inputs["password"] == Secret("from-the-stack-file-0001")
    # A warning, not a notice: the value is there, and it would be in plain text online too. (The other
    # warning says the committed metric snapshot is an example.)
    example = [w for w in run.warnings if w.startswith("metrics/us-east-1.json is an example snapshot")]
    assert (run.notices, [w for w in run.warnings if w not in example], len(example)) == ([], [
        "tusk-infra:DB_PRIMARY_PASSWORD is stored in plain text; "
        "set it with `pulumi config set --secret tusk-infra:DB_PRIMARY_PASSWORD ...`"
    ], 1)


def test_encrypted_stack_secrets_are_named_as_such_offline(program_project: Path) -> None:
    path = program_project / "Pulumi.us-east-1.yaml"
    path.write_text(path.read_text() + "  tusk-infra:DB_PRIMARY_PASSWORD:\n    secure: v1:AAAA\n")
    env = {"REDIS_CLUSTER_PASSWORD": PROGRAM_SECRETS["REDIS_CLUSTER_PASSWORD"]}
    run = runner.run_stack(program_project, "us-east-1", env=env)
    assert run.notices == [
        "secret DB_PRIMARY_PASSWORD: tusk-infra:DB_PRIMARY_PASSWORD is encrypted in Pulumi.us-east-1.yaml "
        "(only the Pulumi CLI decrypts); a placeholder secret stands in for it offline"
    ]
    assert load_stack_file(path).secure_keys == {"tusk-infra:DB_PRIMARY_PASSWORD"}


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("old", "new", "anchor", "fragment"),
    [
        (
            "  tusk-infra:vpcId: vpc-0b225e0c9d2f4a1b7\n",
            "",
            "config:",
            "missing tusk-infra:vpcId; set it with `pulumi config set tusk-infra:vpcId <value>`",
        ),
        (
            "subnet-0b222b3c4d5e6f7a8",
            "subnet-XYZ",
            "tusk-infra:subnetIds:",
            "tusk-infra:subnetIds: found 'subnet-XYZ'; expected a value matching",
        ),
        (
            "    - us-west-2b\n",
            "    - eu-west-1b\n",
            "tusk-infra:zones:",
            "zone 'eu-west-1b' is not in region 'us-west-2'",
        ),
        (
            "aws:region: us-west-2",
            "aws:region: Oregon",
            "aws:region:",
            "aws:region: found 'Oregon'; expected an AWS region",
        ),
        (
            "organization/tusk-infra/us-east-1",
            "organization/tusk-infra/us-west-2",
            "tusk-infra:databasePrimaryStack:",
            "global.tsk makes us-west-2 a replica region (database.primary_region: us-east-1)",
        ),
    ],
    ids=["missing-key", "bad-subnet", "zone-elsewhere", "bad-region", "primary-disagrees"],
)
def test_stack_file_errors_point_into_the_stack_file(
    program_project: Path, old: str, new: str, anchor: str, fragment: str
) -> None:
    path = program_project / "Pulumi.us-west-2.yaml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(StackConfigError) as caught:
        runner.run_stack(program_project, "us-west-2", env=PROGRAM_SECRETS)
    error = caught.value
    assert (error.file, error.line) == (str(path), _line_of(path, anchor))
    assert fragment in error.message
    assert anchor in error.render()


def test_a_misspelt_stack_key_is_named_where_it_is_written(program_project: Path) -> None:
    # It used to read "missing tusk-infra:vpcId" at the `config:` line: the misspelt key went unmentioned.
    path = program_project / "Pulumi.us-west-2.yaml"
    path.write_text(path.read_text().replace("  tusk-infra:vpcId: ", "  tusk-infra:vpcID: "))
    with pytest.raises(StackConfigError) as caught:
        runner.run_stack(program_project, "us-west-2", env=PROGRAM_SECRETS)
    error = caught.value
    assert (error.file, error.line, error.column) == (str(path), _line_of(path, "tusk-infra:vpcID:"), 3)
    assert error.message == ("unknown key tusk-infra:vpcID: no part of tusk-infra reads it; "
                             "did you mean tusk-infra:vpcId?")
    # The runtime had already scheduled the root stack's registration: a failed run leaves none of it
    # pending (each pending task printed 'Task was destroyed but it is pending!' at exit, after the error).
    loop = asyncio.get_event_loop()
    assert [task for task in asyncio.all_tasks(loop) if not task.done()] == []


@pytest.mark.parametrize(
    "stack_path", sorted(PROJECT_DIR.glob("Pulumi.*-*.yaml")), ids=lambda path: path.name
)
def test_the_projects_stack_files_use_only_known_keys(stack_path: Path) -> None:
    stack_file = load_stack_file(stack_path)
    stack = stack_path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    assert parse_stack_config(stack, config_strings(stack_file), stack_file).stack == stack


def test_keys_other_parts_read_are_known(program_project: Path) -> None:
    # The live backends' keys, the policy checks' keys and UPPER_CASE secret names share the namespace.
    others = [key for key in BACKEND_KEYS if key.startswith("tusk-infra:")]
    others += [ACKNOWLEDGEMENTS_KEY, POLICY_CONFIG_KEY, "tusk-infra:DB_PRIMARY_PASSWORD",
               "tusk-infra:REDIS_CLUSTER_PASSWORD", "tusk-infra:SOME_NEW_TOKEN2"]
    path = program_project / "Pulumi.us-west-2.yaml"
    # Keys the stack file already sets (metricsProvider, metricsDimensions) would be duplicates.
    others = [key for key in others if f"\n  {key}:" not in path.read_text()]
    path.write_text(path.read_text() + "".join(f"  {key}:\n    secure: v1:AAAA\n" for key in others))
    stack_file = load_stack_file(path)
    assert set(others) <= stack_file.secure_keys
    assert parse_stack_config("us-west-2", config_strings(stack_file), stack_file).stack == "us-west-2"


@pytest.mark.parametrize(
    ("written", "suggestion"),
    [
        ("tusk-infra:imagetag", "did you mean tusk-infra:imageTag?"),
        ("tusk-infra:policyAck", f"did you mean {ACKNOWLEDGEMENTS_KEY}?"),
        ("tusk-infra:metricWindow", "did you mean tusk-infra:metricsWindow or tusk-infra:metricsPullWindow "
                                    "or tusk-infra:metricsPeriod?"),
        ("tusk-infra:db_primary_password", "secret names are UPPER_CASE: did you mean "
                                           "tusk-infra:DB_PRIMARY_PASSWORD?"),
        ("tusk-infra:zzz", "expected one of tusk-infra:alarmSubscriptions, tusk-infra:appSecurityGroupId, "),
    ],
)
def test_an_unknown_stack_key_gets_the_nearest_known_keys(
    program_project: Path, written: str, suggestion: str
) -> None:
    path = program_project / "Pulumi.us-west-2.yaml"
    path.write_text(path.read_text() + f"  {written}: x\n")
    stack_file = load_stack_file(path)
    with pytest.raises(StackConfigError) as caught:
        parse_stack_config("us-west-2", config_strings(stack_file), stack_file)
    assert caught.value.line == _line_of(path, f"{written}:")
    expected = f"unknown key {written}: no part of tusk-infra reads it; {suggestion}"
    assert caught.value.message.startswith(expected)


def test_a_global_tsk_that_ignores_the_stack_region_is_refused(program_project: Path) -> None:
    tsk = program_project / "global.tsk"
    text = tsk.read_text().replace('$region: @env("REGION", "us-east-1")', '$region: "us-east-1"')
    tsk.write_text(text.replace('$zone: @env("ZONE", "us-east-1a")', '$zone: "us-east-1a"'))
    with pytest.raises(SettingsError) as caught:
        runner.run_stack(program_project, "eu-west-1", env=PROGRAM_SECRETS)
    # Reported at the hard-coded $region, before the zone or regional_config errors it leads to.
    assert caught.value.message == (
        f"global.tsk evaluated to region 'us-east-1' for a stack in 'eu-west-1'; {REGION_FROM_STACK}"
    )
    assert (caught.value.file, caught.value.line) == (str(tsk), _line_of(tsk, '$region: "us-east-1"'))


def test_malformed_stack_yaml_is_positioned(program_project: Path) -> None:
    path = program_project / "Pulumi.eu-west-1.yaml"
    path.write_text(
        path.read_text().replace("  tusk-infra:instance: tusk-euw1", "  tusk-infra:instance: [oops")
    )
    with pytest.raises(StackConfigError) as caught:
        runner.run_stack(program_project, "eu-west-1", env=PROGRAM_SECRETS)
    assert caught.value.file == str(path) and caught.value.line > 1
    assert caught.value.message.startswith("invalid YAML:")


def _canonical(runs: list[StackRun]) -> str:
    # Dataclass reprs: every field, secrets masked as Secret(), cloud values as Unknown().
    return repr([(run.stack, run.resources, run.outputs, run.notices, run.warnings) for run in runs])


def test_runs_repeat_identically_in_one_process(program_runs: dict[str, StackRun]) -> None:
    # program_runs ran the same stacks earlier in this process (it is session-scoped): run them once more.
    first = _canonical(list(program_runs.values()))
    assert "Secret()" in first and "Unknown()" in first
    assert first == _canonical(runner.run_stacks(PROJECT_DIR, env=PROGRAM_SECRETS))


def test_output_is_byte_identical_across_hash_seeds() -> None:
    script = (
        "from pathlib import Path; from tusk_infra.offline.runner import run_stacks;"
        "runs = run_stacks(Path('.'), env={});"
        "print(repr([(run.stack, run.resources, run.outputs, run.notices, run.warnings) for run in runs]))"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=PROJECT_DIR,
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in ("0", "1", "4242")
    ]
    outputs = {process.communicate(timeout=120)[0] for process in processes}
    assert [process.returncode for process in processes] == [0, 0, 0]
    assert len(outputs) == 1 and "[('us-east-1', [RegisteredResource(" in outputs.pop()


def test_main_registers_the_same_program_and_exports_its_outputs(
    program_project: Path, program_runs: dict[str, StackRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in PROGRAM_SECRETS.items():
        monkeypatch.setenv(name, value)
    expected = program_runs["us-east-1"]
    # The repository's real entry point, in a copy of the fixture project: it reads the project beside it.
    (program_project / "__main__.py").write_text((REPO / "__main__.py").read_text())
    stack_file = load_stack_file(program_project / "Pulumi.us-east-1.yaml")
    monitor = runner._start_runtime("us-east-1", stack_file, {})
    # Run as Pulumi's Python host runs a project directory.
    runner._execute(lambda: runpy.run_path(str(program_project / "__main__.py")) and {})
    assert sorted(r.urn for r in monitor.registered) == sorted(r.urn for r in expected.resources)


def test_main_reports_a_bad_global_tsk_without_a_traceback(
    program_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in PROGRAM_SECRETS.items():
        monkeypatch.setenv(name, value)
    tsk = program_project / "global.tsk"
    tsk.write_text(tsk.read_text().replace("    max_replicas: 50", '    max_replicas: "fifty"'))
    stack_file = load_stack_file(program_project / "Pulumi.us-east-1.yaml")
    monitor = runner._start_runtime("us-east-1", stack_file, {})
    with pytest.raises(pulumi.RunError) as caught:
        runner._execute(lambda: program.main(program_project) or {})
    assert str(caught.value).startswith(f"{tsk}:")
    assert 'max_replicas: "fifty"' in str(caught.value) and "Traceback" not in str(caught.value)
    assert monitor.registered == []


def test_urns_are_the_ones_the_engine_would_assign(program_runs: dict[str, StackRun]) -> None:
    # The real engine leaves the root stack out of a resource's type chain; the SDK's mock monitor does not.
    run = program_runs["us-east-1"]
    urns = {resource.name: resource.urn for resource in run.resources}
    assert urns["app-us-east-1-deployment"] == (
        "urn:pulumi:us-east-1::tusk-infra::tusk:app:RegionalApp$kubernetes:apps/v1:Deployment::app-us-east-1-deployment"
    )
    assert urns["aws-us-east-1"] == "urn:pulumi:us-east-1::tusk-infra::pulumi:providers:aws::aws-us-east-1"
    parents = {resource.parent for resource in run.resources} - {None}
    assert all("pulumi:pulumi:Stack$" not in urn for urn in [*urns.values(), *parents]), parents
