"""The policy settings a stack keeps in Pulumi.<stack>.yaml, as tusk_infra.stack_file reads it: every node
kept with its position, so an error can point into a list or mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tusk_infra.stack_config import POLICY_ACKNOWLEDGEMENTS_KEY, POLICY_CONFIG_KEY, REGION_KEY
from tusk_infra.stack_file import construct, load_stack_file, node_position, source_line, stack_file_path
from tusk_infra.tusk.errors import TuskError

# The policy keys live in stack_config, which checks every tusk-infra: key of a stack file against them.
ACKNOWLEDGEMENTS_KEY = POLICY_ACKNOWLEDGEMENTS_KEY
IMAGE_TAG_KEY = "tusk-infra:imageTag"

__all__ = ["ACKNOWLEDGEMENTS_KEY", "IMAGE_TAG_KEY", "POLICY_CONFIG_KEY", "REGION_KEY", "Node",
           "PolicySettingsError", "StackPolicySettings", "read_stack_settings"]


class PolicySettingsError(TuskError):
    """A policy acknowledgement or policy config entry in Pulumi.<stack>.yaml is malformed."""


@dataclass(frozen=True)
class Node:
    """A YAML value with where it starts, so errors can point at it."""

    value: Any
    file: str
    line: int
    column: int
    node: yaml.Node | None = None

    def error(self, message: str) -> PolicySettingsError:
        """A positioned error about this node, with the line it is on under the message."""
        return PolicySettingsError(
            message, self.file, self.line, self.column, source_line=source_line(self.file, self.line)
        )

    def found(self) -> str:
        """What the node holds, in the file's own terms: 'yes', 'an empty value', 'a list', 'a mapping'."""
        if isinstance(self.node, yaml.MappingNode):
            return "a mapping"
        if isinstance(self.node, yaml.SequenceNode):
            return "a list"
        if self.value is None:
            return "an empty value"
        text = self.node.value if isinstance(self.node, yaml.ScalarNode) else self.value
        return repr(str(text))

    def child(self, key: str) -> Node | None:
        """The value under a key of a mapping node, if present."""
        if not isinstance(self.node, yaml.MappingNode):
            return None
        for key_node, value_node in self.node.value:
            if key_node.value == key:
                return _wrap(value_node, self.file)
        return None

    def items(self) -> list[Node]:
        """The items of a sequence node."""
        if not isinstance(self.node, yaml.SequenceNode):
            return []
        return [_wrap(item, self.file) for item in self.node.value]

    def entries(self) -> list[tuple[Node, Node]]:
        """(key, value) nodes of a mapping node."""
        if not isinstance(self.node, yaml.MappingNode):
            return []
        return [(_wrap(k, self.file), _wrap(v, self.file)) for k, v in self.node.value]


def _wrap(node: yaml.Node, file: str) -> Node:
    return Node(construct(node), file, *node_position(node), node)


@dataclass(frozen=True)
class StackPolicySettings:
    """The parts of a stack's config the checker reads: region, policy config and acknowledgements."""

    path: Path
    keys: dict[str, Node] = field(default_factory=dict)

    def get(self, key: str) -> Node | None:
        """A config key's node (e.g. "aws:region"), if the stack sets it."""
        return self.keys.get(key)

    @property
    def region(self) -> str | None:
        node = self.get(REGION_KEY)
        return node.value if node is not None and isinstance(node.value, str) else None


def read_stack_settings(project_dir: Path, stack: str) -> StackPolicySettings:
    """Read Pulumi.<stack>.yaml; a missing file gives empty settings, a malformed one a positioned error."""
    path = stack_file_path(project_dir, stack)
    if not path.is_file():
        return StackPolicySettings(path)
    stack_file = load_stack_file(path, error_type=PolicySettingsError)
    keys = {
        key: Node(stack_file.values[key], str(path), *node_position(node), node)
        for key, node in stack_file.value_nodes.items()
    }
    return StackPolicySettings(path, keys)
