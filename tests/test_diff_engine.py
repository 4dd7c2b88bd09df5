"""The diff engine and its Markdown / JSON reports, on plans built from hand-made stack runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tusk_infra.offline.model import UNKNOWN, RegisteredResource, StackRun
from tusk_infra.render.diff import diff_plans
from tusk_infra.render.diff_json import diff_json
from tusk_infra.render.markdown import COLLAPSE_OVER, COMMENT_LIMIT, code, render_markdown
from tusk_infra.render.plan import Plan, build_plan
from tusk_infra.tusk.values import Provenance, Secret

PROJECT = Path("/project")
KEY = b"k" * 32
RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
WORKERS_SOURCE = '@if($region == "us-east-1", 16, 8)'


class Document:
    def __init__(self, data: dict[str, Any], sources: dict[tuple[str | int, ...], Provenance]) -> None:
        self.data, self._sources = data, sources

    def provenance_items(self) -> Any:
        return iter(self._sources.items())


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::tusk-infra::{type_}::{name}"


def resource(stack: str, type_: str, name: str, inputs: dict[str, Any]) -> RegisteredResource:
    return RegisteredResource(urn(stack, type_, name), type_, name, None, None, True, inputs)


def stack_run(stack: str = "us-east-1", *, workers: int = 8, password: str = "hunter2",
              encrypted: bool = True, node_type: str = "cache.r6g.large", groups: int = 1,
              selector: str = "app", with_pdb: bool = True) -> StackRun:
    resources = [
        resource(stack, RDS, "db", {"engine": "postgres", "storageEncrypted": encrypted, "password":
                                    Secret(password), "address": UNKNOWN, "allocatedStorage": 100}),
        resource(stack, REDIS, "cache", {"engine": "redis", "nodeType": node_type, "numNodeGroups": groups}),
        resource(stack, CONFIG_MAP, "app-config", {"data": {"WORKER_COUNT": str(workers)}}),
        resource(stack, DEPLOYMENT, "app", {"spec": {"selector": {"matchLabels": {"app": selector}}}}),
    ]
    if with_pdb:
        resources.append(resource(stack, "kubernetes:policy/v1:PodDisruptionBudget", "app-pdb",
                                  {"spec": {"minAvailable": 2}}))
    settings = Document(
        {"performance": {"worker_count": workers}, "database": {"password": Secret(password)}},
        {("performance", "worker_count"): Provenance("global.tsk", 44, 19, WORKERS_SOURCE),
         ("database", "password"): Provenance("global.tsk", 51, 15, '@env.secure("DB_PASSWORD")')},
    )
    return StackRun(stack, resources, {}, settings, [])


def plan(*runs: StackRun, findings: dict[str, list[dict[str, Any]]] | None = None) -> Plan:
    # Through JSON, as the diff command receives plans from the render processes.
    built = build_plan(runs, PROJECT, findings=findings, digest_key=KEY)
    parsed: Plan = json.loads(json.dumps(built))
    return parsed


def changes_of(report: dict[str, Any], stack: str) -> dict[str, dict[str, Any]]:
    entry = next(s for s in report["stacks"] if s["stack"] == stack)
    return {r["name"]: r for r in entry["resources"]}


def test_setting_change_is_explained_by_its_global_tsk_source() -> None:
    diff = diff_plans(plan(stack_run()), plan(stack_run(workers=16)), base_label="main", head_label="pr")
    markdown = render_markdown(diff)
    assert ('- `performance.worker_count`: `8` → `16` (global.tsk:44 `@if($region == "us-east-1", 16, 8)`)'
            in markdown)
    # A ConfigMap's data is immutable to the Kubernetes provider: the new count comes with a new ConfigMap.
    assert ('- 🔁 **REPLACE** `kubernetes:core/v1:ConfigMap` `app-config` — forced by `data`\n'
            '  - `data.WORKER_COUNT`: `"8"` → `"16"` **(forces replacement)**') in markdown
    assert "| `us-east-1` | 0 | 0 | **1** | 0 | n/a |" in markdown
    report = json.loads(diff_json(diff))
    assert report["changed"] is True
    assert report["stacks"][0]["settings"] == [{
        "path": "performance.worker_count", "before": 8, "after": 16, "secret_changed": False,
        "forces_replacement": False,
        "source": {"location": "global.tsk:44:19", "source": WORKERS_SOURCE, "inputs": []},
    }]
    assert changes_of(report, "us-east-1")["app-config"]["changes"] == [{
        "path": "data.WORKER_COUNT", "before": "8", "after": "16", "secret_changed": False,
        "forces_replacement": True}]


def test_changed_secret_reads_secret_changed_and_never_shows_a_value() -> None:
    diff = diff_plans(plan(stack_run()), plan(stack_run(password="s3cr3t-rotated")), base_label="a",
                      head_label="b")
    markdown, report = render_markdown(diff), diff_json(diff)
    assert "- `password`: [secret] (changed)" in markdown
    assert ("- `database.password`: [secret] (changed) (global.tsk:51 `@env.secure(\"DB_PASSWORD\")`)"
            in markdown)
    for text in (markdown, report):
        assert "hunter2" not in text and "s3cr3t-rotated" not in text
    change = changes_of(json.loads(report), "us-east-1")["db"]["changes"][0]
    assert change == {"path": "password", "before": "[secret]", "after": "[secret]", "secret_changed": True,
                      "forces_replacement": False}


def test_unchanged_secret_and_unknowns_are_no_change() -> None:
    diff = diff_plans(plan(stack_run()), plan(stack_run()), base_label="a", head_label="b")
    assert not diff.changed
    markdown = render_markdown(diff)
    assert "\n**No changes.** Every stack renders the same at both revisions (`us-east-1`).\n" in markdown
    assert json.loads(diff_json(diff))["stacks"][0]["status"] == "unchanged"


@pytest.mark.parametrize("change, name, reason", [
    ({"encrypted": False}, "db", "storageEncrypted"),
    ({"selector": "web"}, "app", "spec.selector"),
])
def test_replace_on_change_properties_are_flagged(change: dict[str, Any], name: str, reason: str) -> None:
    diff = diff_plans(plan(stack_run()), plan(stack_run(**change)), base_label="a", head_label="b")
    entry = changes_of(json.loads(diff_json(diff)), "us-east-1")[name]
    assert entry["action"] == "replace" and entry["replace_reasons"] == [reason]
    markdown = render_markdown(diff)
    assert "🔁 **REPLACE**" in markdown and f"forced by {code(reason)}" in markdown
    assert "[!CAUTION]" in markdown and "**1 resource(s) will be REPLACED**" in markdown


@pytest.mark.parametrize("groups", [1, 3])
def test_node_type_of_a_replication_group_is_an_update(groups: int) -> None:
    # node_type has no ForceNew in the provider, with or without cluster mode: ElastiCache resizes in place.
    resized = stack_run(groups=groups, node_type="cache.r6g.xlarge")
    diff = diff_plans(plan(stack_run(groups=groups)), plan(resized), base_label="a", head_label="b")
    assert changes_of(json.loads(diff_json(diff)), "us-east-1")["cache"]["action"] == "update"


def test_deleted_resource_is_flagged_loudly() -> None:
    diff = diff_plans(plan(stack_run()), plan(stack_run(with_pdb=False)), base_label="a", head_label="b")
    markdown = render_markdown(diff)
    assert "- ❌ **DELETE** `kubernetes:policy/v1:PodDisruptionBudget` `app-pdb`" in markdown
    assert "| `us-east-1` | 0 | 0 | 0 | **1** | n/a |" in markdown
    assert "**1 resource(s) will be DELETED**" in markdown


def test_a_stack_only_at_head_is_all_create_and_one_only_at_base_is_removed() -> None:
    base = plan(stack_run(), stack_run("eu-central-1"))
    head = plan(stack_run(), stack_run("ap-south-1"))
    diff = diff_plans(base, head, base_label="a", head_label="b")
    report = json.loads(diff_json(diff))
    by_stack = {s["stack"]: s for s in report["stacks"]}
    # A created resource lists its key inputs, with no "before" to print.
    assert ('- ➕ create `aws:rds/instance:Instance` `db`\n  - `engine`: `"postgres"`\n'
            '  - `allocatedStorage`: `100`\n  - `storageEncrypted`: `true`\n  - `password`: `[secret]`\n'
            ) in render_markdown(diff)
    assert [s["stack"] for s in report["stacks"]] == ["us-east-1", "ap-south-1", "eu-central-1"]
    assert by_stack["ap-south-1"]["status"] == "created"
    assert by_stack["ap-south-1"]["counts"] == {"create": 5, "update": 0, "replace": 0, "delete": 0}
    assert by_stack["us-east-1"]["status"] == "unchanged"


def test_a_removed_stack_deletes_nothing_and_says_what_destroy_would_delete() -> None:
    # A stack file gone from the repository orphans the stack; `pulumi destroy` would delete its resources.
    diff = diff_plans(plan(stack_run(), stack_run("eu-central-1")), plan(stack_run()), base_label="a",
                      head_label="b")
    removed = next(s for s in json.loads(diff_json(diff))["stacks"] if s["stack"] == "eu-central-1")
    assert removed["status"] == "removed" and removed["resources"] == []
    assert removed["counts"] == {"create": 0, "update": 0, "replace": 0, "delete": 0}
    names = sorted(r["name"] for r in removed["destroy_would_delete"])
    assert names == ["app", "app-config", "app-pdb", "cache", "db"]
    markdown = render_markdown(diff)
    assert "| `eu-central-1` (**stack removed**) | — | — | — | — | n/a |" in markdown
    assert ("> [!WARNING]\n> **Stack `eu-central-1` is removed from the repository** (no "
            "`Pulumi.eu-central-1.yaml` at `b`). This change deletes none of its 5 resource(s): they keep "
            "running, orphaned (no longer updated from here), until someone runs "
            "`pulumi destroy --stack eu-central-1`, which would delete all of them (listed below).\n"
            ) in markdown
    assert ("### `eu-central-1` (**stack removed**)\n\n**Nothing here is deleted by this change.** The stack "
            "is no longer in the repository; `pulumi destroy --stack eu-central-1` would delete these 5 "
            "resource(s):\n\n- `") in markdown
    assert "\n- `aws:rds/instance:Instance` `db`\n" in markdown
    assert "DELETE" not in markdown and "[!CAUTION]" not in markdown


def test_policy_violations_are_counted_and_new_ones_listed() -> None:
    finding = {"policy": "hpa-replica-bounds", "level": "mandatory", "urn": "u", "name": "app-hpa",
               "message": "maxReplicas is 80, above the limit of 50"}
    diff = diff_plans(plan(stack_run(), findings={"us-east-1": []}),
                      plan(stack_run(workers=9), findings={"us-east-1": [finding]}),
                      base_label="a", head_label="b")
    markdown = render_markdown(diff)
    assert "| 1 (**1 new**) |" in markdown
    assert ("`hpa-replica-bounds` (mandatory) on `app-hpa`: maxReplicas is 80, above the limit of 50"
            in markdown)
    # A new mandatory violation is as loud as a replacement: pulumi up with the pack would stop on it.
    assert ("> [!CAUTION]\n> **1 new mandatory policy violation(s)** (`hpa-replica-bounds`, in `us-east-1`): "
            "the policy pack stops `pulumi up` on them.") in markdown
    advisory = {**finding, "level": "advisory"}
    quiet = diff_plans(plan(stack_run(), findings={"us-east-1": []}),
                       plan(stack_run(workers=9), findings={"us-east-1": [advisory]}), base_label="a",
                       head_label="b")
    assert "policy violation(s)" not in render_markdown(quiet)


def test_long_reports_collapse_each_stack_and_keep_the_summary_whole() -> None:
    regions = [f"region-{n:02d}" for n in range(40)]
    base = plan(*(stack_run(r) for r in regions))
    head = plan(*(stack_run(r, workers=16, encrypted=False, with_pdb=False) for r in regions))
    for stack in head["stacks"]:
        config_map = next(r for r in stack["resources"] if r["name"] == "app-config")
        config_map["inputs"]["data"].update({f"KEY_{n}": "<b>x</b>" * 8 for n in range(40)})
    markdown = render_markdown(diff_plans(base, head, base_label="a", head_label="b"), rerun_hint="rerun")
    assert len(markdown) <= COMMENT_LIMIT
    assert markdown.count("<details>") == 40 and markdown.count("</details>") == 40
    # The replaced database is a violation of rds-replacement-acknowledged (the diff runs it) in each stack.
    assert all(f"| `{r}` | 0 | 0 | **2** | **1** | 1 (**1 new**) |" in markdown for r in regions)
    assert "more line(s) omitted; run `rerun` for all of it." in markdown
    assert "<summary><b>region-00</b>: 2 to replace, 1 to delete</summary>" in markdown
    # Values stay inside code spans, so HTML in a value never opens a tag in the comment.
    assert "(unset) → `\"<b>x</b><b>x</b>" in markdown.replace("*", "")


def test_short_reports_do_not_collapse() -> None:
    markdown = render_markdown(diff_plans(plan(stack_run()), plan(stack_run(workers=16)), base_label="a",
                                          head_label="b"))
    assert len(markdown) < COLLAPSE_OVER and "<details>" not in markdown


@pytest.mark.parametrize("text, expected", [("plain", "`plain`"), ("a`b", "`` a`b ``"), ("x\ny", "`x y`")])
def test_code_spans_survive_backticks_and_newlines(text: str, expected: str) -> None:
    assert code(text) == expected


def test_values_unavailable_offline_are_listed_once() -> None:
    notice = "secret DB_PASSWORD: not in the environment; a placeholder secret stands in for it offline"
    runs = [stack_run(), stack_run("us-west-2")]
    for run in runs:
        run.notices.append(notice)
    diff = diff_plans(plan(*runs), plan(*runs), base_label="a", head_label="b")
    assert render_markdown(diff).count(f"- {notice}") == 1
    assert json.loads(diff_json(diff))["notices"] == [notice]


PLAIN_TEXT = ("tusk-infra:DB_PASSWORD is stored in plain text; "
              "set it with `pulumi config set --secret tusk-infra:DB_PASSWORD ...`")
PLACEHOLDER = "secret REDIS_TOKEN: not in the environment; a placeholder secret stands in for it offline"


def test_warnings_are_not_listed_as_values_unavailable_offline() -> None:
    # "stored in plain text" used to sit in the "Not available offline" box: it is no offline limitation.
    runs = [stack_run(), stack_run("us-west-2")]
    runs[0].notices.append(PLACEHOLDER)
    runs[1].notices.append(PLACEHOLDER)
    runs[1].warnings.append(PLAIN_TEXT)
    diff = diff_plans(plan(*runs), plan(*runs), base_label="a", head_label="b")
    assert (diff.notices, diff.warnings) == ((PLACEHOLDER,), (f"us-west-2: {PLAIN_TEXT}",))
    markdown = render_markdown(diff)
    offline_box = markdown[markdown.index("<details><summary>Not available offline"):]
    assert "plain text" not in offline_box and f"- {PLACEHOLDER}" in offline_box
    assert f"> [!WARNING]\n> Rendering `b` warned:\n> - us-west-2: {PLAIN_TEXT}\n" in markdown
    report = json.loads(diff_json(diff))
    assert (report["notices"], report["warnings"]) == ([PLACEHOLDER], [f"us-west-2: {PLAIN_TEXT}"])


def test_only_the_heads_warnings_are_reported() -> None:
    # The change moves the secret out of the stack file: the base's warning no longer holds.
    warned = stack_run()
    warned.warnings.append(PLAIN_TEXT)
    diff = diff_plans(plan(warned), plan(stack_run()), base_label="a", head_label="b")
    assert diff.warnings == () and "[!WARNING]" not in render_markdown(diff)
    assert json.loads(diff_json(diff))["warnings"] == []


def test_a_notice_of_some_stacks_only_names_them() -> None:
    # us-west-2 has the secret in its stack file, the others do not: an unprefixed "no stack secret" notice
    # would read as true of us-west-2 too.
    notice = "secret DB_PASSWORD: not in the environment and no stack secret; a placeholder stands in for it"
    runs = [stack_run(), stack_run("eu-west-1"), stack_run("us-west-2")]
    for run in runs[:2]:
        run.notices.append(notice)
    diff = diff_plans(plan(*runs), plan(*runs), base_label="a", head_label="b")
    assert json.loads(diff_json(diff))["notices"] == [f"us-east-1, eu-west-1: {notice}"]


SECRET = "kubernetes:core/v1:Secret"


def rotation_run(password: str, *, reads: bool = True) -> StackRun:
    """The app's auto-named Secret and the Deployment that reads its name (known only after deploy)."""
    secret = resource("us-east-1", SECRET, "app-db-secrets",
                      {"immutable": True, "stringData": Secret(json.dumps({"password": password}))})
    env = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": UNKNOWN, "key": "password"}}}]
    template = {"spec": {"containers": [{"name": "app", "env": env}]}}
    deployment = RegisteredResource(urn("us-east-1", DEPLOYMENT, "app"), DEPLOYMENT, "app", None, None, True,
                                    {"spec": {"template": template}},
                                    property_dependencies={"spec": (secret.urn,)} if reads else {})
    return StackRun("us-east-1", [secret, deployment], {}, Document({}, {}))


