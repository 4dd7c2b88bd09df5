"""Text to syntax tree: lark's LALR parser with the tree builder running inside it (no parse tree)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from lark import Lark, Transformer
from lark.exceptions import UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import Token

from tusk_infra.tusk.errors import SourceText, SyntaxProblem, TuskError
from tusk_infra.tusk.lexer import TuskLexer, open_bracket
from tusk_infra.tusk.strings import reference_path, string_literal
from tusk_infra.tusk.syntax import (
    ArrayLit,
    Binary,
    Block,
    Conditional,
    Const,
    Expr,
    Get,
    GlobalDecl,
    Member,
    MethodCall,
    ObjectLit,
    OperatorCall,
    Pair,
    PathSegment,
    Ref,
    Section,
    Statement,
    Unary,
)
from tusk_infra.tusk.syntax_errors import describe_unexpected


def grammar_path() -> Path:
    """The grammar file: the repository's grammar/, or the copy a wheel carries next to this module."""
    in_repo = Path(__file__).resolve().parents[2] / "grammar" / "tusk.lark"
    return in_repo if in_repo.is_file() else Path(__file__).parent / "tusk.lark"


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # Built once per process: LALR table construction costs far more than a typical parse.
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer=TuskLexer,
        transformer=_TreeBuilder(),
        maybe_placeholders=False,
        propagate_positions=False,
    )


def parse(source: SourceText) -> list[Statement]:
    """The statements of a .tsk text; any syntax problem becomes a TuskError at file:line:col."""
    try:
        statements: list[Statement] = cast(list[Statement], _parser().parse(source.text))
    except SyntaxProblem as problem:
        raise source.error(problem.message, problem.offset, problem.span) from None
    except UnexpectedToken as unexpected:
        raise _unexpected_token(source, unexpected) from None
    except VisitError as wrapped:
        raise _from_visit_error(source, wrapped) from None
    except UnexpectedInput as unexpected:
        offset = getattr(unexpected, "pos_in_stream", None) or 0
        raise source.error("invalid syntax", offset) from None
    return statements


def _unexpected_token(source: SourceText, unexpected: UnexpectedToken) -> TuskError:
    token = unexpected.token
    offset = token.start_pos if token.start_pos is not None else len(source.text)
    unclosed = _unclosed_before(source, offset, token)
    if unclosed is not None:
        return unclosed
    message = describe_unexpected(token.type, str(token.value), set(unexpected.expected))
    return source.error(message, offset, max(1, len(str(token.value))))


def _unclosed_before(source: SourceText, offset: int, token: Token) -> TuskError | None:
    """A bracket left open on an earlier line is the likelier mistake than the token the parser tripped on."""
    bracket = open_bracket()
    if bracket is None:
        return None
    opener, closer, opened_at = bracket
    token_line = source.line_col(offset)[0]
    if source.line_col(opened_at)[0] >= token_line:
        return None
    found = f"'{token.value}'" if str(token.value).strip() else "the end of the statement"
    return source.error(
        f"unclosed '{opener}': expected '{closer}' before {found} on line {token_line}", opened_at
    )


def _from_visit_error(source: SourceText, wrapped: VisitError) -> TuskError:
    original = wrapped.orig_exc
    if isinstance(original, SyntaxProblem):
        return source.error(original.message, original.offset, original.span)
    return source.error(f"invalid syntax ({type(original).__name__})", 0)


