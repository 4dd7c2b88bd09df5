"""`tusk-infra check --format sarif`: SARIF 2.1.0 for code-scanning annotations on the global.tsk lines."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tusk_policy import POLICIES, PolicyDefinition

from tusk_infra import __version__
from tusk_infra.checks.apply import CheckResult
from tusk_infra.checks.findings import Finding
from tusk_infra.checks.paths import display_path
from tusk_infra.checks.snapshot_age import SNAPSHOT_RULE

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# GitHub code scanning ranks security results by this property (a CVSS-like 0-10 score).
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
# The pack's policies, then the check's own rules that read files rather than resources.
_RULES = [*POLICIES, SNAPSHOT_RULE]
_RULE_INDEX = {policy.id: index for index, policy in enumerate(_RULES)}


def _rule(policy: PolicyDefinition) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": list(policy.tags), "enforcement": policy.enforcement.value}
    if "security" in policy.tags:
        properties["security-severity"] = _SECURITY_SEVERITY[policy.severity]
    return {
        "id": policy.id,
        "name": "".join(part.title() for part in policy.id.split("-")),
        "shortDescription": {"text": policy.description},
        "fullDescription": {"text": policy.description},
        "help": {"text": policy.remediation},
        "defaultConfiguration": {"level": "error" if policy.enforcement.value == "mandatory" else "warning"},
        "properties": properties,
    }


def _location(finding: Finding, project_dir: Path) -> dict[str, Any]:
    if finding.source is not None:
        uri = display_path(finding.source.file, project_dir)
        region = {"startLine": finding.source.line, "startColumn": finding.source.column}
    else:
        # Every result needs a place for code scanning to show it; the stack's own file is the closest one.
        uri, region = f"Pulumi.{finding.stack}.yaml", {"startLine": 1}
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}, "region": region},
    }
    if finding.urn:
        location["logicalLocations"] = [
            {"fullyQualifiedName": finding.urn, "name": finding.resource_name, "kind": "resource"}
        ]
    return location


def _result(finding: Finding, project_dir: Path) -> dict[str, Any]:
    fingerprint = hashlib.sha256(
        "|".join((finding.stack, finding.policy, finding.urn, finding.path)).encode()
    )
    result: dict[str, Any] = {
        "ruleId": finding.policy,
        "ruleIndex": _RULE_INDEX[finding.policy],
        "level": "error" if finding.is_mandatory else "warning",
        "message": {"text": f"[{finding.stack}] {finding.message}"},
        "locations": [_location(finding, project_dir)],
        "partialFingerprints": {"tuskInfraFinding/v1": fingerprint.hexdigest()},
        "properties": {"stack": finding.stack, "enforcement": finding.enforcement, "property": finding.path},
    }
    if finding.acknowledged is not None:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": finding.acknowledged}
        ]
    return result


def render_sarif(result: CheckResult, project_dir: Path) -> str:
    """One SARIF run covering every stack checked."""
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tusk-infra",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(policy) for policy in _RULES],
                    }
                },
                "automationDetails": {"id": "tusk-infra-check/" + ",".join(s.stack for s in result.stacks)},
                "results": [_result(finding, project_dir) for finding in result.findings],
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