def rotation_diff(before: str, after: str, *, reads: bool = True) -> Any:
    base = build_plan([rotation_run(before, reads=reads)], PROJECT, digest_key=KEY)
    head = build_plan([rotation_run(after, reads=reads)], PROJECT, digest_key=KEY)
    return diff_plans(base, head, base_label="main", head_label="pr")


def test_a_rotated_secret_rolls_the_deployment_that_reads_it_without_showing_it() -> None:
    diff = rotation_diff("CANARY-old-9f1", "CANARY-new-9f1")
    (stack,) = diff.stacks
    by_type = {change.type: change for change in stack.resources}
    assert by_type[SECRET].action == "replace" and by_type[SECRET].replace_reasons == ("stringData",)
    deployment = by_type[DEPLOYMENT]
    assert deployment.action == "update" and deployment.rollout is True
    assert deployment.reads_replaced == ("app-db-secrets",)
    markdown, data = render_markdown(diff), diff_json(diff)
    assert "`app` — **rollout**: the pods restart, reading the new `app-db-secrets`" in markdown
    entry = next(r for r in json.loads(data)["stacks"][0]["resources"] if r["type"] == DEPLOYMENT)
    assert (entry["rollout"], entry["reads_replaced"]) == (True, ["app-db-secrets"])
    for text in (markdown, data):
        assert "CANARY" not in text


