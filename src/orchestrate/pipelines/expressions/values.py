"""GitHub's value model: kinds, coercion, loose equality, ordering, truthiness, strings.

Context values are plain JSON-like Python (None, bool, int, float, str, list, dict).
GitHub keeps every number as a double and compares loosely, in the manner of
JavaScript's ``==`` except that strings compare case-insensitively and arrays and
objects are never coerced (they are equal only to themselves). The rules below follow
the runner's ``EvaluationResult`` (actions/runner, Expressions2) so that a workflow
condition means the same thing here as on GitHub.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from enum import Enum
from typing import Any

# Numbers as GitHub's ParseNumber accepts them, besides Infinity and hex/octal integers.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_OCTAL = re.compile(r"0o[0-7]+")
_INFINITIES = {"Infinity": math.inf, "+Infinity": math.inf, "-Infinity": -math.inf}
# Newtonsoft.Json escapes these line separators, Python's json module does not.
_JSON_EXTRA_ESCAPES = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


class Kind(Enum):
    NULL = "null"
    BOOLEAN = "boolean"
    NUMBER = "number"
    STRING = "string"
    ARRAY = "array"
    OBJECT = "object"


class FilteredArray(list[Any]):
    """The result of a ``*`` object filter.

    An index applied to it applies to each item instead (``labels.*.name``), as in
    GitHub; once it leaves the engine it is handed out as a plain list.
    """


def kind_of(value: Any) -> Kind:
    if value is None:
        return Kind.NULL
    if isinstance(value, bool):
        return Kind.BOOLEAN
    if isinstance(value, int | float):
        return Kind.NUMBER
    if isinstance(value, str):
        return Kind.STRING
    if isinstance(value, list | tuple):
        return Kind.ARRAY
    return Kind.OBJECT


def is_primitive(value: Any) -> bool:
    return kind_of(value) in (Kind.NULL, Kind.BOOLEAN, Kind.NUMBER, Kind.STRING)


def is_truthy(value: Any) -> bool:
    """False for null, false, 0, -0, NaN and ''; true for everything else, [] and {} included."""
    kind = kind_of(value)
    if kind is Kind.NULL:
        return False
    if kind is Kind.BOOLEAN:
        return bool(value)
    if kind is Kind.NUMBER:
        number = _as_float(value)
        return not (number == 0 or math.isnan(number))
    if kind is Kind.STRING:
        return bool(value)
    return True


def int32(value: int) -> int | None:
    """Hex and octal literals are read as a 32-bit int, two's complement; larger is out of range."""
    if value > 0xFFFFFFFF:
        return None
    return value - 0x1_0000_0000 if value >= 0x8000_0000 else value


def parse_number(text: str) -> float:
    """A string as a number the way GitHub coerces it: blank is 0, anything unreadable NaN."""
    text = text.strip()
    if not text:
        return 0.0
    if _DECIMAL.fullmatch(text):
        return float(text)
    if text in _INFINITIES:
        return _INFINITIES[text]
    integer: int | None = None
    if _HEX.fullmatch(text):
        integer = int32(int(text[2:], 16))
    elif _OCTAL.fullmatch(text):
        integer = int32(int(text[2:], 8))
    return math.nan if integer is None else float(integer)


def to_number(value: Any) -> float:
    kind = kind_of(value)
    if kind is Kind.NULL:
        return 0.0
    if kind is Kind.BOOLEAN:
        return 1.0 if value else 0.0
    if kind is Kind.NUMBER:
        return _as_float(value)
    if kind is Kind.STRING:
        return parse_number(value)
    return math.nan


def format_number(value: float) -> str:
    """A number as GitHub prints it (.NET ``G15``): ``1``, ``0.5``, ``1E+20``, ``NaN``."""
    number = _as_float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"  # -0 too, as GitHub's own cross-language tests expect
    return f"{number:.15g}".replace("e", "E")


def coerce_string(value: Any) -> str:
    """GitHub's string conversion inside expressions; arrays, objects become 'Array', 'Object'."""
    kind = kind_of(value)
    if kind is Kind.NULL:
        return ""
    if kind is Kind.BOOLEAN:
        return "true" if value else "false"
    if kind is Kind.NUMBER:
        return format_number(value)
    if kind is Kind.STRING:
        return str(value)
    return "Array" if kind is Kind.ARRAY else "Object"


