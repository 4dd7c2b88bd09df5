"""The offline checker on hand-made StackRuns: engine view, stack policy config, acknowledgements, sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import FIXTURES
from tusk_policy import UNKNOWN, Sealed

from tusk_infra.checks import check_run, check_runs
from tusk_infra.checks.engine_view import policy_resources
from tusk_infra.offline.model import UNKNOWN as OFFLINE_UNKNOWN
from tusk_infra.offline.model import RegisteredResource, StackRun
from tusk_infra.tusk import TuskError, evaluate_text
from tusk_infra.tusk.values import Secret

GLOBAL_TSK = """[regional_config]
us_east_1 {
    cdn_url: "https://cdn-us-east-1.example.com"
}
eu_west_1 {
    cdn_url: "https://cdn-eu-west-1.example.com"
}

[scaling]
autoscaler {
    max_replicas: 80
}
"""
PROVIDER_URN = "urn:pulumi:us-east-1::tusk-infra::pulumi:providers:aws::aws-us-east-1"


def registered(raw: dict[str, Any], provider: str | None = None) -> RegisteredResource:
    return RegisteredResource(raw["urn"], raw["type"], raw["name"], None, provider, True, raw["props"])


def fixture_resources(name: str) -> list[dict[str, Any]]:
    return list(json.loads((FIXTURES / name).read_text())["resources"])


def secured(raw: dict[str, Any]) -> dict[str, Any]:
    """A Deployment fixture with the pod and container security the program renders (as the
    pod-runs-as-non-root PASSED fixture has it), so only the policy a test is about reports."""
    restricted = fixture_resources("pod-runs-as-non-root/restricted-PASSED.json")[0]["props"]
    restricted_pod = restricted["spec"]["template"]["spec"]
    pod = raw["props"]["spec"]["template"]["spec"]
    for key in ("securityContext", "serviceAccountName", "automountServiceAccountToken"):
        pod[key] = restricted_pod[key]
    for container in pod["containers"]:
        container["securityContext"] = restricted_pod["containers"][0]["securityContext"]
    return raw


def default_deny(stack: str) -> RegisteredResource:
    """The namespace's default-deny NetworkPolicy, as the program registers it, in `stack`."""
    raw = fixture_resources("namespace-default-deny/default-deny-PASSED.json")[1]
    raw["urn"] = raw["urn"].replace("urn:pulumi:us-east-1::", f"urn:pulumi:{stack}::")
    return registered(raw)


def hpa_80_run(
    stack_file_text: str | None, tmp_path: Path, region: str = "us-east-1"
) -> tuple[StackRun, Path]:
    """A us-east-1 run whose HPA allows 80 pods, with a provider in `region`, and its stack file."""
    document = evaluate_text(GLOBAL_TSK, filename=str(tmp_path / "global.tsk"))
    hpa = fixture_resources("hpa-replica-bounds/max-80-FAILED.json")[0]
    deployment = secured(fixture_resources("hpa-target-exists/targets-app-PASSED.json")[0])
    provider = RegisteredResource(
        PROVIDER_URN, "pulumi:providers:aws", f"aws-{region}", None, None, True, {"region": region}
    )
    resources = [provider, registered(deployment), registered(hpa, f"{PROVIDER_URN}::id"),
                 default_deny("us-east-1")]
    run = StackRun("us-east-1", resources, {}, settings=document)
    if stack_file_text is not None:
        (tmp_path / "Pulumi.us-east-1.yaml").write_text(stack_file_text)
    return run, tmp_path


def test_offline_markers_become_the_pack_markers() -> None:
    raw = fixture_resources("elasticache-auth-token/token-PASSED.json")[0]
    props = {**raw["props"], "authToken": Secret("s3cure-Token-0123456789"), "kmsKeyId": OFFLINE_UNKNOWN}
    (resource,) = policy_resources([registered({**raw, "props": props})])
    assert isinstance(resource.props["authToken"], Sealed) and str(resource.props["authToken"]) == "[secret]"
    assert resource.props["kmsKeyId"] is UNKNOWN


def test_findings_trace_to_global_tsk_and_the_stack_file(tmp_path: Path) -> None:
    run, project = hpa_80_run("config:\n  aws:region: ap-south-1\n", tmp_path, region="ap-south-1")
    findings = {f.policy: f for f in check_run(run, project)}
    bounds = findings["hpa-replica-bounds"]
    assert bounds.blocking and bounds.found == "80"
    assert bounds.source is not None and (bounds.source.line, bounds.source.key) == (
        11,
        "scaling.autoscaler.max_replicas",
    )
    # The AWS provider sits in a region regional_config does not declare; the stack file chose it.
    regions = findings["allowed-regions"]
    assert "declared: us-east-1, eu-west-1" in regions.message
    assert regions.source is not None and regions.source.key == "aws:region" and regions.source.line == 2


