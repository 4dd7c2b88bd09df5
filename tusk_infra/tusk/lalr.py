"""A tight LALR(1) driver over the parse table lark builds from grammar/tusk.lark.

lark computes the table and the reduce callbacks (our tree builder, wrapped by lark's child filters); this
loop only replaces lark's general-purpose one, which creates a Token object per token and compares
grammar objects on every reduction. Here a token is a (type, text, start, end) tuple, a pure pass-through
reduction (`?primary: INT`) costs no call at all, and positions stay plain offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lark import Lark
from lark.parsers.lalr_analysis import Shift

Token = tuple[str, Any, int, int]
# A reduce action: (number of symbols popped, the rule's nonterminal, callback or None for pass-through).
Reduce = tuple[int, str, Callable[[list[Any]], Any] | None]
END = "$END"


class UnexpectedToken(Exception):
    """The table has no action for this token in this state."""

    def __init__(self, token: Token, expected: set[str]) -> None:
        super().__init__(token[0])
        self.token = token
        self.expected = expected


class ParseTable:
    """lark's LALR table re-keyed for speed: shifts and gotos are ints, reductions are Reduce tuples."""

    def __init__(self, lark: Lark) -> None:
        inner = lark.parser.parser.parser  # lark.parsers.lalr_parser._Parser
        table = inner.parse_table
        callbacks = inner.callbacks
        (start,) = lark.options.start
        self.start_state: int = table.start_states[start]
        self.end_state: int = table.end_states[start]
        reductions: dict[Any, Reduce] = {}
        self.actions: list[dict[str, int | Reduce]] = [{} for _ in range(max(table.states) + 1)]
        for state, row in table.states.items():
            for symbol, (action, argument) in row.items():
                if action is Shift:
                    self.actions[state][str(symbol)] = int(argument)
                else:
                    if argument not in reductions:
                        reductions[argument] = _reduction(argument, callbacks[argument])
                    self.actions[state][str(symbol)] = reductions[argument]


def _reduction(rule: Any, callback: Callable[[list[Any]], Any]) -> Reduce:
    expansion = rule.expansion
    passes_through = rule.options.expand1 and len(expansion) == 1 and not expansion[0].name.startswith("_")
    return len(expansion), str(rule.origin.name), None if passes_through else callback


def parse_tokens(
    table: ParseTable,
    tokens: Iterable[Token],
    makers: dict[str, Callable[[Any, int, int], Any]],
) -> Any:
    """Run the LALR automaton; `makers` turn a token into its value on shift (default: the token tuple)."""
    actions: list[dict[str, Any]] = table.actions  # an int (shift/goto) or a Reduce per symbol
    states = [table.start_state]
    values: list[Any] = []
    last: Token = (END, "", 0, 0)
    for token in tokens:
        last = token
        kind = token[0]
        while True:
            action = actions[states[-1]].get(kind)
            if action is None:
                raise UnexpectedToken(token, _expected(table, states))
            if action.__class__ is int:
                states.append(action)
                maker = makers.get(kind)
                values.append(maker(token[1], token[2], token[3]) if maker is not None else token)
                break
            # A reduction, inlined: this loop runs once per token and once per reduction.
            size, origin, callback = action
            if size:
                children = values[-size:]
                del values[-size:]
                del states[-size:]
            else:
                children = []
            values.append(children[0] if callback is None else callback(children))
            states.append(actions[states[-1]][origin])
    return _finish(table, states, values, (END, "", last[3], last[3]))


def _reduce(actions: list[dict[str, Any]], states: list[int], values: list[Any], action: Reduce) -> None:
    size, origin, callback = action
    if size:
        children = values[-size:]
        del values[-size:]
        del states[-size:]
    else:
        children = []
    values.append(children[0] if callback is None else callback(children))
    states.append(actions[states[-1]][origin])


def _finish(table: ParseTable, states: list[int], values: list[Any], end: Token) -> Any:
    actions = table.actions
    while True:
        action = actions[states[-1]].get(END)
        if action is None or action.__class__ is int:
            raise UnexpectedToken(end, _expected(table, states))
        _reduce(actions, states, values, action)  # type: ignore[arg-type]
        if states[-1] == table.end_state:
            return values[-1]


def _expected(table: ParseTable, states: list[int]) -> set[str]:
    """The terminals the parser would really accept next.

    A state's reduce actions carry LALR lookaheads merged from every context that shares the state (after a
    top-level `key: value` line, '}' is in the row because the same state serves blocks), so each candidate
    is checked by running its reductions on a copy of the stack until it is shifted or refused.
    """
    row = table.actions[states[-1]]
    return {
        symbol
        for symbol in row
        if (symbol.isupper() or symbol == END) and _accepts(table, list(states), symbol)
    }


def _accepts(table: ParseTable, stack: list[int], symbol: str) -> bool:
    actions: list[dict[str, Any]] = table.actions  # an int (shift/goto) or a Reduce per symbol
    while True:
        action = actions[stack[-1]].get(symbol)
        if action is None:
            return False
        if action.__class__ is int:
            return True
        size, origin, _ = action
        if size:
            del stack[-size:]
        stack.append(actions[stack[-1]][origin])
        if symbol == END and stack[-1] == table.end_state:
            return True


__all__ = ["END", "ParseTable", "Token", "UnexpectedToken", "parse_tokens"]
