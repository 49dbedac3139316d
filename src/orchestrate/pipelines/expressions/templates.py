"""Expressions inside pipeline values: ``${{ }}`` templates and ``if:`` conditions.

Errors raised here are located in the string the caller passed in: an expression that
starts at character 12 of a ``run:`` script and fails at its own column 3 is reported
at offset 14 of the script.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrate.pipelines.expressions.errors import ExpressionError
from orchestrate.pipelines.expressions.evaluator import StatusFunctions
from orchestrate.pipelines.expressions.expression import Expression
from orchestrate.pipelines.expressions.parser import parse
from orchestrate.pipelines.expressions.values import is_truthy, to_string

_OPEN = "${{"


@dataclass(frozen=True)
class _Span:
    start: int  # of '${{'
    end: int  # just after '}}'
    inner_offset: int  # of the expression's first non-space character
    inner: str  # the expression, stripped


def find_expressions(text: str) -> list[tuple[int, str]]:
    """Every ``${{ }}`` in ``text`` as (offset of the expression in ``text``, expression)."""
    return [(span.inner_offset, span.inner) for span in _scan(text)]


def expression_spans(text: str) -> list[tuple[int, int, int, str]]:
    """Every ``${{ }}`` as (start of ``${{``, end after ``}}``, offset of the expression, it)."""
    return [(span.start, span.end, span.inner_offset, span.inner) for span in _scan(text)]


def interpolate(text: str, context: Mapping[str, Any]) -> str:
    """Replace each ``${{ expr }}`` by its value as text (null is '', a list its JSON)."""
    return _interpolate(text, context, None)


def evaluate_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Evaluate the expressions in a YAML value (``with:``, ``env:``, a matrix).

    A string that is exactly one ``${{ }}`` keeps the type of its value, so
    ``${{ fromJSON(needs.a.outputs.list) }}`` is a list; other strings are interpolated;
    lists and mappings are walked; other scalars are returned as they are.
    """
    if isinstance(value, str):
        span = _single_expression(value)
        if span is None:
            return interpolate(value, context)
        return _evaluate(span, value, context, None)
    if isinstance(value, list):
        return [evaluate_value(item, context) for item in value]
    if isinstance(value, Mapping):
        return {
            (interpolate(key, context) if isinstance(key, str) else key): evaluate_value(
                item, context
            )
            for key, item in value.items()
        }
    return value


def evaluate_condition(
    condition: str | bool | None, context: Mapping[str, Any], status: StatusFunctions
) -> bool:
    """Whether an ``if:`` holds, as GitHub decides it.

    No condition means ``success()``. A condition that calls no status function means
    ``success() && (condition)``: a step after a failure is skipped unless its condition
    asks about the failure (``failure()``, ``always()``). The condition may be bare or
    wrapped in one ``${{ }}``; a string with ``${{ }}`` and other text around it is a
    template, as on GitHub, and holds whenever it produces non-empty text.
    """
    if condition is None or isinstance(condition, bool):
        return status.success and condition is not False
    if not condition.strip():
        return status.success
    if not status.success and not condition_uses_status_function(condition):
        return False
    span = _single_expression(condition)
    if span is not None:
        return is_truthy(_evaluate(span, condition, context, status))
    if _OPEN in condition:
        return is_truthy(_interpolate(condition, context, status))
    return is_truthy(parse(condition).evaluate(context, status))


def condition_uses_status_function(condition: str | bool | None) -> bool:
    """Whether an ``if:`` calls ``success()``, ``failure()``, ``cancelled()`` or ``always()``."""
    if not isinstance(condition, str) or not condition.strip():
        return False
    if _OPEN not in condition:
        return parse(condition).uses_status_function
    return any(_parse(span, condition).uses_status_function for span in _scan(condition))


def _interpolate(text: str, context: Mapping[str, Any], status: StatusFunctions | None) -> str:
    if _OPEN not in text:
        return text
    parts, position = [], 0
    for span in _scan(text):
        parts.append(text[position : span.start])
        parts.append(to_string(_evaluate(span, text, context, status)))
        position = span.end
    parts.append(text[position:])
    return "".join(parts)


def _evaluate(
    span: _Span, text: str, context: Mapping[str, Any], status: StatusFunctions | None
) -> Any:
    expression = _parse(span, text)
    try:
        return expression.evaluate(context, status)
    except ExpressionError as error:
        raise error.relocated(text, span.inner_offset) from None


def _parse(span: _Span, text: str) -> Expression:
    try:
        return parse(span.inner)
    except ExpressionError as error:
        raise error.relocated(text, span.inner_offset) from None


def _single_expression(text: str) -> _Span | None:
    """The one ``${{ }}`` that makes up all of ``text`` (give or take whitespace), if any."""
    stripped = text.strip()
    if not (stripped.startswith(_OPEN) and stripped.endswith("}}")):
        return None
    spans = _scan(text)
    if len(spans) != 1:
        return None
    (span,) = spans
    leading = len(text) - len(text.lstrip())
    return span if span.start == leading and span.end == leading + len(stripped) else None


def _scan(text: str) -> list[_Span]:
    spans: list[_Span] = []
    start = text.find(_OPEN)
    while start >= 0:
        end = _closing(text, start + len(_OPEN))
        if end < 0:
            raise ExpressionError(
                f"The '${{{{' at offset {start} is never closed",
                expression=text,
                offset=start,
                hint="End the expression with '}}'",
            )
        raw = text[start + len(_OPEN) : end - 1]
        leading = len(raw) - len(raw.lstrip())
        spans.append(_Span(start, end + 1, start + len(_OPEN) + leading, raw.strip()))
        start = text.find(_OPEN, end + 1)
    return spans


def _closing(text: str, position: int) -> int:
    """Index of the second '}' of the '}}' that closes an expression, or -1.

    Like GitHub's template reader, a '}}' inside a single-quoted string does not count;
    a doubled quote ('') toggles twice and so needs no special case.
    """
    in_string = False
    for index in range(position, len(text)):
        character = text[index]
        if character == "'":
            in_string = not in_string
        elif character == "}" and not in_string and text[index - 1] == "}" and index > position:
            return index
    return -1
