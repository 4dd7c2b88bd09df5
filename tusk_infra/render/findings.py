"""The policy pack's offline findings as plan data, so the preview and the diff show them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tusk_infra.offline.model import StackRun
from tusk_infra.render.plan import Plan

if TYPE_CHECKING:
    from tusk_infra.checks import Finding


def policy_findings(runs: Sequence[StackRun], project_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every policy's findings per stack (acknowledged ones included, with their reason)."""
    # Imported when used: the checks load the whole policy pack, which building the CLI must not pay for.
    from tusk_infra.checks import check_runs

    result = check_runs(runs, project_dir)
    # Grouped by the stack that owns the resource, so a cross-stack finding (the primary database's budget
    # overflowing with every region's writers) shows under the stack whose resource it names.
    grouped: dict[str, list[dict[str, Any]]] = {run.stack: [] for run in runs}
    for finding in result.findings:
        grouped.setdefault(finding.stack, []).append(finding_data(finding, project_dir))
    return grouped


def finding_data(finding: Finding, project_dir: Path) -> dict[str, Any]:
    """One finding as plan data; its source file relative to the project, so two checkouts compare equal."""
    return {
        "policy": finding.policy,
        "level": finding.enforcement,
        "severity": finding.severity,
        "urn": finding.urn,
        "name": finding.resource_name,
        "type": finding.resource_type,
        "path": finding.path,
        "found": finding.found,
        "message": finding.message,
        "remediation": finding.remediation,
        "source": _source_position(finding, project_dir),
        "acknowledged": finding.acknowledged,
    }


def _source_position(finding: Finding, project_dir: Path) -> str | None:
    if finding.source is None:
        return None
    file = Path(finding.source.file)
    root = project_dir.resolve()
    if file.is_absolute() and file.resolve().is_relative_to(root):
        file = file.resolve().relative_to(root)
    return f"{file.as_posix()}:{finding.source.line}:{finding.source.column}"


def attach_change_policies(plan: Plan, runs: Sequence[StackRun], project_dir: Path) -> Plan:
    """The plan with each stack's change-policy settings (level, acknowledgements), where the stack has any:
    the diff applies them to the replacements and deletions it finds (checks/changes.py)."""
    from tusk_infra.checks.changes import change_policy_settings

    by_stack = {run.stack: change_policy_settings(run, project_dir) for run in runs}
    for stack in plan["stacks"]:
        settings = by_stack.get(stack["stack"])
        if settings:
            stack["changePolicies"] = settings
    return plan
