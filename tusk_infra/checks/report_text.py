"""`tusk-infra check` as text: by stack, then resource; each finding with its fix and its source line."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

from tusk_infra.checks.apply import CROSS_STACK, CheckResult, StackCheck
from tusk_infra.checks.findings import Finding
from tusk_infra.checks.paths import display_path


def render_text(result: CheckResult, project_dir: Path) -> str:
    """The whole report, ending with a one-line verdict."""
    blocks = [_stack_block(stack, project_dir) for stack in result.stacks]
    notes = _notes(result)
    return "\n\n".join(blocks + ([notes] if notes else []) + [_summary(result)]) + "\n"


def _stack_block(stack: StackCheck, project_dir: Path) -> str:
    title = "across all stacks" if stack.stack == CROSS_STACK else f"stack {stack.stack}"
    lines = [f"{title}: {_counts(stack.findings)}"]
    ordered = sorted(stack.findings, key=lambda f: (f.resource_type, f.resource_name, f.urn))
    for (_, name, _urn), findings in groupby(
        ordered, key=lambda f: (f.resource_type, f.resource_name, f.urn)
    ):
        group = list(findings)
        label = f"{group[0].resource_type} {name}" if name else "(stack)"
        lines.append(f"  {label}")
        lines.extend(line for finding in group for line in _finding_lines(finding, project_dir))
    return "\n".join(lines)


def _notes(result: CheckResult) -> str:
    """Each distinct notice once, however many stacks raised it; named with its stacks unless all did."""
    raised: dict[str, list[str]] = {}
    for stack in result.stacks:
        for notice in stack.notices:
            raised.setdefault(notice, []).append(stack.stack)
    every = [stack.stack for stack in result.stacks if stack.stack != CROSS_STACK]
    lines = []
    for notice, stacks in raised.items():
        named = len(every) > 1 and not set(every) <= set(stacks)
        lines.append(f"  - {notice}" + (f" ({', '.join(stacks)})" if named else ""))
    return "\n".join(["notes:", *lines]) if lines else ""


def _finding_lines(finding: Finding, project_dir: Path) -> list[str]:
    mark = "acknowledged" if finding.acknowledged is not None else finding.enforcement
    lines = [f"    [{mark}] {finding.policy}: {finding.message}", f"      fix: {finding.remediation}"]
    if finding.source is not None:
        where = display_path(finding.source.file, project_dir)
        source = finding.source
        lines.append(f"      from: {where}:{source.line}:{source.column}  {source.key} = {source.text}")
    if finding.acknowledged is not None:
        lines.append(f"      acknowledged ({finding.enforcement}): {finding.acknowledged}")
    return lines


def _counts(findings: list[Finding]) -> str:
    blocking = sum(f.blocking for f in findings)
    advisory = sum(not f.is_mandatory and f.acknowledged is None for f in findings)
    acknowledged = sum(f.acknowledged is not None for f in findings)
    if not findings:
        return "every policy passed"
    return f"{blocking} mandatory, {advisory} advisory, {acknowledged} acknowledged"


def _summary(result: CheckResult) -> str:
    verdict = "passed" if result.passed else "FAILED"
    failing = sorted({f.policy for f in result.findings if f.blocking})
    why = f" (mandatory: {', '.join(failing)})" if failing else ""
    stacks = sum(stack.stack != CROSS_STACK for stack in result.stacks)
    return f"policy check {verdict}: {stacks} stack(s), {_counts(result.findings)}{why}"
