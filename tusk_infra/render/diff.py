"""The diff engine: what changes between two plans, by stack, by resource, property by property."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tusk_infra.render.apply_timing import change_note
from tusk_infra.render.key_inputs import key_inputs, parse_path
from tusk_infra.render.metric_changes import SnapshotDiff, snapshot_diff
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
from tusk_infra.render.traffic import TrafficChange, traffic_changes
from tusk_infra.render.upgrade_warnings import change_warning
from tusk_infra.tusk.values import SECRET_MASK

Action = Literal["create", "update", "replace", "delete"]
# "removed": the stack file is gone at head. That deletes nothing: the stack lives on until `pulumi destroy`.
StackStatus = Literal["created", "removed", "changed", "unchanged"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete")
# Kinds whose pod template change rolls their pods.
WORKLOAD_TYPES = frozenset({"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet",
                            "kubernetes:apps/v1:DaemonSet"})
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
    # The replaced resources whose outputs this one reads (a Deployment reading a replaced, auto-named
    # Secret's name): its inputs change with them, though offline both sides read "(known after deploy)".
    reads_replaced: tuple[str, ...] = ()

    @property
    def rollout(self) -> bool:
        """Whether the change restarts a workload's pods (its pod template reads a replaced object)."""
        return self.type in WORKLOAD_TYPES and self.action == "update" and bool(self.reads_replaced)

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
    # The change policies' findings on this stack's replacements and deletions (checks/changes.py), the
    # acknowledged ones too; the open ones are also counted in `violations` and listed in `new_findings`.
    change_findings: tuple[dict[str, Any], ...] = ()
    # The stack's metric snapshot, when it changed: each moved metric and the settings it moved (if any).
    snapshot: SnapshotDiff | None = None

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
    # Regions the change drains from global DNS or restores to it.
    traffic: tuple[TrafficChange, ...] = ()

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
                    warnings=warnings, traffic=traffic_changes(base, head))


def diff_stack(name: str, base: StackPlan | None, head: StackPlan | None) -> StackDiff:
    """One stack's resource and settings changes and its policy results."""
    if head is None and base is not None:
        return StackDiff(stack=name, status="removed", orphaned=tuple(_orphaned(base)))
    empty: StackPlan = {"stack": name, "resources": [], "settings": {}, "provenance": {}}
    before, after = base or empty, head or empty
    resources = tuple(_resource_changes(before, after))
    settings = tuple(_setting_changes(before, after, name)) if base and head else ()
    snapshot = _snapshot_change(base, head, settings)
    changed = resources or settings or snapshot is not None
    status: StackStatus = "created" if base is None else "changed" if changed else "unchanged"
    findings = _open_findings(after.get("policy"))
    changes = tuple(change_policy_findings(name, resources, before, after))
    opened = [finding for finding in changes if not finding.get("acknowledged")]
    violations = None if findings is None else len(findings)
    if opened:
        violations = (violations or 0) + len(opened)
    return StackDiff(
        stack=name,
        status=status,
        resources=resources,
        settings=settings,
        violations=violations,
        new_findings=(*_new_findings(_open_findings(before.get("policy")) or [], findings or []), *opened),
        change_findings=changes,
        snapshot=snapshot,
    )


def _snapshot_change(
    base: StackPlan | None, head: StackPlan | None, settings: tuple[SettingChange, ...]
) -> SnapshotDiff | None:
    """What a changed metric snapshot moved (see metric_changes)."""
    facts = [(s.change.path, None if s.change.before is ABSENT else s.change.before,
              None if s.change.after is ABSENT else s.change.after) for s in settings]
    return snapshot_diff(base, head, facts)


def change_policy_findings(
    name: str, resources: tuple[ResourceChange, ...], base: StackPlan, head: StackPlan
) -> list[dict[str, Any]]:
    """The change policies (rds-replacement-acknowledged...) on the stack's replacements and deletions, with
    the acknowledgements the head's stack file gives (its plan's `changePolicies`)."""
    risky = [change for change in resources if change.action in ("replace", "delete")]
    if not risky:
        return []
    # Imported when needed: the checks load the whole policy pack.
    from tusk_policy import PlannedChange, Resource

    from tusk_infra.checks.changes import change_findings

    before = {r["urn"]: r for r in base["resources"]}
    after = {r["urn"]: r for r in head["resources"]}
    planned = []
    for change in risky:
        new = after.get(change.urn)
        aliases = new.get("aliases", []) if new is not None else []
        old = before.get(change.urn) or next((before[alias] for alias in aliases if alias in before), None)
        current = new or old
        if current is None or old is None:
            continue
        resource = Resource(current["type"], current["inputs"], current["urn"], current["name"])
        planned.append(PlannedChange(change.action, resource, old["inputs"], change.replace_reasons))
    return change_findings(name, planned, head.get("changePolicies", {}))


