"""Methods on values: `.split(sep)`, `.join(sep)`, `.trim()`, `.lower()`, `.upper()`, `.length()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tusk_infra.tusk.errors import suggestion
from tusk_infra.tusk.syntax import MethodCall
from tusk_infra.tusk.value_limits import check_text, check_value
from tusk_infra.tusk.values import Secret
from tusk_infra.tusk.valuetypes import MISSING, ValueProblem, as_text, describe

if TYPE_CHECKING:
    from tusk_infra.tusk.evaluator import Evaluator


def _text(receiver: Any, method: str) -> str:
    if isinstance(receiver, str):
        return receiver
    raise ValueProblem(f".{method}() needs a string, found {describe(receiver)}")


def _separator(args: list[Any], method: str) -> str:
    if isinstance(args[0], str):
        return args[0]
    raise ValueProblem(f"the separator of .{method}() must be a string, found {describe(args[0])}")


def _split(receiver: Any, args: list[Any]) -> list[str]:
    separator = _separator(args, "split")
    if not separator:
        raise ValueProblem(".split() needs a non-empty separator")
    text = _text(receiver, "split")
    # An empty string splits into no items, so `@env("NODES", "").split(",")` is [], not [""].
    return [] if text == "" else [item.strip() for item in text.split(separator)]


def _join(receiver: Any, args: list[Any]) -> str:
    separator = _separator(args, "join")
    if not isinstance(receiver, list):
        raise ValueProblem(f".join() needs a list, found {describe(receiver)}")
    check_value(receiver)
    texts = [as_text(item) for item in receiver]
    check_text(sum(len(text) for text in texts) + len(separator) * max(0, len(texts) - 1))
    return separator.join(texts)


def _length(receiver: Any, args: list[Any]) -> int:
    if isinstance(receiver, str | list | dict):
        return len(receiver)
    raise ValueProblem(f".length() needs a string, list or object, found {describe(receiver)}")


# name -> (number of arguments, implementation)
METHODS: dict[str, tuple[int, Callable[[Any, list[Any]], Any]]] = {
    "split": (1, _split),
    "join": (1, _join),
    "trim": (0, lambda receiver, args: _text(receiver, "trim").strip()),
    "lower": (0, lambda receiver, args: _text(receiver, "lower").lower()),
    "upper": (0, lambda receiver, args: _text(receiver, "upper").upper()),
    "length": (0, _length),
}


def call_method(evaluator: Evaluator, node: MethodCall) -> Any:
    """Evaluate `receiver.name(args)`."""
    known = METHODS.get(node.name)
    if known is None:
        names = ", ".join(f".{name}()" for name in METHODS)
        raise evaluator.source.error(
            f"unknown method '.{node.name}()'{suggestion(node.name, METHODS, '.', '()')}; "
            f"known methods: {names}",
            node.name_start,
            len(node.name),
        )
    arity, implementation = known
    if len(node.args) != arity:
        plural = "" if arity == 1 else "s"
        raise evaluator.error(f".{node.name}() takes {arity} argument{plural}, found {len(node.args)}", node)
    receiver = evaluator.eval(node.target)
    args = [evaluator.eval(arg) for arg in node.args]
    if receiver is MISSING or any(arg is MISSING for arg in args):
        return MISSING
    if isinstance(receiver, Secret) or any(isinstance(arg, Secret) for arg in args):
        raise evaluator.error(f".{node.name}() cannot be applied to a secret", node)
    try:
        return implementation(receiver, args)
    except ValueProblem as problem:
        raise evaluator.error(str(problem), node) from None
