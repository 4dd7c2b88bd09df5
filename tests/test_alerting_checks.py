"""The alarm policies on the program's own stacks: the shipped deployment passes them, a stack without
subscriptions gets the advisory warning, and an alarm-less data store is refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from conftest import PROGRAM_SECRETS

from tusk_infra.checks import check_run
from tusk_infra.offline.model import RegisteredResource, StackRun
from tusk_infra.offline.runner import run_stack

ALARM_POLICIES = {"data-store-alarms", "alarm-has-topic", "alarm-subscriptions"}


def test_the_shipped_stacks_pass_the_alarm_policies(program_runs: dict[str, StackRun]) -> None:
    for stack, run in program_runs.items():
        findings = [f for f in check_run(run) if f.policy in ALARM_POLICIES]
        assert findings == [], (stack, [f.message for f in findings])


def test_a_stack_without_subscriptions_is_warned_not_refused(program_project: Path) -> None:
    path = program_project / "Pulumi.eu-west-1.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("  tusk-infra:alarmSubscriptions:")], encoding="utf-8")
    primary = run_stack(program_project, "us-east-1", env=PROGRAM_SECRETS)
    run = run_stack(
        program_project, "eu-west-1", env=PROGRAM_SECRETS, stack_outputs={"us-east-1": primary.outputs}
    )
    assert not [r for r in run.resources if r.type == "aws:sns/topicSubscription:TopicSubscription"]
    findings = [f for f in check_run(run) if f.policy in ALARM_POLICIES]
    # The region's topic, and the topic of its health-check alarms (in us-east-1): both without subscribers.
    assert sorted((f.policy, f.enforcement, f.resource_name) for f in findings) == [
        ("alarm-subscriptions", "advisory", "alarms-eu-west-1-health-topic"),
        ("alarm-subscriptions", "advisory", "alarms-eu-west-1-topic"),
    ]
    assert any("SNS topic tusklang-app-eu-west-1-alarms has no subscription" in f.message for f in findings)


def test_a_data_store_without_alarms_is_refused(program_runs: dict[str, StackRun]) -> None:
    run = program_runs["us-west-2"]
    # The same stack with shard 2's Evictions alarm leaving out the shard's third node, and no RDS CPU alarm.
    shard_alarm = "alarms-us-west-2-redis-shard-0002-evictions"

    def without_third_node(resource: RegisteredResource) -> RegisteredResource:
        queries = resource.inputs["metricQueries"]
        assert [query["id"] for query in queries] == ["node1", "node2", "node3", "worst"]
        inputs = {**resource.inputs, "metricQueries": [q for q in queries if q["id"] != "node3"]}
        return replace(resource, inputs=inputs)

    fewer = StackRun(
        run.stack,
        [
            without_third_node(r) if r.name == shard_alarm else r
            for r in run.resources
            if r.name != "alarms-us-west-2-postgres-cpu"
        ],
        run.outputs,
        run.settings,
    )
    messages = [f.message for f in check_run(fewer) if f.policy == "data-store-alarms"]
    assert len(messages) == 2, messages
    assert any(
        "redis-us-west-2-group has Evictions watched by alarms with an action on 5 of its 6 nodes" in m
        for m in messages
    )
    assert any("RDS instance tusklang-app-us-west-2 has no CPUUtilization alarm" in m for m in messages)
    # Without the whole shard's alarm, its three nodes are unwatched.
    kept = [r for r in run.resources if r.name != shard_alarm]
    dropped = StackRun(run.stack, kept, run.outputs, run.settings)
    (message,) = [f.message for f in check_run(dropped) if f.policy == "data-store-alarms"]
    assert "has Evictions watched by alarms with an action on 3 of its 6 nodes" in message
