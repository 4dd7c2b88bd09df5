"""Reading resource properties the way the engine hands them over: nested mappings, numbers as floats,
values unknown until deploy, and secrets that must never be echoed."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeGuard

# Pulumi's sentinels for values that are unknown during preview (pulumi_policy.proxy). Inside CrossGuard
# its proxy raises before we see them; offline callers may hand them in raw, so we recognise them too.
_PULUMI_UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)


class Unknown:
    """A value only the cloud knows; offline callers put this where the engine would put its sentinel."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "Unknown()"


UNKNOWN = Unknown()


class Sealed:
    """A secret input: policies may test whether it is set and how long it is, never print it."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __len__(self) -> int:
        return len(self._text)

    def __str__(self) -> str:
        return "[secret]"

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return "[secret]"

    def characters(self) -> frozenset[str]:
        """The set of characters used, so a policy can check the alphabet without seeing the text."""
        return frozenset(self._text)


class UnknownValue(Exception):
    """Raised when a policy needs a value that is only known after deploy."""

    def __init__(self, path: str) -> None:
        super().__init__(f"the value at {path} is only known after deploy")
        self.path = path


def is_unknown(value: object) -> bool:
    """Whether the value stands for something computed by the cloud."""
    return isinstance(value, Unknown) or (isinstance(value, str) and value in _PULUMI_UNKNOWN_SENTINELS)


def is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """Mappings include CrossGuard's read-only property proxies, which are not dicts."""
    return isinstance(value, Mapping)


def is_list(value: object) -> TypeGuard[Sequence[Any]]:
    """Sequences that are lists of values (CrossGuard passes list proxies), never strings."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def lookup(props: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path ("spec.behavior.scaleUp"), None when absent; UnknownValue when unknown."""
    current: Any = props
    walked: list[str] = []
    for segment in path.split("."):
        walked.append(segment)
        current = _child(current, segment)
        if current is None:
            return None
        if is_unknown(current):
            raise UnknownValue(".".join(walked))
    return current


def _child(container: Any, segment: str) -> Any:
    if is_mapping(container):
        return container.get(segment)
    if is_list(container) and segment.isdigit():
        index = int(segment)
        return container[index] if index < len(container) else None
    return None


def is_present(props: Mapping[str, Any], key: str) -> bool:
    """Whether a top-level input has a value, known or not (an unknown replication source is still one)."""
    if not any(name == key for name in props):
        return False
    try:
        value = props[key]
    except Exception:  # CrossGuard's property proxy raises (UnknownValueError) for values unknown in preview
        return True
    return is_unknown(value) or is_set(value)


def known(props: Mapping[str, Any], path: str) -> Any:
    """The value at a path when it is known, None when absent or only known after deploy."""
    try:
        return lookup(props, path)
    except UnknownValue:
        return None
    except Exception:  # CrossGuard's property proxy raising for an unknown value
        return None


def mapping_at(props: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """The mapping at a path, or an empty one when absent or not a mapping."""
    value = lookup(props, path)
    return value if is_mapping(value) else {}


def items_at(props: Mapping[str, Any], path: str) -> Iterator[tuple[int, Any]]:
    """Index and item of the list at a path (nothing when absent)."""
    value = lookup(props, path)
    if is_list(value):
        yield from enumerate(value)


def number(value: object) -> float | None:
    """A numeric property as a float (the engine sends every number as one); None when not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    converted = float(value)
    return converted if math.isfinite(converted) else None


def is_true(value: object) -> bool:
    """Only a real boolean true counts: a missing flag is the provider's default (false)."""
    return value is True


def is_set(value: object) -> bool:
    """Whether a (possibly secret) property has a non-empty value."""
    if value is None:
        return False
    if isinstance(value, Sealed | str):
        return len(value) > 0
    return True


def show(value: object) -> str:
    """A value as a message shows it: whole floats without '.0', strings quoted, secrets masked."""
    if isinstance(value, Sealed):
        return "[secret]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return "not set"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
