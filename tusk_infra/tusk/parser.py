"""Text to syntax tree: grammar/tusk.lark compiled by lark into an LALR table, run by lalr.py.

The tree builder's callbacks run inside the parse as each rule is reduced, so no parse tree is ever built.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from lark import Lark, Transformer

from tusk_infra.tusk.errors import SourceText, SyntaxProblem, TuskError
from tusk_infra.tusk.lalr import ParseTable, Token, UnexpectedToken, parse_tokens
from tusk_infra.tusk.lexer import STATIC_LITERAL, Scanner, TokenStream
from tusk_infra.tusk.operators import OPERATORS
from tusk_infra.tusk.precedence import precedence_tree
from tusk_infra.tusk.strings import reference_path, string_literal
from tusk_infra.tusk.syntax import (
    ArrayLit,
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
from tusk_infra.tusk.syntax_errors import describe_in_brackets, describe_unexpected
from tusk_infra.tusk.unsupported import named_construct, operator_refusal
from tusk_infra.tusk.valuetypes import INT_MAX, integer_text_too_large


def grammar_path() -> Path:
    """The grammar file: the repository's grammar/, or the copy a wheel carries next to this module."""
    in_repo = Path(__file__).resolve().parents[2] / "grammar" / "tusk.lark"
    return in_repo if in_repo.is_file() else Path(__file__).parent / "tusk.lark"


class Parser:
    """The compiled grammar: token scanner, LALR table and tree-building callbacks."""

    def __init__(self, grammar: str, fast_statements: bool = True) -> None:
        lark = Lark(
            grammar, parser="lalr", lexer="basic", transformer=_TreeBuilder(), maybe_placeholders=False
        )
        self.table = ParseTable(lark)
        self.scanner = Scanner(lark.terminals, lark.ignore_tokens, fast_statements)
        # Whether static lines skip the parser (loader.py) and static statements skip the token rules.
        self.fast_statements = fast_statements

    def parse(self, source: SourceText) -> list[Statement]:
        """The statements of a .tsk text; any syntax problem becomes a TuskError at file:line:col."""
        return self.parse_segment(source, 0, hand_back=False)[0]

    def parse_segment(self, source: SourceText, start: int, hand_back: bool) -> tuple[list[Statement], int]:
        """The statements from offset `start` (a statement's start) to the end, or with `hand_back` up to
        the next top-level static line (for the loader); and the offset where they end."""
        stream = self.scanner.tokens(source.text, start, hand_back)
        try:
            statements = cast(list[Statement], parse_tokens(self.table, stream, TOKEN_VALUES))
        except SyntaxProblem as problem:
            raise source.error(problem.message, problem.offset, problem.span) from None
        except UnexpectedToken as unexpected:
            raise _unexpected_token(source, stream, unexpected) from None
        return statements, stream.end


@lru_cache(maxsize=1)
def compiled() -> Parser:
    """The process-wide parser; building the LALR table costs far more than parsing a typical file."""
    return Parser(grammar_path().read_text(encoding="utf-8"))


def parse(source: SourceText) -> list[Statement]:
    """The statements of a .tsk text."""
    return compiled().parse(source)


def _unexpected_token(source: SourceText, stream: TokenStream, unexpected: UnexpectedToken) -> TuskError:
    kind, text, start, end = unexpected.token
    text = text if isinstance(text, str) else source.text[start:end].rstrip()
    named = named_construct(source, (kind, text, start, end), unexpected.expected, OPERATORS)
    if named is not None:
        return source.error(*named)
    bracket = stream.open_bracket(before=start)
    # Inside ( [ { a value right after a complete one is a missing ',' (lists span lines); so is a key
    # inside { }, where keys start members. A key in ( ) or [ ] more likely starts the next statement.
    between_items = None
    if bracket is not None and "COMMA" in unexpected.expected:
        between_items = describe_in_brackets(kind, text, bracket[0], bracket[1])
    if between_items is None or kind == "VAR" or kind == "NAME" and bracket is not None and bracket[0] != "{":
        unclosed = _unclosed_before(source, stream, start, text)
        if unclosed is not None:
            return unclosed
    message = between_items or describe_unexpected(kind, text, unexpected.expected)
    if kind in ("SECTION_OPEN", "SECTION_HEADER") and "BLOCK_CLOSE" in unexpected.expected:
        message += _open_block(source, stream)
    return source.error(message, start, max(1, end - start))


