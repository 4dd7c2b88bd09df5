"""Values the evaluator produces that are more than plain JSON: secrets and provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SECRET_MASK = "[secret]"


class Secret:
    """A value from `@env.secure`: it masks itself everywhere unless `reveal()` is called."""

    __slots__ = ("_value", "name")

    def __init__(self, value: str, name: str = "") -> None:
        self._value = value
        self.name = name

    def reveal(self) -> str:
        """Return the plain value; callers that do this own keeping it out of output."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.name!r})" if self.name else "Secret()"

    def __str__(self) -> str:
        return SECRET_MASK

    def __format__(self, spec: str) -> str:
        return SECRET_MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> str | tuple[object, ...]:
        # Pickling would write the plain value somewhere we don't control.
        raise TypeError("a Secret cannot be pickled")


InputKind = Literal["env", "secret", "metric", "query", "var", "date"]


@dataclass(frozen=True)
class InputUse:
    """One external input an expression read: an env var, a secret, a metric, a query or a caller variable."""

    kind: InputKind
    name: str
    # The value seen, for display; a secret's value is never stored here (SECRET_MASK instead).
    value: object = None
    # True when the input was absent and the expression's default was used.
    defaulted: bool = False


@dataclass(frozen=True)
class Provenance:
    """Where a value came from: the expression's file:line:col and text, and the inputs it depended on."""

    file: str
    line: int
    column: int
    source: str
    inputs: tuple[InputUse, ...] = field(default=())

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"
