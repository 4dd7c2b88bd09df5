"""Evaluates a laid-out file: lazily, memoised per key, recording the external inputs each value used."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from tusk_infra.tusk.arithmetic import apply_binary, logical_not, negate
from tusk_infra.tusk.errors import MissingEnvironment, SourceText, TuskError, quoted_list, suggestion
from tusk_infra.tusk.methods import METHODS
from tusk_infra.tusk.providers import Providers
from tusk_infra.tusk.scopes import ambiguity, object_member_error, scope_of, unknown_in_scope
from tusk_infra.tusk.syntax import (
    ArrayLit,
    Binary,
    Conditional,
    Const,
    Expr,
    Get,
    Interpolated,
    MethodCall,
    ObjectLit,
    OperatorCall,
    PathSegment,
    Ref,
    ScopedRef,
    Unary,
)
from tusk_infra.tusk.tables import ACTIVE, DONE, Entry, Layout, Table
from tusk_infra.tusk.value_limits import check_text, check_value
from tusk_infra.tusk.values import SECRET_MASK, InputUse, Secret
from tusk_infra.tusk.valuetypes import MISSING, ValueProblem, as_text, describe


class MissingInput:
    """An environment variable (or secret) an expression needed but nobody set."""

    __slots__ = ("name", "offset", "span", "secret")

    def __init__(self, name: str, offset: int, span: int, secret: bool) -> None:
        self.name = name
        self.offset = offset
        self.span = span  # the whole `@env(...)` call, for the caret line
        self.secret = secret


class Evaluator:
    """One evaluation of one file with one set of inputs."""

    def __init__(
        self, layout: Layout, variables: Mapping[str, Any], providers: Providers, resources: Any = None
    ) -> None:
        self.source: SourceText = layout.source
        self.layout = layout
        self.variables = dict(variables)
        self.providers = providers
        self.resources = resources  # per-evaluation cache and database connection (operators.Resources)
        self.missing: list[MissingInput] = []
        self.warnings: list[str] = []
        self.all_inputs: list[InputUse] = []
        self._collector: list[InputUse] | None = None
        self._active: list[Entry] = []
        # Inline objects being evaluated, with the depth of _active they belong to: a `${name}` in one
        # that has a member `name` is refused (see _scoped_ref).
        self._objects: list[tuple[int, ObjectLit]] = []

    # ---- the document ----
    def run(self) -> dict[str, Any]:
        """Evaluate every global and every key; raise one error listing all missing environment variables."""
        for name, entry in self.layout.globals.items():
            if name in self.variables:
                self.warn(f"--var {name} is ignored: the file declares ${name} itself")
            self.entry_value(entry, None)
        data = self.materialize(self.layout.root)
        if self.missing:
            raise self._missing_error()
        self._warn_unused_variables()
        return data

    def _warn_unused_variables(self) -> None:
        """A caller variable the file never mentions is most likely misspelt (`--var regoin=...`). (One
        mentioned only in a branch not taken this time is fine.)"""
        if not self.variables:  # the usual case: no scan of the text at all
            return
        mentioned = _referenced_names(self.source.text)
        for name in self.variables:
            if name not in mentioned:
                hint = suggestion(name, mentioned, "$")
                self.warn(f"--var {name} is not used: the file never mentions ${name}{hint}")

    def materialize(self, table: Table) -> dict[str, Any]:
        """A table as a plain dict, evaluating whatever is still pending."""
        result: dict[str, Any] = {}
        for key, child in table.children.items():
            kind = child.__class__
            if kind is Entry:
                if child.state == DONE and self._collector is None:  # nobody to pass its inputs on to
                    result[key] = child.value
                else:
                    result[key] = self.entry_value(child, None)
            elif kind is Table:
                result[key] = self.materialize(child)
            else:  # a literal's value
                result[key] = child
        return result

    def entry_value(self, entry: Entry, via: Expr | None) -> Any:
        """The value of a key or global, evaluated once; its inputs flow into whoever asked."""
        expr = entry.expr
        if isinstance(expr, Const) and entry.state != DONE:
            # Literals (most of a static file) need no input tracking or cycle bookkeeping.
            entry.value = expr.value
            entry.state = DONE
            return entry.value
        if entry.state == DONE:
            if self._collector is not None:
                self._collector.extend(entry.inputs)
            return entry.value
        if entry.state == ACTIVE:
            raise self._cycle_error(entry, via)
        entry.state = ACTIVE
        self._active.append(entry)
        outer, self._collector = self._collector, []
        try:
            value = self.eval(entry.expr)
        except RecursionError:
            message = "this expression nests too deeply to evaluate"
            raise self.source.error(message, entry.expr.start) from None
        finally:
            collected, self._collector = self._collector, outer
            self._active.pop()
        entry.value = value
        entry.inputs = unique_inputs(collected) if collected else ()
        entry.state = DONE
        if outer is not None:
            outer.extend(entry.inputs)
        return value

    # ---- expressions ----
    def eval(self, node: Expr) -> Any:
        """The value of an expression."""
        return _DISPATCH[type(node)](self, node)

    def record(self, use: InputUse) -> None:
        """Note an external input used by the value being evaluated."""
        self.all_inputs.append(use)
        if self._collector is not None:
            self._collector.append(use)

    def warn(self, message: str) -> None:
        """A non-fatal notice: kept on the Document and passed to the provider's warn callback."""
        if message not in self.warnings:
            self.warnings.append(message)
            self.providers.warn(message)

    def error(self, message: str, node: Expr | PathSegment) -> TuskError:
        """A TuskError pinned to a node's source."""
        return self.source.error(message, node.start, node.end - node.start)

    def note_missing(self, name: str, node: Expr, secret: bool) -> Any:
        """Remember an unset variable and carry on with a placeholder, so all of them get reported."""
        self.missing.append(MissingInput(name, node.start, node.end - node.start, secret))
        return MISSING

    def _const(self, node: Const) -> Any:
        return node.value

    def _array(self, node: ArrayLit) -> list[Any]:
        return [self.eval(item) for item in node.items]

    def _object(self, node: ObjectLit) -> dict[str, Any]:
        result: dict[str, Any] = {}
        self._objects.append((len(self._active), node))
        try:
            for member in node.members:
                if member.key in result:
                    raise self.source.error(
                        f"duplicate key '{member.key}' in object", member.key_start, len(member.key)
                    )
                result[member.key] = self.eval(member.value)
        finally:
            self._objects.pop()
        return result

    def _interpolated(self, node: Interpolated) -> Any:
        pieces: list[str] = []
        secret_name: str | None = None
        for part in node.parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            value = self._scoped_ref(part)
            if value is MISSING:
                return MISSING
            if isinstance(value, Secret):
                secret_name = secret_name or value.name
                pieces.append(value.reveal())
                continue
            try:
                check_value(value)
                pieces.append(as_text(value))
            except ValueProblem as problem:
                raise self.error(f"cannot interpolate ${{{self.source_of(part)}}}: {problem}", part) from None
        try:
            check_text(sum(len(piece) for piece in pieces))
        except ValueProblem as problem:
            raise self.error(str(problem), node) from None
        text = "".join(pieces)
        # A string built from a secret is itself secret.
        return Secret(text, secret_name) if secret_name is not None else text

    def _binary(self, node: Binary) -> Any:
        if node.op in ("&&", "||"):
            return self._logical(node)
        left = self.eval(node.left)
        right = self.eval(node.right)
        if left is MISSING or right is MISSING:
            return MISSING
        try:
            return apply_binary(node.op, left, right)
        except ValueProblem as problem:
            raise self.error(str(problem), node) from None

    def _logical(self, node: Binary) -> Any:
        left = self.condition(node.left, f"'{node.op}'")
        if left is MISSING:
            return MISSING
        if (node.op == "&&" and not left) or (node.op == "||" and left):
            return left
        return self.condition(node.right, f"'{node.op}'")

    def condition(self, node: Expr, what: str) -> Any:
        """Evaluate a node that must be a boolean (no truthiness guessing)."""
        value = self.eval(node)
        if value is MISSING or isinstance(value, bool):
            return value
        raise self.error(f"{what} needs a boolean, found {describe(value)}", node)

    def _unary(self, node: Unary) -> Any:
        value = self.eval(node.operand)
        if value is MISSING:
            return MISSING
        try:
            return negate(value) if node.op == "-" else logical_not(value)
        except ValueProblem as problem:
            raise self.error(str(problem), node) from None

    def _conditional(self, node: Conditional) -> Any:
        chosen = self.condition(node.condition, "the condition of '? :'")
        if chosen is MISSING:
            return MISSING
        return self.eval(node.then if chosen else node.otherwise)

    def _operator(self, node: OperatorCall) -> Any:
        from tusk_infra.tusk.operators import call_operator

        return call_operator(self, node)

    def _method(self, node: MethodCall) -> Any:
        from tusk_infra.tusk.methods import call_method

        return call_method(self, node)

    # ---- references ----
    def _ref(self, node: Ref) -> Any:
        current = self._head(node)
        for segment in node.segments:
            if current is MISSING:
                return MISSING
            current = self._step(current, segment)
        return self._plain(current, node)

    def _follow(self, current: Any, node: Ref) -> Any:
        """The value at the reference's segments from its head's value (_ref's loop, for a head found
        otherwise)."""
        for segment in node.segments:
            if current is MISSING:
                return MISSING
            current = self._step(current, segment)
        return self._plain(current, node)

    def _scoped_ref(self, node: ScopedRef) -> Any:
        """`${name...}`: the key `name` of the section or block the expression is written in, if it has one;
        otherwise what `$name` means. A name that means both is an error naming both (scopes.py, README)."""
        self._refuse_object_member(node)
        scope = scope_of(self.layout, self._active[-1]) if self._active else None
        if scope is None:  # a global's expression: no section of its own
            return self._ref(node)
        if node.name not in scope.children:
            unknown = unknown_in_scope(self.layout, self.variables, node, scope)
            if unknown is not None:
                raise unknown
            return self._ref(node)
        ambiguous = ambiguity(self.layout, self.variables, node, scope)
        if ambiguous is not None:
            raise ambiguous
        return self._follow(scope.children[node.name], node)

    def _refuse_object_member(self, node: ScopedRef) -> None:
        """`${host}` inside an inline object with a member `host`: refused (scopes.object_member_error)."""
        depth = len(self._active)
        for owner, obj in reversed(self._objects):
            if owner != depth:  # objects of the entries further out: another key's expression
                return
            clash = object_member_error(self.source, obj, node)
            if clash is not None:
                raise clash

    def _get(self, node: Get) -> Any:
        target = self.eval(node.target)
        if target is MISSING:
            return MISSING
        return self._plain(self._step(target, node.segment), node)

    def _head(self, node: Ref) -> Any:
        name = node.name
        entry = self.layout.globals.get(name)
        if entry is not None:
            return self.entry_value(entry, node)
        if name in self.variables:
            value = self.variables[name]
            shown = SECRET_MASK if isinstance(value, Secret) else value
            self.record(InputUse("var", name, shown))
            return value
        top = self.layout.root.children.get(name)
        if top is not None:
            return top
        known = [*self.layout.globals, *self.variables, *self.layout.root.children]
        written = len(name) + (1 if self.source.text.startswith("$", node.start) else 0)
        raise self.source.error(
            f"unknown global '${name}'{suggestion(name, known, '$')}", node.start, written
        )

    def _step(self, current: Any, segment: PathSegment) -> Any:
        """Follow one `.key` from a table, an entry or an evaluated object."""
        if isinstance(current, Entry):
            current = self.entry_value(current, None)
            if current is MISSING:
                return MISSING
        key = self._segment_key(segment)
        if key is MISSING:
            return MISSING
        if isinstance(current, Table):
            return self._lookup(current.children, key, segment, current.label)
        if isinstance(current, dict):
            return self._lookup(current, key, segment, "")
        raise self.error(
            f"cannot read '.{key}' from {describe(current)}: only sections, blocks and objects have keys"
            f"{_method_hint(key)}",
            segment,
        )

    def _segment_key(self, segment: PathSegment) -> Any:
        if segment.dynamic is None:
            return segment.key
        key = self._scoped_ref(segment.dynamic)
        if key is MISSING or isinstance(key, str):
            return key
        if isinstance(key, int) and not isinstance(key, bool):
            return str(key)
        raise self.error(f"a ${{...}} key must be a string, found {describe(key)}", segment)

    def _lookup(self, children: Mapping[str, Any], key: str, segment: PathSegment, label: str) -> Any:
        if key in children:
            return children[key]
        if segment.dynamic is not None and "-" in key:
            # Region names use '-', keys cannot: `us-east-1` finds the block `us_east_1`.
            alias = key.replace("-", "_")
            if alias in children:
                return children[alias]
        where = f"'{label}'" if label else "the object"
        tried = f"'{key}'" + (
            f" (or '{key.replace('-', '_')}')" if segment.dynamic is not None and "-" in key else ""
        )
        raise self.error(
            f"no key {tried} in {where}{suggestion(key, children)}; it has: {quoted_list(children)}"
            f"{_method_hint(key)}",
            segment,
        )

    def _plain(self, current: Any, via: Expr) -> Any:
        if isinstance(current, Entry):
            return self.entry_value(current, via)
        if isinstance(current, Table):
            return self.materialize(current)
        return current

    # ---- errors ----
    def _cycle_error(self, entry: Entry, via: Expr | None) -> TuskError:
        start = self._active.index(entry)
        chain = " -> ".join(e.label for e in [*self._active[start:], entry])
        offset = via.start if via is not None else entry.key_start
        span = (via.end - via.start) if via is not None else 1
        return self.source.error(f"reference cycle: {chain}", offset, span)

    def _missing_error(self) -> TuskError:
        seen: dict[str, MissingInput] = {}
        for item in self.missing:
            if item.name not in seen or item.offset < seen[item.name].offset:
                seen[item.name] = item
        items = sorted(seen.values(), key=lambda item: item.offset)
        # A misspelt name is most likely one the file reads elsewhere or one the environment has (the stack's
        # REGION, ZONE, INSTANCE_ID are there too): names only, never values.
        read = {use.name for use in self.all_inputs if use.kind in ("env", "secret")}
        known = read | set(self.providers.env)
        described = ", ".join(
            f"{item.name} ({'secret, ' if item.secret else ''}line {self.source.line_col(item.offset)[0]}"
            f"{_did_you_mean(item.name, known - set(seen))})"
            for item in items
        )
        noun = "environment variable is" if len(items) == 1 else f"{len(items)} environment variables are"
        first = items[0]
        error = self.source.error(
            f"{noun} not set: {described}", first.offset, first.span, MissingEnvironment
        )
        assert isinstance(error, MissingEnvironment)
        error.names = tuple(item.name for item in items)
        error.secret_names = tuple(item.name for item in items if item.secret)
        return error

    def source_of(self, node: Expr) -> str:
        """The source text of an expression."""
        return self.source.text[node.start : node.end]


