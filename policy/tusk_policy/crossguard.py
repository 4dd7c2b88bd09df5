"""The CrossGuard face of the pack: each pure policy wrapped as a pulumi_policy validation policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from tusk_policy.model import PolicyDefinition, Resource, Violation
from tusk_policy.props import UnknownValue


def render(violation: Violation, policy: PolicyDefinition) -> str:
    """The violation message as the Pulumi CLI shows it, with the fix underneath."""
    return f"{violation.message}\nRemediation: {policy.remediation}"


def _resource(engine_view: ResourceValidationArgs | PolicyResource) -> Resource:
    """The pure validators' view of a resource, from either shape the engine passes (same attribute names)."""
    provider = engine_view.provider
    return Resource(
        type=engine_view.resource_type,
        props=engine_view.props,
        urn=engine_view.urn,
        name=engine_view.name,
        provider_type=provider.resource_type if provider is not None else None,
        provider_props=provider.props if provider is not None else None,
    )


def _as_engine_unknown(error: UnknownValue) -> UnknownValueError:
    # The engine reports its own UnknownValueError as "can't run policy during preview" (advisory).
    return UnknownValueError(UNKNOWN_STRING_VALUE, error.path.split("."))


def resource_policy(policy: PolicyDefinition) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy running the pure resource validator."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not policy.applies_to(args.resource_type):
            return
        try:
            violations = policy.check_resource(_resource(args), args.get_config())
        except UnknownValue as error:
            raise _as_engine_unknown(error) from error
        for violation in violations:
            report_violation(render(violation, policy), None)

    return ResourceValidationPolicy(validate=validate, **_metadata(policy))


def stack_policy(policy: PolicyDefinition) -> StackValidationPolicy:
    """A StackValidationPolicy running the pure stack validator over every resource of the stack."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [_resource(r) for r in args.resources]
        try:
            violations = policy.check_stack(resources, args.get_config())
        except UnknownValue as error:
            raise _as_engine_unknown(error) from error
        for violation in violations:
            report_violation(render(violation, policy), violation.urn or None)

    return StackValidationPolicy(validate=validate, **_metadata(policy))


def _metadata(policy: PolicyDefinition) -> dict[str, Any]:
    return {
        "name": policy.id,
        "description": policy.description,
        "enforcement_level": EnforcementLevel(policy.enforcement.value),
        "config_schema": PolicyConfigSchema(properties=_schema_properties(policy.config_schema)),
        "severity": Severity(policy.severity),
        "remediation_steps": policy.remediation,
        "tags": list(policy.tags),
    }


def _schema_properties(schema: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key: dict(value) for key, value in schema.items()}


def crossguard_policies(
    policies: tuple[PolicyDefinition, ...],
) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """Every policy wrapped for the pack, in catalogue order; change policies stay out (the engine hands a
    policy one state, and they judge a change between two: `tusk-infra diff` runs them)."""
    return [stack_policy(p) if p.is_stack_policy else resource_policy(p)
            for p in policies if not p.is_change_policy]