def test_policy_config_can_relax_a_limit_and_lower_a_level(tmp_path: Path) -> None:
    stack_file = """config:
  aws:region: us-east-1
  tusk-infra:policyConfig:
    hpa-replica-bounds:
      maxReplicasByRegion:
        us-east-1: 100
    container-probes: disabled
"""
    run, project = hpa_80_run(stack_file, tmp_path)
    assert [f.policy for f in check_run(run, project)] == []
    lowered = stack_file.replace(
        "      maxReplicasByRegion:\n        us-east-1: 100\n", "      enforcementLevel: advisory\n"
    )
    run, project = hpa_80_run(lowered, tmp_path)
    (finding,) = check_run(run, project)
    assert (
        finding.policy == "hpa-replica-bounds" and finding.enforcement == "advisory" and not finding.blocking
    )


@pytest.mark.parametrize(
    ("entry", "position", "message"),
    [
        (
            "    hpa-replica-bound:\n      maxReplicas: 10\n",
            (4, 5),
            "unknown policy 'hpa-replica-bound' in tusk-infra:policyConfig "
            "(did you mean 'hpa-replica-bounds'?)",
        ),
        (
            "    hpa-replica-bounds:\n      maxReplicas: fifty\n",
            (5, 20),
            "tusk-infra:policyConfig hpa-replica-bounds.maxReplicas: found 'fifty'; expected an integer",
        ),
        (
            "    hpa-replica-bounds:\n      maxReplica: 10\n",
            (5, 7),
            "tusk-infra:policyConfig hpa-replica-bounds: Additional properties are not allowed "
            "('maxReplica' was unexpected)",
        ),
        (
            "    rds-backups: strict\n",
            (4, 18),
            "enforcement level of 'rds-backups' is 'strict'; expected one of advisory, mandatory, disabled",
        ),
    ],
)
def test_bad_policy_config_is_a_positioned_error(
    tmp_path: Path, entry: str, position: tuple[int, int], message: str
) -> None:
    run, project = hpa_80_run(
        f"config:\n  aws:region: us-east-1\n  tusk-infra:policyConfig:\n{entry}", tmp_path
    )
    with pytest.raises(TuskError) as raised:
        check_run(run, project)
    assert (raised.value.line, raised.value.column) == position
    assert raised.value.message == message
    assert raised.value.file.endswith("Pulumi.us-east-1.yaml")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "    - policy: hpa-replica-bound\n      resource: app-hpa\n      reason: x\n",
            "unknown policy 'hpa-replica-bound' (did you mean 'hpa-replica-bounds'?)",
        ),
        (
            "    - policy: hpa-replica-bounds\n      reason: x\n",
            "acknowledgement of 'hpa-replica-bounds' needs a resource: its logical name, its URN, or \"*\"",
        ),
        (
            "    - policy: hpa-replica-bounds\n      resource: app-hpa\n      reason: '  '\n",
            "acknowledging mandatory policy 'hpa-replica-bounds' for 'app-hpa' needs a reason: say why the "
            "violation is accepted (reason: ...)",
        ),
        (
            "    - hpa-replica-bounds\n",
            "an acknowledgement must be a mapping with policy, resource, reason; found 'hpa-replica-bounds'",
        ),
    ],
)
def test_bad_acknowledgements_are_positioned_errors(tmp_path: Path, entry: str, message: str) -> None:
    stack_file = f"config:\n  tusk-infra:policyAcknowledgements:\n{entry}"
    run, project = hpa_80_run(stack_file, tmp_path)
    with pytest.raises(TuskError) as raised:
        check_run(run, project)
    assert raised.value.message == message
    assert raised.value.line >= 3


def test_wildcard_acknowledgement_and_unused_ones(tmp_path: Path) -> None:
    stack_file = """config:
  tusk-infra:policyAcknowledgements:
    - policy: hpa-replica-bounds
      resource: "*"
      reason: load test week; back to 50 on Monday
    - policy: rds-multi-az
      resource: postgres-primary
"""
    run, project = hpa_80_run(stack_file, tmp_path)
    result = check_runs([run], project)
    assert result.passed
    assert [f.acknowledged for f in result.findings] == ["load test week; back to 50 on Monday"]
    (notice,) = result.stacks[0].notices
    assert notice.endswith(
        "acknowledgement of rds-multi-az for postgres-primary matched no violation; remove it "
        "if the violation is fixed"
    )
    assert ":6:7:" in notice