def _referenced_names(text: str) -> set[str]:
    """The `$name` heads written anywhere in the text (what a caller variable could have been meant for)."""
    return set(_REFERENCE.findall(text))


_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _method_hint(key: str) -> str:
    """`.length` where `.length()` was meant: a method call needs its parentheses."""
    if key in METHODS:
        return f"; did you mean the method '.{key}()'? (a method call needs parentheses)"
    return ""


def unique_inputs(inputs: list[InputUse]) -> tuple[InputUse, ...]:
    """Inputs in first-use order, each (kind, name) once."""
    seen: dict[tuple[str, str], InputUse] = {}
    for use in inputs:
        seen.setdefault((use.kind, use.name), use)
    return tuple(seen.values())


# Plain functions by node type, shared by every evaluation. (A per-instance table of bound methods would tie
# each Evaluator into a reference cycle, keeping a document's tables alive until the garbage collector ran.)
_DISPATCH: dict[type, Callable[[Evaluator, Any], Any]] = {
    Const: Evaluator._const,
    Ref: Evaluator._ref,
    ScopedRef: Evaluator._scoped_ref,
    Interpolated: Evaluator._interpolated,
    ArrayLit: Evaluator._array,
    ObjectLit: Evaluator._object,
    OperatorCall: Evaluator._operator,
    MethodCall: Evaluator._method,
    Binary: Evaluator._binary,
    Unary: Evaluator._unary,
    Conditional: Evaluator._conditional,
    Get: Evaluator._get,
}


def _did_you_mean(name: str, known: set[str]) -> str:
    """`; did you mean NAME?` for the known name a typo away (ignoring case: a letter wrong, missing, extra or
    two swapped, one per five letters), or ''. A name merely alike (DB_PRIMARY_USER for an unset
    DB_PRIMARY_PASSWORD) is no suggestion."""
    limit = max(1, len(name) // 5)
    near = sorted((_typos(name.lower(), other.lower()), other) for other in known if other != name)
    return f"; did you mean {near[0][1]}?" if near and near[0][0] <= limit else ""


def _typos(a: str, b: str) -> int:
    """Edits between two names: substitutions, insertions, deletions, adjacent swaps (optimal alignment)."""
    if abs(len(a) - len(b)) > 3:
        # Too far to suggest: the longer name (an upper bound of the edits), not the length difference, which
        # is only a lower bound and let REQUESTS_CA_BUNDLE pass for REDIS_CLUSTER_PASSWORD (4 <= 22 // 5).
        return max(len(a), len(b))
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]
