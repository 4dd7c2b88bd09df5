"""The language's value types: their names in messages, strict equality, and the conversions @int etc. use."""

from __future__ import annotations

from typing import Any

from tusk_infra.tusk.values import Secret


class _Missing:
    """Stands in for an unset environment variable so evaluation can go on and report every missing one."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class ValueProblem(Exception):
    """A type or value error; the evaluator pins it to the expression that caused it."""


# Integers are 64-bit signed, as in TOML: everything downstream (JSON, YAML, Kubernetes, AWS) reads them,
# and Python's unbounded ints would hit limits of their own (no str() past 4300 digits, no float()).
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
INT_DIGITS = len(str(INT_MAX))


def fits_int64(value: int) -> bool:
    """True when value is an integer the language can hold."""
    return INT_MIN <= value <= INT_MAX


def integer_text_too_large(digits: str) -> bool:
    """True when a run of decimal digits is beyond the language's integers (checked before int())."""
    digits = digits.lstrip("0") or "0"
    return len(digits) > INT_DIGITS or int(digits) > INT_MAX


def type_name(value: Any) -> str:
    """The name a user sees for a value's type."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, Secret):
        return "secret"
    return type(value).__name__


def describe(value: Any) -> str:
    """A short rendering of a value for messages; never shows a secret."""
    if isinstance(value, Secret):
        return "a secret"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'the string "{shown}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return f"the {type_name(value)} {value!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"an {type_name(value)}"


def is_number(value: Any) -> bool:
    """True for integers and floats, not booleans."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def strict_equal(left: Any, right: Any) -> bool:
    """Equality that respects types: `1 == "1"` and `true == 1` are false, `1 == 1.0` is true."""
    if is_number(left) and is_number(right):
        return bool(left == right)
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(strict_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(strict_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def as_text(value: Any) -> str:
    """How a scalar appears inside a string (interpolation, @string)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if is_number(value):
        return repr(value)
    raise ValueProblem(f"cannot turn {describe(value)} into text")


def to_int(value: Any) -> int:
    """@int: integers, integral floats and decimal strings."""
    if isinstance(value, bool):
        raise ValueProblem("cannot convert a boolean to an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        if not fits_int64(int(value)):
            raise ValueProblem(f"cannot convert {describe(value)} to an integer: it is beyond 64 bits")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdigit():
            if integer_text_too_large(digits):
                raise ValueProblem(f"cannot convert {describe(value)} to an integer: it is beyond 64 bits")
            return int(text)
    raise ValueProblem(f"cannot convert {describe(value)} to an integer")


def to_float(value: Any) -> float:
    """@float: numbers and numeric strings."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            pass
        else:
            if result == result and result not in (float("inf"), float("-inf")):
                return result
    raise ValueProblem(f"cannot convert {describe(value)} to a float")


_TRUE_WORDS = {"true", "yes", "on", "1"}
_FALSE_WORDS = {"false", "no", "off", "0"}


def to_bool(value: Any) -> bool:
    """@bool: booleans, 0/1, and the usual words (true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise ValueProblem(
        f"cannot convert {describe(value)} to a boolean (expected true/false, yes/no, on/off, 1/0)"
    )
