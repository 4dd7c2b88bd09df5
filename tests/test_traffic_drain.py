"""Draining a region is one line in global.tsk: the diff says "traffic drained from REGION", the region's
record goes (its health check stays), and min-serving-regions allows one drained region of three, not two."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import PROGRAM_SECRETS, copy_project
from test_diff_git import working_tree_diff
from test_preview_cli import offline_env, tusk_infra

from tusk_infra.checks import check_runs
from tusk_infra.offline.model import StackRun
from tusk_infra.offline.runner import run_stacks
from tusk_infra.render.diff import PlanDiff, diff_plans
from tusk_infra.render.diff_json import diff_json
from tusk_infra.render.findings import policy_findings
from tusk_infra.render.markdown import render_markdown
from tusk_infra.render.plan import Plan, build_plan

RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"


def set_serving(project: Path, region: str, serving: bool) -> int:
    """Set `serving` in the region's [regional_config] block; returns its line number."""
    path = project / "global.tsk"
    text = path.read_text()
    key = region.replace("-", "_")
    new = "true" if serving else "false"
    text, count = re.subn(rf"^({key} \{{.*?)serving: (true|false)", rf"\1serving: {new}", text,
                          count=1, flags=re.M | re.S)
    assert count == 1, f"no serving line in the {key} block of global.tsk; update this test"
    path.write_text(text)
    start = text.index(f"{key} {{")
    return text[: text.index("serving:", start)].count("\n") + 1


def render(project: Path) -> tuple[list[StackRun], Plan]:
    runs = run_stacks(project, env=PROGRAM_SECRETS)
    plan = build_plan(runs, project, findings=policy_findings(runs, project), digest_key=b"k" * 32)
    parsed: Plan = json.loads(json.dumps(plan))  # as the diff command receives it
    return runs, parsed


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    project = copy_project(tmp_path_factory.mktemp("base"))
    return render(project)[1]


def stack_changes(diff: PlanDiff, stack: str) -> dict[str, Any]:
    data = json.loads(diff_json(diff))
    entry = next(s for s in data["stacks"] if s["stack"] == stack)
    return {r["type"]: r for r in entry["resources"]}


def test_one_drained_region_is_allowed_and_said_so(base: Plan, program_project: Path) -> None:
    line = set_serving(program_project, "us-west-2", False)
    runs, head = render(program_project)
    assert check_runs(runs, program_project).passed
    diff = diff_plans(base, head, base_label="main", head_label="drain")
    report = render_markdown(diff)
    assert ("> [!IMPORTANT]\n> Global traffic (Route 53):\n> - **traffic drained from us-west-2**: `serving: "
            f"false` (`global.tsk:{line}`); its record is deleted, so DNS sends no users there; its health "
            "check stays") in report
    assert report.count("traffic drained from") == 1  # only the drained region, once
    changes = stack_changes(diff, "us-west-2")
    assert changes[RECORD]["action"] == "delete" and HEALTH_CHECK not in changes
    for stack in ("us-east-1", "eu-west-1"):
        assert stack_changes(diff, stack) == {}  # their records and checks do not change
    data = json.loads(diff_json(diff))
    assert data["traffic"] == [{"stack": "us-west-2", "region": "us-west-2", "change": "drained",
                                "source": f"global.tsk:{line}"}]
    # No policy violation anywhere: two regions still serve.
    assert all(stack["new_policy_violations"] == [] for stack in data["stacks"])


def test_draining_all_but_one_region_is_refused(base: Plan, program_project: Path) -> None:
    set_serving(program_project, "us-west-2", False)
    set_serving(program_project, "eu-west-1", False)
    runs, head = render(program_project)
    result = check_runs(runs, program_project)
    assert not result.passed
    refused = [f for f in result.findings if f.policy == "min-serving-regions"]
    assert sorted(f.stack for f in refused) == ["eu-west-1", "us-east-1", "us-west-2"]
    assert {f.blocking for f in refused} == {True}
    assert refused[0].message.startswith(
        "1 region(s) would serve traffic (us-east-1), fewer than the minimum of 2 (drained: us-west-2, "
        "eu-west-1)")
    assert [f for f in result.findings if f.policy != "min-serving-regions"] == []
    report = render_markdown(diff_plans(base, head, base_label="main", head_label="drain"))
    assert "**traffic drained from us-west-2**" in report and "**traffic drained from eu-west-1**" in report
    refusal = "`min-serving-regions` (mandatory) on `traffic-us-west-2-health`: 1 region(s) would serve"
    assert refusal in report


