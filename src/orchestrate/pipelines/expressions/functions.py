"""The built-in functions, with GitHub's argument counts and coercions.

Arguments are evaluated lazily and at most once, as in the runner: ``format`` evaluates
only the placeholders it uses, ``contains`` does not look at its item when the search
is an object. That matters when an unused argument would fail (``fromJSON('')``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from orchestrate.pipelines.expressions.values import (
    Kind,
    coerce_string,
    fold_case,
    is_primitive,
    kind_of,
    loose_equals,
    to_json,
)

STATUS_FUNCTIONS = frozenset({"success", "failure", "cancelled", "always"})
_FORMAT_HINT = "Write {0}, {1}, ... for arguments and '{{' or '}}' for a literal brace"
_MAX_FORMAT_INDEX = 255  # the runner reads the index as a byte


class Arguments(Protocol):
    """The arguments of one call; indexing evaluates an argument the first time it is read."""

    def __len__(self) -> int: ...

    def __getitem__(self, position: int) -> Any: ...


class FunctionFailed(Exception):
    """A function refused its input; the evaluator adds where in the expression it happened."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    signature: str
    min_arguments: int
    max_arguments: int
    call: Callable[[Arguments], Any] | None  # None: a status function, answered by the caller

    @property
    def is_status_function(self) -> bool:
        return self.call is None

    def describe_arity(self) -> str:
        if self.max_arguments == 0:
            return "no arguments"
        if self.min_arguments == self.max_arguments:
            plural = "s" if self.min_arguments > 1 else ""
            return f"{self.min_arguments} argument{plural}"
        if self.max_arguments > 2:
            return f"at least {self.min_arguments} argument"
        return f"{self.min_arguments} or {self.max_arguments} arguments"


FormatSegment = str | tuple[int, str]  # literal text, or (argument index, format specifiers)


def parse_format(template: str) -> list[FormatSegment]:
    """Split a ``format`` string into text and ``{N}`` placeholders, as the runner reads it."""
    segments: list[FormatSegment] = []
    position, text = 0, []
    while position < len(template):
        character = template[position]
        following = template[position + 1 : position + 2]
        if character in "{}" and following == character:
            text.append(character)
            position += 2
        elif character == "{":
            placeholder, position = _read_placeholder(template, position)
            segments.extend(["".join(text), placeholder])
            text = []
        elif character == "}":
            raise FunctionFailed(f"Invalid format string '{template}'", _FORMAT_HINT)
        else:
            text.append(character)
            position += 1
    segments.append("".join(text))
    return [segment for segment in segments if segment != ""]


def check_format_arguments(template: str, segments: Sequence[FormatSegment], count: int) -> None:
    for segment in segments:
        if isinstance(segment, tuple) and segment[0] >= count:
            given = "1 argument follows" if count == 1 else f"{count} arguments follow"
            raise FunctionFailed(
                f"The format string '{template}' uses {{{segment[0]}}} but {given} it",
                "Placeholders count from {0}, the first argument after the format string",
            )


def _read_placeholder(template: str, start: int) -> tuple[tuple[int, str], int]:
    """Read ``{N}`` or ``{N:specifiers}`` from its ``{``; return it and the position after."""
    position = start + 1
    while position < len(template) and template[position] in "0123456789":
        position += 1
    digits = template[start + 1 : position]
    if not digits or int(digits) > _MAX_FORMAT_INDEX:
        raise FunctionFailed(f"Invalid format string '{template}'", _FORMAT_HINT)
    specifiers: list[str] = []
    if template[position : position + 1] == ":":
        position += 1
        while position < len(template) and (
            template[position] != "}" or template[position + 1 : position + 2] == "}"
        ):
            specifiers.append(template[position])
            position += 2 if template[position] == "}" else 1
    if template[position : position + 1] != "}":
        raise FunctionFailed(f"Invalid format string '{template}'", _FORMAT_HINT)
    return (int(digits), "".join(specifiers)), position + 1


def _format(arguments: Arguments) -> str:
    template = coerce_string(arguments[0])
    segments = parse_format(template)
    check_format_arguments(template, segments, len(arguments) - 1)
    parts = []
    for segment in segments:
        if isinstance(segment, str):
            parts.append(segment)
            continue
        index, specifiers = segment
        if specifiers:
            raise FunctionFailed(f"The format specifiers ':{specifiers}' are not supported")
        parts.append(coerce_string(arguments[index + 1]))
    return "".join(parts)


def _contains(arguments: Arguments) -> bool:
    search = arguments[0]
    if is_primitive(search):
        item = arguments[1]
        return is_primitive(item) and fold_case(coerce_string(item)) in fold_case(
            coerce_string(search)
        )
    if kind_of(search) is Kind.ARRAY and search:
        item = arguments[1]
        return any(loose_equals(item, candidate) for candidate in search)
    return False


def _starts_with(arguments: Arguments) -> bool:
    pair = _string_pair(arguments)
    return pair is not None and pair[0].startswith(pair[1])


def _ends_with(arguments: Arguments) -> bool:
    pair = _string_pair(arguments)
    return pair is not None and pair[0].endswith(pair[1])


def _string_pair(arguments: Arguments) -> tuple[str, str] | None:
    """Both arguments case-folded, or None when either is an array or object."""
    subject = arguments[0]
    if not is_primitive(subject):
        return None
    affix = arguments[1]
    if not is_primitive(affix):
        return None
    return fold_case(coerce_string(subject)), fold_case(coerce_string(affix))


def _join(arguments: Arguments) -> str:
    items = arguments[0]
    if kind_of(items) is Kind.ARRAY and items:
        separator = ","
        if len(items) > 1 and len(arguments) > 1 and is_primitive(arguments[1]):
            separator = coerce_string(arguments[1])
        return separator.join(coerce_string(item) for item in items)
    return coerce_string(items) if is_primitive(items) else ""


def _to_json(arguments: Arguments) -> str:
    return to_json(arguments[0])


def _from_json(arguments: Arguments) -> Any:
    text = coerce_string(arguments[0])
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        preview = text if len(text) <= 60 else text[:57] + "..."
        raise FunctionFailed(
            f"fromJSON cannot read '{preview}': {error.msg} at line {error.lineno} "
            f"column {error.colno}",
            'Pass a JSON text, e.g. fromJSON(\'["a", "b"]\') or a step output holding JSON',
        ) from None
    except RecursionError:
        raise FunctionFailed("fromJSON cannot read a JSON text nested this deeply") from None


_SPECS = (
    FunctionSpec("contains", "contains(search, item)", 2, 2, _contains),
    FunctionSpec("startsWith", "startsWith(searchString, searchValue)", 2, 2, _starts_with),
    FunctionSpec("endsWith", "endsWith(searchString, searchValue)", 2, 2, _ends_with),
    FunctionSpec("format", "format(string, replaceValue0, replaceValue1, ...)", 1, 255, _format),
    FunctionSpec("join", "join(array, optionalSeparator)", 1, 2, _join),
    FunctionSpec("toJSON", "toJSON(value)", 1, 1, _to_json),
    FunctionSpec("fromJSON", "fromJSON(value)", 1, 1, _from_json),
    FunctionSpec("success", "success()", 0, 0, None),
    FunctionSpec("failure", "failure()", 0, 0, None),
    FunctionSpec("cancelled", "cancelled()", 0, 0, None),
    FunctionSpec("always", "always()", 0, 0, None),
)

# Function names are case-insensitive: ``tojson`` and ``toJSON`` are the same function.
FUNCTIONS: dict[str, FunctionSpec] = {spec.name.lower(): spec for spec in _SPECS}
