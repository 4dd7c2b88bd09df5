"""Operator precedence for the flat `a op b op c` chains the grammar produces."""

from __future__ import annotations

from typing import Any

from tusk_infra.tusk.errors import SyntaxProblem
from tusk_infra.tusk.syntax import Binary, Expr

# Loosest first: || then && then comparisons then + - then * / %. All left-associative, except that
# comparisons do not chain (`a < b < c` is an error rather than a surprise).
_COMPARISON = 3
PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": _COMPARISON,
    "!=": _COMPARISON,
    "<": _COMPARISON,
    "<=": _COMPARISON,
    ">": _COMPARISON,
    ">=": _COMPARISON,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
}


def precedence_tree(chain: list[Any]) -> Expr:
    """Binary nodes for [operand, op, operand, op, operand, ...]; ops are (type, text, start, end) tokens."""
    operands: list[Expr] = [chain[0]]
    operators: list[Any] = []
    for index in range(1, len(chain), 2):
        operator = chain[index]
        level = PRECEDENCE[operator[1]]
        while operators and PRECEDENCE[operators[-1][1]] >= level:
            _reject_chained_comparison(operators[-1], operator, level)
            _combine(operands, operators)
        operators.append(operator)
        operands.append(chain[index + 1])
    while operators:
        _combine(operands, operators)
    return operands[0]


def _combine(operands: list[Expr], operators: list[Any]) -> None:
    right = operands.pop()
    left = operands.pop()
    operator = operators.pop()
    operands.append(Binary(operator[1], left, right, operator[2]))


def _reject_chained_comparison(previous: Any, operator: Any, level: int) -> None:
    if level == _COMPARISON and PRECEDENCE[previous[1]] == _COMPARISON:
        raise SyntaxProblem(
            f"comparisons do not chain: '{previous[1]}' then '{operator[1]}'; combine them with && instead",
            operator[2],
            len(operator[1]),
        )
