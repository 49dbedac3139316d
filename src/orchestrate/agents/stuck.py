"""Stuck detection: an agent repeating a cycle of tool calls that changes nothing.

The unit compared is a *step*: the tool calls of one model reply (``finish`` aside),
each with its arguments and its result. A reply that calls one tool four times in
parallel is one step, not a loop. The run is looping when its last steps are one
cycle of 1 to ``MAX_CYCLE`` steps repeated ``repeats`` times in a row: ``A A A A``,
``A B A B A B A B``, ``A B C A B C …``.

Two calls are the same when their tool, their exact arguments and their error flag
match and their results match once volatile text is masked: timestamps, durations,
epoch times, PIDs, temporary paths, hexadecimal ids and labelled counters (``attempt
3``). Arguments are never masked and other numbers are kept (``2 failed`` against
``1 failed`` is progress), so real progress is not mistaken for a loop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from typing import Protocol

MAX_CYCLE = 5
"""The longest cycle, in steps, that is looked for."""

MIN_REPEATS = 2
"""Fewer repeats than this would call every second step a loop."""

WARNING_HEADING = "Loop warning from Orchestrate"
"""Starts the one warning a run gets, so a resumed run can tell it was warned already."""

_SHOWN_ARGUMENTS = 120

_Key = tuple[str, str, bool, str]

_VOLATILE: tuple[tuple[re.Pattern[str], str], ...] = (
    # Dates and times: ISO 8601, `date` and log prefixes.
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b"
        ),
        "<time>",
    ),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    # UUIDs before hex ids, so a UUID becomes one token.
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<id>",
    ),
    # Temporary paths: /tmp/…, macOS /var/folders/…, Python's tmpXXXXXXXX names.
    (re.compile(r"(?:/private)?/(?:tmp|var/tmp|var/folders)/[^\s'\"`:,;)\]}]*"), "<tmp>"),
    (re.compile(r"\btmp[a-z0-9_]{6,}\b"), "<tmp>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    # Hex ids (commit hashes, object ids): 7+ hex digits with at least one digit and
    # one letter, so plain words and plain numbers are left alone.
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b"), "<hex>"),
    # Unix times in seconds or milliseconds (2017 to 2033).
    (re.compile(r"\b1[5-9]\d{8}(?:\d{3}|\.\d+)?\b"), "<epoch>"),
    # Durations: "0.53s", "12 ms", "3.2 seconds", "1m30s", "0m0.003s".
    (
        re.compile(
            r"\b(?:\d+(?:\.\d+)?\s?"
            r"(?:ns|µs|us|ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?))+\b"
        ),
        "<duration>",
    ),
    # Labelled counters and process ids: "pid 4242", "PID: 17", "attempt #3", "bash[912]".
    (
        re.compile(
            r"(?i)\b(pid|process|attempt|iteration|retry|try|run|request|job|seq|counter)"
            r"(\s*[:=#]?\s*#?)\d+\b"
        ),
        r"\1\2<n>",
    ),
    (re.compile(r"\b([A-Za-z_][\w.-]*)\[\d{3,}\]"), r"\1[<n>]"),
)


@lru_cache(maxsize=64)
def normalise_output(text: str) -> str:
    """``text`` with its volatile parts masked, for comparing two results of one call.

    Cached: each turn compares the same recent outputs again (up to ~20 ms for 30 KB).
    """
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class ToolAction:
    """One finished tool call of reply ``turn`` and its result."""

    turn: int
    name: str
    arguments: Mapping[str, object]
    output: str
    is_error: bool

    @property
    def call(self) -> tuple[str, str, bool]:
        """What was asked, without the result: cheap to compare."""
        return (self.name, _arguments(self.arguments), self.is_error)

    @property
    def key(self) -> _Key:
        """What was asked and what came back, volatile parts masked."""
        return (*self.call, normalise_output(self.output))

    def describe(self) -> str:
        shown = _arguments(self.arguments)
        if len(shown) > _SHOWN_ARGUMENTS:
            shown = shown[: _SHOWN_ARGUMENTS - 3] + "..."
        return f"{self.name} {shown}"


@dataclass(frozen=True)
class Loop:
    """The cycle the run kept repeating: its steps, each the calls of one reply."""

    cycle: tuple[tuple[ToolAction, ...], ...]
    repeats: int

    def describe(self) -> str:
        steps = [" + ".join(action.describe() for action in step) for step in self.cycle]
        if len(steps) == 1:
            return f"called {steps[0]} {self.repeats} times in a row with the same result"
        return (
            f"repeated the cycle {' → '.join(steps)} {self.repeats} times in a row "
            "with the same results"
        )

    def warning(self) -> str:
        """The user-turn message that gives the model one chance to break out."""
        return (
            f"{WARNING_HEADING}: you appear to be stuck in a loop. You {self.describe()}, "
            "so repeating it will not change anything. Change your approach: read the "
            "error or the output again, try different arguments or another tool, or check "
            "your assumptions. If you cannot make progress, call the finish tool with "
            "status 'blocked' and explain what stops you. If you repeat the same calls "
            "again, the run will be failed."
        )

    def failure_reason(self) -> str:
        return f"stuck: {self.describe()}, and kept repeating after a warning"


def find_loop(history: Sequence[ToolAction], repeats: int) -> Loop | None:
    """The shortest cycle the last steps of ``history`` repeat ``repeats`` times, or None.

    ``history`` is in call order; calls of one reply (same ``turn``) form one step. Only
    the last ``MAX_CYCLE * (repeats + 1)`` steps are read (a run fails one repeat after
    its warning, so a loop never grows longer), and outputs are masked only for cycles
    whose calls already repeat, so a long run pays little for this check every turn.
    """
    if repeats < MIN_REPEATS:
        return None
    steps = _steps(history)[-MAX_CYCLE * (repeats + 1) :]
    calls = [frozenset(action.call for action in step) for step in steps]
    results = _LazyKeys(steps)
    for length in range(1, MAX_CYCLE + 1):
        if _periodic_tail(calls, length) // length < repeats:
            continue
        cycles = _periodic_tail(results, length) // length
        if cycles >= repeats:
            cycle = tuple(_distinct(step) for step in steps[-length:])
            return Loop(cycle=cycle, repeats=cycles)
    return None


def was_warned(texts: Sequence[str]) -> bool:
    """Whether any of the run's user texts is the loop warning."""
    return any(text.startswith(WARNING_HEADING) for text in texts)