def test_values_unknown_offline_are_noted_not_passed_or_failed() -> None:
    hpa = fixture_resources("hpa-replica-bounds/max-80-FAILED.json")[0]
    spec = {**hpa["props"]["spec"], "maxReplicas": OFFLINE_UNKNOWN}
    run = StackRun("us-east-1", [registered({**hpa, "props": {**hpa["props"], "spec": spec}})], {})
    result = check_runs([run])
    assert "hpa-replica-bounds" not in {f.policy for f in result.findings}
    assert any(
        n.startswith("hpa-replica-bounds: app-hpa not checked: the value at spec.maxReplicas")
        for n in result.stacks[0].notices
    )


def test_an_advisory_acknowledgement_may_omit_the_reason(tmp_path: Path) -> None:
    stack_file = """config:
  tusk-infra:policyConfig:
    hpa-replica-bounds: advisory
  tusk-infra:policyAcknowledgements:
    - policy: hpa-replica-bounds
      resource: app-hpa
"""
    run, project = hpa_80_run(stack_file, tmp_path)
    (finding,) = check_run(run, project)
    assert finding.acknowledged == "(no reason given)" and not finding.blocking


def database_alarms(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The alarms every RDS instance needs (data-store-alarms), notifying a topic, as the program adds."""
    alarms = []
    for instance in [r for r in resources if r["type"] == "aws:rds/instance:Instance"]:
        identifier = instance["props"]["identifier"]
        metrics = ["CPUUtilization", "FreeableMemory", "FreeStorageSpace", "DatabaseConnections"]
        if "replicateSourceDb" in instance["props"]:
            metrics.append("ReplicaLag")
        stack = instance["urn"].split("::")[0]
        topic = "arn:aws:sns:us-east-1:111122223333:alarms"
        for metric in metrics:
            name = f"{identifier}-{metric}"
            alarms.append({
                "type": "aws:cloudwatch/metricAlarm:MetricAlarm",
                "name": name,
                "urn": f"{stack}::tusk-infra::aws:cloudwatch/metricAlarm:MetricAlarm::{name}",
                "props": {
                    "namespace": "AWS/RDS", "metricName": metric,
                    "dimensions": {"DBInstanceIdentifier": identifier},
                    "alarmActions": [topic], "okActions": [topic],
                },
            })  # fmt: skip
    return alarms


def two_region_runs() -> list[StackRun]:
    """A primary region and a replica region whose app writes to the primary (as the program wires it)."""
    primary = fixture_resources("connection-budget/primary-at-full-scale-PASSED.json")
    replica = fixture_resources("connection-budget/other-stack-database-PASSED.json")
    for raw in replica:
        raw["urn"] = raw["urn"].replace("urn:pulumi:us-east-1::", "urn:pulumi:us-west-2::")
    primary += database_alarms(primary)
    replica += database_alarms(replica)
    return [
        StackRun("us-east-1", [*map(registered_secured, primary), default_deny("us-east-1")], {}),
        StackRun("us-west-2", [*map(registered_secured, replica), default_deny("us-west-2")], {}),
    ]


def registered_secured(raw: dict[str, Any]) -> RegisteredResource:
    return registered(secured(raw) if raw["type"] == "kubernetes:apps/v1:Deployment" else raw)


def test_cross_stack_budget_counts_every_region_writing_to_the_primary(tmp_path: Path) -> None:
    assert check_runs(two_region_runs(), cross_stack=False).passed  # each stack alone fits
    result = check_runs(two_region_runs())
    assert not result.passed and result.stacks[-1].stack == "all stacks"
    (finding,) = result.stacks[-1].findings
    assert finding.policy == "connection-budget" and finding.stack == "us-east-1"
    assert "15000 connections to database tusk-use1" in finding.message
    assert "Deployment tusk-app/tusklang-app (us-west-2): 50 pods x 100 connections = 5000" in finding.message
    (tmp_path / "Pulumi.us-east-1.yaml").write_text(
        "config:\n  tusk-infra:policyAcknowledgements:\n    - policy: connection-budget\n"
        "      resource: app-deployment\n      reason: replica regions write through PgBouncer (20 conns)\n"
    )
    acknowledged = check_runs(two_region_runs(), tmp_path, cross_stack=True)
    assert acknowledged.passed and acknowledged.stacks[0].notices == []
    assert acknowledged.findings[0].acknowledged == "replica regions write through PgBouncer (20 conns)"
