"""Applying every policy of the pack to the resources one offline run registered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tusk_policy import BY_ID, POLICIES, PolicyDefinition, Resource, UnknownValue, Violation
from tusk_policy.props import show

from tusk_infra.checks.acknowledgements import Acknowledgement, read_acknowledgements
from tusk_infra.checks.config import StackPolicyConfig, stack_policy_config
from tusk_infra.checks.engine_view import policy_resources
from tusk_infra.checks.findings import Finding
from tusk_infra.checks.sources import source_of
from tusk_infra.checks.stack_file import StackPolicySettings, read_stack_settings
from tusk_infra.offline.model import StackRun


@dataclass
class StackCheck:
    """One stack's findings, plus notices (values unknown offline, acknowledgements that matched nothing)."""

    stack: str
    findings: list[Finding]
    notices: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    """Every stack checked; `passed` is the verdict `tusk-infra check` exits with."""

    stacks: list[StackCheck]

    @property
    def findings(self) -> list[Finding]:
        return [finding for stack in self.stacks for finding in stack.findings]

    @property
    def passed(self) -> bool:
        return not any(finding.blocking for finding in self.findings)


def check_run(run: StackRun, project_dir: Path | None = None) -> list[Finding]:
    """The findings of every policy on one stack run (acknowledgements applied when project_dir is given)."""
    return _check_stack(run, project_dir).findings


def check_runs(runs: Sequence[StackRun], project_dir: Path | None = None) -> CheckResult:
    """Check several stack runs; positioned TuskErrors for malformed policy settings propagate."""
    return CheckResult([_check_stack(run, project_dir) for run in runs])


def _check_stack(run: StackRun, project_dir: Path | None) -> StackCheck:
    settings = (
        read_stack_settings(project_dir, run.stack)
        if project_dir is not None
        else StackPolicySettings(Path(f"Pulumi.{run.stack}.yaml"))
    )
    config = stack_policy_config(settings, run.settings, BY_ID)
    acknowledgements = read_acknowledgements(settings, BY_ID, config.levels)
    resources = policy_resources(run.resources)
    # The run's own notices (placeholder secrets, ...) qualify what the policies saw, so they travel along.
    check = StackCheck(run.stack, [], list(run.notices))
    for policy in POLICIES:
        if config.levels[policy.id] == "disabled":
            continue
        for resource, violation in _violations(policy, resources, config, check.notices):
            check.findings.append(_finding(run, settings, policy, config, resource, violation))
    check.findings = _acknowledge(check.findings, acknowledgements, check.notices)
    return check


def _violations(
    policy: PolicyDefinition, resources: list[Resource], config: StackPolicyConfig, notices: list[str]
) -> list[tuple[Resource | None, Violation]]:
    properties = config.properties.get(policy.id, {})
    if policy.is_stack_policy:
        by_urn = {r.urn: r for r in resources}
        try:
            return [(by_urn.get(v.urn), v) for v in policy.check_stack(resources, properties)]
        except UnknownValue as unknown:
            notices.append(f"{policy.id}: not checked: {unknown}")
            return []
    found: list[tuple[Resource | None, Violation]] = []
    for resource in resources:
        try:
            found.extend((resource, v) for v in policy.check_resource(resource, properties))
        except UnknownValue as unknown:
            # The same outcome as CrossGuard during a preview: an advisory note, not a pass or a failure.
            notices.append(f"{policy.id}: {resource.name} not checked: {unknown}")
    return found


def _finding(
    run: StackRun,
    settings: StackPolicySettings,
    policy: PolicyDefinition,
    config: StackPolicyConfig,
    resource: Resource | None,
    violation: Violation,
) -> Finding:
    return Finding(
        stack=run.stack,
        policy=policy.id,
        enforcement=config.levels[policy.id],
        severity=policy.severity,
        urn=resource.urn if resource is not None else violation.urn,
        resource_name=resource.name if resource is not None else "",
        resource_type=resource.type if resource is not None else "",
        message=violation.message,
        remediation=policy.remediation,
        path=violation.path,
        found=show(violation.value),
        source=source_of(run.settings, settings, violation.path, violation.value),
    )


def _acknowledge(
    findings: list[Finding], acknowledgements: list[Acknowledgement], notices: list[str]
) -> list[Finding]:
    used: set[int] = set()
    result = []
    for finding in findings:
        match = next(
            (
                i
                for i, ack in enumerate(acknowledgements)
                if ack.covers(finding.policy, finding.resource_name, finding.urn)
            ),
            None,
        )
        if match is None:
            result.append(finding)
            continue
        used.add(match)
        result.append(replace(finding, acknowledged=acknowledgements[match].reason))
    for index, ack in enumerate(acknowledgements):
        if index not in used:
            notices.append(
                f"{ack.where}: acknowledgement of {ack.policy} for {ack.resource} matched no violation; "
                "remove it if the violation is fixed"
            )
    return result
