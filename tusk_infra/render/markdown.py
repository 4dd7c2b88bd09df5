"""The diff as one Markdown report for a pull-request comment: a summary table, then each stack's changes."""

from __future__ import annotations

import re
from typing import Any

from tusk_infra.render.diff import (
    ABSENT,
    ACTIONS,
    Action,
    PlanDiff,
    PropertyChange,
    ResourceChange,
    StackDiff,
)
from tusk_infra.render.failover import PlannedFailover, StackStep, planned_failover
from tusk_infra.render.metric_changes import SnapshotDiff, metric_clause
from tusk_infra.render.plan import SettingSource
from tusk_infra.render.traffic import TrafficChange
from tusk_infra.render.values_text import format_value
from tusk_infra.tusk.values import SECRET_MASK

# Past this the stack sections collapse into <details>; GitHub refuses comments over 65,536 characters.
COLLAPSE_OVER = 60_000
COMMENT_LIMIT = 65_000
_ICONS: dict[Action, str] = {"create": "➕ create", "update": "✏️ update", "replace": "🔁 **REPLACE**",
                             "delete": "❌ **DELETE**"}
_KUBERNETES = "kubernetes:"
_STATUS_NOTE = {"created": " (new stack)", "removed": " (**stack removed**)", "unchanged": " (no changes)",
                "changed": ""}


def render_markdown(diff: PlanDiff, *, rerun_hint: str = "tusk-infra diff") -> str:
    """The whole report; stack sections fold into <details> when it would be too long for one comment."""
    head = _header(diff)
    if not diff.changed:
        return head + _no_changes(diff) + _footer(diff)
    summary = head + _summary(diff) + failover_box(diff)
    sections = [stack_section(stack) for stack in diff.stacks if stack.status != "unchanged"]
    footer = _footer(diff)
    report = summary + "".join(f"\n{section}" for section in sections) + footer
    if len(report) <= COLLAPSE_OVER:
        return report
    return _collapsed(summary, diff, COMMENT_LIMIT - len(summary) - len(footer), rerun_hint) + footer


def _header(diff: PlanDiff) -> str:
    return f"## tusk-infra diff\n\n{code(diff.base_label)} → {code(diff.head_label)}\n\n"


def _footer(diff: PlanDiff) -> str:
    """The head's warnings; rendered how, and what could not be compared (secrets that were placeholders)."""
    lines = ["", "---", "<sub>Rendered offline by <code>tusk-infra diff</code> with each revision's own code "
             "(Pulumi mocks: no credentials, no cloud); values only the cloud knows read "
             "<code>(known after deploy)</code>; secrets are compared by a keyed hash and never shown.</sub>"]
    if diff.warnings:
        lines[:0] = ["", "> [!WARNING]", f"> Rendering {code(diff.head_label)} warned:",
                     *(f"> - {_inline(warning)}" for warning in diff.warnings)]
    if diff.notices:
        lines += ["", "<details><summary>Not available offline: a change to these values cannot show here"
                  "</summary>", "", *(f"- {_inline(notice)}" for notice in diff.notices), "", "</details>"]
    return "\n".join(lines) + "\n"


def _no_changes(diff: PlanDiff) -> str:
    names = ", ".join(code(stack.stack) for stack in diff.stacks) or "no stacks"
    return f"**No changes.** Every stack renders the same at both revisions ({names}).\n"


