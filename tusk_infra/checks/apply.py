"""Applying every policy of the pack to the resources the offline runs registered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tusk_policy import BY_ID, POLICIES, PolicyDefinition, Resource, UnknownValue, Violation
from tusk_policy.kube import stack_of
from tusk_policy.props import show

from tusk_infra.checks.acknowledgements import Acknowledgement, read_acknowledgements
from tusk_infra.checks.config import StackPolicyConfig, stack_policy_config
from tusk_infra.checks.engine_view import policy_resources
from tusk_infra.checks.findings import Finding
from tusk_infra.checks.sources import source_of
from tusk_infra.checks.stack_file import StackPolicySettings, read_stack_settings
from tusk_infra.offline.model import StackRun

CROSS_STACK = "all stacks"


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


@dataclass
class _StackContext:
    """What checking one stack needs: its resources, settings, policy config and acknowledgements."""

    run: StackRun
    settings: StackPolicySettings
    config: StackPolicyConfig
    acknowledgements: list[Acknowledgement]
    resources: list[Resource]
    used: set[int] = field(default_factory=set)


def check_run(run: StackRun, project_dir: Path | None = None) -> list[Finding]:
    """The findings of every policy on one stack run (acknowledgements applied when project_dir is given)."""
    return check_runs([run], project_dir).findings


def check_runs(
    runs: Sequence[StackRun], project_dir: Path | None = None, *, cross_stack: bool = True
) -> CheckResult:
    """Check each stack run; with several runs and cross_stack (the default), also run the policies that span
    regions over all runs together (a primary database's budget counts every region's writers)."""
    checked = [stack_check(run, project_dir) for run in runs]
    # Fresh copies: acknowledging and the notices below change them, and the run keeps its own.
    contexts = [replace(context, used=set()) for context, _ in checked]
    checks = [StackCheck(check.stack, list(check.findings), list(check.notices)) for _, check in checked]
    if cross_stack and len(contexts) > 1:
        checks.append(_check_across(contexts, checks))
    for check in checks:
        check.findings = [_acknowledge(finding, contexts) for finding in check.findings]
    for context, check in zip(contexts, checks, strict=False):
        check.notices.extend(_unused(context))
    return CheckResult(checks)


def stack_check(run: StackRun, project_dir: Path | None = None) -> tuple[_StackContext, StackCheck]:
    """One stack checked on its own (no cross-stack policies, no acknowledgements applied yet), derived once
    per run: a command's runner step (run_stacks' prepare) computes it in the worker that ran the stack."""
    def compute() -> tuple[_StackContext, StackCheck]:
        context = _context(run, project_dir)
        return context, _check_stack(context)

    return run.derive(("policy-check", project_dir), compute)


def _context(run: StackRun, project_dir: Path | None) -> _StackContext:
    if project_dir is not None:
        settings = read_stack_settings(project_dir, run.stack)
    else:
        settings = StackPolicySettings(Path(f"Pulumi.{run.stack}.yaml"))
    config = stack_policy_config(settings, run.settings, BY_ID)
    acknowledgements = read_acknowledgements(settings, BY_ID, config.levels)
    return _StackContext(run, settings, config, acknowledgements, policy_resources(run.resources))


def _check_stack(context: _StackContext) -> StackCheck:
    # The run's warnings and notices (a metric's default, placeholder secrets...) qualify what the policies
    # saw, so they travel along; warnings first, as the run met them (while global.tsk was evaluated).
    check = StackCheck(context.run.stack, [], [*context.run.warnings, *context.run.notices])
    for policy in POLICIES:
        if context.config.levels[policy.id] == "disabled":
            continue
        for resource, violation in _violations(policy, context.resources, context.config, check.notices):
            check.findings.append(_finding(context, policy, resource, violation))
    return check


def _check_across(contexts: list[_StackContext], checks: list[StackCheck]) -> StackCheck:
    """The cross-stack policies over every stack's resources at once; only what no single stack showed."""
    # Limits and levels come from the first stack given (the runner puts the database primary first).
    lead = contexts[0]
    by_stack = {context.run.stack: context for context in contexts}
    resources = [resource for context in contexts for resource in context.resources]
    seen = {(f.policy, f.urn, f.message) for check in checks for f in check.findings}
    check = StackCheck(CROSS_STACK, [])
    for policy in (p for p in POLICIES if p.cross_stack and lead.config.levels[p.id] != "disabled"):
        for resource, violation in _violations(policy, resources, lead.config, check.notices):
            owner = by_stack.get(stack_of(violation.urn or (resource.urn if resource else "")), lead)
            finding = _finding(owner, policy, resource, violation)
            if (finding.policy, finding.urn, finding.message) not in seen:
                check.findings.append(finding)
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
    context: _StackContext, policy: PolicyDefinition, resource: Resource | None, violation: Violation
) -> Finding:
    return Finding(
        stack=context.run.stack,
        policy=policy.id,
        enforcement=context.config.levels[policy.id],
        severity=policy.severity,
        urn=resource.urn if resource is not None else violation.urn,
        resource_name=resource.name if resource is not None else "",
        resource_type=resource.type if resource is not None else "",
        message=violation.message,
        remediation=policy.remediation,
        path=violation.path,
        found=show(violation.value),
        source=source_of(context.run.settings, context.settings, violation.path, violation.value),
    )


def _acknowledge(finding: Finding, contexts: list[_StackContext]) -> Finding:
    """The finding with the reason of the first acknowledgement of its stack that covers it."""
    context = next((c for c in contexts if c.run.stack == finding.stack), None)
    if context is None:
        return finding
    for index, ack in enumerate(context.acknowledgements):
        if ack.covers(finding.policy, finding.resource_name, finding.urn):
            context.used.add(index)
            return replace(finding, acknowledged=ack.reason)
    return finding


def _unused(context: _StackContext) -> list[str]:
    return [
        f"{ack.where}: acknowledgement of {ack.policy} for {ack.resource} matched no violation; "
        "remove it if the violation is fixed"
        for index, ack in enumerate(context.acknowledgements)
        # A change policy's acknowledgement is for `tusk-infra diff`, which sees the change it covers.
        if index not in context.used and not BY_ID[ack.policy].is_change_policy
    ]
