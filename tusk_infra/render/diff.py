"""The diff engine: what changes between two plans, by stack, by resource, property by property."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tusk_infra.render.apply_timing import change_note
from tusk_infra.render.key_inputs import key_inputs, parse_path
from tusk_infra.render.plain import UNKNOWN_MARK, Path, format_path
from tusk_infra.render.plan import (
    READ_TYPES,
    Plan,
    ResourcePlan,
    SettingSource,
    StackPlan,
    merged_notices,
    merged_warnings,
)
from tusk_infra.render.replacements import replace_reason
from tusk_infra.render.upgrade_warnings import change_warning
from tusk_infra.tusk.values import SECRET_MASK

Action = Literal["create", "update", "replace", "delete"]
# "removed": the stack file is gone at head. That deletes nothing: the stack lives on until `pulumi destroy`.
StackStatus = Literal["created", "removed", "changed", "unchanged"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete")
# global.tsk's section of per-region blocks; each stack reads only its own block.
REGIONAL_CONFIG = "regional_config"


class Absent:
    """A property one side does not have (added or removed), distinct from an explicit null."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()


@dataclass(frozen=True)
class PropertyChange:
    """One leaf that differs, `before -> after`; `secret`: both sides are secret and the value changed;
    `warning`: why the cloud will refuse the change as written (see upgrade_warnings)."""

    path: str
    before: Any
    after: Any
    secret: bool = False
    replace_reason: str | None = None
    warning: str | None = None
    # How the change takes effect when not at once (a static RDS parameter: at the next reboot).
    note: str | None = None


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    name: str
    action: Action
    changes: tuple[PropertyChange, ...] = ()

    @property
    def replace_reasons(self) -> tuple[str, ...]:
        """The replace-on-change properties that force a replacement, each once."""
        return tuple(dict.fromkeys(c.replace_reason for c in self.changes if c.replace_reason))


@dataclass(frozen=True)
class SettingChange:
    """A settings value from global.tsk that differs, with the expression that now produces it."""

    change: PropertyChange
    source: SettingSource | None


@dataclass(frozen=True)
class StackDiff:
    stack: str
    status: StackStatus
    resources: tuple[ResourceChange, ...] = ()
    settings: tuple[SettingChange, ...] = ()
    # A removed stack's resources: the change deletes none of them; `pulumi destroy` on the stack would.
    orphaned: tuple[ResourceChange, ...] = ()
    # Policy violations at head (None: the head's program has no policy results) and those new since base.
    violations: int | None = None
    new_findings: tuple[dict[str, Any], ...] = ()

    def count(self, action: Action) -> int:
        """How many resources get `action`."""
        return sum(1 for change in self.resources if change.action == action)

    @property
    def new_mandatory(self) -> tuple[dict[str, Any], ...]:
        """The new violations of mandatory policies: the policy pack would stop `pulumi up` on them."""
        return tuple(finding for finding in self.new_findings if finding.get("level") == "mandatory")

    @property
    def refused_changes(self) -> tuple[PropertyChange, ...]:
        """The property changes the cloud will refuse as written (each has its `warning`)."""
        return tuple(change for resource in self.resources for change in resource.changes if change.warning)


@dataclass(frozen=True)
class PlanDiff:
    base_label: str
    head_label: str
    stacks: tuple[StackDiff, ...] = field(default=())
    # What the renders could not know offline (placeholder secrets): a change there cannot show.
    notices: tuple[str, ...] = ()
    # What the head revision warned of (a secret stored in plain text...): not an offline limitation.
    warnings: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether any stack differs at all."""
        return any(stack.status != "unchanged" for stack in self.stacks)


def diff_plans(base: Plan, head: Plan, *, base_label: str, head_label: str) -> PlanDiff:
    """Compare every stack of two plans; a stack only at head is all-create, one only at base is removed."""
    base_stacks = {stack["stack"]: stack for stack in base["stacks"]}
    head_stacks = {stack["stack"]: stack for stack in head["stacks"]}
    # Head's order (primary first), then stacks that only the base had.
    names = [*head_stacks, *(name for name in base_stacks if name not in head_stacks)]
    stacks = tuple(diff_stack(name, base_stacks.get(name), head_stacks.get(name)) for name in names)
    notices = merged_notices(base, head)
    # The head's warnings only: one the change fixes is no longer true, one it brings in is.
    warnings = merged_warnings(head)
    return PlanDiff(base_label=base_label, head_label=head_label, stacks=stacks, notices=notices,
                    warnings=warnings)


def diff_stack(name: str, base: StackPlan | None, head: StackPlan | None) -> StackDiff:
    """One stack's resource and settings changes and its policy results."""
    if head is None and base is not None:
        return StackDiff(stack=name, status="removed", orphaned=tuple(_orphaned(base)))
    empty: StackPlan = {"stack": name, "resources": [], "settings": {}, "provenance": {}}
    before, after = base or empty, head or empty
    resources = tuple(_resource_changes(before, after))
    settings = tuple(_setting_changes(before, after, name)) if base and head else ()
    status: StackStatus = "created" if base is None else "changed" if resources or settings else "unchanged"
    findings = _open_findings(after.get("policy"))
    return StackDiff(
        stack=name,
        status=status,
        resources=resources,
        settings=settings,
        violations=None if findings is None else len(findings),
        new_findings=tuple(_new_findings(_open_findings(before.get("policy")) or [], findings or [])),
    )