def test_restoring_a_region_is_said_so(program_project: Path) -> None:
    line = set_serving(program_project, "eu-west-1", False)
    _, drained = render(program_project)
    set_serving(program_project, "eu-west-1", True)
    _, restored = render(program_project)
    diff = diff_plans(drained, restored, base_label="drained", head_label="restored")
    restored_line = f"- **traffic restored to eu-west-1**: `serving: true` (`global.tsk:{line}`)"
    assert restored_line in render_markdown(diff)
    assert stack_changes(diff, "eu-west-1")[RECORD]["action"] == "create"


def test_an_acknowledged_emergency_drain_passes(program_project: Path) -> None:
    set_serving(program_project, "us-west-2", False)
    set_serving(program_project, "eu-west-1", False)
    for stack in ("us-east-1", "us-west-2", "eu-west-1"):
        path = program_project / f"Pulumi.{stack}.yaml"
        path.write_text(path.read_text() + (
            "  tusk-infra:policyAcknowledgements:\n"
            "    - policy: min-serving-regions\n"
            '      resource: "*"\n'
            "      reason: incident 4711, us-east-1 alone until the replicas catch up\n"))
    runs = run_stacks(program_project, env=PROGRAM_SECRETS)
    assert check_runs(runs, program_project).passed


def test_preview_and_diff_commands_say_traffic_drained(tmp_path: Path) -> None:
    (tmp_path / "preview").mkdir()
    project = copy_project(tmp_path / "preview")
    set_serving(project, "eu-west-1", False)
    preview = tusk_infra("preview", "--stack", "eu-west-1", "--project-dir", str(project),
                         env=offline_env(**PROGRAM_SECRETS))
    assert preview.returncode == 0, preview.stderr
    assert re.search(r"^traffic drained from eu-west-1: serving: false \(global\.tsk:\d+\); Route 53 has no "
                     r"record for it", preview.stdout, re.M)
    assert "aws:route53/healthCheck:HealthCheck  traffic-eu-west-1-health" in preview.stdout
    assert "aws:route53/record:Record" not in preview.stdout

    (tmp_path / "diff").mkdir()
    text, data = working_tree_diff(tmp_path / "diff", lambda root: set_serving(root, "eu-west-1", False))
    assert "> - **traffic drained from eu-west-1**" in text
    assert data["traffic"][0]["region"] == "eu-west-1"


def test_a_new_interval_replaces_the_health_check(base: Plan, program_project: Path) -> None:
    path = program_project / "global.tsk"
    text, count = re.subn(r"^    interval: 30\b", "    interval: 10", path.read_text(), count=1, flags=re.M)
    assert count == 1, "no 'interval: 30' in global.tsk's health_check; update this test"
    path.write_text(text)
    _, head = render(program_project)
    diff = diff_plans(base, head, base_label="main", head_label="fast")
    for stack in ("us-east-1", "us-west-2", "eu-west-1"):
        check = stack_changes(diff, stack)[HEALTH_CHECK]
        assert check["action"] == "replace" and check["replace_reasons"] == ["requestInterval"], stack
    assert "`requestInterval`: `30` → `10` **(forces replacement)**" in render_markdown(diff)
    assert diff.traffic == ()  # no region drained or restored


def test_one_stack_alone_knows_how_many_regions_serve(program_project: Path) -> None:
    # CrossGuard checks one stack at a time: the serving regions reach it through the policy config.
    set_serving(program_project, "us-west-2", False)
    set_serving(program_project, "eu-west-1", False)
    env = offline_env(**PROGRAM_SECRETS)
    config = tusk_infra("check", "--stack", "us-east-1", "--policy-pack-config", "--project-dir",
                        str(program_project), env=env)
    assert config.returncode == 0, config.stderr
    data = json.loads(config.stdout)
    assert data["min-serving-regions"] == {"enforcementLevel": "mandatory", "minServingRegions": 2,
                                           "servingRegions": ["us-east-1"],
                                           "drainedRegions": ["us-west-2", "eu-west-1"]}
    assert data["serving-region-health-check"] == {"enforcementLevel": "mandatory", "region": "us-east-1",
                                                   "servingRegions": ["us-east-1"]}
    check = tusk_infra("check", "--stack", "us-east-1", "--project-dir", str(program_project), env=env)
    assert check.returncode == 1
    assert "[mandatory] min-serving-regions: 1 region(s) would serve traffic (us-east-1)" in check.stdout
