"""Acknowledged violations: `tusk-infra:policyAcknowledgements` in Pulumi.<stack>.yaml.

tusk-infra:policyAcknowledgements:
  - policy: rds-multi-az
    resource: postgres-primary      # the resource's logical name, its URN, or "*"
    reason: single-AZ until the 2027 budget; restore drill done monthly
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from tusk_policy import PolicyDefinition

from tusk_infra.checks.stack_file import ACKNOWLEDGEMENTS_KEY, Node, StackPolicySettings

_FIELDS = ("policy", "resource", "reason")


@dataclass(frozen=True)
class Acknowledgement:
    """One acknowledged (policy, resource) pair with the reason given for it."""

    policy: str
    resource: str
    reason: str
    where: str  # file:line:col of the entry, for the "unused acknowledgement" notice

    def covers(self, policy: str, resource_name: str, urn: str) -> bool:
        """Whether this acknowledgement applies to a finding of this policy on this resource."""
        return self.policy == policy and self.resource in ("*", resource_name, urn)


def read_acknowledgements(
    settings: StackPolicySettings, policies: Mapping[str, PolicyDefinition], levels: Mapping[str, str]
) -> list[Acknowledgement]:
    """Parse and validate the stack's acknowledgements; a malformed one is a positioned error."""
    node = settings.get(ACKNOWLEDGEMENTS_KEY)
    if node is None:
        return []
    if not isinstance(node.value, list):
        raise node.error(
            f"{ACKNOWLEDGEMENTS_KEY} must be a list of {{policy, resource, reason}} entries, "
            f"found {node.found()}"
        )
    return [_parse_entry(entry, policies, levels) for entry in node.items()]


def _parse_entry(
    entry: Node, policies: Mapping[str, PolicyDefinition], levels: Mapping[str, str]
) -> Acknowledgement:
    if not isinstance(entry.value, dict):
        raise entry.error(
            f"an acknowledgement must be a mapping with {', '.join(_FIELDS)}; found {entry.found()}"
        )
    unknown = sorted(set(map(str, entry.value)) - set(_FIELDS))
    if unknown:
        raise entry.error(f"unknown acknowledgement field '{unknown[0]}'; expected {', '.join(_FIELDS)}")
    policy = _policy_id(entry, policies)
    resource = entry.value.get("resource")
    if not isinstance(resource, str) or not resource:
        raise (entry.child("resource") or entry).error(
            f"acknowledgement of '{policy}' needs a resource: its logical name, its URN, or \"*\""
        )
    reason = entry.value.get("reason")
    reason_text = reason.strip() if isinstance(reason, str) else ""
    if not reason_text and levels.get(policy) == "mandatory":
        raise (entry.child("reason") or entry).error(
            f"acknowledging mandatory policy '{policy}' for '{resource}' needs a reason: say why the "
            "violation is accepted (reason: ...)"
        )
    where = f"{entry.file}:{entry.line}:{entry.column}"
    return Acknowledgement(policy, resource, reason_text or "(no reason given)", where)


def _policy_id(entry: Node, policies: Mapping[str, PolicyDefinition]) -> str:
    policy = entry.value.get("policy")
    at = entry.child("policy") or entry
    if not isinstance(policy, str) or not policy:
        raise at.error("acknowledgement needs a policy id (e.g. policy: rds-multi-az)")
    if policy not in policies:
        near = difflib.get_close_matches(policy, list(policies), n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else f"; known: {', '.join(policies)}"
        raise at.error(f"unknown policy '{policy}'{hint}")
    return policy
