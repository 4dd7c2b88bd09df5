"""`@cache` keys: the cached expression's source text plus the values of the inputs it reads.

The key must change whenever the cached value could (another region, another env var, another database),
yet be stable across processes so a persistent cache provider can share it. So it hashes the expression's
text, the database URL, and the current value of every reference, @env and @metrics inside the expression
(all cheap and side-effect free), but not the @query results the cache exists to avoid.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from tusk_infra.tusk.syntax import (
    ArrayLit,
    Binary,
    Conditional,
    Expr,
    Get,
    Interpolated,
    MethodCall,
    ObjectLit,
    OperatorCall,
    Ref,
    Unary,
)
from tusk_infra.tusk.values import Secret
from tusk_infra.tusk.valuetypes import MISSING

# Operators whose value is an input the key must include; they are cheap and have no side effects.
_INPUT_OPERATORS = frozenset({"env", "env.secure", "metrics"})

KEY_PREFIX = "tusk-cache:v1:"


def cache_key(source_text: str, database_url: str | None, inputs: list[tuple[str, Any]]) -> str:
    """A stable key from the expression text, the database and the (label, value) of each input it reads."""
    payload = json.dumps(
        [source_text, database_url or "", [[label, _fingerprint(value)] for label, value in inputs]],
        separators=(",", ":"),
    )
    return KEY_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()


def key_inputs(
    expr: Expr, text_of: Callable[[Expr], str], value_of: Callable[[Expr], Any]
) -> list[tuple[str, Any]]:
    """The (source text, current value) of every reference, @env and @metrics inside expr, in source order."""
    return [(text_of(node), value_of(node)) for node in _input_nodes(expr)]


def reads_database(expr: Expr) -> bool:
    """True when expr contains a @query or @query.batch (a cache hit then stands for their results)."""
    if isinstance(expr, OperatorCall) and expr.name in ("query", "query.batch"):
        return True
    return any(reads_database(child) for child in child_exprs(expr))


def has_missing(inputs: list[tuple[str, Any]]) -> bool:
    """True when an input is an unset variable (then nothing is cached)."""
    return any(value is MISSING for _, value in inputs)


# Keyed per process: a plain hash of a secret in a persistent cache's keys would let anyone holding the
# cache file test password guesses against it offline. So an expression that reads a secret is cached for
# this run only (the next run computes other keys, and the old entries expire with their TTL).
_SECRET_KEY = secrets.token_bytes(32)


def _fingerprint(value: Any) -> Any:
    if isinstance(value, Secret):
        # The key changes with the secret but holds neither it nor anything to check a guess against.
        return "secret:" + hmac.new(_SECRET_KEY, value.reveal().encode("utf-8"), hashlib.sha256).hexdigest()
    if isinstance(value, list):
        return [_fingerprint(item) for item in value]
    if isinstance(value, dict):
        return {key: _fingerprint(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _input_nodes(node: Expr) -> Iterator[Expr]:
    if isinstance(node, Ref) or (isinstance(node, OperatorCall) and node.name in _INPUT_OPERATORS):
        yield node
        return
    for child in child_exprs(node):
        yield from _input_nodes(child)


def child_exprs(node: Expr) -> list[Expr]:
    if isinstance(node, OperatorCall | ArrayLit):
        return list(node.args) if isinstance(node, OperatorCall) else list(node.items)
    if isinstance(node, ObjectLit):
        return [member.value for member in node.members]
    if isinstance(node, Interpolated):
        return [part for part in node.parts if isinstance(part, Ref)]
    if isinstance(node, MethodCall):
        return [node.target, *node.args]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Conditional):
        return [node.condition, node.then, node.otherwise]
    if isinstance(node, Get):
        return [node.target]
    return []
