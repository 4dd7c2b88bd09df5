"""A planned database failover: moving the primary from us-east-1 to us-west-2 on a copy of the project,
rendered and compared in-process as `tusk-infra diff` does (each revision's plan, then the diff)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import PROGRAM_SECRETS

from tusk_infra.offline.runner import run_stack, run_stacks
from tusk_infra.render.diff import ABSENT, PlanDiff, ResourceChange, StackDiff, diff_plans
from tusk_infra.render.failover import planned_failover
from tusk_infra.render.findings import attach_change_policies, policy_findings
from tusk_infra.render.markdown import render_markdown
from tusk_infra.render.plan import Plan, build_plan
from tusk_infra.stack_file import StackConfigError

RDS = "aws:rds/instance:Instance"
KEY = b"k" * 32
OLD_PRIMARY = "organization/tusk-infra/us-east-1"
NEW_PRIMARY = "organization/tusk-infra/us-west-2"
STACKS = ("us-east-1", "us-west-2", "eu-west-1")
# What a promotion may change besides losing replicateSourceDb: what the primary role owns (global.tsk's
# backup retention for the primary, the master password, keeping a final snapshot), all updates in place.
PROMOTION_UPDATES = {"replicateSourceDb", "backupRetentionPeriod", "password", "skipFinalSnapshot"}


def render(project: Path) -> Plan:
    """The plan `preview --all-stacks --format json` renders for the diff (findings, change policies)."""
    runs = run_stacks(project, env=PROGRAM_SECRETS)
    plan = build_plan(runs, project, findings=policy_findings(runs, project), digest_key=KEY)
    return attach_change_policies(plan, runs, project)


def move_primary(project: Path, region: str = "us-west-2") -> None:
    """The failover as a user writes it: $primary_region, replica_regions and every databasePrimaryStack."""
    tsk = project / "global.tsk"
    text = tsk.read_text()
    text, moved = re.subn(r'^\$primary_region: "us-east-1"$', f'$primary_region: "{region}"', text,
                          flags=re.M)
    text, replicas = re.subn(r'^replica_regions: \["us-west-2", "eu-west-1"\]$',
                             'replica_regions: ["us-east-1", "eu-west-1"]', text, flags=re.M)
    assert (moved, replicas) == (1, 1), "global.tsk no longer reads as this test expects"
    tsk.write_text(text)
    for stack in STACKS:
        stack_file = project / f"Pulumi.{stack}.yaml"
        named = f"organization/tusk-infra/{region}"
        stack_file.write_text(stack_file.read_text().replace(OLD_PRIMARY, named))


def acknowledge(project: Path, stack: str, resource: str, reason: str) -> None:
    stack_file = project / f"Pulumi.{stack}.yaml"
    stack_file.write_text(stack_file.read_text() + (
        "  tusk-infra:policyAcknowledgements:\n"
        "    - policy: rds-replacement-acknowledged\n"
        f"      resource: {resource}\n"
        f"      reason: {reason}\n"
    ))


def by_stack(diff: PlanDiff) -> dict[str, StackDiff]:
    return {stack.stack: stack for stack in diff.stacks}


def instance(stack: StackDiff) -> ResourceChange:
    (found,) = [change for change in stack.resources if change.type == RDS]
    return found


@pytest.fixture
def failover(program_project: Path) -> tuple[Plan, Plan, Path]:
    base = render(program_project)
    move_primary(program_project)
    return base, render(program_project), program_project


def test_the_new_primary_is_promoted_in_place(failover: tuple[Plan, Plan, Path]) -> None:
    base, head, _ = failover
    diff = diff_plans(base, head, base_label="main", head_label="failover")
    promoted = instance(by_stack(diff)["us-west-2"])
    # The same resource (same URN at both revisions), updated: RDS promotes the replica when
    # replicateSourceDb is removed; nothing forces a replacement.
    assert promoted.action == "update" and promoted.replace_reasons == ()
    assert promoted.urn.endswith("::postgres-us-west-2-db")
    assert promoted.urn in {r["urn"] for s in base["stacks"] for r in s["resources"]}
    changes = {change.path: change for change in promoted.changes}
    source = changes["replicateSourceDb"]
    assert (source.before, source.after) == (f"(known after deploy from {OLD_PRIMARY})", ABSENT)
    assert set(changes) <= PROMOTION_UPDATES, f"promotion changed {sorted(set(changes) - PROMOTION_UPDATES)}"
    # Nothing a promoted instance keeps changes: engine, database name, user, key, storage.
    for kept in ("engine", "engineVersion", "dbName", "username", "kmsKeyId", "allocatedStorage",
                 "storageEncrypted", "identifier", "deletionProtection"):
        assert kept not in changes
    # Nothing is replaced; the one deletion is the replica-lag alarm of what is no longer a replica.
    deleted = [change.urn for change in by_stack(diff)["us-west-2"].resources if change.action == "delete"]
    assert by_stack(diff)["us-west-2"].count("replace") == 0
    assert [urn.rsplit("::", 1)[1] for urn in deleted] == ["alarms-us-west-2-postgres-replica-lag"]


def test_the_other_databases_are_replacements_each_a_violation(failover: tuple[Plan, Plan, Path]) -> None:
    base, head, _ = failover
    stacks = by_stack(diff_plans(base, head, base_label="main", head_label="failover"))
    repointed, demoted = instance(stacks["eu-west-1"]), instance(stacks["us-east-1"])
    assert repointed.action == demoted.action == "replace"
    assert repointed.replace_reasons == demoted.replace_reasons == ("replicateSourceDb (replaceOnChanges)",)
    source = {change.path: change for change in repointed.changes}["replicateSourceDb"]
    assert (source.before, source.after) == (f"(known after deploy from {OLD_PRIMARY})",
                                             f"(known after deploy from {NEW_PRIMARY})")
    # Nothing is replaced or deleted without a violation naming it, and nothing else is replaced or deleted.
    for stack in stacks.values():
        # A promoted primary loses its ReplicaLag alarm (a plain alarm, no data lost): not a database change.
        risky = [change for change in stack.resources if change.action in ("replace", "delete")
                 and change.type == RDS]
        others = [change for change in stack.resources if change.action in ("replace", "delete")
                  and change.type != RDS]
        assert all(change.type == "aws:cloudwatch/metricAlarm:MetricAlarm" for change in others), stack.stack
        assert [change.type for change in risky] in ([], [RDS]), stack.stack
        flagged = {finding["urn"] for finding in stack.new_findings
                   if finding["policy"] == "rds-replacement-acknowledged"}
        assert flagged == {change.urn for change in risky}, stack.stack
        assert stack.violations == len(risky)
    messages = [finding["message"] for finding in stacks["eu-west-1"].new_findings]
    assert any("RDS cannot change a replica's source" in message for message in messages)
    messages = [finding["message"] for finding in stacks["us-east-1"].new_findings]
    assert any("the former primary becomes a replica" in message for message in messages)


def test_the_report_states_the_failover_and_the_stack_order(failover: tuple[Plan, Plan, Path]) -> None:
    base, head, _ = failover
    diff = diff_plans(base, head, base_label="main", head_label="failover")
    planned = planned_failover(diff)
    assert planned is not None and (planned.old_region, planned.new_region) == ("us-east-1", "us-west-2")
    assert [step.stack for step in planned.promoted] == ["us-west-2"]
    # Re-pointed replicas first, the former primary last.
    assert [(step.stack, step.role) for step in planned.others] == [("eu-west-1", "repointed"),
                                                                     ("us-east-1", "demoted")]
    report = render_markdown(diff)
    assert "> [!CAUTION]" in report and "**2 resource(s) will be REPLACED**" in report
    assert "**Planned database failover**: the primary moves from `us-east-1` to `us-west-2`" in report
    order = ["1. **Write freeze.**", "2. **Promote:** `pulumi up --stack us-west-2`",
             "3. **Then the other stacks**", "`pulumi up --stack eu-west-1`", "`pulumi up --stack us-east-1`"]
    positions = [report.find(step) for step in order]
    assert -1 not in positions and positions == sorted(positions), dict(zip(order, positions, strict=True))
    assert "keeps writing to the old primary" in report


def test_an_acknowledged_replacement_is_no_violation(failover: tuple[Plan, Plan, Path]) -> None:
    base, _, project = failover
    acknowledge(project, "eu-west-1", "postgres-eu-west-1-db", "failover to us-west-2, snapshot taken")
    head = render(project)
    assert head["stacks"][[s["stack"] for s in head["stacks"]].index("eu-west-1")]["changePolicies"] == {
        "rds-replacement-acknowledged": {
            "level": "mandatory",
            "acknowledgements": [{"resource": "postgres-eu-west-1-db",
                                  "reason": "failover to us-west-2, snapshot taken"}],
        }
    }
    diff = diff_plans(base, head, base_label="main", head_label="failover")
    stacks = by_stack(diff)
    assert stacks["eu-west-1"].violations == 0 and stacks["eu-west-1"].new_findings == ()
    report = render_markdown(diff)
    assert ("`pulumi up --stack eu-west-1` (its replica is **replaced** by one of `us-west-2`, and the "
            "app's `DB_PRIMARY_HOST` moves; acknowledged: failover to us-west-2, snapshot taken;") in report
    assert ("**not acknowledged**: add `rds-replacement-acknowledged` for `postgres-us-east-1-db` to "
            "`Pulumi.us-east-1.yaml`") in report
    (finding,) = stacks["eu-west-1"].change_findings
    assert finding["acknowledged"] == "failover to us-west-2, snapshot taken"
    # The acknowledgement covers its own stack's database only.
    assert stacks["us-east-1"].violations == 1


def test_existing_stacks_keep_their_database_under_the_old_names(program_project: Path) -> None:
    # A plan rendered by the code before one resource served both roles named the instances -primary and
    # -replica; the aliases make them the same resources, so the rename neither deletes nor creates one.
    base = render(program_project)
    for stack in base["stacks"]:
        role = "primary" if stack["stack"] == "us-east-1" else "replica"
        for resource in stack["resources"]:
            if resource["type"] == RDS:
                resource["urn"] = resource["urn"].replace("-db", f"-{role}")
                resource["name"] = resource["name"].replace("-db", f"-{role}")
                del resource["aliases"]
    head = render(program_project)
    diff = diff_plans(base, head, base_label="before", head_label="after")
    assert not diff.changed, render_markdown(diff)


def test_a_change_ignored_by_the_engine_is_no_change(program_project: Path) -> None:
    # The primary keeps the storage key it was created with (ignoreChanges): a plan whose primary had no
    # kmsKeyId (created before every region had a key) compares equal, not as a kmsKeyId replacement.
    base = render(program_project)
    (primary,) = [r for s in base["stacks"] if s["stack"] == "us-east-1" for r in s["resources"]
                  if r["type"] == RDS]
    assert primary["ignoreChanges"] == ["kmsKeyId"]
    del primary["inputs"]["kmsKeyId"]
    diff = diff_plans(base, render(program_project), base_label="before", head_label="after")
    assert not diff.changed


def _position_of(path: Path, text: str) -> tuple[int, int]:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number, line.index(text) + 1
    raise AssertionError(f"{text!r} not in {path}")


def test_database_primary_stack_must_name_the_primary_regions_stack(program_project: Path) -> None:
    # eu-west-1 exists but holds a replica: us-west-2 would replicate from it and write to it.
    stack_file = program_project / "Pulumi.us-west-2.yaml"
    wrong = "organization/tusk-infra/eu-west-1"
    stack_file.write_text(stack_file.read_text().replace(OLD_PRIMARY, wrong))
    with pytest.raises(StackConfigError) as raised:
        run_stack(program_project, "us-west-2", env=PROGRAM_SECRETS)
    error = raised.value
    assert (Path(error.file).name, (error.line, error.column)) == (stack_file.name, _position_of(stack_file,
                                                                                                  wrong))
    assert f"tusk-infra:databasePrimaryStack is '{wrong}', a stack in eu-west-1" in error.message
    assert "database.primary_region is us-east-1" in error.message
    assert f"expected the stack of us-east-1: '{OLD_PRIMARY}'" in error.message


def test_a_failover_missing_one_stack_file_is_a_positioned_error(program_project: Path) -> None:
    # The primary moved in global.tsk, but eu-west-1 still names the old primary's stack.
    move_primary(program_project)
    stack_file = program_project / "Pulumi.eu-west-1.yaml"
    stack_file.write_text(stack_file.read_text().replace(NEW_PRIMARY, OLD_PRIMARY))
    with pytest.raises(StackConfigError) as raised:
        run_stack(program_project, "eu-west-1", env=PROGRAM_SECRETS)
    assert (raised.value.line, raised.value.column) == _position_of(stack_file, OLD_PRIMARY)
    assert f"expected the stack of us-west-2: '{NEW_PRIMARY}'" in raised.value.message


def test_the_cli_reports_a_wrong_primary_stack_at_its_value(program_project: Path) -> None:
    from test_preview_cli import tusk_infra

    stack_file = program_project / "Pulumi.eu-west-1.yaml"
    wrong = "organization/tusk-infra/us-west-2"
    stack_file.write_text(stack_file.read_text().replace(OLD_PRIMARY, wrong))
    result = tusk_infra("preview", "--stack", "eu-west-1", "--project-dir", str(program_project))
    line, column = _position_of(stack_file, wrong)
    assert result.returncode == 1 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{stack_file}:{line}:{column}: tusk-infra:databasePrimaryStack is"), first
    assert "Traceback" not in result.stderr



def test_check_leaves_a_change_policy_to_the_diff(program_project: Path) -> None:
    # `check` sees one revision: an acknowledgement for the diff is not "unused", and CrossGuard's config has
    # no entry for a policy its pack does not have.
    from test_preview_cli import tusk_infra_in_process

    acknowledge(program_project, "eu-west-1", "postgres-eu-west-1-db", "failover drill")
    checked = tusk_infra_in_process("check", "--stack", "eu-west-1", "--project-dir", str(program_project))
    assert checked.returncode == 0, checked.stderr
    assert "matched no violation" not in checked.stdout + checked.stderr
    config = tusk_infra_in_process("check", "--stack", "eu-west-1", "--policy-pack-config",
                                   "--project-dir", str(program_project))
    assert config.returncode == 0 and "rds-deletion-protection" in config.stdout
    assert "rds-replacement-acknowledged" not in config.stdout


def test_the_diff_command_reports_the_failover_between_two_commits(tmp_path: Path) -> None:
    # As a pull request would: each revision rendered by its own code in a subprocess, the plans as JSON.
    from test_diff_git import build_repo_files, git
    from test_preview_cli import offline_env, tusk_infra

    root = tmp_path / "repo"
    build_repo_files(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "tag", "base")
    move_primary(root)
    acknowledge(root, "eu-west-1", "postgres-eu-west-1-db", "failover to us-west-2 (CHG-1)")
    git(root, "commit", "-q", "-am", "failover")
    report_json = tmp_path / "diff.json"
    env = offline_env(TMPDIR=str(tmp_path), **PROGRAM_SECRETS)
    result = tusk_infra("diff", "--base", "base", "--head", "HEAD", "--json-output", str(report_json),
                        env=env, cwd=root)
    assert result.returncode == 0, result.stderr
    assert "**Planned database failover**: the primary moves from `us-east-1` to `us-west-2`" in result.stdout
    assert "2. **Promote:** `pulumi up --stack us-west-2`" in result.stdout
    data = json.loads(report_json.read_text())
    stacks = {stack["stack"]: stack for stack in data["stacks"]}
    assert (stacks["eu-west-1"]["policy_violations"], stacks["us-east-1"]["policy_violations"]) == (0, 1)
    assert data["failover"] == {"from": "us-east-1", "to": "us-west-2", "order": [
        {"stack": "us-west-2", "role": "promoted", "acknowledged": None},
        {"stack": "eu-west-1", "role": "repointed", "acknowledged": "failover to us-west-2 (CHG-1)"},
        {"stack": "us-east-1", "role": "demoted", "acknowledged": None},
    ]}
    (violation,) = stacks["us-east-1"]["new_policy_violations"]
    assert violation["policy"] == "rds-replacement-acknowledged"
    assert violation["name"] == "postgres-us-east-1-db"


def test_a_deleted_database_is_a_violation(program_project: Path) -> None:
    # Whatever removes an instance from the program (here: the head plan without it) deletes the database:
    # the diff says so and the change policy holds it until acknowledged.
    base = render(program_project)
    head = render(program_project)
    stack = next(s for s in head["stacks"] if s["stack"] == "eu-west-1")
    stack["resources"] = [r for r in stack["resources"] if r["type"] != RDS]
    diff = diff_plans(base, head, base_label="before", head_label="after")
    deleted = by_stack(diff)["eu-west-1"]
    assert [(c.name, c.action) for c in deleted.resources] == [("postgres-eu-west-1-db", "delete")]
    (finding,) = deleted.new_findings
    assert finding["policy"] == "rds-replacement-acknowledged" and "would be DELETED" in finding["message"]
    assert deleted.violations == 1 and "**1 resource(s) will be DELETED**" in render_markdown(diff)
