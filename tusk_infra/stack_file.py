"""Pulumi.<stack>.yaml as written: its config values, which are encrypted, and where each key and value sits.

The one reader of stack files. The program's typed config (stack_config), the live backends' settings
(backends.config) and the policy checks' settings (checks.stack_file) all start from the StackFile it returns,
so a file is parsed one way and a broken one reported one way (file:line:col, what was found, what was
expected), whichever part reads it first. It imports none of them: they build on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tusk_infra.tusk.errors import TuskError
from tusk_infra.tusk.input_files import read_input_bytes

# yaml is imported by the functions that read a file: a command that reads none (`eval FILE`) never loads it.
if TYPE_CHECKING:
    import yaml


class StackConfigError(TuskError):
    """A Pulumi.<stack>.yaml cannot be read, or a value in it is missing or malformed."""


@dataclass(frozen=True)
class StackFile:
    """A Pulumi.<stack>.yaml as written: config values, which are encrypted, and where each key sits."""

    path: Path
    values: dict[str, Any]
    secure_keys: frozenset[str]
    # Where each key is written (line, column); "" is the `config:` line, where a missing key would go.
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Numbers as written (`imageTag: 1.10`): the engine hands a program the text, not float('1.10') == 1.1.
    number_texts: dict[str, str] = field(default_factory=dict)
    # Each key's value as composed, for readers that point into it (a list item, a nested mapping's key).
    value_nodes: dict[str, yaml.Node] = field(default_factory=dict, compare=False, repr=False)

    def position(self, key: str) -> tuple[str, int, int]:
        """file, line, column of a key (of the config block when the key is absent)."""
        line, column = self.positions.get(key, self.positions.get("", (1, 1)))
        return str(self.path), line, column

    def value_position(self, key: str) -> tuple[str, int, int]:
        """file, line, column of a key's value (of the key, or the config block, when there is no value)."""
        node = self.value_nodes.get(key)
        if node is None or node.value in ("", None):
            return self.position(key)
        line, column = node_position(node)
        return str(self.path), line, column

    @property
    def value_positions(self) -> dict[str, tuple[int, int]]:
        """Where each key's value starts (line, column)."""
        return {key: node_position(node) for key, node in self.value_nodes.items()}


def stack_file_path(project_dir: Path, stack: str) -> Path:
    """Where a stack's settings live."""
    return project_dir / f"Pulumi.{stack}.yaml"


def load_stack_file(path: Path, error_type: type[TuskError] = StackConfigError) -> StackFile:
    """Read Pulumi.<stack>.yaml keeping each key's position; a file that cannot be read, is not valid YAML or
    is not a mapping of config keys is a positioned error of `error_type` (the error its caller reports)."""
    import yaml

    text = _read_text(path, error_type)
    try:
        root = yaml_core().compose(text)
    except yaml.MarkedYAMLError as error:
        message, line, column = _yaml_problem(error)
        raise error_type(
            message, file=str(path), line=line, column=column, source_line=_nth_line(text, line)
        ) from None
    except yaml.reader.ReaderError as error:
        # A character YAML refuses anywhere (a NUL, a control character): at its offset in the text.
        line, column = _offset_position(text, error.position)
        code = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or "?")
        message = f"invalid YAML: found the control character U+{code:04X}; remove it"
        raise error_type(message, file=str(path), line=line, column=column) from None
    return _stack_file_from_nodes(path, root, error_type)


def construct(node: yaml.Node) -> Any:
    """The Python value of a composed node (the document is parsed once, for values and positions)."""
    return yaml_core().construct(node)


def yaml_core() -> ModuleType:
    """tusk_infra.yaml_core, imported on first use (it loads yaml, which `eval FILE` never needs)."""
    from tusk_infra import yaml_core as module

    return module