class _LazyKeys:
    """The masked key of each step, computed only when compared: comparing from the end
    stops at the first difference, so most steps' outputs are never masked."""

    def __init__(self, steps: Sequence[tuple[ToolAction, ...]]) -> None:
        self._steps = steps
        self._keys: dict[int, frozenset[_Key]] = {}

    def __len__(self) -> int:
        return len(self._steps)

    def __getitem__(self, index: int) -> frozenset[_Key]:
        index %= len(self._steps)
        if index not in self._keys:
            self._keys[index] = frozenset(action.key for action in self._steps[index])
        return self._keys[index]


class _Indexable(Protocol):
    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> Hashable: ...


def _periodic_tail(keys: _Indexable, length: int) -> int:
    """How many of the last steps repeat the ``length`` steps before them (plus those)."""
    if len(keys) < length:
        return 0
    span = length
    while span < len(keys) and keys[-span - 1] == keys[-span - 1 + length]:
        span += 1
    return span


def _steps(history: Sequence[ToolAction]) -> list[tuple[ToolAction, ...]]:
    """The calls of each reply, in call order."""
    ordered = sorted(history, key=lambda action: action.turn)  # stable: call order kept
    return [tuple(actions) for _, actions in groupby(ordered, key=lambda action: action.turn)]


def _distinct(step: tuple[ToolAction, ...]) -> tuple[ToolAction, ...]:
    """Each call once: parallel duplicates within a reply are one piece of work."""
    return tuple({action.key: action for action in step}.values())


def _arguments(arguments: Mapping[str, object]) -> str:
    return json.dumps(arguments, sort_keys=True, default=str)
