"""A name the file reads with `@env.secure` is a secret everywhere: reading it with plain `@env` is an error.

Decided from the syntax tree before evaluation, so the plain value is never read (a plain `@env` value would
appear in type errors, explain output and the document itself).
"""

from __future__ import annotations

from collections.abc import Iterator

from tusk_infra.tusk.caching import child_exprs
from tusk_infra.tusk.errors import SourceText, TuskError
from tusk_infra.tusk.syntax import Const, Expr, OperatorCall
from tusk_infra.tusk.tables import Entry, Layout, Table


def check_secret_names(layout: Layout) -> None:
    """Raise a TuskError at the first plain `@env("NAME")` whose literal NAME is read with `@env.secure`."""
    secure: dict[str, int] = {}
    plain: list[tuple[str, OperatorCall]] = []
    for name, node in _env_calls(layout):
        if node.name == "env.secure":
            if name not in secure or node.start < secure[name]:
                secure[name] = node.start
        else:
            plain.append((name, node))
    clashes = [(node.start, name, node) for name, node in plain if name in secure]
    if not clashes:
        return
    _, name, node = min(clashes, key=lambda clash: clash[0])
    raise _plain_read_error(layout.source, name, node, secure[name])


def _plain_read_error(source: SourceText, name: str, node: OperatorCall, secure_at: int) -> TuskError:
    line = source.line_col(secure_at)[0]
    return source.error(
        f"{name} is a secret (read with @env.secure at line {line}): read it with @env.secure here too",
        node.start,
        node.end - node.start,
    )


def _env_calls(layout: Layout) -> Iterator[tuple[str, OperatorCall]]:
    """Every `@env` / `@env.secure` call with a literal string name, in any key or global."""
    for entry in _entries(layout):
        yield from _env_calls_in(entry.expr)


def _entries(layout: Layout) -> Iterator[Entry]:
    yield from layout.globals.values()
    tables = [layout.root]
    while tables:
        table = tables.pop()
        for child in table.children.values():
            if isinstance(child, Table):
                tables.append(child)
            elif isinstance(child, Entry):  # not a literal's value
                yield child


def _env_calls_in(expr: Expr) -> Iterator[tuple[str, OperatorCall]]:
    pending = [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, OperatorCall) and node.name in ("env", "env.secure") and node.args:
            name = node.args[0]
            if isinstance(name, Const) and isinstance(name.value, str):
                yield name.value, node
        pending.extend(child_exprs(node))