def node_position(node: yaml.Node) -> tuple[int, int]:
    """Where a composed node starts: 1-based line and column."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def source_line(file: str, line: int) -> str | None:
    """The text of a line of a stack file, for the caret snippet (None if unreadable)."""
    try:
        text = read_input_bytes(Path(file)).decode("utf-8", errors="replace")
    except TuskError:
        return None
    return _nth_line(text, line)


def _read_text(path: Path, error_type: type[TuskError]) -> str:
    """The text of a stack file; unreadable or not UTF-8 is a positioned error."""
    data = read_input_bytes(path, error_type)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        message = f"the stack file is not valid UTF-8: byte 0x{data[error.start]:02x} here; save it as UTF-8"
        raise error_type(message, file=str(path), line=line, column=column) from None


def _yaml_problem(error: yaml.MarkedYAMLError) -> tuple[str, int, int]:
    """A YAML syntax error as (message, line, column): where it was noticed, and what was left open."""
    mark = error.problem_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = f"invalid YAML: {error.problem}"
    opened = error.context_mark
    if error.context and opened is not None and (opened.line + 1, opened.column + 1) != (line, column):
        # "did not find expected ']'" is noticed lines after the '[' that was never closed: name that too.
        message += f" ({error.context} at line {opened.line + 1}, column {opened.column + 1})"
    return message, line, column


def _offset_position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _nth_line(text: str, line: int) -> str | None:
    lines = text.splitlines()
    return masked_line(lines[line - 1]) if 0 < line <= len(lines) else None


# A line that sets a secret: `tusk-infra:DB_PASSWORD: ...` (an UPPER_CASE name is a secret that
# @env.secure reads) or a `secure:` ciphertext. Snippets show the key, never what follows it.
_SECRET_LINE = re.compile(
    r"""^(?P<key>\s*(?:-\s*)?(?P<q>["']?)(?:[A-Za-z0-9_.-]+:)?(?:[A-Z][A-Z0-9_]*|secure)(?P=q)\s*:)\s*\S"""
)


def masked_line(text: str) -> str:
    """A stack-file line fit for an error snippet: a secret's value is replaced by [secret]."""
    match = _SECRET_LINE.match(text)
    return f"{match.group('key')} [secret]" if match else text


def _stack_file_from_nodes(path: Path, root: yaml.Node | None, error_type: type[TuskError]) -> StackFile:
    import yaml

    if root is not None and not isinstance(root, yaml.MappingNode):
        line, column = node_position(root)
        raise error_type(
            "expected a mapping with a 'config:' key at the top of the stack file",
            file=str(path), line=line, column=column, source_line=source_line(str(path), line),
        )
    entry = _mapping_entry(root, "config")
    if entry is None:
        return StackFile(path, {}, frozenset(), {"": (1, 1)})
    config_key, config_node = entry
    if not isinstance(config_node, yaml.MappingNode):
        line, column = node_position(config_node)
        raise error_type("expected a mapping under 'config:'", file=str(path), line=line, column=column)
    values: dict[str, Any] = {}
    secure: set[str] = set()
    number_texts: dict[str, str] = {}
    value_nodes: dict[str, yaml.Node] = {}
    # A missing key is reported at the `config:` line, where it would be added.
    positions = {"": node_position(config_key)}
    for key_node, value_node in config_node.value:
        key = str(key_node.value)
        if key in positions:
            # The Pulumi CLI refuses a repeated key; YAML loaders would silently keep the last one.
            line, column = node_position(key_node)
            raise error_type(
                f"duplicate key {key}: already set on line {positions[key][0]}; keep one of them",
                file=str(path), line=line, column=column, source_line=source_line(str(path), line),
            )
        positions[key] = node_position(key_node)
        _refuse_unplain(path, key_node, value_node, error_type)
        value_nodes[key] = value_node
        value = construct(value_node)
        if isinstance(value, dict) and set(value) == {"secure"}:
            secure.add(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            number_texts[key] = str(value_node.value)
        values[key] = value
    return StackFile(path, values, frozenset(secure), positions, number_texts, value_nodes)


def _refuse_unplain(
    path: Path, key_node: yaml.Node, value_node: yaml.Node, error_type: type[TuskError]
) -> None:
    """A key or value that is not a plain, bounded config value is an error at its position."""
    for node in (key_node, value_node):
        problem = yaml_core().plain_value_problem(node)
        if problem is not None:
            raise error_type(
                problem.message, file=str(path), line=problem.line, column=problem.column,
                source_line=source_line(str(path), problem.line),
            )


def _mapping_entry(node: yaml.Node | None, name: str) -> tuple[yaml.Node, yaml.Node] | None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if key_node.value == name:
            return key_node, value_node
    return None