def test_an_unchanged_secret_rolls_nothing() -> None:
    assert not rotation_diff("CANARY-same", "CANARY-same").changed


def test_without_a_recorded_read_the_deployment_is_not_marked() -> None:
    # The mark follows the data flow the engine recorded, not a guess from names.
    (stack,) = rotation_diff("CANARY-a", "CANARY-b", reads=False).stacks
    assert [change.type for change in stack.resources] == [SECRET]


def test_a_kubernetes_replacement_is_not_worded_as_data_loss() -> None:
    # A Deployment (or ConfigMap) is recreated from the configuration; an RDS instance holds the data.
    app = render_markdown(diff_plans(plan(stack_run()), plan(stack_run(selector="web")), base_label="a",
                                     head_label="b"))
    assert ("> **1 resource(s) will be REPLACED**: all are Kubernetes objects, recreated from this "
            "configuration: they hold no data of their own. Review them below.") in app
    assert "may be lost" not in app
    database = render_markdown(diff_plans(plan(stack_run()), plan(stack_run(encrypted=False)), base_label="a",
                                          head_label="b"))
    assert "> **1 resource(s) will be REPLACED**: data in them may be lost. Review them below." in database


def test_a_static_rds_parameter_change_is_marked_as_applying_after_a_reboot() -> None:
    def with_limit(limit: str) -> StackRun:
        run = stack_run()
        run.resources.append(resource("us-east-1", "aws:rds/parameterGroup:ParameterGroup", "params", {
            "family": "postgres16",
            "parameters": [{"name": "max_connections", "value": limit, "applyMethod": "pending-reboot"},
                           {"name": "rds.force_ssl", "value": "1", "applyMethod": "immediate"}]}))
        return run

    diff = diff_plans(plan(with_limit("20480")), plan(with_limit("25600")), base_label="a", head_label="b")
    note = ("applies only after a reboot: max_connections is a static parameter, so each instance using this "
            "parameter group keeps the old value (pending-reboot) until it is rebooted")
    assert f'- `parameters[0].value`: `"20480"` → `"25600"` ⏳ *{note}*' in render_markdown(diff)
    change = changes_of(json.loads(diff_json(diff)), "us-east-1")["params"]
    assert change["action"] == "update" and change["changes"][0]["note"] == note
    immediate = with_limit("20480")
    immediate.resources[-1].inputs["parameters"][1]["value"] = "0"
    quiet = diff_plans(plan(with_limit("20480")), plan(immediate), base_label="a", head_label="b")
    assert "⏳" not in render_markdown(quiet)


