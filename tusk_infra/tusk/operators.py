"""The `@operators`: environment, secrets, conditionals, metrics, cache, queries, dates and conversions.

There is deliberately no operator that runs code, reads files or reaches the network by itself: everything
external goes through a provider (tusk_infra/tusk/providers.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from tusk_infra.tusk.builtin_providers import PROCESS_CACHE, MemoryCache
from tusk_infra.tusk.caching import cache_key, has_missing, key_inputs, reads_database
from tusk_infra.tusk.dates import DateFormatProblem, format_date
from tusk_infra.tusk.durations import duration_seconds
from tusk_infra.tusk.errors import TuskError, suggestion
from tusk_infra.tusk.providers import CacheHit, CacheProvider, MetricUnavailable, ProviderError, QueryResult
from tusk_infra.tusk.query import Database, QueryProblem, shape_result
from tusk_infra.tusk.sql import SqlRejected, ensure_single_select
from tusk_infra.tusk.syntax import ArrayLit, Binary, Const, Expr, Interpolated, OperatorCall, Ref
from tusk_infra.tusk.values import SECRET_MASK, InputUse, Secret
from tusk_infra.tusk.valuetypes import (
    MISSING,
    ValueProblem,
    as_text,
    describe,
    fits_int64,
    is_number,
    to_bool,
    to_float,
    to_int,
    type_name,
)

if TYPE_CHECKING:
    from tusk_infra.tusk.evaluator import Evaluator

Operator = Callable[["Evaluator", OperatorCall], Any]
T = TypeVar("T")


class Resources:
    """What operators keep for one evaluation: the cache, the database, the metrics already warned about."""

    def __init__(self, cache: CacheProvider, database: Database) -> None:
        self.cache = cache
        self.database = database
        self.fallen_back_metrics: set[str] = set()


def resources_for(evaluator: Evaluator) -> Resources:
    """The evaluation's resources, created on first use."""
    if evaluator.resources is None:
        providers = evaluator.providers
        cache = (
            providers.cache if providers.cache is not None else MemoryCache(providers.clock, PROCESS_CACHE)
        )
        evaluator.resources = Resources(cache, Database(providers.database_url))
    resources: Resources = evaluator.resources
    return resources


def call_operator(evaluator: Evaluator, node: OperatorCall) -> Any:
    """Evaluate `@name(args)`."""
    operator = OPERATORS.get(node.name)
    if operator is None:
        known = ", ".join(f"@{name}" for name in sorted(OPERATORS))
        raise evaluator.error(
            f"unknown operator '@{node.name}'{suggestion(node.name, OPERATORS, '@')}; "
            f"known operators: {known}",
            node,
        )
    return operator(evaluator, node)


def _arity(evaluator: Evaluator, node: OperatorCall, low: int, high: int, usage: str) -> None:
    count = len(node.args)
    if low <= count <= high:
        return
    wanted = str(low) if low == high else f"{low} to {high}"
    plural = "" if (low == high == 1) else "s"
    raise evaluator.error(f"@{node.name} takes {wanted} argument{plural} ({usage}), found {count}", node)


def _consult(evaluator: Evaluator, node: Expr, asking: str, call: Callable[[], T]) -> T:
    """Ask a provider; a failure becomes a TuskError at `node`.

    A ProviderError's message is shown as is (providers promise it holds no secret). Anything else is named
    by its type only, `{asking} ({type})`: its text could quote a secret value.
    """
    try:
        return call()
    except TuskError:
        raise
    except ProviderError as failure:
        raise evaluator.error(failure.message, node) from None
    except Exception as failure:
        raise evaluator.error(f"{asking} ({type(failure).__name__})", node) from None


def _string_arg(evaluator: Evaluator, node: Expr, what: str) -> Any:
    value = evaluator.eval(node)
    if value is MISSING or isinstance(value, str):
        return value
    raise evaluator.error(f"{what} must be a string, found {describe(value)}", node)


