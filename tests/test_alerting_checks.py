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
    # The same stack with the Evictions alarm (one group: both shards, 6 nodes) leaving out shard 2's nodes,
    # and no RDS CPU alarm.
    group_alarm = "alarms-us-west-2-redis-shards-0001-evictions"
    shard_2 = {"node4", "node5", "node6"}

    def without_shard_2(resource: RegisteredResource) -> RegisteredResource:
        queries = resource.inputs["metricQueries"]
        assert [query["id"] for query in queries] == ["node1", "node2", "node3", *sorted(shard_2), "worst"]
        assert [query["label"] for query in queries][3:6] == [
            "node 0002-001",
            "node 0002-002",
            "node 0002-003",
        ]
        inputs = {**resource.inputs, "metricQueries": [q for q in queries if q["id"] not in shard_2]}
        return replace(resource, inputs=inputs)

    fewer = StackRun(
        run.stack,
        [
            without_shard_2(r) if r.name == group_alarm else r
            for r in run.resources
            if r.name != "alarms-us-west-2-postgres-cpu"
        ],
        run.outputs,
        run.settings,
    )
    messages = [f.message for f in check_run(fewer) if f.policy == "data-store-alarms"]
    assert len(messages) == 2, messages
    assert any(
        "redis-us-west-2-group has Evictions watched by alarms with an action on 3 of its 6 nodes" in m
        for m in messages
    )
    assert any("RDS instance tusklang-app-us-west-2 has no CPUUtilization alarm" in m for m in messages)
    # Without the group's alarm, no node is watched on Evictions.
    kept = [r for r in run.resources if r.name != group_alarm]
    dropped = StackRun(run.stack, kept, run.outputs, run.settings)
    (message,) = [f.message for f in check_run(dropped) if f.policy == "data-store-alarms"]
    assert "redis-us-west-2-group has no Evictions alarm" in message
