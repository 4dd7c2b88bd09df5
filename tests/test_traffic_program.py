"""RegionalTraffic under mocks: the Route 53 health check and record of every stack, their argument names
checked against the installed pulumi_aws, the provider functions they call, and the variants global.tsk
selects."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi_aws.lb as aws_lb
import pulumi_aws.route53 as aws_route53
import pytest
from conftest import PROGRAM_SECRETS
from pulumi._types import input_type_py_to_pulumi_names

from tusk_infra.offline import runner
from tusk_infra.offline.mocks import LB_HOSTED_ZONE_ID, NLB_HOSTED_ZONE_IDS, ROUTE53_ZONE, RecordingMonitor
from tusk_infra.offline.model import UNKNOWN, RegisteredResource, StackRun
from tusk_infra.route53_limits import checker_regions

STACKS = ("us-east-1", "us-west-2", "eu-west-1")
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
RECORD = "aws:route53/record:Record"
TRAFFIC = "tusk:traffic:RegionalTraffic"


def engine_names(args_type: type) -> set[str]:
    """The input names the engine accepts for an installed pulumi_aws Args type (camelCase)."""
    return set(input_type_py_to_pulumi_names(args_type).values())


def required_names(args_type: type) -> set[str]:
    """The inputs the installed Args type's constructor requires."""
    import inspect

    names = input_type_py_to_pulumi_names(args_type)
    parameters = inspect.signature(args_type.__init__).parameters.values()
    return {names[p.name] for p in parameters if p.name in names and p.default is inspect.Parameter.empty}


def only(run: StackRun, type_: str) -> RegisteredResource:
    found = [r for r in run.resources if r.type == type_]
    assert len(found) == 1, f"{run.stack}: expected one {type_}, found {[r.urn for r in found]}"
    return found[0]


def region_provider(run: StackRun) -> RegisteredResource:
    """The stack's own aws provider (the other one, us-east-1's, serves only the health-check alarms)."""
    found = [r for r in run.resources if r.type == "pulumi:providers:aws" and r.name == f"aws-{run.stack}"]
    assert len(found) == 1, f"{run.stack}: expected the provider aws-{run.stack}"
    return found[0]


def maybe(run: StackRun, type_: str) -> RegisteredResource | None:
    found = [r for r in run.resources if r.type == type_]
    assert len(found) <= 1, f"{run.stack}: more than one {type_}"
    return found[0] if found else None