# ---- @env, @env.secure ----
def _env(evaluator: Evaluator, node: OperatorCall) -> Any:
    _arity(evaluator, node, 1, 2, "NAME[, default]")
    name = _string_arg(evaluator, node.args[0], "the variable name")
    if name is MISSING:
        return MISSING
    value = evaluator.providers.env.get(name)
    if value is not None:
        evaluator.record(InputUse("env", name, value))
        return value
    if len(node.args) == 2:
        default = evaluator.eval(node.args[1])
        shown = SECRET_MASK if isinstance(default, Secret) else default
        evaluator.record(InputUse("env", name, shown, defaulted=True))
        return default
    return evaluator.note_missing(name, node, secret=False)


def _env_secure(evaluator: Evaluator, node: OperatorCall) -> Any:
    _arity(evaluator, node, 1, 1, "NAME")
    name = _string_arg(evaluator, node.args[0], "the secret name")
    if name is MISSING:
        return MISSING
    value = evaluator.providers.env.get(name)
    if value is None:
        value = _from_secret_sources(evaluator, node, name)
    if value is None:
        return evaluator.note_missing(name, node, secret=True)
    evaluator.record(InputUse("secret", name, SECRET_MASK))
    return Secret(value, name)


def _from_secret_sources(evaluator: Evaluator, node: OperatorCall, name: str) -> str | None:
    for source in evaluator.providers.secrets:
        asking = f"secret source {type(source).__name__} failed to look up {name}"
        found = _consult(evaluator, node, asking, partial(source.lookup, name))
        if found is not None:
            return found
    return None


# ---- @if ----
def _if(evaluator: Evaluator, node: OperatorCall) -> Any:
    _arity(evaluator, node, 3, 3, "condition, then, else")
    chosen = evaluator.condition(node.args[0], "the condition of @if")
    if chosen is MISSING:
        return MISSING
    # Only the chosen branch runs: a @query or @metrics in the other one never happens.
    return evaluator.eval(node.args[1] if chosen else node.args[2])


# ---- @metrics ----
def _metrics(evaluator: Evaluator, node: OperatorCall) -> Any:
    _arity(evaluator, node, 1, 2, "name[, default]")
    name = _string_arg(evaluator, node.args[0], "the metric name")
    if name is MISSING:
        return MISSING
    provider = evaluator.providers.metrics
    answer = _ask_metric(evaluator, node, name) if provider is not None else None
    if answer is not None and not isinstance(answer, MetricUnavailable):
        evaluator.record(InputUse("metric", name, answer))
        return answer
    reason = answer.reason if isinstance(answer, MetricUnavailable) else None
    if len(node.args) < 2:
        cause = f"; {reason}" if reason else ""
        raise evaluator.error(f"metric '{name}' has no value and @metrics has no default{cause}", node)
    default = evaluator.eval(node.args[1])
    evaluator.record(InputUse("metric", name, default, defaulted=True))
    if provider is not None:
        _warn_fallback(evaluator, name, reason, default)
    return default


def _ask_metric(evaluator: Evaluator, node: OperatorCall, name: str) -> Any:
    provider = evaluator.providers.metrics
    assert provider is not None
    asking = f"the metrics provider {type(provider).__name__} failed for '{name}'"
    value = _consult(evaluator, node, asking, partial(provider.metric, name))
    if value is None or isinstance(value, MetricUnavailable):
        return value
    if not is_number(value):
        raise evaluator.error(f"metric '{name}' is not a number: {describe(value)}", node)
    if isinstance(value, int) and not fits_int64(value):
        raise evaluator.error(f"metric '{name}' is beyond the language's 64-bit integers", node)
    if isinstance(value, float) and not math.isfinite(value):
        # JSON cannot carry it and no comparison with it means anything.
        raise evaluator.error(f"metric '{name}' is not a finite number ({value!r})", node)
    return value


def _warn_fallback(evaluator: Evaluator, name: str, reason: str | None, default: Any) -> None:
    """One warning per metric and evaluation, however many expressions read it, with the provider's cause."""
    warned = resources_for(evaluator).fallen_back_metrics
    if name in warned:
        return
    warned.add(name)
    cause = f": {reason}" if reason else " has no value"
    evaluator.warn(f"metric '{name}'{cause}; using its default, {describe(default)}")


