"""A parsed expression: what it refers to, and how to evaluate it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrate.pipelines.expressions.evaluator import StatusFunctions, evaluate_tree
from orchestrate.pipelines.expressions.nodes import Node


@dataclass(frozen=True)
class Expression:
    """An immutable parsed expression; ``parse`` caches them, so share them freely.

    ``contexts`` holds the top-level names it reads, lower-cased because GitHub matches
    them case-insensitively (``Steps.x`` reads ``steps``); a validator checks them
    against the names a pipeline offers. ``tree`` is the syntax tree, for tools.
    """

    source: str
    uses_status_function: bool
    contexts: frozenset[str]
    tree: Node = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, Any], status: StatusFunctions | None = None) -> Any:
        """The value of the expression; a name missing from ``context`` reads as null.

        Without ``status`` a call of ``success()``, ``failure()``, ``cancelled()`` or
        ``always()`` raises ``ExpressionError``: they only mean something in ``if:``.
        """
        return evaluate_tree(self.tree, self.source, context, status)