class _TreeBuilder(Transformer[Token, Any]):
    """Callbacks lark runs as it reduces each rule; together they build the syntax tree."""

    # ---- terminals (called as each token is shifted) ----
    def STRING(self, token: Token) -> Expr:
        return string_literal(str(token), _start(token))

    def RAW_STRING(self, token: Token) -> Const:
        return Const(str(token)[1:-1], _start(token), _end(token))

    def INT(self, token: Token) -> Const:
        text = str(token)
        if len(text) > 1 and text[0] == "0":
            raise SyntaxProblem(
                f"invalid number '{text}': leading zeros are not allowed", _start(token), len(text)
            )
        return Const(int(text), _start(token), _end(token))

    def FLOAT(self, token: Token) -> Const:
        text = str(token)
        if len(text) > 1 and text[0] == "0" and text[1].isdigit():
            raise SyntaxProblem(
                f"invalid number '{text}': leading zeros are not allowed", _start(token), len(text)
            )
        return Const(float(text), _start(token), _end(token))

    def TRUE(self, token: Token) -> Const:
        return Const(True, _start(token), _end(token))

    def FALSE(self, token: Token) -> Const:
        return Const(False, _start(token), _end(token))

    def NULL(self, token: Token) -> Const:
        return Const(None, _start(token), _end(token))

    def VAR(self, token: Token) -> Ref:
        return Ref(str(token)[1:], [], _start(token), _end(token))

    # ---- statements ----
    def start(self, children: list[Statement]) -> list[Statement]:
        return children

    def pair(self, children: list[Any]) -> Pair:
        key, value = children
        return Pair(str(key), _start(key), value)

    def global_decl(self, children: list[Any]) -> GlobalDecl:
        ref, value = children
        return GlobalDecl(ref.name, ref.start, value)

    def section(self, children: list[Any]) -> Section:
        return Section([str(name) for name in children[1:-1]], _start(children[0]), _end(children[-1]))

    def block(self, children: list[Any]) -> Block:
        key = children[0]
        return Block(str(key), _start(key), children[2:-1])

    # ---- expressions ----
    def conditional(self, children: list[Expr]) -> Conditional:
        condition, then, otherwise = children
        return Conditional(condition, then, otherwise)

    def or_(self, children: list[Expr]) -> Binary:
        left, right = children
        return Binary("||", left, right, left.end)

    def and_(self, children: list[Expr]) -> Binary:
        left, right = children
        return Binary("&&", left, right, left.end)

    def compare(self, children: list[Any]) -> Binary:
        left, op, right = children
        return Binary(str(op), left, right, _start(op))

    def binary(self, children: list[Any]) -> Binary:
        left, op, right = children
        return Binary(str(op), left, right, _start(op))

    def negate(self, children: list[Any]) -> Expr:
        sign, operand = children
        if isinstance(operand, Const) and type(operand.value) in (int, float):
            # Folded so `-5` is a literal: provenance and static documents stay cheap.
            return Const(-operand.value, _start(sign), operand.end)
        return Unary("-", operand, _start(sign))

    def not_(self, children: list[Any]) -> Unary:
        bang, operand = children
        return Unary("!", operand, _start(bang))

    def get(self, children: list[Any]) -> Expr:
        target, name = children
        segment = PathSegment(str(name), None, _start(name), _end(name))
        return _extend(target, segment)

    def dynamic_get(self, children: list[Any]) -> Expr:
        target, token = children
        inner = str(token)[2:-1]
        dynamic = reference_path(inner, _start(token) + 2)
        segment = PathSegment(inner, dynamic, _start(token), _end(token))
        return _extend(target, segment)

    def method(self, children: list[Any]) -> MethodCall:
        target, name, *args, close = children
        return MethodCall(target, str(name), args, _start(name), _end(close))

    def call(self, children: list[Any]) -> OperatorCall:
        name, *args, close = children
        return OperatorCall(str(name)[1:], args, _start(name), _end(close))

    def group(self, children: list[Any]) -> Expr:
        inner: Expr = children[0]
        return inner

    def array(self, children: list[Any]) -> ArrayLit:
        open_, *items, close = children
        return ArrayLit(items, _start(open_), _end(close))

    def object(self, children: list[Any]) -> ObjectLit:
        open_, *members, close = children
        return ObjectLit(members, _start(open_), _end(close))

    def member(self, children: list[Any]) -> Member:
        key, value = children
        if isinstance(key, Token):
            return Member(str(key), _start(key), value)
        if isinstance(key, Const) and isinstance(key.value, str):
            return Member(key.value, key.start, value)
        raise SyntaxProblem("an object key cannot use ${...} interpolation", key.start, key.end - key.start)


def _extend(target: Expr, segment: PathSegment) -> Expr:
    """`$a` + `.b` stays one reference (so `$section.key` can be resolved lazily); anything else is a Get."""
    if isinstance(target, Ref):
        target.segments.append(segment)
        target.end = segment.end
        return target
    return Get(target, segment, target.start, segment.end)


def _start(token: Token) -> int:
    return token.start_pos or 0


def _end(token: Token) -> int:
    return token.end_pos or 0