# ---- @cache ----
def _cache(evaluator: Evaluator, node: OperatorCall) -> Any:
    _arity(evaluator, node, 2, 2, "ttl, expression")
    ttl_node, body = node.args
    ttl_value = evaluator.eval(ttl_node)
    if ttl_value is MISSING:
        return MISSING
    try:
        ttl = duration_seconds(ttl_value)
    except ValueProblem as problem:
        raise evaluator.error(str(problem), ttl_node) from None
    inputs = key_inputs(body, evaluator.source_of, evaluator.eval)
    if has_missing(inputs):
        return MISSING
    cache = resources_for(evaluator).cache
    key = cache_key(evaluator.source_of(body), evaluator.providers.database_url, inputs)
    asking = f"the cache {type(cache).__name__} failed"
    hit: CacheHit | None = _consult(evaluator, node, asking, partial(cache.get, key))
    if hit is not None:
        if reads_database(body):
            # The queries did not run; record that their results came from the cache.
            evaluator.record(InputUse("query", f"cached: {evaluator.source_of(body)}", hit.value))
        return hit.value
    value = evaluator.eval(body)
    if value is not MISSING:
        _consult(evaluator, node, asking, partial(cache.put, key, value, ttl))
    return value


# ---- @query, @query.batch ----
def _query(evaluator: Evaluator, node: OperatorCall) -> Any:
    if not node.args:
        raise evaluator.error("@query takes a SQL string and then its parameters, found no arguments", node)
    sql = _literal_sql(evaluator, node.args[0], "the SQL of @query")
    params = [evaluator.eval(arg) for arg in node.args[1:]]
    if any(param is MISSING for param in params):
        return MISSING
    return _run_query(evaluator, node, node.args[0], sql, params)


def _query_batch(evaluator: Evaluator, node: OperatorCall) -> Any:
    _arity(evaluator, node, 1, 1, "[sql, ...]")
    listed = node.args[0]
    if not isinstance(listed, ArrayLit):
        if isinstance(listed, Const):
            found = describe(listed.value)
            raise evaluator.error(f"@query.batch takes a list of SQL strings, found {found}", listed)
        raise evaluator.error(
            f'@query.batch takes a list of SQL strings written in the file (["SELECT ...", ...]), '
            f"found {_computed(listed)}",
            listed,
        )
    statements = [_literal_sql(evaluator, item, "each SQL of @query.batch") for item in listed.items]
    return [
        _run_query(evaluator, node, item, sql, []) for item, sql in zip(listed.items, statements, strict=True)
    ]


def _literal_sql(evaluator: Evaluator, node: Expr, what: str) -> str:
    """The SQL text as written in the file: a value reaches a query only as a bound parameter, never by
    being pasted into the text (interpolation or `+` would let a value rewrite the query)."""
    if isinstance(node, Const) and isinstance(node.value, str):
        return node.value
    if isinstance(node, Const):
        raise evaluator.error(f"{what} must be a string, found {describe(node.value)}", node)
    raise evaluator.error(
        f"{what} must be a string literal, found {_computed(node)}; pass values as parameters with '?' "
        '(@query("SELECT ... WHERE region = ?", $region))',
        node,
    )


def _computed(node: Expr) -> str:
    if isinstance(node, Interpolated):
        return "a string with ${...} interpolation"
    if isinstance(node, Ref):
        return "a reference"
    if isinstance(node, Binary):
        return f"a '{node.op}' expression"
    return "a computed value"