def test_a_stack_lists_only_its_own_regional_config_block() -> None:
    # Each stack reads $regional_config.${region}: another region's block changing is not its change.
    base, head = plan(stack_run()), plan(stack_run())
    for built, shards in ((base, 2), (head, 3)):
        built["stacks"][0]["settings"]["regional_config"] = {
            "us_east_1": {"redis_shards": shards}, "eu_west_1": {"redis_shards": shards}}
    head["stacks"][0]["settings"]["regional_config"]["ap_southeast_1"] = {"redis_shards": 2}
    diff = diff_plans(base, head, base_label="a", head_label="b")
    listed = [change.change.path for change in diff.stacks[0].settings]
    assert listed == ["regional_config.us_east_1.redis_shards"]


def test_a_referenced_setting_is_explained_where_it_is_written() -> None:
    from tusk_infra.tusk import evaluate_text

    text = ('$region: "us-west-2"\n[regional_config]\nus_west_2 {\n    redis_shards: 2\n}\n\n[cache]\n'
            "shards: $regional_config.${region}.redis_shards\n")

    def run(shards: int) -> StackRun:
        source = text.replace("redis_shards: 2", f"redis_shards: {shards}")
        document = evaluate_text(source, filename="global.tsk")
        return StackRun("us-west-2", [], {}, document, [])

    markdown = render_markdown(diff_plans(plan(run(2)), plan(run(3)), base_label="a", head_label="b"))
    assert ("- `cache.shards`: `2` → `3` (global.tsk:4 `3`: `shards` ← "
            "`$regional_config.${region}.redis_shards` "
            "← line 4)") in markdown
