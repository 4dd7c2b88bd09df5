"""The plan as a tree, stack -> component -> resources with their key inputs, through rich."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from tusk_infra.offline.model import StackRun
from tusk_infra.render.key_inputs import key_inputs
from tusk_infra.render.plain import UNKNOWN_MARK
from tusk_infra.render.plan import (
    READ_TYPES,
    Plan,
    ResourcePlan,
    SettingSource,
    StackPlan,
    build_stack_plan,
    merged_notices,
    merged_warnings,
)
from tusk_infra.render.traffic import drained_lines
from tusk_infra.render.values_text import format_value
from tusk_infra.tusk.values import SECRET_MASK

STACK_TYPE = "pulumi:pulumi:Stack"
# An alarm's tag naming the global.tsk setting its threshold comes from (tusk_infra/components/alerting.py).
THRESHOLD_TAG = "tusk-infra.dev/threshold"
# Wide enough that a plain-text preview never wraps a line, so goldens and `grep` see whole lines.
PLAIN_WIDTH = 10_000


def render_text(
    plan: Plan, *, terminal: Console | None = None, trees: Mapping[str, list[str] | None] | None = None
) -> str:
    """The whole preview as text: ANSI colours when `terminal` is a TTY console, plain text otherwise.
    `trees`: each stack's plain tree lines already drawn (run_tree_lines), by stack name."""
    console = _capture_console(terminal)
    if console is not terminal:
        plain = _plain_text(plan, trees or {})
        if plain is not None:
            return plain
    with console.capture() as captured:
        for stack in plan["stacks"]:
            console.print(stack_tree(stack))
            for drained in drained_lines(stack):
                console.print(Text(drained, style="bold yellow"))
            for line in policy_lines(stack):
                console.print(line)
            console.print()
        for line in [*warning_lines(plan), *notice_lines(plan)]:
            console.print(line)
    return captured.get()


def stack_tree(stack: StackPlan) -> Tree:
    """One stack's resources nested under their parents; siblings ordered by type then name."""
    resources = [r for r in stack["resources"] if r["type"] != STACK_TYPE]
    known = {r["urn"] for r in resources}
    children: dict[str | None, list[ResourcePlan]] = defaultdict(list)
    for resource in resources:
        parent = resource["parent"] if resource["parent"] in known else None
        children[parent].append(resource)
    creates = sum(1 for resource in resources if resource["type"] not in READ_TYPES)
    label = Text.assemble(
        ("stack ", "bold"), (stack["stack"], "bold cyan"), (f"  {creates} to create", "green")
    )
    tree = Tree(label, guide_style="dim")
    _add_children(tree, None, children, stack.get("provenance", {}))
    return tree


def _add_children(
    node: Tree,
    parent: str | None,
    children: dict[str | None, list[ResourcePlan]],
    provenance: dict[str, SettingSource],
) -> None:
    for resource in sorted(children.get(parent, []), key=lambda r: (r["type"], r["name"])):
        branch = node.add(resource_label(resource))
        for path, value in key_inputs(resource["type"], resource["inputs"]):
            add_value(branch, path, value)
            if path == "threshold":
                _add_threshold_source(branch, resource, provenance)
        _add_children(branch, resource["urn"], children, provenance)


def _add_threshold_source(node: Tree, resource: ResourcePlan, provenance: dict[str, SettingSource]) -> None:
    """Where an alarm's threshold is set in global.tsk, when its tag names the setting."""
    tags = resource["inputs"].get("tags")
    setting = tags.get(THRESHOLD_TAG) if isinstance(tags, dict) else None
    source = provenance.get(setting) if isinstance(setting, str) else None
    if source is not None:
        node.add(Text.assemble(("threshold set at: ", "dim"), f"{source['location']} {setting}"))


def add_value(node: Tree, label: str, value: Any) -> None:
    """`label: value`; a mapping becomes a branch with one line per key, so long objects stay readable."""
    if isinstance(value, dict) and value:
        branch = node.add(Text(f"{label}:", style="dim"))
        for key, item in value.items():
            add_value(branch, key, item)
        return
    node.add(Text.assemble((f"{label}: ", "dim"), value_text(value)))


def resource_label(resource: ResourcePlan) -> Text:
    """`+ type  name` (`> ` for a read), components in bold."""
    style = "" if resource["custom"] else "bold"
    marker = ("> ", "blue") if resource["type"] in READ_TYPES else ("+ ", "green")
    return Text.assemble(marker, (resource["type"], style), "  ", (resource["name"], "cyan"))


def value_text(value: Any) -> Text:
    """A value coloured by what it is: secrets yellow, values only the cloud knows dimmed."""
    if value == SECRET_MASK:
        return Text(SECRET_MASK, style="yellow")
    if value == UNKNOWN_MARK:
        return Text(UNKNOWN_MARK, style="dim italic")
    return Text(format_value(value))


