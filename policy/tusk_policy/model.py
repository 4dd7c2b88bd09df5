"""What every policy shares: a resource as CrossGuard passes it, a violation, and a policy's definition."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Config = Mapping[str, Any]


class Enforcement(StrEnum):
    """What a violation does: mandatory ones fail the preview (and `tusk-infra check`), advisory ones warn."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"


@dataclass(frozen=True)
class Resource:
    """One resource as the engine passes it to a policy: its type token and camelCase input properties."""

    type: str
    props: Mapping[str, Any]
    urn: str = ""
    name: str = ""
    # The explicit provider the resource is created with (CrossGuard's `args.provider`), when there is one.
    provider_type: str | None = None
    provider_props: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Violation:
    """One broken rule: the message says what is wrong, the value found, the limit and how to fix it."""

    message: str
    # The offending property, as a dotted path into the resource's inputs ("spec.maxReplicas").
    path: str = ""
    # The value found there (for tracing it back to the configuration line that produced it).
    value: object = None
    # Stack policies name the resource they blame; resource policies leave it to the caller.
    urn: str = ""


@dataclass(frozen=True)
class PlannedChange:
    """What a change between two revisions does to one resource, as `tusk-infra diff` sees it: CrossGuard
    sees one state only, so the policies that judge a change run in the diff."""

    action: str  # "replace" or "delete" (the changes that can lose data)
    # The resource at the head revision (for a deletion: as it was at the base).
    resource: Resource
    # Its input properties at the base revision.
    before: Mapping[str, Any]
    # The properties that force a replacement, as the diff names them ("replicateSourceDb").
    reasons: tuple[str, ...] = ()


ResourceValidator = Callable[[Resource, Config], Iterable[Violation]]
StackValidator = Callable[[Sequence[Resource], Config], Iterable[Violation]]
ChangeValidator = Callable[[PlannedChange, Config], Iterable[Violation]]


@dataclass(frozen=True)
class PolicyDefinition:
    """One policy: identity, enforcement, remediation, a JSON schema for its limits, one pure validator."""

    id: str
    description: str
    enforcement: Enforcement
    severity: str
    remediation: str
    # JSON schema `properties` of the policy's configuration; every property carries its default.
    config_schema: Mapping[str, Mapping[str, Any]]
    # The type tokens a resource policy applies to; empty means every type.
    resource_types: frozenset[str] = frozenset()
    validate_resource: ResourceValidator | None = None
    validate_stack: StackValidator | None = None
    # A change policy judges what a change does (replace, delete), so it needs both revisions: it runs in
    # `tusk-infra diff`, not in the CrossGuard pack (whose engine refuses to replace a protected resource).
    validate_change: ChangeValidator | None = None
    tags: tuple[str, ...] = field(default=())
    # A stack policy that also holds over several stacks together (`tusk-infra check --cross-stack`).
    cross_stack: bool = False

    @property
    def is_stack_policy(self) -> bool:
        """True for policies that look at the whole stack at once."""
        return self.validate_stack is not None

    @property
    def is_change_policy(self) -> bool:
        """True for policies that judge a planned change (both revisions) rather than one state."""
        return self.validate_change is not None

    def defaults(self) -> dict[str, Any]:
        """The configuration the policy uses when nobody overrides it."""
        return {key: schema["default"] for key, schema in self.config_schema.items() if "default" in schema}

    def resolve_config(self, overrides: Config | None) -> dict[str, Any]:
        """Defaults overlaid with the given config (CrossGuard's or the stack's); unknown keys dropped."""
        config = self.defaults()
        for key, value in (overrides or {}).items():
            if key in self.config_schema:
                config[key] = value
        return config

    def applies_to(self, resource_type: str) -> bool:
        """Whether this resource policy looks at resources of this type."""
        return not self.resource_types or resource_type in self.resource_types

    def check_resource(self, resource: Resource, overrides: Config | None = None) -> list[Violation]:
        """Run the resource validator on one resource (no violations when the type is not ours)."""
        if self.validate_resource is None or not self.applies_to(resource.type):
            return []
        return list(self.validate_resource(resource, self.resolve_config(overrides)))

    def check_stack(self, resources: Sequence[Resource], overrides: Config | None = None) -> list[Violation]:
        """Run the stack validator over every resource of one stack."""
        if self.validate_stack is None:
            return []
        return list(self.validate_stack(resources, self.resolve_config(overrides)))

    def check_change(self, change: PlannedChange, overrides: Config | None = None) -> list[Violation]:
        """Run the change validator on one planned replacement or deletion (none for other types)."""
        if self.validate_change is None or not self.applies_to(change.resource.type):
            return []
        return list(self.validate_change(change, self.resolve_config(overrides)))