def _resource_changes(base: StackPlan, head: StackPlan) -> Iterator[ResourceChange]:
    """Each resource's change, then what reads a replaced resource's outputs (a new auto-name)."""
    changes = list(_own_changes(base, head))
    replaced = {change.urn: change.name for change in changes if change.action == "replace"}
    if not replaced:
        yield from changes
        return
    before = {r["urn"] for r in base["resources"]}
    changed = {change.urn: change for change in changes}
    for resource in head["resources"]:
        reads = tuple(replaced[urn] for urn in resource.get("readsResources", ()) if urn in replaced)
        if not reads or resource["urn"] not in before:
            continue
        own = changed.get(resource["urn"])
        if own is None:
            changed[resource["urn"]] = ResourceChange(resource["urn"], resource["type"], resource["name"],
                                                      "update", reads_replaced=reads)
        elif own.action == "update":
            changed[resource["urn"]] = replace(own, reads_replaced=reads)
    yield from changed.values()


def _own_changes(base: StackPlan, head: StackPlan) -> Iterator[ResourceChange]:
    before = {r["urn"]: r for r in base["resources"]}
    after = {r["urn"]: r for r in head["resources"]}
    # A resource renamed with an alias is the same resource to the engine: compared, not deleted + created.
    renamed = _renamed(before, after)
    before.update({urn: before[old] for urn, old in renamed.items()})
    for old in renamed.values():
        del before[old]
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
    ignored = [parse_path(path) for path in after.get("ignoreChanges", [])]
    for change_path, old, new, secret in _input_changes(before, after, base, head):
        if any(change_path[: len(rule)] == rule for rule in ignored):
            continue  # the engine keeps the old value of an ignored input: no change to review
        reason = replace_reason(after["type"], change_path, before["inputs"], after["inputs"]) or \
            _replace_on_changes(after, change_path)
        warning = change_warning(after["type"], change_path, before["inputs"], after["inputs"])
        old, new = _read_from(before, change_path, old), _read_from(after, change_path, new)
        note = change_note(after["type"], change_path, after["inputs"])
        yield PropertyChange(format_path(change_path), old, new, secret, reason, warning, note)
    if before["provider"] != after["provider"]:
        yield PropertyChange("(provider)", before["provider"], after["provider"], False, "provider")


def _renamed(before: Mapping[str, ResourcePlan], after: Mapping[str, ResourcePlan]) -> dict[str, str]:
    """New URN -> the base URN it had, for head resources found at base under one of their aliases."""
    renamed: dict[str, str] = {}
    for urn, resource in after.items():
        if urn in before:
            continue
        old = next((alias for alias in resource.get("aliases", []) if alias in before), None)
        if old is not None and old not in after and old not in renamed.values():
            renamed[urn] = old
    return renamed


def _input_changes(
    before: ResourcePlan, after: ResourcePlan, base: StackPlan, head: StackPlan
) -> Iterator[tuple[Path, Any, Any, bool]]:
    """The inputs' leaves that differ, and the inputs unknown on both sides that read a different stack's
    output (a replica following another primary): unknown offline, yet not the same value."""
    # Each side's secrets are hashed under its own URN (an aliased resource's differ).
    yield from compare_leaves(
        before["inputs"], after["inputs"], _digests(base, before["urn"]), _digests(head, after["urn"])
    )
    # Only where both sides say which stacks they read (a plan rendered by older code says nothing).
    old_reads, new_reads = before.get("reads", {}), after.get("reads", {})
    for key, stacks in new_reads.items():
        unknown_both = before["inputs"].get(key) == UNKNOWN_MARK == after["inputs"].get(key)
        if unknown_both and old_reads.get(key, stacks) != stacks:
            yield (key,), UNKNOWN_MARK, UNKNOWN_MARK, False


def _replace_on_changes(resource: ResourcePlan, path: Path) -> str | None:
    """The resource's own replaceOnChanges option: a change under one of its paths replaces it."""
    for rule in map(parse_path, resource.get("replaceOnChanges", [])):
        if path[: len(rule)] == rule:
            return f"{format_path(rule)} (replaceOnChanges)"
    return None


def _read_from(resource: ResourcePlan, path: Path, value: Any) -> Any:
    """An unknown top-level input read from other stacks' outputs, saying which: `(known after deploy from
    organization/tusk-infra/us-east-1)`."""
    stacks = resource.get("reads", {}).get(str(path[0])) if len(path) == 1 else None
    if value == UNKNOWN_MARK and stacks:
        return f"{UNKNOWN_MARK[:-1]} from {', '.join(stacks)})"
    return value


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