def policy_lines(stack: StackPlan) -> list[Text]:
    """The stack's policy results, when the policy pack ran; acknowledged ones listed with their reason."""
    findings = stack.get("policy")
    if findings is None:
        return []
    open_findings = [finding for finding in findings if not finding.get("acknowledged")]
    if open_findings:
        lines = [Text(f"policy: {len(open_findings)} violation(s)", style="bold red")]
    else:
        lines = [Text("policy: no violations", style="green")]
    for finding in findings:
        lines.append(Text(f"  {_finding_line(finding)}", style=_finding_style(finding)))
    return lines


def warning_lines(plan: Plan) -> list[Text]:
    """Each distinct warning once (a secret stored in plain text...), named with its stacks unless all have
    it."""
    warnings = merged_warnings(plan)
    if not warnings:
        return []
    return [Text("warnings:", style="bold yellow"),
            *(Text(f"  - {warning}", style="yellow") for warning in warnings)]


def notice_lines(plan: Plan) -> list[Text]:
    """Each distinct placeholder notice once, however many stacks raised it; named with its stacks unless all
    have it."""
    notices = merged_notices(plan)
    if not notices:
        return []
    heading = "notice: rendered with placeholders where a value is not available offline:"
    lines = [Text(heading, style="yellow")]
    lines.extend(Text(f"  - {notice}", style="yellow") for notice in notices)
    return lines


def _finding_line(finding: dict[str, Any]) -> str:
    where = f" ({finding['source']})" if finding.get("source") else ""
    acknowledged = f" [acknowledged: {finding['acknowledged']}]" if finding.get("acknowledged") else ""
    return f"[{finding.get('level', '')}] {finding.get('policy', '')} {finding.get('name', '')}: " \
        f"{finding.get('message', '')}{where}{acknowledged}"


def _finding_style(finding: dict[str, Any]) -> str:
    if finding.get("acknowledged"):
        return "dim"
    return "red" if finding.get("level") == "mandatory" else "yellow"


# rich's tree guides, as it draws them on a console that can show Unicode.
_BRANCH, _LAST, _PASS, _SPACE = "├── ", "└── ", "│   ", "    "
# Text rich would not print as is (tabs expanded, line breaks given guides, control characters dropped).
_NOT_PLAIN = frozenset("\t\n\r\x0b\x0c\x1b")


def _plain_text(plan: Plan, trees: Mapping[str, list[str] | None] | None = None) -> str | None:
    """What rich prints for the same trees and lines on the plain console, without its layout engine (for a
    30-region preview it took a quarter of the run): one line per label, rich's guides before it. None when a
    label holds text rich would rewrite (a tab, a line break, a control character): then rich renders it."""
    lines: list[str] = []
    for stack in plan["stacks"]:
        name = stack["stack"]
        tree = trees[name] if trees and name in trees else plain_tree_lines(stack)
        if tree is None:
            return None
        lines.extend(tree)
        lines.extend(drained_lines(stack))
        lines.extend(text.plain for text in policy_lines(stack))
        lines.append("")
    lines.extend(text.plain for text in [*warning_lines(plan), *notice_lines(plan)])
    if any(_NOT_PLAIN.intersection(line) for line in lines):
        return None
    return "".join(f"{line}\n" for line in lines)


def plain_tree_lines(stack: StackPlan) -> list[str] | None:
    """A stack's tree as plain lines (None when rich must draw it: see _plain_text)."""
    lines: list[str] = []
    return lines if _add_tree_lines(lines, stack_tree(stack)) else None


def run_tree_lines(run: StackRun, project_dir: Path) -> list[str] | None:
    """plain_tree_lines of a run's stack plan, derived once per run: a preview's runner step draws them in
    the worker that ran the stack. The tree shows resources and where settings come from, never findings or
    secret digests, so the plan without them draws the same tree."""
    return run.derive(("plain-tree", project_dir),
                      lambda: plain_tree_lines(build_stack_plan(run, project_dir)))


def _add_tree_lines(lines: list[str], tree: Tree) -> bool:
    """The tree's lines (root label first, then each child under its guides); False for a label rich shows
    differently (not a Text, or collapsed)."""

    def walk(node: Tree, prefix: str) -> bool:
        last_index = len(node.children) - 1
        for index, child in enumerate(node.children):
            if not isinstance(child.label, Text) or not child.expanded or child.hide_root:
                return False
            last = index == last_index
            lines.append(f"{prefix}{_LAST if last else _BRANCH}{child.label.plain}")
            if not walk(child, prefix + (_SPACE if last else _PASS)):
                return False
        return True

    if not isinstance(tree.label, Text) or tree.hide_root:
        return False
    lines.append(tree.label.plain)
    return walk(tree, "")


def _capture_console(terminal: Console | None) -> Console:
    if terminal is not None and terminal.is_terminal:
        return terminal
    return Console(file=io.StringIO(), force_terminal=False, no_color=True, color_system=None,
                   width=PLAIN_WIDTH, highlight=False, emoji=False, markup=False)
