"""What `${name}` means where it is written: the key of its own section or block first, then as `$name`.

TuskLang files written for other implementations mean, by `${host}` in `[server]`, the section's own `host`;
`$host` means the global. This implementation takes that meaning, and refuses a name that could mean two
things (the section's key and a global, caller variable or top-level key) with an error naming both, rather
than choosing. The evaluator asks these functions; they never evaluate anything themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tusk_infra.tusk.errors import SourceText, TuskError, suggestion
from tusk_infra.tusk.syntax import ObjectLit, Ref, ScopedRef
from tusk_infra.tusk.tables import Entry, Layout, Table


def scope_of(layout: Layout, entry: Entry) -> Table | None:
    """The section, block or root the key of `entry` is written in; None for a global. Found from the
    entry's dotted label: an Entry holding its Table would make every layout a reference cycle."""
    if entry.label.startswith("$"):
        return None
    table = layout.root
    for name in entry.label.split(".")[:-1]:
        table = table.children[name]
    return table


def ambiguity(
    layout: Layout, variables: Mapping[str, Any], node: ScopedRef, scope: Table
) -> TuskError | None:
    """The error when `${name}` names a key of `scope` and `$name` would find something else too."""
    name = node.name
    other = _other_meaning(layout, variables, name, scope)
    if other is None or _refers_to_itself(scope.children[name], name):
        return None
    source = layout.source
    line = source.line_col(scope.key_start(name))[0]
    if scope.label:
        own = f"the key '{scope.label}.{name}' (line {line})"
        hint = f"write ${{{scope.label}.{name}}} for the key, or rename one of them"
    else:
        own, hint = f"the top-level key '{name}' (line {line})", "rename one of them"
    return source.error(f"'${{{name}}}' could mean {own} or {other}: {hint}", node.start, len(name))


def unknown_in_scope(
    layout: Layout, variables: Mapping[str, Any], node: ScopedRef, scope: Table
) -> TuskError | None:
    """For a `${name}` that `scope` lacks and nothing else defines: an error saying so when the name is
    close to a key of `scope` or is a key of an enclosing section (else None: the `$name` error applies)."""
    name = node.name
    if scope is layout.root or name in layout.globals or name in variables or name in layout.root.children:
        return None
    hint = suggestion(name, scope.children)
    enclosing = _enclosing_with_key(layout.root, scope.label, name)
    if enclosing is not None:
        hint = f" (the key of '{enclosing}' is written ${{{enclosing}.{name}}})"
    if not hint:
        return None
    return layout.source.error(
        f"unknown name '${{{name}}}': '{scope.label}' has no key '{name}'{hint}, and there is no "
        f"global ${name}",
        node.start,
        len(name),
    )


def object_member_error(source: SourceText, obj: ObjectLit, node: ScopedRef) -> TuskError | None:
    """`${host}` inside an inline object with a member `host`: the block form would mean that member, the
    object form cannot (an object's members are not keys of a section), so neither is chosen silently."""
    member = next((m for m in obj.members if m.key == node.name), None)
    if member is None:
        return None
    line = source.line_col(member.key_start)[0]
    return source.error(
        f"'${{{node.name}}}' is inside an object that has the key '{node.name}' (line {line}), which "
        "${...} cannot name: write the object as a block (name { ... }) to refer to its keys, or rename one "
        "of them",
        node.start,
        len(node.name),
    )


def _other_meaning(layout: Layout, variables: Mapping[str, Any], name: str, scope: Table) -> str | None:
    """What `$name` finds besides the scope's own key (looking as the evaluator does: globals, caller
    variables, top-level keys), described for a message; None if nothing."""
    source = layout.source
    entry = layout.globals.get(name)
    if entry is not None:
        return f"the global ${name} (line {source.line_col(entry.key_start)[0]})"
    if name in variables:
        return f"the variable ${name} given to the evaluation"
    root = layout.root
    if scope is not root and name in root.children:
        return f"the top-level key '{name}' (line {source.line_col(root.key_start(name))[0]})"
    return None


def _refers_to_itself(child: Any, name: str) -> bool:
    """`region: $region`: the key is the global under the same name, so either meaning gives one value."""
    if not isinstance(child, Entry):
        return False
    expr = child.expr
    return type(expr) is Ref and expr.name == name and not expr.segments


def _enclosing_with_key(root: Table, label: str, name: str) -> str | None:
    """The label of the innermost section or block around the table `label` that has the key `name`."""
    tables, table = [], root
    for part in label.split(".")[:-1]:
        child = table.children.get(part)
        if not isinstance(child, Table):
            break
        tables.append(child)
        table = child
    return next((table.label for table in reversed(tables) if name in table.children), None)
