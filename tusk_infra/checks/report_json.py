"""`tusk-infra check --format json`: every finding, per stack, with the verdict; stable key order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tusk_infra.checks.apply import CheckResult
from tusk_infra.checks.findings import Finding
from tusk_infra.checks.paths import display_path


def finding_json(finding: Finding, project_dir: Path) -> dict[str, Any]:
    """One finding as a JSON object (the preview and diff reports embed the same shape)."""
    source = None
    if finding.source is not None:
        source = {
            "file": display_path(finding.source.file, project_dir),
            "line": finding.source.line,
            "column": finding.source.column,
            "text": finding.source.text,
            "key": finding.source.key,
        }
    return {
        "policy": finding.policy,
        "enforcement": finding.enforcement,
        "severity": finding.severity,
        "urn": finding.urn,
        "resource": finding.resource_name,
        "type": finding.resource_type,
        "message": finding.message,
        "remediation": finding.remediation,
        "property": finding.path,
        "found": finding.found,
        "source": source,
        "acknowledged": finding.acknowledged,
        "blocking": finding.blocking,
    }


def render_json(result: CheckResult, project_dir: Path) -> str:
    """The report as indented JSON."""
    document = {
        "passed": result.passed,
        "stacks": [
            {
                "stack": stack.stack,
                "findings": [finding_json(f, project_dir) for f in stack.findings],
                "notices": list(stack.notices),
            }
            for stack in result.stacks
        ],
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