def to_string(value: Any) -> str:
    """The text a ``${{ }}`` leaves in a template: like ``coerce_string``, but arrays and objects
    are written as ``toJSON`` writes them, which is what a user substituting one wants to see."""
    if kind_of(value) in (Kind.ARRAY, Kind.OBJECT):
        return to_json(value)
    return coerce_string(value)


def to_json(value: Any, level: int = 0) -> str:
    """JSON indented by two spaces, numbers printed as GitHub prints them (``toJSON``)."""
    kind = kind_of(value)
    if kind is Kind.STRING:
        return json_string(value)
    if kind is Kind.ARRAY:
        items = [to_json(item, level + 1) for item in value]
        return _json_block("[", "]", items, level)
    if kind is Kind.OBJECT:
        if not isinstance(value, Mapping):
            return "{}"  # an object GitHub does not know how to traverse
        pairs = [
            f"{json_string(coerce_string(key))}: {to_json(item, level + 1)}"
            for key, item in value.items()
        ]
        return _json_block("{", "}", pairs, level)
    return "null" if kind is Kind.NULL else coerce_string(value)


def json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).translate(_JSON_EXTRA_ESCAPES)


def fold_case(text: str) -> str:
    """Upper-case one character at a time, as .NET's OrdinalIgnoreCase compares."""
    if text.isascii():
        return text.upper()
    return "".join(_fold_character(character) for character in text)


def loose_equals(left: Any, right: Any) -> bool:
    """``==``: different kinds are coerced to numbers; NaN equals nothing; strings ignore case;
    arrays and objects are equal only to themselves."""
    left_kind, left, right_kind, right = _coerce(left, right)
    if left_kind is not right_kind:
        return False
    if left_kind is Kind.NULL:
        return True
    if left_kind is Kind.NUMBER:
        return _as_float(left) == _as_float(right)  # NaN != NaN already
    if left_kind is Kind.STRING:
        return fold_case(left) == fold_case(right)
    if left_kind is Kind.BOOLEAN:
        return bool(left) == bool(right)
    return left is right


def less_than(left: Any, right: Any) -> bool:
    return _ordered(right, left)


def greater_than(left: Any, right: Any) -> bool:
    return _ordered(left, right)


def lookup(mapping: Mapping[Any, Any], key: str) -> tuple[bool, Any]:
    """(found, value) for ``key``, matched case-insensitively as GitHub matches property names."""
    try:
        return True, mapping[key]
    except (KeyError, TypeError):
        pass
    folded = fold_case(key)
    for candidate, value in mapping.items():
        if isinstance(candidate, str) and fold_case(candidate) == folded:
            return True, value
    return False, None


def _ordered(bigger: Any, smaller: Any) -> bool:
    """Whether ``bigger > smaller`` after GitHub's coercion; no order between arrays or objects."""
    big_kind, bigger, small_kind, smaller = _coerce(bigger, smaller)
    if big_kind is not small_kind:
        return False
    if big_kind is Kind.NUMBER:
        return _as_float(bigger) > _as_float(smaller)  # False whenever NaN is involved
    if big_kind is Kind.STRING:
        return fold_case(bigger) > fold_case(smaller)
    if big_kind is Kind.BOOLEAN:
        return bool(bigger) and not smaller
    return False


def _coerce(left: Any, right: Any) -> tuple[Kind, Any, Kind, Any]:
    left_kind, right_kind = kind_of(left), kind_of(right)
    if left_kind is right_kind:
        return left_kind, left, right_kind, right
    if left_kind is Kind.NUMBER and right_kind is Kind.STRING:
        return left_kind, left, Kind.NUMBER, to_number(right)
    if left_kind is Kind.STRING and right_kind is Kind.NUMBER:
        return Kind.NUMBER, to_number(left), right_kind, right
    if left_kind in (Kind.BOOLEAN, Kind.NULL):
        return _coerce(to_number(left), right)
    if right_kind in (Kind.BOOLEAN, Kind.NULL):
        return _coerce(left, to_number(right))
    return left_kind, left, right_kind, right


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int beyond any double
        return math.inf if value > 0 else -math.inf


def _fold_character(character: str) -> str:
    if character == "\u0131":  # .NET leaves the dotless i alone
        return character
    upper = character.upper()
    return upper if len(upper) == 1 else character


def _json_block(opening: str, closing: str, entries: list[str], level: int) -> str:
    if not entries:
        return opening + closing
    inner = "  " * (level + 1)
    body = ",\n".join(inner + entry for entry in entries)
    return f"{opening}\n{body}\n{'  ' * level}{closing}"