def _open_block(source: SourceText, stream: TokenStream) -> str:
    """` (the block 'name' opened on line N is still open)`: which block a misplaced header sits in."""
    opened_at = stream.open_block()
    if opened_at is None:
        return ""
    line, column = source.line_col(opened_at)
    name = source.line_text(line)[: column - 1].strip()
    named = f" '{name}'" if name.isidentifier() else ""
    return f" (the block{named} opened on line {line} is still open)"


def _unclosed_before(source: SourceText, stream: TokenStream, offset: int, text: str) -> TuskError | None:
    """A bracket left open on an earlier line is the likelier mistake than the token the parser tripped on,
    when that token starts its line as a statement would (`name:`, `$name =`, `name {`): otherwise the
    bracket spans lines on purpose and the token itself is wrong."""
    bracket = stream.open_bracket(before=offset)
    if bracket is None:
        return None
    opener, closer, opened_at = bracket
    token_line = source.line_col(offset)[0]
    if source.line_col(opened_at)[0] >= token_line or not _starts_statement(source, offset):
        return None
    found = f"'{text}'" if text.strip() else "the end of the statement"
    return source.error(
        f"unclosed '{opener}': expected '{closer}' before {found} on line {token_line}", opened_at
    )


# A key and ':' / '=' / a block's opener, or a section header: what begins a statement.
_STATEMENT_START = re.compile(
    r"\$?[A-Za-z_][A-Za-z0-9_]*[ \t]*(?:[:=](?!=)|[{>][ \t]*(?:#[^\n]*)?(?:\n|\Z))"
    r"|\[[ \t]*[A-Za-z_][A-Za-z0-9_.]*[ \t]*\][ \t]*(?:#[^\n]*)?(?:\n|\Z)"
)


def _starts_statement(source: SourceText, offset: int) -> bool:
    """Whether the text at `offset` is the first on its line and reads like the start of a statement."""
    line, column = source.line_col(offset)
    before = source.line_text(line)[: column - 1]
    return not before.strip() and _STATEMENT_START.match(source.text, offset) is not None


# ---- token values, made as each token is shifted ----
def _int(text: str, start: int, end: int) -> Const:
    if len(text) > 1 and text[0] == "0":
        raise SyntaxProblem(f"invalid number '{text}': leading zeros are not allowed", start, len(text))
    return Const(_int_value(text, start), start, end)


def _int_value(digits: str, start: int) -> int:
    if integer_text_too_large(digits):
        shown = digits if len(digits) <= 24 else digits[:21] + "..."
        raise SyntaxProblem(
            f"number '{shown}' is too large: integers are 64-bit (at most {INT_MAX})", start, len(digits)
        )
    return int(digits)


def _float(text: str, start: int, end: int) -> Const:
    if len(text) > 1 and text[0] == "0" and text[1].isdigit():
        raise SyntaxProblem(f"invalid number '{text}': leading zeros are not allowed", start, len(text))
    return Const(_finite(float(text), text, start), start, end)


def _finite(value: float, text: str, start: int) -> float:
    if math.isinf(value):
        raise SyntaxProblem(f"number '{text}' is too large", start, len(text))
    return value


_STATIC_ITEM = re.compile(STATIC_LITERAL)


def _static_pair(parts: tuple[str, str, int], start: int, end: int) -> Pair:
    """The Pair of a STATIC_PAIR token: (key, literal, literal's offset), see lexer.py."""
    key, literal, value_start = parts
    return Pair(key, start, static_expr(literal, value_start))


def static_expr(literal: str, start: int) -> Const | ArrayLit:
    """The syntax node of a static literal (lexer.STATIC_LITERAL or STATIC_ARRAY) written at `start`."""
    end = start + len(literal)
    if literal[0] != "[":
        return Const(_literal_value(literal, start), start, end)
    items: list[Expr] = [
        Const(_literal_value(item.group(), start + item.start()), start + item.start(), start + item.end())
        for item in _STATIC_ITEM.finditer(literal)
    ]
    return ArrayLit(items, start, end)


