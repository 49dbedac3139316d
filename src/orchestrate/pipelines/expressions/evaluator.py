"""Walks a syntax tree against the contexts and returns a JSON-like value.

The rules of property access follow the runner's ``Index`` operator: reading from
null or from a missing key gives null, never an error; an array takes a number
(floored; negative or out of range gives null); an object takes a string, matched
case-insensitively; after a ``*`` filter every further index applies to each item and
items without the key are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrate.pipelines.expressions.errors import ExpressionError, describe_location
from orchestrate.pipelines.expressions.functions import FUNCTIONS, FunctionFailed
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
)
from orchestrate.pipelines.expressions.values import (
    FilteredArray,
    Kind,
    coerce_string,
    greater_than,
    is_primitive,
    is_truthy,
    kind_of,
    less_than,
    lookup,
    loose_equals,
    to_number,
)

_INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class StatusFunctions:
    """What the status functions answer in an ``if:``; ``always()`` is always true."""

    success: bool = True
    failure: bool = False
    cancelled: bool = False


def evaluate_tree(
    root: Node, source: str, context: Mapping[str, Any], status: StatusFunctions | None
) -> Any:
    result = _Evaluation(source, context, status).value(root)
    return list(result) if isinstance(result, FilteredArray) else result


class _Evaluation:
    def __init__(
        self, source: str, context: Mapping[str, Any], status: StatusFunctions | None
    ) -> None:
        self._source = source
        self._context = context
        self._status = status

    def value(self, node: Node) -> Any:
        match node:
            case Literal(value=value):
                return value
            case ContextRef(name=name):
                return lookup(self._context, name)[1]
            case Property(target=target, name=name):
                return member(self.value(target), name)
            case Index(target=target, index=index):
                container = self.value(target)
                if kind_of(container) not in (Kind.ARRAY, Kind.OBJECT):
                    return None  # the runner does not even evaluate the index then
                return member(container, self.value(index))
            case Wildcard(target=target):
                return expand(self.value(target))
            case Not(operand=operand):
                return not is_truthy(self.value(operand))
            case Compare(operator=operator, left=left, right=right):
                return _compare(operator, self.value(left), self.value(right))
            case Logical(operator=operator, operands=operands):
                return self._logical(operator, operands)
            case Call():
                return self._call(node)
        raise AssertionError(f"unknown node {node!r}")  # pragma: no cover

    def _logical(self, operator: str, operands: Sequence[Node]) -> Any:
        """``&&`` and ``||`` return the deciding operand itself, not a boolean."""
        stop_when_truthy = operator == "||"
        result: Any = None
        for operand in operands:
            result = self.value(operand)
            if is_truthy(result) == stop_when_truthy:
                return result
        return result

    def _call(self, call: Call) -> Any:
        spec = FUNCTIONS[call.name.lower()]
        if spec.call is None:
            return self._status_function(call)
        try:
            return spec.call(_LazyArguments(self, call.arguments))
        except FunctionFailed as failure:
            raise self._error(failure.message, call.offset, failure.hint) from None

    def _status_function(self, call: Call) -> bool:
        if self._status is None:
            raise self._error(
                f"{call.name}() is a status function and only allowed in 'if'",
                call.offset,
                "Use success(), failure(), always() and cancelled() in an 'if:' condition",
            )
        if call.name == "always":
            return True
        return bool(getattr(self._status, call.name))

    def _error(self, problem: str, offset: int, hint: str | None) -> ExpressionError:
        return ExpressionError(
            describe_location(problem, self._source, offset),
            expression=self._source,
            offset=offset,
            hint=hint,
        )


class _LazyArguments:
    """Evaluates each argument when a function first reads it, then remembers it."""

    _UNSET = object()

    def __init__(self, evaluation: _Evaluation, nodes: Sequence[Node]) -> None:
        self._evaluation = evaluation
        self._nodes = nodes
        self._values: list[Any] = [self._UNSET] * len(nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, position: int) -> Any:
        if self._values[position] is self._UNSET:
            self._values[position] = self._evaluation.value(self._nodes[position])
        return self._values[position]


def member(container: Any, key: Any) -> Any:
    """``container[key]``; also what ``container.key`` means."""
    if isinstance(container, FilteredArray):
        return _member_of_each(container, key)
    if isinstance(container, Mapping):
        return lookup(container, coerce_string(key))[1] if is_primitive(key) else None
    if kind_of(container) is Kind.ARRAY:
        position = _array_position(key)
        return container[position] if position is not None and position < len(container) else None
    return None


def expand(container: Any) -> FilteredArray:
    """``container.*``: the values of an object or the items of an array; a filter flattens."""
    if isinstance(container, FilteredArray):
        expanded = FilteredArray()
        for item in container:
            if isinstance(item, Mapping):
                expanded.extend(item.values())
            elif kind_of(item) is Kind.ARRAY:
                expanded.extend(item)
        return expanded
    if isinstance(container, Mapping):
        return FilteredArray(container.values())
    if kind_of(container) is Kind.ARRAY:
        return FilteredArray(container)
    return FilteredArray()


def _member_of_each(items: FilteredArray, key: Any) -> FilteredArray:
    result = FilteredArray()
    position = _array_position(key)
    for item in items:
        if isinstance(item, Mapping):
            if is_primitive(key):
                found, value = lookup(item, coerce_string(key))
                if found:
                    result.append(value)
        elif kind_of(item) is Kind.ARRAY and position is not None and position < len(item):
            result.append(item[position])
    return result


def _array_position(key: Any) -> int | None:
    number = to_number(key)
    if math.isnan(number) or number < 0 or number > _INT32_MAX:
        return None
    return math.floor(number)


def _compare(operator: str, left: Any, right: Any) -> bool:
    if operator == "==":
        return loose_equals(left, right)
    if operator == "!=":
        return not loose_equals(left, right)
    if operator == "<":
        return less_than(left, right)
    if operator == ">":
        return greater_than(left, right)
    if operator == "<=":
        return loose_equals(left, right) or less_than(left, right)
    return loose_equals(left, right) or greater_than(left, right)  # >=
