"""GitHub Actions filter patterns (``branches``, ``tags``, ``paths``) as regular expressions.

The semantics are those of GitHub's "filter pattern cheat sheet":

- ``*`` matches zero or more characters except ``/``;
- ``**`` matches zero or more of any character; ``**/`` also matches zero directories,
  so ``**/README.md`` matches ``README.md`` and ``docs/**/*.md`` matches ``docs/a.md``;
- ``?`` makes the preceding character (or ``[]`` class) optional, ``+`` repeats it one or
  more times: ``*.jsx?`` matches ``page.js`` and ``page.jsx``; ``v[0-9]+`` matches ``v10``;
- ``[]`` matches one character listed or in a range (ranges within ``a-z``, ``A-Z``,
  ``0-9``); there are no negated classes;
- ``\\`` before one of ``* ? + [ ] \\ !`` makes it literal; before anything else it is an
  ordinary backslash (file names may contain one);
- ``!`` at the start of a pattern negates it inside a list (see :func:`matches_any`);
  anywhere else it is an ordinary character.

A pattern must match the whole value, case-sensitively unless asked otherwise. A
pattern GitHub would reject (empty, ``?``/``+`` with nothing to repeat, an unclosed
``[``, an empty class, a reversed range) raises :class:`InvalidPattern`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from orchestrate.core.errors import ValidationFailed

_ESCAPABLE = frozenset("*?+[]\\!")


class InvalidPattern(ValidationFailed):
    """A filter pattern GitHub Actions would reject."""

    title = "Invalid filter pattern"


def matches_any(patterns: Sequence[str], value: str, *, ignore_case: bool = False) -> bool:
    """Whether ``value`` is selected by an ordered list of patterns.

    Patterns are evaluated in order and the last one that matches decides: a plain
    pattern selects the value, a ``!pattern`` deselects it, and a later plain pattern
    can select it again. Nothing is selected before the first pattern, so a list of
    only ``!`` patterns selects nothing (GitHub requires at least one plain pattern
    next to a negative one; use an ``*_ignore`` list to only exclude).

    ``ignore_case`` is for names GitHub itself compares case-insensitively, such as
    ``owner/name`` of a repository; branches, tags and paths are case-sensitive.
    """
    selected = False
    for pattern in patterns:
        is_negative = pattern.startswith("!")
        body = pattern[1:] if is_negative else pattern
        if body == "" and is_negative:
            raise InvalidPattern(f"Pattern {pattern!r} has nothing after '!'", pattern=pattern)
        if compile_pattern(body, ignore_case=ignore_case).fullmatch(value):
            selected = not is_negative
    return selected


def only_negative(patterns: Sequence[str]) -> bool:
    """A non-empty list whose every pattern starts with ``!``: it can never select anything."""
    return bool(patterns) and all(pattern.startswith("!") for pattern in patterns)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """One pattern, without list negation, as a regular expression for ``fullmatch``.

    A leading ``!`` is not special here; :func:`matches_any` strips it before calling.
    """
    if pattern == "":
        raise InvalidPattern("A filter pattern cannot be empty", pattern=pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(_translate(pattern), flags)


def _translate(pattern: str) -> str:
    parts: list[str] = []
    # Whether the last part is one character (or class) that '?' or '+' may apply to.
    can_repeat = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            index, part = _translate_stars(pattern, index)
            parts.append(part)
            can_repeat = False
            continue
        if char in "?+":
            if not can_repeat:
                raise _error(pattern, index, f"'{char}' must follow a character or a [] class")
            parts[-1] += char
            can_repeat = False
            index += 1
            continue
        if char == "[":
            index, part = _translate_class(pattern, index)
        elif char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in _ESCAPABLE:
            part = re.escape(pattern[index + 1])
            index += 2
        else:
            part = re.escape(char)
            index += 1
        parts.append(part)
        can_repeat = True
    return "".join(parts)


def _translate_stars(pattern: str, index: int) -> tuple[int, str]:
    if not pattern.startswith("**", index):
        return index + 1, "[^/]*"
    index += 2
    if pattern.startswith("/", index):
        # '**/' stands for zero or more whole directories: '**/a' matches 'a' and 'x/y/a'.
        return index + 1, "(?:.*/)?"
    return index, ".*"


def _translate_class(pattern: str, start: int) -> tuple[int, str]:
    """``[...]`` starting at ``start``; returns the index after ``]`` and the regex class."""
    items: list[str] = []
    index = start + 1
    while True:
        if index >= len(pattern):
            raise _error(pattern, start, "'[' is never closed with ']'")
        char = pattern[index]
        if char == "]":
            break
        if char == "\\" and index + 1 < len(pattern):
            index += 1
            char = pattern[index]
        if pattern.startswith("-", index + 1) and index + 2 < len(pattern):
            end = pattern[index + 2]
            if end != "]":
                items.append(_range(pattern, index, char, end))
                index += 3
                continue
        items.append(re.escape(char))
        index += 1
    if not items:
        raise _error(pattern, start, "'[]' must list at least one character")
    return index + 1, "[" + "".join(items) + "]"


def _range(pattern: str, index: int, first: str, last: str) -> str:
    if not any(first in kind and last in kind for kind in _RANGE_KINDS):
        raise _error(pattern, index, f"range '{first}-{last}' must stay within a-z, A-Z or 0-9")
    if first > last:
        raise _error(pattern, index, f"range '{first}-{last}' is reversed")
    return f"{re.escape(first)}-{re.escape(last)}"


_RANGE_KINDS = (
    "abcdefghijklmnopqrstuvwxyz",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
)


def _error(pattern: str, index: int, problem: str) -> InvalidPattern:
    return InvalidPattern(
        f"Filter pattern {pattern!r} is invalid at character {index + 1}: {problem}",
        pattern=pattern,
        position=index + 1,
    )
