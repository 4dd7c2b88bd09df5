"""The syntax tree the parser builds: statements and expressions, each carrying its source offsets."""

from __future__ import annotations

from typing import Any


class Expr:
    """An expression; `start`/`end` are character offsets of its source text."""

    __slots__ = ("start", "end")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end


class Const(Expr):
    """A literal whose value is known at parse time (number, string without interpolation, bool, null)."""

    __slots__ = ("value",)

    def __init__(self, value: Any, start: int, end: int) -> None:
        super().__init__(start, end)
        self.value = value


class Interpolated(Expr):
    """A double-quoted string with `${...}` parts: literal text and references, in order."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[str | ScopedRef], start: int, end: int) -> None:
        super().__init__(start, end)
        self.parts = parts


class Ref(Expr):
    """`$name` followed by any number of `.key` / `.${dynamic}` segments."""

    __slots__ = ("name", "segments")

    def __init__(self, name: str, segments: list[PathSegment], start: int, end: int) -> None:
        super().__init__(start, end)
        self.name = name
        self.segments = segments


class ScopedRef(Ref):
    """A `${name...}` reference (in a string or as a path segment): its head is first looked up among the
    keys of the section or block the expression is written in, then as a `$name` reference is."""

    __slots__ = ()


class PathSegment:
    """One `.key` of a reference; `dynamic` holds the reference of a `.${...}` segment."""

    __slots__ = ("key", "dynamic", "start", "end")

    def __init__(self, key: str, dynamic: ScopedRef | None, start: int, end: int) -> None:
        self.key = key
        self.dynamic = dynamic
        self.start = start
        self.end = end


class Get(Expr):
    """`.key` applied to a value that is not a reference (an operator result, a literal object)."""

    __slots__ = ("target", "segment")

    def __init__(self, target: Expr, segment: PathSegment, start: int, end: int) -> None:
        super().__init__(start, end)
        self.target = target
        self.segment = segment


class MethodCall(Expr):
    """`value.name(args)`."""

    __slots__ = ("target", "name", "args", "name_start")

    def __init__(self, target: Expr, name: str, args: list[Expr], name_start: int, end: int) -> None:
        super().__init__(target.start, end)
        self.target = target
        self.name = name
        self.args = args
        self.name_start = name_start


class OperatorCall(Expr):
    """`@name(args)` or `@name.variant(args)`."""

    __slots__ = ("name", "args")

    def __init__(self, name: str, args: list[Expr], start: int, end: int) -> None:
        super().__init__(start, end)
        self.name = name
        self.args = args


class Unary(Expr):
    """`-x` or `!x`."""

    __slots__ = ("op", "operand")

    def __init__(self, op: str, operand: Expr, start: int) -> None:
        super().__init__(start, operand.end)
        self.op = op
        self.operand = operand


class Binary(Expr):
    """Arithmetic, comparison and the short-circuit `&&` / `||`."""

    __slots__ = ("op", "left", "right", "op_start")

    def __init__(self, op: str, left: Expr, right: Expr, op_start: int) -> None:
        super().__init__(left.start, right.end)
        self.op = op
        self.left = left
        self.right = right
        self.op_start = op_start


class Conditional(Expr):
    """`cond ? a : b`."""

    __slots__ = ("condition", "then", "otherwise")

    def __init__(self, condition: Expr, then: Expr, otherwise: Expr) -> None:
        super().__init__(condition.start, otherwise.end)
        self.condition = condition
        self.then = then
        self.otherwise = otherwise


class ArrayLit(Expr):
    """`[a, b, ...]`."""

    __slots__ = ("items",)

    def __init__(self, items: list[Expr], start: int, end: int) -> None:
        super().__init__(start, end)
        self.items = items


class ObjectLit(Expr):
    """`{key: value, ...}`; members keep their key offsets for duplicate-key errors."""

    __slots__ = ("members",)

    def __init__(self, members: list[Member], start: int, end: int) -> None:
        super().__init__(start, end)
        self.members = members


class Member:
    """One `key: value` of an inline object."""

    __slots__ = ("key", "key_start", "value")

    def __init__(self, key: str, key_start: int, value: Expr) -> None:
        self.key = key
        self.key_start = key_start
        self.value = value


# ---- statements ----


class Pair:
    """`key: value` inside the current section or block."""

    __slots__ = ("key", "key_start", "value")

    def __init__(self, key: str, key_start: int, value: Expr) -> None:
        self.key = key
        self.key_start = key_start
        self.value = value


class GlobalDecl:
    """`$name: value`."""

    __slots__ = ("name", "start", "value")

    def __init__(self, name: str, start: int, value: Expr) -> None:
        self.name = name
        self.start = start
        self.value = value


class Section:
    """`[a.b]`: the following statements, up to the next section, belong to it."""

    __slots__ = ("names", "start", "end")

    def __init__(self, names: list[str], start: int, end: int) -> None:
        self.names = names
        self.start = start
        self.end = end


class Block:
    """`name { ... }` or `name > ... <`."""

    __slots__ = ("key", "key_start", "body")

    def __init__(self, key: str, key_start: int, body: list[Statement]) -> None:
        self.key = key
        self.key_start = key_start
        self.body = body


Statement = Pair | GlobalDecl | Section | Block