def _run_query(evaluator: Evaluator, node: OperatorCall, sql_node: Expr, sql: str, params: list[Any]) -> Any:
    try:
        statement = ensure_single_select(sql)
    except SqlRejected as rejected:
        raise evaluator.error(str(rejected), sql_node) from None
    for param in params:
        if not (param is None or isinstance(param, str | int | float | bool | Secret)):
            raise evaluator.error(f"a query parameter must be a scalar, found {describe(param)}", node)
    bound = [param.reveal() if isinstance(param, Secret) else param for param in params]
    secret = next((param for param in params if isinstance(param, Secret)), None)
    try:
        rows = resources_for(evaluator).database.fetch(statement, bound, secret_bound=secret is not None)
        result = shape_result(rows) if secret is None else _secret_result(rows, secret.name)
    except QueryProblem as problem:
        raise evaluator.error(str(problem), node) from None
    shown = ", ".join(SECRET_MASK if isinstance(p, Secret) else repr(p) for p in params)
    seen = SECRET_MASK if secret is not None else result
    evaluator.record(InputUse("query", f"{statement} [{shown}]" if params else statement, seen))
    return result


def _secret_result(rows: QueryResult, name: str) -> Secret:
    """The result of a query with a secret parameter: one text value, which is a secret whole.

    Anything else would show what the secret holds through its shape: `SELECT ? + 0` prints a numeric
    secret, `unicode(substr(?, 1, 1))` its characters one by one, a row count or a NULL a bit at a time,
    a JSON object built with `?` as a key the secret itself. Such a query is refused, not half-masked.
    """
    if len(rows.columns) == 1 and len(rows.rows) == 1 and isinstance(rows.rows[0][0], str):
        return Secret(rows.rows[0][0], name)
    if len(rows.columns) != 1 or len(rows.rows) != 1:
        found = f"{len(rows.rows)} row(s) of {len(rows.columns)} column(s)"
    else:
        # Its type only: the value itself is computed from the secret.
        found = f"a value of type {type_name(shape_result(rows))}"
    raise QueryProblem(
        f"a query with a secret parameter must return one text value, which stays secret; it returned "
        f"{found}, whose shape or value would show what the secret holds. Return a single text value "
        "(cast it: CAST(... AS TEXT), ::text), or keep the secret out of the query"
    )


# ---- @date ----
def _date(evaluator: Evaluator, node: OperatorCall) -> Any:
    _arity(evaluator, node, 0, 1, "[format]")
    pattern = _string_arg(evaluator, node.args[0], "the date format") if node.args else "%Y-%m-%d"
    if pattern is MISSING:
        return MISSING
    # TuskLang's docs write PHP's date() letters ("Y-m-d"); strftime codes ("%Y-%m-%d") work as they are.
    try:
        value = format_date(pattern, evaluator.providers.clock())
    except DateFormatProblem as problem:
        raise _date_format_error(evaluator, node.args[0], pattern, problem) from None
    evaluator.record(InputUse("date", pattern, value))
    return value


def _date_format_error(
    evaluator: Evaluator, arg: Expr, pattern: str, problem: DateFormatProblem
) -> TuskError:
    """The error at the offending letter when the format is a literal written without escapes, else at the
    whole argument."""
    written = evaluator.source_of(arg)
    if isinstance(arg, Const) and written[1:-1] == pattern:
        return evaluator.source.error(str(problem), arg.start + 1 + problem.index)
    return evaluator.error(str(problem), arg)


# ---- conversions ----
def _conversion(convert: Callable[[Any], Any]) -> Operator:
    def operator(evaluator: Evaluator, node: OperatorCall) -> Any:
        _arity(evaluator, node, 1, 1, "value")
        value = evaluator.eval(node.args[0])
        if value is MISSING:
            return MISSING
        if isinstance(value, Secret):
            if convert is as_text:
                return value
            raise evaluator.error(f"@{node.name} cannot convert a secret", node)
        try:
            return convert(value)
        except ValueProblem as problem:
            raise evaluator.error(str(problem), node.args[0]) from None

    return operator


OPERATORS: dict[str, Operator] = {
    "env": _env,
    "env.secure": _env_secure,
    "if": _if,
    "metrics": _metrics,
    "cache": _cache,
    "query": _query,
    "query.batch": _query_batch,
    "date": _date,
    "int": _conversion(to_int),
    "float": _conversion(to_float),
    "bool": _conversion(to_bool),
    "string": _conversion(as_text),
}

__all__ = ["OPERATORS", "Resources", "call_operator"]
