"""Targeted edits of the project's own files for adding or removing a region: a new Pulumi.<region>.yaml made
from an existing stack's, and global.tsk's [regional_config] block and database.replica_regions entry.

Edits are made on the text, at the positions the language and the stack-file reader report, so comments,
layout and every other line stay as written. Nothing here writes a file: callers get the new text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import yaml

from tusk_infra.settings import region_key
from tusk_infra.stack_config import CONFIG_KEYS, PLACEHOLDER_MARK, PROJECT, REGION_KEY, SHARED_KEYS
from tusk_infra.stack_config import POLICY_ACKNOWLEDGEMENTS_KEY as ACKNOWLEDGEMENTS_KEY
from tusk_infra.stack_file import StackFile
from tusk_infra.tusk import Document, TuskError
from tusk_infra.tusk.errors import SourceText

REPLICA_REGIONS = "database.replica_regions"
REGIONAL_CONFIG = "regional_config"
_SECRET_NAME = re.compile(rf"^{PROJECT}:[A-Z][A-Z0-9_]*$")
# A (start, end, replacement) change of a text, by character offsets.
TextEdit = tuple[int, int, str]


class ProjectEditError(TuskError):
    """global.tsk is not written in a form the edit can change safely (said where, and what to do by hand)."""


@dataclass(frozen=True)
class NewStackFile:
    """A region's stack file made from another's: its text, and what the user still has to do about it."""

    text: str
    placeholders: tuple[str, ...]  # keys written as "<fill in: ...>"
    dropped: tuple[str, ...]  # keys not carried over (secrets, acknowledgements of the other stack)


# ---- Pulumi.<region>.yaml ----

def new_stack_file(source: StackFile, source_text: str, source_stack: str, region: str) -> NewStackFile:
    """The text of Pulumi.<region>.yaml from the stack file `source` (its text `source_text`).

    aws:region becomes `region`; the keys of the stack-config schema that are the region's own (not in
    SHARED_KEYS), and any other value naming the source region, become placeholders; secrets (encrypted per
    stack) and policy acknowledgements (they name the source stack's resources) are left out; the rest,
    comments included, is copied."""
    lines = source_text.splitlines(keepends=True)
    order = [key for key in source.positions if key]
    config_line = source.positions.get("", (1, 1))[0]
    parts = [_renamed(line, source_stack, region) for line in lines[:config_line]]
    placeholders: list[str] = []
    dropped: list[str] = []
    previous_end = config_line  # lines before this index (0-based) are written
    for index, key in enumerate(order):
        key_line = source.positions[key][0]
        next_line = source.positions[order[index + 1]][0] if index + 1 < len(order) else len(lines) + 1
        end = _last_content_line(lines, key_line, next_line)
        lead = [_renamed(line, source_stack, region) for line in lines[previous_end : key_line - 1]]
        body = lines[key_line - 1 : end]
        previous_end = end
        action = _action(source, key, "".join(body), source_stack)
        if action == "drop":
            dropped.append(key)
            continue
        parts += lead
        if action == "copy":
            body, replaced = _incident_endpoints_as_placeholders(source, key, body, key_line, source_stack,
                                                                 region)
            parts += body
            if replaced:
                placeholders.append(key)
        elif action == "region":
            parts.append(f"{_indent(source, key)}{key}: {region}\n")
        else:
            placeholders.append(key)
            parts += _placeholder_lines(source, key, source_stack, region)
    parts += [_renamed(line, source_stack, region) for line in lines[previous_end:]]
    header = (f"# Made by `tusk-infra region add {region} --from {source_stack}`: replace each placeholder "
              f"({PLACEHOLDER_MARK}: ...>) with {region}'s own value; `tusk-infra check` refuses them until "
              "then.\n")
    return NewStackFile(header + "".join(parts), tuple(placeholders), tuple(dropped))


def _action(source: StackFile, key: str, body: str, source_stack: str) -> str:
    """What becomes of a key: copy, drop, region (aws:region) or placeholder."""
    if key == REGION_KEY:
        return "region"
    if key in source.secure_keys or _SECRET_NAME.match(key) or key == ACKNOWLEDGEMENTS_KEY:
        return "drop"
    shared = {f"{PROJECT}:{name}" for name in SHARED_KEYS}
    own = {f"{PROJECT}:{name}" for _field, name, _kind, _required in CONFIG_KEYS if name not in SHARED_KEYS}
    if key in shared:
        # The same in every region, even where it names the source stack: a new region's databasePrimaryStack
        # copied from the primary's own file names the primary.
        return "copy"
    value_text = body.split(key, 1)[-1]
    if key in own or source_stack in value_text:
        return "placeholder"
    return "copy"


def _incident_endpoints_as_placeholders(
    source: StackFile, key: str, body: list[str], key_line: int, source_stack: str, region: str
) -> tuple[list[str], bool]:
    """The alarm subscriptions with each https endpoint a placeholder (True if any was).

    An e-mail address is the on-call rota's, the same everywhere. An incident tool's endpoint usually carries
    a per-service integration key (the source's tusk-euw1, say): copied, the new region's alarms would page
    as the source region's, with nothing to say so. The protocol is kept; only the endpoint is asked for."""
    node = source.value_nodes.get(key)
    if key != f"{PROJECT}:alarmSubscriptions" or not isinstance(node, yaml.SequenceNode):
        return body, False
    endpoints: list[tuple[int, yaml.ScalarNode]] = []
    for index, item in enumerate(node.value, 1):
        fields = dict(item.value) if isinstance(item, yaml.MappingNode) else {}
        by_name = {name.value: value for name, value in fields.items() if isinstance(name, yaml.ScalarNode)}
        protocol, endpoint = by_name.get("protocol"), by_name.get("endpoint")
        if not isinstance(protocol, yaml.ScalarNode) or not isinstance(endpoint, yaml.ScalarNode):
            continue
        if protocol.value == "https" and endpoint.start_mark.line == endpoint.end_mark.line:
            endpoints.append((index, endpoint))
    edited = list(body)
    # From the last: an edit never moves the columns of one still to come on the same line.
    for index, endpoint in sorted(endpoints, key=lambda e: (e[1].start_mark.line, e[1].start_mark.column),
                                  reverse=True):
        row = endpoint.start_mark.line - (key_line - 1)
        line = edited[row]
        text = json.dumps(f"{PLACEHOLDER_MARK}: {key} item {index} of {region} (its https endpoint; "
                          f"{source_stack}'s pages {source_stack}'s service)>")
        edited[row] = line[: endpoint.start_mark.column] + text + line[endpoint.end_mark.column :]
    return edited, bool(endpoints)


def _last_content_line(lines: Sequence[str], key_line: int, next_line: int) -> int:
    """The last line (1-based) of the entry starting at key_line: comments and blank lines just before the
    next key belong to that key."""
    end = next_line - 1
    while end > key_line and _is_blank_or_comment(lines[end - 1]):
        end -= 1
    return end


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _renamed(line: str, source_stack: str, region: str) -> str:
    """A comment line speaks of the new region where it spoke of the source stack; other lines unchanged."""
    return line.replace(source_stack, region) if _is_blank_or_comment(line) else line


def _indent(source: StackFile, key: str) -> str:
    return " " * (source.positions[key][1] - 1)


def _placeholder_lines(source: StackFile, key: str, source_stack: str, region: str) -> list[str]:
    """`key: "<fill in: ...>"`, or one placeholder item per item of the source's list."""
    indent = _indent(source, key)
    node = source.value_nodes.get(key)
    if isinstance(node, yaml.SequenceNode) and node.value:
        block_style = node.flow_style is False
        item_indent = " " * (node.value[0].start_mark.column - 2) if block_style else indent + "  "
        items = [
            f"{item_indent}- {_placeholder(key, region, source_stack, item, index + 1)}\n"
            for index, item in enumerate(node.value)
        ]
        return [f"{indent}{key}:\n", *items]
    return [f"{indent}{key}: {_placeholder(key, region, source_stack, node)}\n"]


def _placeholder(key: str, region: str, source_stack: str, node: yaml.Node | None, item: int = 0) -> str:
    what = f"{key} item {item}" if item else key
    example = node.value if isinstance(node, yaml.ScalarNode) and node.value else None
    had = f" ({source_stack} has {example})" if example is not None else ""
    return json.dumps(f"{PLACEHOLDER_MARK}: {what} of {region}{had}>")


# ---- global.tsk ----

def add_region(document: Document, text: str, from_region: str, region: str) -> str:
    """global.tsk with a [regional_config] block for `region` (a copy of from_region's, after the last block)
    and `region` at the end of database.replica_regions."""
    source = SourceText(text, document.file)
    from_key, new_key = region_key(from_region), region_key(region)
    span = document.block_span((REGIONAL_CONFIG, from_key))
    if span is None:
        raise _error(document, source, REGIONAL_CONFIG,
                     f"[{REGIONAL_CONFIG}] has no block {from_key} to copy for {region}; add a block "
                     f"{new_key} {{ ... }} to it by hand")
    start, end = span
    block = text[start:end]
    block = new_key + block[len(from_key):].replace(from_region, region)
    indent = text[text.rfind("\n", 0, start) + 1 : start]
    last_end = max(
        found[1] for key in document.get(REGIONAL_CONFIG)
        if (found := document.block_span((REGIONAL_CONFIG, key))) is not None
    )
    comment = f"# Copied from {from_key} by `tusk-infra region add`: review each value for {region}."
    inserted = f"\n\n{indent}{comment}\n{indent}{block}"
    return apply_edits(text, [(last_end, last_end, inserted), _replica_added(document, source, region)])


def remove_region(document: Document, text: str, region: str) -> str:
    """global.tsk without `region`'s [regional_config] block (and the comments just above it) and without
    its database.replica_regions entry."""
    source = SourceText(text, document.file)
    edits = [_replica_removed(document, source, region)]
    span = document.block_span((REGIONAL_CONFIG, region_key(region)))
    if span is not None:
        edits.append(_lines_of(text, *span))
    return apply_edits(text, edits)


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """`text` with non-overlapping edits applied (from the last, so earlier offsets stay valid)."""
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _lines_of(text: str, start: int, end: int) -> TextEdit:
    """The removal of whole lines from `start` to `end`, with the comment lines right above and one blank
    line before them (the separation a block added by `add_region` brought)."""
    line_start = text.rfind("\n", 0, start) + 1
    while line_start > 0:
        previous = text.rfind("\n", 0, line_start - 1) + 1
        if not text[previous:line_start].strip().startswith("#"):
            break
        line_start = previous
    if line_start > 0:
        previous = text.rfind("\n", 0, line_start - 1) + 1
        if not text[previous:line_start].strip():
            line_start = previous
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end < 0 else line_end + 1, ""


def _replica_items(document: Document, source: SourceText) -> list[tuple[int, int, str]]:
    """database.replica_regions's items as written: (start, end, value); it must be an array literal."""
    whole = document.provenance(REPLICA_REGIONS)
    values = document.get(REPLICA_REGIONS)
    text = whole.source.strip()
    items: list[tuple[int, int, str]] = []
    for index, value in enumerate(values if isinstance(values, list) else []):
        item = document.provenance((*REPLICA_REGIONS.split("."), index))
        if item.source[:1] not in ("'", '"'):
            break
        start = _offset(source, item.line, item.column)
        items.append((start, start + len(item.source), str(value)))
    if not (text.startswith("[") and text.endswith("]")) or len(items) != len(values or []):
        raise _error(document, source, REPLICA_REGIONS,
                     f"{REPLICA_REGIONS} is not a list of region strings written in place ({whole.source}); "
                     "edit it by hand")
    return items


def _replica_added(document: Document, source: SourceText, region: str) -> TextEdit:
    items = _replica_items(document, source)
    whole = document.provenance(REPLICA_REGIONS)
    if not items:
        opener = _offset(source, whole.line, whole.column) + 1
        return opener, opener, json.dumps(region)
    start, end, _value = items[-1]
    quote = source.text[start]
    quoted = f"{quote}{region}{quote}"
    after = source.text[end:]
    comma = len(after) - len(after.lstrip(" \t"))  # where a comma after the last item would be
    trailing = after[comma:comma + 1] == ","
    line_start = source.text.rfind("\n", 0, start) + 1
    first_start = items[0][0]
    closer = _offset(source, whole.line, whole.column) + len(whole.source) - 1
    multiline = "\n" in source.text[first_start:closer]
    if multiline:
        indent = source.text[line_start:start]
        if trailing:
            return end + comma + 1, end + comma + 1, f"\n{indent}{quoted},"
        return end, end, f",\n{indent}{quoted}"
    if trailing:
        return end + comma + 1, end + comma + 1, f" {quoted},"
    return end, end, f", {quoted}"


def _replica_removed(document: Document, source: SourceText, region: str) -> TextEdit:
    items = _replica_items(document, source)
    index = next((i for i, item in enumerate(items) if item[2] == region), None)
    if index is None:
        raise _error(document, source, REPLICA_REGIONS, f"{REPLICA_REGIONS} does not list {region}")
    start, end, _value = items[index]
    if len(items) == 1:
        after = source.text[end:]
        spaces = len(after) - len(after.lstrip(" \t"))
        return start, end + spaces + 1 if after[spaces:spaces + 1] == "," else end, ""
    if index < len(items) - 1:
        return start, items[index + 1][0], ""
    return items[index - 1][1], end, ""


def _offset(source: SourceText, line: int, column: int) -> int:
    lines = source.text.split("\n")
    return sum(len(text) + 1 for text in lines[: line - 1]) + column - 1


def _error(document: Document, source: SourceText, path: str, message: str) -> ProjectEditError:
    provenance = document.provenance(path)
    return ProjectEditError(message, source.file, provenance.line, provenance.column,
                            source_line=source.line_text(provenance.line))