def _resource_changes(base: StackPlan, head: StackPlan) -> Iterator[ResourceChange]:
    before = {r["urn"]: r for r in base["resources"]}
    after = {r["urn"]: r for r in head["resources"]}
    for urn, resource in after.items():
        if urn not in before:
            if resource["type"] in READ_TYPES:
                continue  # a new stack reference is read, not created: nothing to review
            yield ResourceChange(urn, resource["type"], resource["name"], "create", _created_inputs(resource))
            continue
        changes = tuple(_resource_property_changes(before[urn], resource, base, head))
        if changes:
            action: Action = "replace" if any(c.replace_reason for c in changes) else "update"
            yield ResourceChange(urn, resource["type"], resource["name"], action, changes)
    for urn, resource in before.items():
        if urn not in after and resource["type"] not in READ_TYPES:
            yield ResourceChange(urn, resource["type"], resource["name"], "delete")


def _orphaned(base: StackPlan) -> Iterator[ResourceChange]:
    # What `pulumi destroy` would delete: every resource it manages (a stack reference is only read).
    for resource in base["resources"]:
        if resource["type"] not in READ_TYPES:
            yield ResourceChange(resource["urn"], resource["type"], resource["name"], "delete")


def _created_inputs(resource: ResourcePlan) -> tuple[PropertyChange, ...]:
    return tuple(
        PropertyChange(format_path(parse_path(path)), ABSENT, value)
        for path, value in key_inputs(resource["type"], resource["inputs"])
    )


def _resource_property_changes(
    before: ResourcePlan, after: ResourcePlan, base: StackPlan, head: StackPlan
) -> Iterator[PropertyChange]:
    root = before["urn"]
    for change_path, old, new, secret in compare_leaves(
        before["inputs"], after["inputs"], _digests(base, root), _digests(head, root)
    ):
        reason = replace_reason(after["type"], change_path, before["inputs"], after["inputs"])
        warning = change_warning(after["type"], change_path, before["inputs"], after["inputs"])
        note = change_note(after["type"], change_path, after["inputs"])
        yield PropertyChange(format_path(change_path), old, new, secret, reason, warning, note)
    if before["provider"] != after["provider"]:
        yield PropertyChange("(provider)", before["provider"], after["provider"], False, "provider")


def _setting_changes(base: StackPlan, head: StackPlan, stack: str) -> Iterator[SettingChange]:
    own_block = _regional_block(head, stack)
    for path, old, new, secret in compare_leaves(
        base.get("settings", {}), head.get("settings", {}),
        _digests(base, "settings"), _digests(head, "settings"),
    ):
        if len(path) > 1 and path[0] == REGIONAL_CONFIG and path[1] != own_block:
            # Another region's block: this stack's evaluation reads only its own ($regional_config.${region}).
            continue
        # A removed setting is explained by where it used to come from.
        provenance = base.get("provenance", {}) if new is ABSENT else head.get("provenance", {})
        yield SettingChange(PropertyChange(format_path(path), old, new, secret), _source_of(path, provenance))


def _regional_block(stack: StackPlan, name: str) -> str:
    """The [regional_config] block the stack reads: its region's, us-west-2 -> us_west_2."""
    settings = stack.get("settings", {})
    global_section = settings.get("global") if isinstance(settings, dict) else None
    region = global_section.get("region") if isinstance(global_section, dict) else None
    return str(region if isinstance(region, str) else name).replace("-", "_")


def _source_of(path: Path, provenance: Mapping[str, SettingSource]) -> SettingSource | None:
    # The value itself, else the nearest container that has a source (a list built by one expression).
    for length in range(len(path), 0, -1):
        source = provenance.get(format_path(path[:length]))
        if source is not None:
            return source
    return None


def compare_leaves(
    before: Any, after: Any, before_digests: Mapping[str, str], after_digests: Mapping[str, str]
) -> Iterator[tuple[Path, Any, Any, bool]]:
    """(path, before, after, is_secret_change) for every leaf that differs; digests are keyed by leaf path."""
    old_leaves, new_leaves = dict(leaves(before)), dict(leaves(after))
    paths = [*new_leaves, *(path for path in old_leaves if path not in new_leaves)]
    for path in paths:
        old, new = old_leaves.get(path, ABSENT), new_leaves.get(path, ABSENT)
        if old == SECRET_MASK and new == SECRET_MASK:
            key = format_path(path)
            # Without digests on both sides there is nothing to compare by: treat the secret as unchanged.
            old_digest, new_digest = before_digests.get(key), after_digests.get(key)
            if old_digest is not None and new_digest is not None and old_digest != new_digest:
                yield path, old, new, True
        elif old == UNKNOWN_MARK and new == UNKNOWN_MARK:
            continue
        elif type(old) is not type(new) or old != new:
            yield path, old, new, False


def leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every scalar inside `value` with its path; empty containers count as leaves."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def _digests(stack: StackPlan, root: str) -> dict[str, str]:
    # Digest keys are "<root>.<path>" (see plain.SecretDigests); strip the root so they match leaf paths.
    digests = stack.get("secret_digests", {})
    prefix = format_path((root,))
    result: dict[str, str] = {}
    for key, digest in digests.items():
        if key == prefix:
            result[""] = digest
        elif key.startswith(prefix + ".") or key.startswith(prefix + "["):
            rest = key[len(prefix):]
            result[rest[1:] if rest.startswith(".") else rest] = digest
    return result


def _open_findings(findings: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    # An acknowledged finding (with its reason in the stack config) is not a violation to count.
    if findings is None:
        return None
    return [finding for finding in findings if not finding.get("acknowledged")]


def _finding_key(finding: Mapping[str, Any]) -> tuple[str, str, str]:
    return str(finding.get("policy")), str(finding.get("urn")), str(finding.get("message"))


def _new_findings(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    known = {_finding_key(finding) for finding in before}
    return (finding for finding in after if _finding_key(finding) not in known)