def static_value(literal: str, start: int, scalars: dict[str, Any]) -> Any:
    """The value of a static literal written at `start`, read as the parser and evaluator would read it.

    `scalars` memoises scalar literals (text → value) across calls: a large file repeats them, and one
    shared object per distinct string or number is less memory to fill and free. Lists are never shared.
    """
    if literal[0] != "[":
        return _scalar(literal, start, scalars)
    return [_scalar(item.group(), start + item.start(), scalars) for item in _STATIC_ITEM.finditer(literal)]


def _scalar(literal: str, start: int, scalars: dict[str, Any]) -> Any:
    if literal in scalars:
        return scalars[literal]
    value = scalars[literal] = _literal_value(literal, start)
    return value


def _literal_value(literal: str, start: int) -> Any:
    first = literal[0]
    if first == '"' or first == "'":
        return literal[1:-1]
    if first in "tfn":
        return _KEYWORD_VALUES[literal]
    if "." in literal or "e" in literal or "E" in literal:
        return _finite(float(literal), literal.lstrip("-"), start + literal.startswith("-"))
    if literal[0] == "-":
        return -_int_value(literal[1:], start + 1)
    return _int_value(literal, start)


_KEYWORD_VALUES = {"true": True, "false": False, "null": None}


def _section_header(parts: tuple[str, int], start: int, end: int) -> Section:
    """The Section of a SECTION_HEADER token: (the dotted names as written, offset after `]`)."""
    names, bracket_end = parts
    return Section([name.strip() for name in names.split(".")], start, bracket_end)


def _operator(text: str, start: int, end: int) -> Token:
    """An OPERATOR token, refused at once if it names an operator of another implementation."""
    if text[1:] in OPERATORS:
        return "OPERATOR", text, start, end
    refusal = operator_refusal(text[1:], OPERATORS)
    if refusal is not None:
        raise SyntaxProblem(refusal, start, end - start)
    return "OPERATOR", text, start, end


TOKEN_VALUES: dict[str, Callable[[Any, int, int], Any]] = {
    "OPERATOR": _operator,
    "SECTION_HEADER": _section_header,
    "STATIC_PAIR": _static_pair,
    "STRING": lambda text, start, end: string_literal(text, start),
    "RAW_STRING": lambda text, start, end: Const(text[1:-1], start, end),
    "INT": _int,
    "FLOAT": _float,
    "TRUE": lambda text, start, end: Const(True, start, end),
    "FALSE": lambda text, start, end: Const(False, start, end),
    "NULL": lambda text, start, end: Const(None, start, end),
    "VAR": lambda text, start, end: Ref(text[1:], [], start, end),
}


