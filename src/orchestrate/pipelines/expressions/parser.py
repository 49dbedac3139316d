"""Text to ``Expression``: the lark grammar, the tree builder and readable syntax errors.

The LALR parser calls the tree builder as it reduces, so no lark tree is built and
nothing recurses however deep the input nests. Unknown functions and wrong argument
counts are errors here, at parse time, as on GitHub, so a pipeline fails validation
instead of failing halfway through a run.
"""

from __future__ import annotations

import difflib
import functools
import math
from importlib import resources
from typing import Any, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from orchestrate.pipelines.expressions.errors import ExpressionError, describe_location
from orchestrate.pipelines.expressions.expression import Expression
from orchestrate.pipelines.expressions.functions import (
    FUNCTIONS,
    FunctionFailed,
    check_format_arguments,
    parse_format,
)
from orchestrate.pipelines.expressions.nodes import (
    Call,
    Compare,
    ContextRef,
    Index,
    Literal,
    Logical,
    Node,
    Not,
    Property,
    Wildcard,
    walk,
)
from orchestrate.pipelines.expressions.values import int32

# GitHub's limits: longer or deeper expressions are refused rather than evaluated.
MAX_LENGTH = 21_000
MAX_DEPTH = 50

_CHARACTER_HINTS = {
    '"': "Strings use single quotes, e.g. 'main'",
    "=": "Use '==' to compare",
    "&": "Use '&&' for a logical and",
    "|": "Use '||' for a logical or",
    "?": "There is no ternary operator; write condition && 'yes' || 'no'",
    "$": "Write the bare expression here, without '${{' and '}}'",
}
_ARITHMETIC_HINT = "Expressions have no arithmetic operators"
_WORD_OPERATOR_HINT = "Use '&&' for and, '||' for or and '!' for not"
_UNTERMINATED_HINT = "End the string with a single quote; write '' for a quote inside it"