@pytest.mark.parametrize("stack", STACKS)
def test_argument_names_are_the_installed_pulumi_aws_ones(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    run = program_runs[stack]
    check = only(run, HEALTH_CHECK).inputs
    record = only(run, RECORD).inputs
    assert set(check) <= engine_names(aws_route53.HealthCheckArgs), set(check)
    assert required_names(aws_route53.HealthCheckArgs) <= set(check)
    assert set(record) <= engine_names(aws_route53.RecordArgs), set(record)
    assert required_names(aws_route53.RecordArgs) == {"name", "type", "zoneId"} <= set(record)
    (alias,) = record["aliases"]
    assert set(alias) == engine_names(aws_route53._inputs.RecordAliasArgs)
    (latency,) = record["latencyRoutingPolicies"]
    assert set(latency) == engine_names(aws_route53._inputs.RecordLatencyRoutingPolicyArgs)


@pytest.mark.parametrize("stack", STACKS)
def test_each_region_checks_its_load_balancer_and_routes_by_latency(
    program_runs: dict[str, StackRun], stack: str
) -> None:
    run = program_runs[stack]
    settings = run.settings.data
    component = only(run, TRAFFIC)
    aws = region_provider(run)
    check, record = only(run, HEALTH_CHECK), only(run, RECORD)
    for resource in (check, record):
        assert resource.parent == component.urn and resource.provider == aws.urn, resource.urn
    assert check.inputs == {
        "type": "HTTP",
        "fqdn": UNKNOWN,  # the Service's load balancer host name: known after deploy
        "port": 80,
        "resourcePath": settings["app"]["readiness"]["path"],
        "requestInterval": 30,
        "failureThreshold": 3,
        "regions": ["us-east-1", "us-west-2", "eu-west-1"],
        "measureLatency": True,
        "tags": {"Name": f"tusklang-app-{stack}"},
    }
    assert set(check.inputs["regions"]) <= set(checker_regions())
    assert record.inputs == {
        "name": "app.example.com",
        "type": "A",
        "zoneId": UNKNOWN,  # looked up by the zone's name: the account's hosted zone, known after deploy
        "setIdentifier": stack,
        "healthCheckId": UNKNOWN,  # the health check's id, known once it exists
        "latencyRoutingPolicies": [{"region": stack}],
        # The NLB's canonical hosted zone in this region, as the provider's getHostedZoneId answers.
        "aliases": [{"name": UNKNOWN, "zoneId": NLB_HOSTED_ZONE_IDS[stack], "evaluateTargetHealth": True}],
    }
    assert "ttl" not in record.inputs  # Route 53 allows no TTL on an alias record


def test_outputs_name_the_health_check_and_the_record(program_runs: dict[str, StackRun]) -> None:
    for run in program_runs.values():
        assert run.outputs["healthCheckId"] is UNKNOWN
        assert run.outputs["trafficRecordFqdn"] is UNKNOWN
        assert run.outputs["trafficServing"] is True


class Invokes(RecordingMonitor):
    """Remembers every monitor the runner creates, to read the provider functions called."""

    made: list[RecordingMonitor] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        Invokes.made.append(self)


def run_with_invokes(project: Path, stack: str, monkeypatch: pytest.MonkeyPatch) -> tuple[StackRun, Invokes]:
    monkeypatch.setattr(runner, "RecordingMonitor", Invokes)
    Invokes.made.clear()
    run = runner.run_stack(project, stack, env=PROGRAM_SECRETS)
    (monitor,) = Invokes.made
    assert isinstance(monitor, Invokes)
    return run, monitor


def test_provider_functions_go_to_the_stacks_provider(
    program_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, monitor = run_with_invokes(program_project, "eu-west-1", monkeypatch)
    aws = region_provider(run)
    by_token = {invoke.token: invoke for invoke in monitor.invoked}
    assert set(by_token) == {LB_HOSTED_ZONE_ID, ROUTE53_ZONE}
    assert by_token[LB_HOSTED_ZONE_ID].args == {"loadBalancerType": "network", "region": "eu-west-1"}
    assert by_token[ROUTE53_ZONE].args == {"name": "example.com", "privateZone": False}
    # The stack's explicit provider, never a default one (the stack files disable those).
    assert {invoke.provider for invoke in monitor.invoked} == {aws.urn}
    # The tokens are the installed pulumi_aws's own.
    functions = ((aws_lb.get_hosted_zone_id, LB_HOSTED_ZONE_ID), (aws_route53.get_zone, ROUTE53_ZONE))
    for module, token in functions:
        source = Path(module.__code__.co_filename).read_text()
        assert f"'{token}'" in source


def edit(project: Path, pattern: str, replacement: str) -> None:
    path = project / "global.tsk"
    text, count = re.subn(pattern, replacement, path.read_text(), count=1, flags=re.M | re.S)
    assert count == 1, f"{pattern!r} not in global.tsk; update this test"
    path.write_text(text)


def drain(project: Path, *regions: str) -> None:
    for region in regions:
        key = region.replace("-", "_")
        edit(project, rf"^({key} \{{.*?)serving: true", r"\1serving: false")


def test_a_drained_region_keeps_its_health_check_and_loses_its_record(program_project: Path) -> None:
    drain(program_project, "us-west-2")
    runs = {run.stack: run for run in runner.run_stacks(program_project, env=PROGRAM_SECRETS)}
    drained = runs["us-west-2"]
    assert maybe(drained, RECORD) is None
    assert only(drained, HEALTH_CHECK).inputs["resourcePath"] == "/ready"
    assert drained.outputs["trafficServing"] is False and drained.outputs["trafficRecordFqdn"] is None
    for stack in ("us-east-1", "eu-west-1"):
        assert only(runs[stack], RECORD).inputs["setIdentifier"] == stack


def test_weighted_routing_carries_only_the_regions_weight(program_project: Path) -> None:
    edit(program_project, r'^routing_policy: "latency".*?$',
         'routing_policy: "weighted"\nweights { us_east_1: 60; us_west_2: 30; eu_west_1: 10 }')
    run = runner.run_stacks(program_project, ["us-east-1", "us-west-2"], env=PROGRAM_SECRETS)[1]
    record = only(run, RECORD).inputs
    assert record["weightedRoutingPolicies"] == [{"weight": 30}]
    assert "latencyRoutingPolicies" not in record
    assert set(record) <= engine_names(aws_route53.RecordArgs)
    (weighted,) = record["weightedRoutingPolicies"]
    assert set(weighted) == engine_names(aws_route53._inputs.RecordWeightedRoutingPolicyArgs)


def test_a_cname_record_has_a_ttl_and_a_zone_id_is_used_as_is(program_project: Path) -> None:
    edit(program_project, r'^hosted_zone: "example.com".*?$',
         'hosted_zone: "Z0123456789ABCDEFGHIJ"\nrecord: "cname"\nttl: 120')
    run = runner.run_stacks(program_project, ["us-east-1"], env=PROGRAM_SECRETS)[0]
    record = only(run, RECORD).inputs
    assert (record["type"], record["ttl"], record["records"], record["zoneId"]) == (
        "CNAME", 120, [UNKNOWN], "Z0123456789ABCDEFGHIJ")
    assert "aliases" not in record


def test_https_checks_send_sni_on_443_and_a_path_of_their_own(program_project: Path) -> None:
    edit(program_project, r'^    protocol: "HTTP".*?$', '    protocol: "HTTPS"\n    path: "/healthz"\n'
                                                       "    interval: 10")
    edit(program_project, r"^    interval: 30.*?$", "")
    run = runner.run_stacks(program_project, ["us-east-1"], env=PROGRAM_SECRETS)[0]
    check = only(run, HEALTH_CHECK).inputs
    shown = ("type", "port", "enableSni", "resourcePath", "requestInterval")
    assert tuple(check[key] for key in shown) == ("HTTPS", 443, True, "/healthz", 10)
    assert set(check) <= engine_names(aws_route53.HealthCheckArgs)


def test_no_global_traffic_registers_no_route53_resource(program_project: Path) -> None:
    path = program_project / "global.tsk"
    text = path.read_text()
    path.write_text(text[: text.index("[global_traffic]")])
    run = runner.run_stacks(program_project, ["us-east-1"], env=PROGRAM_SECRETS)[0]
    assert not [r for r in run.resources if r.type.startswith(("aws:route53", TRAFFIC))]
    assert "healthCheckId" not in run.outputs


def test_the_mocks_answer_only_what_aws_fixes() -> None:
    from pulumi.runtime.mocks import MockCallArgs

    from tusk_infra.offline.mocks import OfflineMocks, UnknownAnswer

    mocks = OfflineMocks({}, {})

    def call(token: str, **args: Any) -> dict[str, Any]:
        answer, failures = mocks.call(MockCallArgs(token=token, args=args, provider=""))
        assert failures == []
        return answer

    assert call(LB_HOSTED_ZONE_ID, loadBalancerType="network", region="us-east-1")["id"] == "Z26RNL4JYFTOTI"
    with pytest.raises(UnknownAnswer):  # a region the table lacks: unknown, never a guess
        call(LB_HOSTED_ZONE_ID, loadBalancerType="network", region="ap-south-1")
    with pytest.raises(UnknownAnswer):  # an application load balancer's zone differs: not in the table
        call(LB_HOSTED_ZONE_ID, loadBalancerType="application", region="us-east-1")
    with pytest.raises(UnknownAnswer):  # the account's hosted zone
        call(ROUTE53_ZONE, name="example.com", privateZone=False)
