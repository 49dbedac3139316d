"""GitHub-Actions-style ``${{ }}`` expressions for pipelines.

The semantics copy GitHub's (https://docs.github.com/en/actions/learn-github-actions/expressions
and the runner's implementation): loose, case-insensitive comparison, ``&&``/``||``
returning operands, object filters, the same functions and status functions. A lark
grammar parses; a small evaluator walks the tree; nothing is ever passed to ``eval``.
"""

from orchestrate.pipelines.expressions.errors import ExpressionError
from orchestrate.pipelines.expressions.evaluator import StatusFunctions
from orchestrate.pipelines.expressions.expression import Expression
from orchestrate.pipelines.expressions.parser import parse
from orchestrate.pipelines.expressions.templates import (
    condition_uses_status_function,
    evaluate_condition,
    evaluate_value,
    find_expressions,
    interpolate,
)
from orchestrate.pipelines.expressions.values import is_truthy, to_string

__all__ = [
    "Expression",
    "ExpressionError",
    "StatusFunctions",
    "condition_uses_status_function",
    "evaluate_condition",
    "evaluate_value",
    "find_expressions",
    "interpolate",
    "is_truthy",
    "parse",
    "to_string",
]
