"""The plan model and its tree, from hand-made stack runs (no Pulumi program needed)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tusk_infra.offline.model import UNKNOWN, RegisteredResource, StackRun
from tusk_infra.render.plan import PLAN_FORMAT, build_plan, plan_json
from tusk_infra.render.tree import render_text
from tusk_infra.tusk.values import InputUse, Provenance, Secret

PROJECT = Path("/project")
CANARY = "canary-5f0d1c"
STACK_URN = "urn:pulumi:us-east-1::tusk-infra::pulumi:pulumi:Stack::tusk-infra-us-east-1"
REDIS_URN = "urn:pulumi:us-east-1::tusk-infra::tusk:redis:RedisCluster::cache"
GROUP_URN = ("urn:pulumi:us-east-1::tusk-infra::tusk:redis:RedisCluster$"
             "aws:elasticache/replicationGroup:ReplicationGroup::cache-rg")


class FakeDocument:
    """Just what the plan reads from a tusk Document: data and provenance."""

    def __init__(self, data: dict[str, Any], sources: dict[tuple[str | int, ...], Provenance]) -> None:
        self.data = data
        self._sources = sources

    def provenance_items(self) -> Iterator[tuple[tuple[str | int, ...], Provenance]]:
        return iter(self._sources.items())


def make_run(
    stack: str = "us-east-1", *, token: str = CANARY, notices: list[str] | None = None,
    warnings: list[str] | None = None,
) -> StackRun:
    resources = [
        RegisteredResource(GROUP_URN, "aws:elasticache/replicationGroup:ReplicationGroup", "cache-rg",
                           REDIS_URN, "urn:pulumi:us-east-1::tusk-infra::pulumi:providers:aws::aws::id", True,
                           {"engine": "redis", "nodeType": "cache.r6g.large", "authToken": Secret(token, "t"),
                            "configurationEndpointAddress": UNKNOWN, "numNodeGroups": 3}),
        RegisteredResource(REDIS_URN, "tusk:redis:RedisCluster", "cache", STACK_URN, None, False, {}),
        RegisteredResource(STACK_URN, "pulumi:pulumi:Stack", "tusk-infra-us-east-1", None, None, False, {}),
    ]
    settings = FakeDocument(
        {"performance": {"worker_count": 16}, "database": {"password": Secret(token)}},
        {("performance", "worker_count"): Provenance(
            str(PROJECT / "global.tsk"), 44, 19, '@if($region == "us-east-1", 16, 8)',
            (InputUse("var", "region", "us-east-1"),)),
         ("database", "password"): Provenance("global.tsk", 50, 15, '@env.secure("DB_PASSWORD")',
                                              (InputUse("secret", "DB_PASSWORD", CANARY),))},
    )
    return StackRun(stack, resources, {"redisEndpoint": UNKNOWN, "token": Secret(token)}, settings,
                    notices or [], warnings or [])


def test_plan_masks_secrets_marks_unknowns_and_keeps_provenance() -> None:
    plan = build_plan([make_run()], PROJECT)
    stack = plan["stacks"][0]
    group = next(r for r in stack["resources"] if r["urn"] == GROUP_URN)
    assert plan["format"] == PLAN_FORMAT
    assert group["inputs"]["authToken"] == "[secret]"
    assert group["inputs"]["configurationEndpointAddress"] == "(known after deploy)"
    assert group["parent"] == REDIS_URN
    assert stack["settings"] == {"performance": {"worker_count": 16}, "database": {"password": "[secret]"}}
    assert stack["provenance"]["performance.worker_count"]["location"] == "global.tsk:44:19"
    assert stack["provenance"]["database.password"]["inputs"][0]["value"] == "[secret]"
    assert "secret_digests" not in stack
    assert CANARY not in plan_json(plan)


def test_plan_orders_resources_by_urn_whatever_the_registration_order() -> None:
    run = make_run()
    shuffled = StackRun(run.stack, list(reversed(run.resources)), run.outputs, run.settings, run.notices)
    assert plan_json(build_plan([run], PROJECT)) == plan_json(build_plan([shuffled], PROJECT))
    urns = [r["urn"] for r in build_plan([run], PROJECT)["stacks"][0]["resources"]]
    assert urns == sorted(urns)


def test_digests_tell_changed_secrets_apart_without_revealing_them() -> None:
    key = bytes(range(32))
    same = build_plan([make_run()], PROJECT, digest_key=key)["stacks"][0]["secret_digests"]
    other = build_plan([make_run(token="rotated")], PROJECT, digest_key=key)["stacks"][0]["secret_digests"]
    assert set(same) == {f"{GROUP_URN}.authToken", "settings.database.password", "outputs.token"}
    assert all(same[path] != other[path] for path in same)
    assert CANARY not in json.dumps(same)


def test_tree_shows_stack_component_resource_and_key_inputs() -> None:
    text = render_text(build_plan([make_run()], PROJECT))
    lines = text.splitlines()
    assert lines[0] == "stack us-east-1  2 to create"
    assert lines[1] == "└── + tusk:redis:RedisCluster  cache"
    assert lines[2] == "    └── + aws:elasticache/replicationGroup:ReplicationGroup  cache-rg"
    assert '        ├── engine: "redis"' in lines
    assert "        ├── numNodeGroups: 3" in lines
    assert "        └── authToken: [secret]" in lines
    assert "\x1b[" not in text and CANARY not in text


def test_notices_are_listed_once_across_stacks() -> None:
    notice = "secret DB_PASSWORD is not available offline; a placeholder was used"
    plan = build_plan([make_run(notices=[notice]), make_run("us-west-2", notices=[notice])], PROJECT)
    text = render_text(plan)
    assert text.count(notice) == 1
    assert "notice:" in text


def test_warnings_are_listed_apart_from_placeholder_notices() -> None:
    placeholder = "secret DB_PASSWORD: not in the environment; a placeholder secret stands in for it offline"
    warning = "tusk-infra:DB_PASSWORD is stored in plain text; set it with `pulumi config set --secret ...`"
    plan = build_plan([make_run(notices=[placeholder]), make_run("us-west-2", warnings=[warning])], PROJECT)
    # Each in its own field of the plan JSON; a stack that warned of nothing has no warnings key at all.
    assert [stack.get("warnings") for stack in plan["stacks"]] == [None, [warning]]
    assert [stack["notices"] for stack in plan["stacks"]] == [[placeholder], []]
    lines = render_text(plan).splitlines()
    start = lines.index("warnings:")
    assert lines[start:] == [
        "warnings:",
        f"  - us-west-2: {warning}",
        "notice: rendered with placeholders where a value is not available offline:",
        f"  - us-east-1: {placeholder}",
    ]


@pytest.mark.parametrize("findings, expected", [
    ([], "policy: no violations"),
    ([{"policy": "hpa-replica-bounds", "level": "mandatory", "name": "app-hpa",
       "message": "maxReplicas 80 > 50"}],
     "policy: 1 violation(s)"),
])
def test_policy_results_follow_each_stack(findings: list[dict[str, Any]], expected: str) -> None:
    text = render_text(build_plan([make_run()], PROJECT, findings={"us-east-1": findings}))
    assert expected in text
    assert all(f["message"] in text for f in findings)


def test_tree_has_colours_on_a_terminal() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=200)
    text = render_text(build_plan([make_run()], PROJECT), terminal=terminal)
    assert "\x1b[" in text
    assert "authToken" in text and CANARY not in text