class _TreeBuilder(Transformer[Token, Any]):
    """Callbacks lark wires to each grammar rule; together they build the syntax tree."""

    # ---- statements ----
    def start(self, children: list[Any]) -> list[Statement]:
        return children[0] if children else []

    def statements(self, children: list[Any]) -> list[Any]:
        return _append(children)

    def body(self, children: list[Any]) -> list[Any]:
        return _append(children)

    def pair(self, children: list[Any]) -> Pair:
        if len(children) == 1:  # STATIC_PAIR: the lexer's whole-statement token, already a Pair
            static: Pair = children[0]
            return static
        key, value = children
        return Pair(key[1], key[2], value)

    def global_decl(self, children: list[Any]) -> GlobalDecl:
        ref, value = children
        return GlobalDecl(ref.name, ref.start, value)

    def section(self, children: list[Any]) -> Section:
        if len(children) == 1:  # SECTION_HEADER: already a Section
            header: Section = children[0]
            return header
        return Section([name[1] for name in children[1:-1]], children[0][2], children[-1][3])

    def block(self, children: list[Any]) -> Block:
        key = children[0]
        return Block(key[1], key[2], children[2] if len(children) == 4 else [])

    # ---- lists ----
    def items(self, children: list[Any]) -> list[Any]:
        return _append(children)

    def members(self, children: list[Any]) -> list[Any]:
        return _append(children)

    def arguments(self, children: list[Any]) -> list[Any]:
        return children[0] if children else []

    def array(self, children: list[Any]) -> ArrayLit:
        items = children[1] if len(children) > 2 else []
        return ArrayLit(items, children[0][2], children[-1][3])

    def object(self, children: list[Any]) -> ObjectLit:
        members = children[1] if len(children) > 2 else []
        return ObjectLit(members, children[0][2], children[-1][3])

    # ---- expressions ----
    def conditional(self, children: list[Expr]) -> Conditional:
        condition, then, otherwise = children
        return Conditional(condition, then, otherwise)

    def operation(self, children: list[Any]) -> Expr:
        _refuse_integer_range(children)
        return precedence_tree(children)

    def binop(self, children: list[Token]) -> Token:
        return children[0]

    def negate(self, children: list[Any]) -> Expr:
        sign, operand = children
        if isinstance(operand, Const) and type(operand.value) in (int, float):
            # Folded so `-5` is a literal: provenance and static documents stay cheap.
            return Const(-operand.value, sign[2], operand.end)
        return Unary("-", operand, sign[2])

    def not_(self, children: list[Any]) -> Unary:
        bang, operand = children
        return Unary("!", operand, bang[2])

    def get(self, children: list[Any]) -> Expr:
        target, name = children
        return _extend(target, PathSegment(name[1], None, name[2], name[3]))

    def dynamic_get(self, children: list[Any]) -> Expr:
        target, token = children
        inner = token[1][2:-1]
        dynamic = reference_path(inner, token[2] + 2)
        return _extend(target, PathSegment(inner, dynamic, token[2], token[3]))

    def method(self, children: list[Any]) -> MethodCall:
        target, name, args, close = children
        return MethodCall(target, name[1], args, name[2], close[3])

    def call(self, children: list[Any]) -> OperatorCall:
        name, args, close = children
        return OperatorCall(name[1][1:], args, name[2], close[3])

    def group(self, children: list[Any]) -> Expr:
        inner: Expr = children[0]
        return inner

    def member(self, children: list[Any]) -> Member:
        key, value = children
        if isinstance(key, tuple):
            return Member(key[1], key[2], value)
        if isinstance(key, Const) and isinstance(key.value, str):
            return Member(key.value, key.start, value)
        raise SyntaxProblem("an object key cannot use ${...} interpolation", key.start, key.end - key.start)


def _refuse_integer_range(chain: list[Any]) -> None:
    """`8000-9000` on its own: other TuskLang implementations read it as a range {min, max}, this one would
    subtract, so neither meaning is taken silently. Spaces (`8000 - 9000`) say subtraction."""
    if len(chain) != 3 or chain[1][1] != "-":
        return
    left, minus, right = chain
    if _is_integer_literal(left) and _is_integer_literal(right) and left.end == minus[2] == right.start - 1:
        written = f"{left.value}-{right.value}"
        raise SyntaxProblem(
            f"'{written}' is ambiguous: other TuskLang implementations read it as a range; write "
            f"'{left.value} - {right.value}' for the subtraction, or an object {{min: {left.value}, "
            f"max: {right.value}}} for the range",
            left.start,
            right.end - left.start,
        )


def _is_integer_literal(node: Any) -> bool:
    return isinstance(node, Const) and type(node.value) is int and node.value >= 0


def _append(children: list[Any]) -> list[Any]:
    """`item` starts a list; `list [separator] item` appends to it (left-recursive list rules)."""
    if len(children) == 1:
        return [children[0]]
    items: list[Any] = children[0]
    items.append(children[-1])
    return items


def _extend(target: Expr, segment: PathSegment) -> Expr:
    """`$a` + `.b` stays one reference (so `$section.key` can be resolved lazily); anything else is a Get."""
    if isinstance(target, Ref):
        target.segments.append(segment)
        target.end = segment.end
        return target
    return Get(target, segment, target.start, segment.end)
