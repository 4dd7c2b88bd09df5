"""The project's own stacks under the pack, in process: every policy meets real resources, none is vacuous."""

from __future__ import annotations

import pytest
from conftest import PROJECT_DIR
from tusk_policy import BY_ID, POLICIES, Resource

from tusk_infra.checks import check_runs
from tusk_infra.checks.engine_view import policy_resources
from tusk_infra.offline.model import StackRun
from tusk_infra.offline.runner import run_stacks


@pytest.fixture(scope="module")
def runs() -> list[StackRun]:
    return run_stacks(PROJECT_DIR, env={})


@pytest.fixture(scope="module")
def resources(runs: list[StackRun]) -> dict[str, list[Resource]]:
    return {run.stack: policy_resources(run.resources) for run in runs}


def test_no_mandatory_policy_is_violated(runs: list[StackRun]) -> None:
    result = check_runs(runs, PROJECT_DIR)
    assert [f"{f.stack} {f.policy}: {f.message}" for f in result.findings if f.is_mandatory] == []
    # The stacks together too: the primary's budget counts every region's writers.
    assert result.passed and [s.stack for s in result.stacks] == [
        "us-east-1",
        "eu-west-1",
        "us-west-2",
        "all stacks",
    ]


def test_every_resource_policy_meets_a_resource_it_checks(resources: dict[str, list[Resource]]) -> None:
    for policy in POLICIES:
        if not policy.is_stack_policy:
            assert any(policy.applies_to(r.type) for rs in resources.values() for r in rs), policy.id


def test_the_connection_budget_is_computed_from_the_registered_resources(
    resources: dict[str, list[Resource]],
) -> None:
    # 50 pods x 200 connections = 10000 of max_connections 20480: a 10500-connection reserve no longer fits.
    (violation,) = BY_ID["connection-budget"].check_stack(
        resources["us-east-1"], {"reservedConnections": 10500}
    )
    assert "Deployment tusk-app/tusklang-app: 50 pods x 200 connections = 10000" in violation.message
    assert "max_connections 20480 - 10500 reserved" in violation.message
    (replica,) = BY_ID["connection-budget"].check_stack(
        resources["us-west-2"], {"reservedConnections": 15500}
    )
    assert "50 pods x 100 connections = 5000" in replica.message


def test_region_limits_come_from_the_stack_and_global_tsk(resources: dict[str, list[Resource]]) -> None:
    hpa = next(r for r in resources["eu-west-1"] if r.type.endswith("HorizontalPodAutoscaler"))
    config = {"region": "eu-west-1", "maxReplicasByRegion": {"eu-west-1": 40}}
    (violation,) = BY_ID["hpa-replica-bounds"].check_resource(hpa, config)
    assert "spec.maxReplicas is 50, above the limit of 40 in eu-west-1" in violation.message
    provider = next(r for r in resources["eu-west-1"] if r.type == "pulumi:providers:aws")
    assert BY_ID["allowed-regions"].check_resource(provider, {"allowedRegions": ["us-east-1"]})
