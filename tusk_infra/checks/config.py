"""Each policy's configuration for one stack: its defaults, what the stack and global.tsk imply, and the
overrides in `tusk-infra:policyConfig` (the same shape as CrossGuard's --policy-pack-config file)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tusk_policy import BY_ID, PolicyDefinition

from tusk_infra.checks.stack_file import POLICY_CONFIG_KEY, Node, StackPolicySettings
from tusk_infra.checks.traffic_config import traffic_policy_config

if TYPE_CHECKING:
    import jsonschema

LEVELS = ("advisory", "mandatory", "disabled")


@dataclass(frozen=True)
class StackPolicyConfig:
    """Per policy: configuration properties (over the policy's defaults) and the enforcement level."""

    properties: dict[str, dict[str, Any]]
    levels: dict[str, str]

    def crossguard(self) -> dict[str, dict[str, Any]]:
        """The --policy-pack-config document making `pulumi preview --policy-pack policy` check the same."""
        # The change policies are not in the CrossGuard pack (they need both revisions: the diff runs them).
        return {
            policy: {"enforcementLevel": self.levels[policy], **props}
            for policy, props in self.properties.items()
            if not (policy in BY_ID and BY_ID[policy].is_change_policy)
        }


def declared_regions(document: Any) -> list[str]:
    """The regions global.tsk's regional_config declares, as AWS names (block us_east_1 -> us-east-1)."""
    data = getattr(document, "data", None)
    regional = data.get("regional_config") if isinstance(data, Mapping) else None
    if not isinstance(regional, Mapping):
        return []
    return [str(key).replace("_", "-") for key in regional]


def derived_config(settings: StackPolicySettings, document: Any) -> dict[str, dict[str, Any]]:
    """What the project itself says about the limits: the stack's region and the declared regions."""
    derived: dict[str, dict[str, Any]] = {}
    if settings.region:
        derived["hpa-replica-bounds"] = {"region": settings.region}
    regions = declared_regions(document)
    if regions:
        derived["allowed-regions"] = {"allowedRegions": regions}
    derived |= traffic_policy_config(settings, document)
    return derived


def stack_policy_config(
    settings: StackPolicySettings, document: Any, policies: Mapping[str, PolicyDefinition]
) -> StackPolicyConfig:
    """The configuration in force for one stack; a malformed override is a positioned error."""
    properties: dict[str, dict[str, Any]] = {policy_id: {} for policy_id in policies}
    properties |= derived_config(settings, document)
    levels = {policy_id: policy.enforcement.value for policy_id, policy in policies.items()}
    node = settings.get(POLICY_CONFIG_KEY)
    if node is None:
        return StackPolicyConfig(properties, levels)
    if not isinstance(node.value, dict):
        raise node.error(f"{POLICY_CONFIG_KEY} must map policy ids to their settings, found {node.found()}")
    for key, value in node.entries():
        policy = _known_policy(key, policies)
        level, overrides = _override(policy, value)
        levels[policy.id] = level or levels[policy.id]
        properties[policy.id] = {**properties.get(policy.id, {}), **overrides}
    return StackPolicyConfig(properties, levels)


def _known_policy(key: Node, policies: Mapping[str, PolicyDefinition]) -> PolicyDefinition:
    if key.value in policies:
        return policies[key.value]
    near = difflib.get_close_matches(str(key.value), list(policies), n=1)
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    raise key.error(f"unknown policy '{key.value}' in {POLICY_CONFIG_KEY}{hint}")


def _override(policy: PolicyDefinition, value: Node) -> tuple[str | None, dict[str, Any]]:
    """(enforcement level, properties) of one policy's entry; a bare string is a level, as in CrossGuard."""
    if isinstance(value.value, str):
        _check_level(value.value, value, policy)
        return value.value, {}
    # Imported here: only a stack that overrides a policy's settings needs the validator.
    import jsonschema

    schema = {
        "type": "object",
        "properties": {**policy.config_schema, "enforcementLevel": {"enum": list(LEVELS)}},
        "additionalProperties": False,
    }
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(value.value))
    if error is not None:
        at = _node_at(value, [str(p) for p in error.absolute_path])
        where = ".".join([policy.id, *map(str, error.absolute_path)])
        raise at.error(f"{POLICY_CONFIG_KEY} {where}: {_schema_problem(error, at)}")
    entries = dict(value.value)
    level = entries.pop("enforcementLevel", None)
    return level, entries


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


def _schema_problem(error: jsonschema.exceptions.ValidationError, at: Node) -> str:
    """jsonschema's message, in the YAML file's terms where it speaks of Python values."""
    if error.validator == "type" and isinstance(error.validator_value, str):
        expected = _TYPE_NAMES.get(error.validator_value, error.validator_value)
        return f"found {at.found()}; expected {expected}"
    return str(error.message)


def _check_level(level: str, at: Node, policy: PolicyDefinition) -> None:
    if level not in LEVELS:
        raise at.error(
            f"enforcement level of '{policy.id}' is '{level}'; expected one of {', '.join(LEVELS)}"
        )


def _node_at(node: Node, path: list[str]) -> Node:
    for segment in path:
        child = node.child(segment) if not segment.isdigit() else _item(node, int(segment))
        if child is None:
            return node
        node = child
    return node


def _item(node: Node, index: int) -> Node | None:
    items = node.items()
    return items[index] if index < len(items) else None
