"""Binary and unary operators on evaluated values: type-aware, and never guessing across types."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tusk_infra.tusk.value_limits import check_text, check_value
from tusk_infra.tusk.values import Secret
from tusk_infra.tusk.valuetypes import (
    ValueProblem,
    describe,
    fits_int64,
    is_number,
    strict_equal,
    type_name,
)


def apply_binary(op: str, left: Any, right: Any) -> Any:
    """`left op right` for the operators other than `&&` / `||`."""
    if isinstance(left, Secret) or isinstance(right, Secret):
        return _secret_binary(op, left, right)
    result = _BINARY[op](left, right)
    if isinstance(result, float) and math.isinf(result) or isinstance(result, int) and not fits_int64(result):
        raise ValueProblem(f"the result of '{op}' is too large for a number")
    return result


def negate(value: Any) -> Any:
    """Unary minus."""
    if is_number(value):
        if isinstance(value, int) and not fits_int64(-value):
            raise ValueProblem("the result of '-' is too large for a number")
        return -value
    raise ValueProblem(f"cannot negate {describe(value)}: '-' needs a number")


def logical_not(value: Any) -> bool:
    """`!x` on a boolean."""
    if isinstance(value, bool):
        return not value
    raise ValueProblem(f"'!' needs a boolean, found {describe(value)}")


def _equal(left: Any, right: Any) -> bool:
    return strict_equal(left, right)


def _not_equal(left: Any, right: Any) -> bool:
    return not strict_equal(left, right)


def _ordering(op: str) -> Callable[[Any, Any], bool]:
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: bool(a < b),
        "<=": lambda a, b: bool(a <= b),
        ">": lambda a, b: bool(a > b),
        ">=": lambda a, b: bool(a >= b),
    }

    def ordered(left: Any, right: Any) -> bool:
        both_numbers = is_number(left) and is_number(right)
        both_strings = isinstance(left, str) and isinstance(right, str)
        if not (both_numbers or both_strings):
            raise ValueProblem(
                f"cannot order {describe(left)} against {describe(right)} with '{op}': "
                "both sides must be numbers or both strings"
            )
        return compare[op](left, right)

    return ordered


def _add(left: Any, right: Any) -> Any:
    if is_number(left) and is_number(right):
        return left + right
    if isinstance(left, str) and isinstance(right, str):
        check_text(len(left) + len(right))
        return left + right
    if isinstance(left, list) and isinstance(right, list):
        check_value([left, right])
        return left + right
    hint = " (convert one side with @string(...) or @int(...))" if _mixes_text_and_number(left, right) else ""
    raise ValueProblem(f"cannot add {describe(left)} and {describe(right)}{hint}")


def _mixes_text_and_number(left: Any, right: Any) -> bool:
    return (isinstance(left, str) and is_number(right)) or (is_number(left) and isinstance(right, str))


def _numeric(op: str, compute: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def numeric(left: Any, right: Any) -> Any:
        if not (is_number(left) and is_number(right)):
            raise ValueProblem(f"'{op}' needs two numbers, found {type_name(left)} and {type_name(right)}")
        return compute(left, right)

    return numeric


def _divide(left: Any, right: Any) -> Any:
    if right == 0:
        raise ValueProblem("division by zero")
    if isinstance(left, int) and isinstance(right, int) and left % right == 0:
        # Whole results stay integers: `workers / 2` is a count, not 8.0.
        return left // right
    return left / right


def _modulo(left: Any, right: Any) -> Any:
    if right == 0:
        raise ValueProblem("modulo by zero")
    return left % right


def _secret_binary(op: str, left: Any, right: Any) -> Secret:
    # A secret may be joined into a bigger string (a connection URL), which stays secret;
    # it is never compared.
    if op == "+" and all(isinstance(side, str | Secret) for side in (left, right)):
        name = next(side.name for side in (left, right) if isinstance(side, Secret))
        check_text(len(_reveal(left)) + len(_reveal(right)))
        return Secret(_reveal(left) + _reveal(right), name)
    found = f"{describe(left)} {op} {describe(right)}"
    allowed = "a secret can only be joined to strings with '+' (the result stays secret)"
    if op in ("==", "!=", "<", "<=", ">", ">="):
        raise ValueProblem(
            f"cannot compare with '{op}': found {found}; secrets are never compared; {allowed}"
        )
    if op == "+":
        raise ValueProblem(f"cannot add a secret to a non-string: found {found}; {allowed}")
    raise ValueProblem(f"cannot use a secret with '{op}': found {found}; {allowed}")


def _reveal(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else value


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "==": _equal,
    "!=": _not_equal,
    "<": _ordering("<"),
    "<=": _ordering("<="),
    ">": _ordering(">"),
    ">=": _ordering(">="),
    "+": _add,
    "-": _numeric("-", lambda a, b: a - b),
    "*": _numeric("*", lambda a, b: a * b),
    "/": _numeric("/", _divide),
    "%": _numeric("%", _modulo),
}
