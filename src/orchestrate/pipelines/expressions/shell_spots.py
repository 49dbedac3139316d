"""What the lexer (``shell_lexer``) learns about each ``${{ }}`` of a script.

A spot starts with the quoting around it. Commands around it may then change how bash
reads it: as arithmetic or a variable name (``let``, ``read``), or as text a shell
reads once more as a script (``eval``, ``| bash``). ``SpotTable`` holds those findings,
and reads quoted code text a second time, as the inner shell will.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from orchestrate.pipelines.expressions.shell_commands import NAME, Marking, Reading


class Quoting(StrEnum):
    """What quotes a spot of the script, or how bash reads it when that matters more."""

    UNQUOTED = "unquoted"
    DOUBLE = "double quotes"
    SINGLE = "single quotes"
    ANSI_C = "$'...' quotes"
    HEREDOC = "here-document"
    QUOTED_HEREDOC = "quoted here-document"
    ARITHMETIC = "arithmetic"
    NAME = "variable name"
    COMMENT = "comment"


@dataclass(frozen=True)
class Spot:
    """The reading of one ``${{ }}``: its quoting, and whether the shell reads it twice."""

    quoting: Quoting
    is_code: bool = False
    """An argument of ``eval`` or ``sh -c``: the text is parsed again as a script."""
    in_substitution: bool = False
    """Inside ``$( )`` or backticks."""
    quotes: Quoting | None = None
    """The quotes written around a spot bash reads as arithmetic or as a name
    (``[[ "${{ x }}" -eq 1 ]]``): they, not ``quoting``, decide the spelling."""
    problem: str | None = None
    """Why no spelling of a reference is safe here."""

    @property
    def written(self) -> Quoting:
        """The quoting the reference must be spelled for."""
        return self.quotes or self.quoting


THRICE = (
    "is read as shell code more than twice here (eval inside eval, or a shell's script "
    "or output fed to another shell); no reference to a variable survives that"
)
# What a backslash escapes inside each quoting, for the text a second reading sees.
ESCAPES = {Quoting.DOUBLE: '$`"\\\n', Quoting.HEREDOC: "$`\\\n", Quoting.ANSI_C: "'\"\\"}
_LENGTH = re.compile(r"\$\{#[A-Za-z_][A-Za-z0-9_]*")

Classifier = Callable[[str, Sequence[tuple[int, int]]], list[Spot]]


@dataclass(frozen=True)
class Region:
    """Quoted text ``[start, end)`` (without the quotes) read at substitution ``depth``."""

    start: int
    end: int
    escapes: str
    """The characters a backslash escapes there (``$`"\\`` and newline in double quotes)."""
    depth: int

    def holds(self, index: int, depth: int) -> bool:
        return self.start <= index < self.end and self.depth == depth


class SpotTable:
    """The spots of one script, by where they start."""

    def __init__(self, text: str, spans: Sequence[tuple[int, int]]) -> None:
        self.text = text
        self.ends = dict(spans)
        self.starts = sorted(self.ends)
        self.found: dict[int, Spot] = {}
        self.depths: dict[int, int] = {}
        self.regions: list[Region] = []
        self.copies: dict[str, list[int]] = {}
        self.arithmetic_names: set[str] = set()

    def record(self, index: int, quoting: Quoting, depth: int) -> int:
        """The spot at ``index`` is read with ``quoting``; return where it ends."""
        self.found[index] = Spot(quoting, in_substitution=depth > 0)
        self.depths[index] = depth
        return self.ends[index]

    def within(self, start: int, end: int, depth: int | None = None) -> list[int]:
        """The spots found in ``[start, end)`` (only those at ``depth``, if given)."""
        low, high = bisect.bisect_left(self.starts, start), bisect.bisect_left(self.starts, end)
        found = [index for index in self.starts[low:high] if index in self.found]
        return [index for index in found if depth is None or self.depths[index] == depth]

    def mark(self, marking: Marking, depth: int) -> None:
        """Bash reads ``marking``'s text as arithmetic or a name (not what ``$( )`` prints)."""
        quoting = Quoting.ARITHMETIC if marking.reading is Reading.ARITHMETIC else Quoting.NAME
        if quoting is Quoting.ARITHMETIC:
            self.note_names(marking.start, marking.end)
        for index in self.within(marking.start, marking.end, depth):
            self._reclassify(index, quoting)

    def _reclassify(self, index: int, quoting: Quoting) -> None:
        spot = self.found[index]
        if spot.quoting not in (Quoting.ARITHMETIC, Quoting.NAME, Quoting.COMMENT):
            self.found[index] = replace(spot, quoting=quoting, quotes=spot.written)

    def mark_code(self, start: int, end: int) -> None:
        """The text ``[start, end)`` is read once more, as a script."""
        for index in self.within(start, end):
            spot = self.found[index]
            if spot.is_code and spot.quoting is not Quoting.COMMENT:
                spot = replace(spot, problem=THRICE)
            self.found[index] = replace(spot, is_code=True)

    def note_names(self, start: int, end: int) -> None:
        """Remember the variables arithmetic text reads, to find values copied into them."""
        text = list(self.text[start:end])
        for index in self.within(start, end):
            text[index - start : self.ends[index] - start] = " " * (self.ends[index] - index)
        # ``${#name}`` is a length: the value itself is not evaluated.
        self.arithmetic_names |= set(NAME.findall(_LENGTH.sub("", "".join(text))))

    def note_copy(self, name: str, value: tuple[int, int], depth: int) -> None:
        """``name="${{ x }}"``: the spots in ``value`` are copied into the variable ``name``."""
        self.copies.setdefault(name, []).extend(self.within(*value, depth))

    def finish(self, classify: Classifier) -> None:
        """What only the whole script tells: copies that meet arithmetic, inner scripts."""
        for name in self.arithmetic_names & self.copies.keys():
            for index in self.copies[name]:
                self._reclassify(index, Quoting.ARITHMETIC)
        for region, indexes in self._code_regions().items():
            inner, moved = inner_text(self.text, region, self.ends)
            spans = [(moved[i], moved[i] + self.ends[i] - i) for i in sorted(moved)]
            inner_spots = dict(zip(sorted(moved), classify(inner, spans), strict=True))
            for index in indexes:
                self._second_reading(index, inner_spots[index])

    def _code_regions(self) -> dict[Region, list[int]]:
        """The code spots, by the innermost quoted text holding them."""
        by_region: dict[Region, list[int]] = {}
        for index, spot in self.found.items():
            if spot.is_code and spot.problem is None:
                holding = [r for r in self.regions if r.holds(index, self.depths[index])]
                if holding:
                    by_region.setdefault(max(holding, key=lambda r: r.start), []).append(index)
        return by_region

    def _second_reading(self, index: int, inner: Spot) -> None:
        """``bash -c '(( ${{ x }} ))'``: the inner shell's reading decides."""
        if inner.problem or (inner.is_code and inner.quoting is not Quoting.COMMENT):
            self.found[index] = replace(self.found[index], problem=THRICE)
        elif inner.quoting in (Quoting.ARITHMETIC, Quoting.NAME):
            self._reclassify(index, inner.quoting)


def inner_text(text: str, region: Region, spans: Mapping[int, int]) -> tuple[str, dict[int, int]]:
    """The region as a second reading sees it, and where each span starting in it moved.

    ``spans`` maps the start of each ``${{ }}`` to its end; a span is copied unchanged.
    """
    parts: list[str] = []
    moved: dict[int, int] = {}
    length = 0
    index = region.start
    while index < region.end:
        if index in spans:
            moved[index] = length
            piece, index = text[index : spans[index]], spans[index]
        elif text[index] == "\\" and text[index + 1 : index + 2] in tuple(region.escapes):
            piece = "" if text[index + 1] == "\n" else text[index + 1]
            index += 2
        else:
            piece, index = text[index], index + 1
        parts.append(piece)
        length += len(piece)
    return "".join(parts), moved