class _Problem(Exception):
    """Raised by the tree builder; ``parse`` adds the expression text and column."""

    def __init__(self, problem: str, offset: int, hint: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.offset = offset
        self.hint = hint


class _TreeBuilder(Transformer[Token, Any]):
    """Turns each grammar rule into a node as the parser reduces it."""

    def or_expr(self, children: list[Node]) -> Node:
        return Logical("||", tuple(children), children[0].offset)

    def and_expr(self, children: list[Node]) -> Node:
        return Logical("&&", tuple(children), children[0].offset)

    def compare(self, children: list[Any]) -> Node:
        left, operator, right = children
        return Compare(str(operator), left, right, left.offset)

    def negation(self, children: list[Any]) -> Node:
        operator, operand = children
        return Not(operand, operator.start_pos)

    def context(self, children: list[Token]) -> Node:
        (name,) = children
        return ContextRef(str(name), _start(name))

    def property(self, children: list[Any]) -> Node:
        target, name = children
        return Property(target, str(name), target.offset)

    def wildcard(self, children: list[Node]) -> Node:
        return Wildcard(children[0], children[0].offset)

    def index(self, children: list[Node]) -> Node:
        target, key = children
        return Index(target, key, target.offset)

    def arguments(self, children: list[Node]) -> list[Node]:
        return children

    def call(self, children: list[Any]) -> Node:
        name, arguments = children[0], tuple(children[1] or ())
        spec = FUNCTIONS.get(str(name).lower())
        if spec is None:
            raise _Problem(f"Unknown function '{name}'", _start(name), _suggest_function(str(name)))
        if not spec.min_arguments <= len(arguments) <= spec.max_arguments:
            raise _Problem(
                f"{spec.name}() takes {spec.describe_arity()} but was given {len(arguments)}",
                _start(name),
                f"Call it as {spec.signature}",
            )
        if spec.name == "format":
            _check_literal_format(arguments)
        return Call(spec.name, arguments, _start(name))

    def null(self, children: list[Token]) -> Node:
        return Literal(None, _start(children[0]))

    def true(self, children: list[Token]) -> Node:
        return Literal(True, _start(children[0]))

    def false(self, children: list[Token]) -> Node:
        return Literal(False, _start(children[0]))

    def string(self, children: list[Token]) -> Node:
        (token,) = children
        return Literal(token[1:-1].replace("''", "'"), _start(token))

    def number(self, children: list[Token]) -> Node:
        (token,) = children
        return Literal(_number(token), _start(token))


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Expression:
    """Parse a bare expression (no ``${{ }}``); ``ExpressionError`` points at any problem."""
    if not text.strip():
        raise _error("Expected an expression but found nothing", text, 0, None)
    if len(text) > MAX_LENGTH:
        raise _error(f"Expression is longer than {MAX_LENGTH} characters", text, MAX_LENGTH, None)
    try:
        tree = cast(Node, _parser().parse(text))
    except _Problem as problem:
        raise _error(problem.problem, text, problem.offset, problem.hint) from None
    except UnexpectedInput as unexpected:
        raise _syntax_error(unexpected, text) from None
    contexts: set[str] = set()
    uses_status_function = False
    for node, depth in walk(tree):
        if depth > MAX_DEPTH:
            raise _error(
                f"Expression nests deeper than {MAX_DEPTH} levels", text, node.offset, None
            )
        if isinstance(node, ContextRef):
            contexts.add(node.name.lower())
        elif isinstance(node, Call) and FUNCTIONS[node.name.lower()].is_status_function:
            uses_status_function = True
    return Expression(text, uses_status_function, frozenset(contexts), tree)


@functools.cache
def _parser() -> Lark:
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", transformer=_TreeBuilder(), maybe_placeholders=True)


def _number(token: Token) -> int | float:
    """A number literal; integers stay ``int`` so ``${{ 3 }}`` hands a matrix the number 3."""
    text = str(token)
    if text in ("NaN", "Infinity", "+Infinity", "-Infinity"):
        return math.nan if text == "NaN" else float(text)
    if text.startswith(("0x", "0o")):
        value = int32(int(text[2:], 16 if text[1] == "x" else 8))
        if value is None:
            raise _Problem(
                f"Number '{text}' is out of range", _start(token), "It must fit in 32 bits"
            )
        return value
    if any(character in text for character in ".eE"):
        return float(text)
    return int(text)


def _check_literal_format(arguments: tuple[Node, ...]) -> None:
    """A literal format string is checked now, as GitHub's editor checks it."""
    template = arguments[0]
    if isinstance(template, Literal) and isinstance(template.value, str):
        try:
            check_format_arguments(template.value, parse_format(template.value), len(arguments) - 1)
        except FunctionFailed as failure:
            raise _Problem(failure.message, template.offset, failure.hint) from None


def _suggest_function(name: str) -> str:
    matches = difflib.get_close_matches(name.lower(), FUNCTIONS, n=1, cutoff=0.6)
    if matches:
        return f"Did you mean '{FUNCTIONS[matches[0]].name}'?"
    return "Available functions: " + ", ".join(spec.name for spec in FUNCTIONS.values())


def _syntax_error(unexpected: UnexpectedInput, text: str) -> ExpressionError:
    if isinstance(unexpected, UnexpectedCharacters):
        offset = unexpected.pos_in_stream or 0
        character = text[offset]
        if character == "'":
            return _error("Unterminated string", text, offset, _UNTERMINATED_HINT)
        hint = _ARITHMETIC_HINT if character in "+-*/%" else _CHARACTER_HINTS.get(character)
        if character in "{}" and ("${{" in text or "}}" in text):
            hint = _CHARACTER_HINTS["$"]
        return _error(f"Unexpected character '{character}'", text, offset, hint)
    if isinstance(unexpected, UnexpectedToken) and unexpected.token.type != "$END":
        token = unexpected.token
        return _error(f"Unexpected '{token}'", text, _start(token), _token_hint(token, text))
    expected: set[str] = set(getattr(unexpected, "expected", None) or ())
    hint = "The expression stops before it is complete"
    if "RPAR" in expected:
        hint = "A '(' is never closed"
    elif "RSQB" in expected:
        hint = "A '[' is never closed"
    return _error("Unexpected end of expression", text, len(text.rstrip()), hint)


def _token_hint(token: Token, text: str) -> str | None:
    if token.type == "NAME" and str(token).lower() in ("and", "or", "not"):
        return _WORD_OPERATOR_HINT
    if str(token) == "*":
        return _ARITHMETIC_HINT
    if token.type == "NAME" and text[: _start(token)].endswith("'"):
        return "To put a quote inside a string, double it: 'It''s'"
    if token.type == "NUMBER" and text[: _start(token)].rstrip().endswith("."):
        return "A property name cannot start with a digit; index with brackets, e.g. list[0]"
    return None


def _start(token: Token) -> int:
    return token.start_pos if token.start_pos is not None else 0


def _error(problem: str, text: str, offset: int, hint: str | None) -> ExpressionError:
    return ExpressionError(
        describe_location(problem, text, offset), expression=text, offset=offset, hint=hint
    )