def _summary(diff: PlanDiff) -> str:
    lines = ["| Stack | Create | Update | Replace | Delete | Policy violations |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for stack in diff.stacks:
        counts = " | ".join(_count_cell(stack, action) for action in ACTIONS)
        name = f"{code(stack.stack)}{_STATUS_NOTE[stack.status]}"
        lines.append(f"| {name} | {counts} | {_policy_cell(stack)} |")
    return "\n".join(lines) + "\n" + _removed_alert(diff) + _warning(diff) + traffic_alert(diff.traffic)


def _count_cell(stack: StackDiff, action: Action) -> str:
    if stack.status == "removed":
        return "—"  # the change acts on no resource of a removed stack; the alert says what destroy would do
    count = stack.count(action)
    return f"**{count}**" if count and action in ("replace", "delete") else str(count)


def _policy_cell(stack: StackDiff) -> str:
    if stack.violations is None:
        return "n/a"
    new = f" (**{len(stack.new_findings)} new**)" if stack.new_findings else ""
    return f"{stack.violations}{new}"


def _removed_alert(diff: PlanDiff) -> str:
    # A removed stack file destroys nothing; the stack is orphaned, which a reviewer must still notice.
    lines = [_removed_line(stack, diff.head_label) for stack in diff.stacks if stack.status == "removed"]
    if not lines:
        return ""
    return "\n> [!WARNING]\n" + "\n>\n".join(lines) + "\n"


def _removed_line(stack: StackDiff, head_label: str) -> str:
    stack_file, destroy = code(f"Pulumi.{stack.stack}.yaml"), code(f"pulumi destroy --stack {stack.stack}")
    return (f"> **Stack {code(stack.stack)} is removed from the repository** (no {stack_file} at "
            f"{code(head_label)}). This change deletes none of its {len(stack.orphaned)} resource(s): they "
            f"keep running, orphaned (no longer updated from here), until someone runs {destroy}, which "
            "would delete all of them (listed below).")


def _warning(diff: PlanDiff) -> str:
    deletes = sum(stack.count("delete") for stack in diff.stacks)
    replaces = sum(stack.count("replace") for stack in diff.stacks)
    refused = sum(len(stack.refused_changes) for stack in diff.stacks)
    text = ""
    if deletes or replaces:
        totals = ((deletes, "DELETED"), (replaces, "REPLACED"))
        parts = [f"**{n} resource(s) will be {what}**" for n, what in totals if n]
        text += f"\n> [!CAUTION]\n> {' and '.join(parts)}: {_what_is_lost(diff)} Review them below.\n"
    violations = [(stack.stack, finding) for stack in diff.stacks for finding in stack.new_mandatory]
    if violations:
        policies = ", ".join(sorted({code(str(finding.get("policy", ""))) for _stack, finding in violations}))
        stacks = ", ".join(code(name) for name in dict.fromkeys(name for name, _finding in violations))
        text += (f"\n> [!CAUTION]\n> **{len(violations)} new mandatory policy violation(s)** ({policies}, in "
                 f"{stacks}): the policy pack stops `pulumi up` on them. See \"New policy violations\" "
                 "below.\n")
    if refused:
        text += (f"\n> [!WARNING]\n> **{refused} change(s) will be refused by AWS as written**: "
                 "see ⚠️ below for each and its fix.\n")
    return text


def traffic_alert(changes: tuple[TrafficChange, ...]) -> str:
    """The regions the change takes out of global DNS (or puts back), each with the line that does it."""
    if not changes:
        return ""
    lines = [f"> - **{change.text}**{_traffic_detail(change)}" for change in changes]
    return "\n> [!IMPORTANT]\n> Global traffic (Route 53):\n" + "\n".join(lines) + "\n"


def _traffic_detail(change: TrafficChange) -> str:
    where = f" ({code(change.source)})" if change.source else ""
    if change.action == "drained":
        return (f": `serving: false`{where}; its record is deleted, so DNS sends no users there; its health "
                "check stays")
    return f": `serving: true`{where}; its record is created, tied to its health check"
def failover_box(diff: PlanDiff) -> str:
    """A planned database failover: what moves, and the runbook order the stacks must be deployed in."""
    failover = planned_failover(diff)
    if failover is None:
        return ""
    moves = (f"from {code(failover.old_region)} to {code(failover.new_region)}"
             if failover.old_region and failover.new_region else "to another region")
    lines = [f"> **Planned database failover**: the primary moves {moves}. Deploy in this order:", ">",
             "> 1. **Write freeze.** Stop the app's writes in every region (each keeps writing to the old "
             "primary, its `DB_PRIMARY_HOST`, until its stack is updated; a write the old primary takes "
             "after the promotion is lost) and wait until the new primary's replica lag is 0."]
    lines.append(f"> 2. **Promote:** {_promote_text(failover)}")
    lines.append(f"> 3. **Then the other stacks**, one by one: {_others_text(failover)} Lift the write "
                 "freeze when every stack is updated.")
    return "\n> [!IMPORTANT]\n" + "\n".join(lines) + "\n"


def _promote_text(failover: PlannedFailover) -> str:
    if not failover.promoted:
        return "no stack's database is promoted by this change (no replica loses `replicateSourceDb`)."
    stacks = ", ".join(code(f"pulumi up --stack {step.stack}") for step in failover.promoted)
    return (f"{stacks}. Removing `replicateSourceDb` makes RDS promote the replica in place (an update, same "
            "instance and data); that stack's app then writes to it.")


def _others_text(failover: PlannedFailover) -> str:
    parts = [_other_step(step, failover.new_region) for step in failover.others]
    parts += [f"{code(f'pulumi up --stack {stack}')} (the app's `DB_PRIMARY_HOST` moves to the new primary)"
              for stack in failover.apps_only]
    return ("; ".join(parts) + ".") if parts else "none."


def _other_step(step: StackStep, new_region: str | None) -> str:
    up = code(f"pulumi up --stack {step.stack}")
    primary = code(new_region) if new_region else "the new primary"
    if step.role == "demoted":
        what = f"the former primary is **replaced** by a replica of {primary}"
    else:
        what = f"its replica is **replaced** by one of {primary}"
    name = code(step.instance.name) if step.instance is not None else "its database"
    if step.acknowledged:
        ack = f"acknowledged: {_inline(step.acknowledged)}"
    else:
        ack = (f"**not acknowledged**: add `rds-replacement-acknowledged` for {name} to "
               f"{code(f'Pulumi.{step.stack}.yaml')}")
    return (f"{up} ({what}, and the app's `DB_PRIMARY_HOST` moves; {ack}; snapshot the instance, then "
            "unprotect it and turn off its deletion protection)")


# AWS resources that hold no data of their own either: a DNS record, a health check, an alarm is recreated
# from this configuration as it was.
_CONFIGURATION_ONLY = frozenset({
    "aws:route53/record:Record",
    "aws:route53/healthCheck:HealthCheck",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
})


def _holds_data(resource_type: str) -> bool:
    return not resource_type.startswith(_KUBERNETES) and resource_type not in _CONFIGURATION_ONLY


def _what_is_lost(diff: PlanDiff) -> str:
    """Data loss is said of what keeps data; a Kubernetes object (a ConfigMap, a Service), a DNS record or an
    alarm is recreated from this configuration and holds none of its own."""
    gone = [change for stack in diff.stacks for change in stack.resources
            if change.action in ("delete", "replace")]
    stateful = [change for change in gone if _holds_data(change.type)]
    if all(change.type.startswith(_KUBERNETES) for change in gone):
        return ("all are Kubernetes objects, recreated from this configuration: they hold no data of their "
                "own.")
    if not stateful:
        return ("all are recreated from this configuration (Kubernetes objects, DNS records, health checks, "
                "alarms): they hold no data of their own.")
    if len(stateful) == len(gone):
        return "data in them may be lost."
    types = ", ".join(sorted({code(change.type) for change in stateful}))
    return (f"data in the {len(stateful)} that hold data ({types}) may be lost; the others are recreated "
            "from this configuration (they hold no data of their own).")


def stack_section(stack: StackDiff) -> str:
    """One stack's heading and body."""
    return f"### {code(stack.stack)}{_STATUS_NOTE[stack.status]}\n\n{stack_body(stack)}"


def stack_body(stack: StackDiff) -> str:
    """Settings changes with their global.tsk source, resource changes, new policy violations."""
    if stack.status == "removed":
        return _orphaned_body(stack)
    blocks: list[str] = []
    if stack.settings:
        blocks.append("**Settings from global.tsk**\n\n" + "\n".join(
            f"- {_change_text(s.change)}{_source_text(s.source, s.change.path)}" for s in stack.settings))
    if stack.resources:
        blocks.append("**Resources**\n\n" + "\n".join(_resource_lines(r) for r in stack.resources))
    if stack.new_findings:
        blocks.append("**New policy violations**\n\n" + "\n".join(
            f"- {_finding_text(finding)}" for finding in stack.new_findings))
    if stack.snapshot is not None:
        blocks.append(snapshot_block(stack.snapshot))
    return "\n\n".join(blocks) + "\n"


def snapshot_block(snapshot: SnapshotDiff) -> str:
    """Which setting each moved metric moved, with both values, the comparison and the global.tsk line; a
    metric that moved none says so."""
    pulled = f"{snapshot.pulled_before or '(none)'} → {snapshot.pulled_after or '(none)'}"
    example = " (an **example** snapshot: made-up numbers)" if snapshot.example_after else ""
    lines = [f"**Metric snapshot** {code(snapshot.file)}, pulled {pulled}{example}", ""]
    for metric in snapshot.metrics:
        for move in metric.settings:
            lines.append(f"- {code(move.path)} {_value(move.before)} → {_value(move.after)}: "
                         f"{code(metric.name)} {metric_clause(metric, move)}, {move.location}")
        if not metric.settings:
            lines.append(f"- {code(metric.name)} {metric_clause(metric)}: no effect (no setting changed)")
    if not snapshot.metrics:
        lines.append("- re-pulled with the same values: no effect")
    return "\n".join(lines)


def _orphaned_body(stack: StackDiff) -> str:
    destroy = code(f"pulumi destroy --stack {stack.stack}")
    lines = [f"- {code(resource.type)} {code(resource.name)}" for resource in stack.orphaned]
    return (f"**Nothing here is deleted by this change.** The stack is no longer in the repository; "
            f"{destroy} would delete these {len(stack.orphaned)} resource(s):\n\n" + "\n".join(lines) + "\n")


def _resource_lines(resource: ResourceChange) -> str:
    line = f"- {_ICONS[resource.action]} {code(resource.type)} {code(resource.name)}"
    if resource.replace_reasons:
        line += " — forced by " + ", ".join(code(reason) for reason in resource.replace_reasons)
    if resource.reads_replaced:
        read = ", ".join(code(name) for name in resource.reads_replaced)
        line += (f" — **rollout**: the pods restart, reading the new {read}" if resource.rollout
                 else f" — reads the new {read}")
    details = [f"  - {_created_text(c) if resource.action == 'create' else _change_text(c)}"
               for c in resource.changes]
    return "\n".join([line, *details])


def _change_text(change: PropertyChange) -> str:
    if change.secret:
        text = f"{code(change.path)}: {SECRET_MASK} (changed)"
    else:
        text = f"{code(change.path)}: {_value(change.before)} → {_value(change.after)}"
    if change.replace_reason:
        text += " **(forces replacement)**"
    if change.warning:
        text += f" ⚠️ **{_inline(change.warning)}**"
    if change.note:
        text += f" ⏳ *{_inline(change.note)}*"
    return text


def _created_text(change: PropertyChange) -> str:
    # A new resource's key inputs: there is no "before" worth printing.
    return f"{code(change.path)}: {_value(change.after)}"


def _value(value: Any) -> str:
    return "*(unset)*" if value is ABSENT else code(format_value(value))


def _source_text(source: SettingSource | None, path: str = "") -> str:
    if source is None:
        return ""
    origin = source.get("origin")
    if origin:
        # Where the value is written, and the references that lead there: (global.tsk:34 `2`: `shards` ←
        # `$regional_config.${region}.redis_shards` ← line 34).
        written = origin[-1]
        steps = [code(path.rsplit(".", 1)[-1]), code(_short(source["source"])),
                 *(code(_short(step["source"])) for step in origin[:-1]),
                 f"line {written['location'].split(':')[-2]}"]
        file_line = written["location"].rsplit(":", 1)[0]
        return f" ({file_line} {code(_short(written['source']))}: {' ← '.join(steps)})"
    file_line = source["location"].rsplit(":", 1)[0]
    return f" ({file_line} {code(_short(source['source']))})"


def _short(expression: str) -> str:
    expression = re.sub(r"\s+", " ", expression).strip()
    return expression[:117] + "..." if len(expression) > 120 else expression


def _finding_text(finding: dict[str, Any]) -> str:
    level = finding.get("level", "")
    return f"{code(str(finding.get('policy', '')))} ({level}) on {code(str(finding.get('name', '')))}: " \
        f"{_inline(str(finding.get('message', '')))}"


def _collapsed(summary: str, diff: PlanDiff, budget: int, rerun_hint: str) -> str:
    # Each stack folds into <details>; a body longer than its share of `budget` is cut with a pointer.
    changed = [stack for stack in diff.stacks if stack.status != "unchanged"]
    budget -= 200
    folded: list[str] = []
    for stack in changed:
        body = stack_body(stack)
        share = max(budget // max(len(changed) - len(folded), 1), 0)
        if len(body) > share:
            body = _truncate(body, share, rerun_hint)
        block = f"<details>\n<summary>{_details_summary(stack)}</summary>\n\n{body}\n</details>\n"
        budget -= len(block)
        folded.append(block)
    return summary + "\n" + "\n".join(folded)


def _details_summary(stack: StackDiff) -> str:
    counts = ", ".join(f"{stack.count(a)} to {a}" for a in ("create", "update", "replace", "delete")
                       if stack.count(a))
    if stack.status == "removed":
        counts = f"none deleted by this change; pulumi destroy would delete {len(stack.orphaned)}"
    return f"<b>{_html(stack.stack)}</b>{_html(_STATUS_NOTE[stack.status].replace('**', ''))}: {counts}"


def _truncate(body: str, limit: int, rerun_hint: str) -> str:
    lines, kept, size = body.splitlines(), [], 0
    for line in lines:
        if size + len(line) + 1 > max(limit - 200, 0):
            break
        kept.append(line)
        size += len(line) + 1
    omitted = len(lines) - len(kept)
    note = f"*… {omitted} more line(s) omitted; run {code(rerun_hint)} for all of it.*"
    return "\n".join(kept) + f"\n\n{note}\n"


def code(text: str) -> str:
    """A Markdown code span that survives backticks in `text` and neutralises any Markdown or HTML in it."""
    text = text.replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _inline(text: str) -> str:
    return _html(text.replace("\n", " "))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
