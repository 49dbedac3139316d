"""Quotes, expansions, arithmetic and here-document bodies, for ``shell_lexer``.

``QuoteReader`` reads what lies inside one word of a script: ``'…'``, ``$'…'``,
``"…"``, ``${…}``, ``$((…))`` and its relatives, comments and here-document bodies,
recording the quoting of each ``${{ }}`` it meets. Commands (``$( )``, backticks) are
the lexer's: ``command`` is where the two meet.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrate.pipelines.expressions.shell_commands import Declared
from orchestrate.pipelines.expressions.shell_spots import ESCAPES, Quoting, Region, SpotTable

_PARAMETER = re.compile(r"[#!]?([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])")
_WORD_END = " \t\n;&|<>()"


@dataclass
class Heredoc:
    """A here-document whose body starts on the next line."""

    delimiter: str
    is_quoted: bool
    strips_tabs: bool
    operator_at: int
    readings: int = 1
    """How many times its body is read as text: 2 for ``bash <<EOF``."""


class QuoteReader(ABC):
    """Reads the inside of words; a subclass reads the commands they make up."""

    def __init__(self, text: str, spans: Sequence[tuple[int, int]]) -> None:
        self.text = text
        self.spots = SpotTable(text, spans)
        self.declared = Declared()

    @abstractmethod
    def command(self, index: int, closer: str | None, depth: int) -> int:
        """Read commands until ``closer`` (``)`` or a backtick) or the end; return after it."""

    def _at(self, index: int, prefix: str) -> bool:
        return self.text.startswith(prefix, index)

    def part(self, index: int, depth: int) -> int:
        """A spot, quotes, an expansion or one character of a word: return after it."""
        char = self.text[index]
        if index in self.spots.ends:
            return self.spots.record(index, Quoting.UNQUOTED, depth)
        if char == "\\":
            return index + 2
        if char == "'":
            return self.quoted(index + 1, Quoting.SINGLE, depth)
        if self._at(index, "$'"):
            return self.quoted(index + 2, Quoting.ANSI_C, depth)
        if char == '"':
            return self.double(index + 1, depth)
        if char in "$`":
            return self.expansion(index, Quoting.UNQUOTED, depth)
        return index + 1

    def quoted(self, index: int, quoting: Quoting, depth: int) -> int:
        """Single quotes or ``$'…'``: nothing expands; ``$'…'`` honours backslashes."""
        start = index
        while index < len(self.text):
            if index in self.spots.ends:
                index = self.spots.record(index, quoting, depth)
            elif self.text[index] == "\\" and quoting is Quoting.ANSI_C:
                index += 2
            elif self.text[index] == "'":
                break
            else:
                index += 1
        self.spots.regions.append(Region(start, index, ESCAPES.get(quoting, ""), depth))
        return index + 1

    def double(self, index: int, depth: int, *, stop: int | None = None) -> int:
        """Double quotes, or (``stop`` given) an unquoted here-document body up to ``stop``."""
        quoting = Quoting.DOUBLE if stop is None else Quoting.HEREDOC
        limit = len(self.text) if stop is None else stop
        start = index
        while index < limit:
            char = self.text[index]
            if index in self.spots.ends:
                index = self.spots.record(index, quoting, depth)
            elif char == "\\":
                index += 2
            elif char == '"' and stop is None:
                break
            elif char in "$`":
                index = self.expansion(index, quoting, depth)
            else:
                index += 1
        self.spots.regions.append(Region(start, min(index, limit), ESCAPES[quoting], depth))
        return index + 1 if stop is None else index

    def expansion(self, index: int, quoting: Quoting, depth: int) -> int:
        """``$((…))``, ``$(…)``, backticks, ``$[…]``, ``${…}`` or a plain ``$``."""
        if self._at(index, "$(("):
            return self.arithmetic(index + 3, "))", depth)
        if self._at(index, "$("):
            return self.command(index + 2, ")", depth + 1)
        if self._at(index, "`"):
            return self.command(index + 1, "`", depth + 1)
        if self._at(index, "$["):
            return self.arithmetic(index + 2, "]", depth)
        if self._at(index, "${") and index + 1 not in self.spots.ends:
            return self.parameter(index + 2, quoting, depth)
        return index + 1

    def parameter(self, index: int, quoting: Quoting, depth: int) -> int:
        """``${name[subscript]:offset:length}`` (arithmetic) or ``${name…word}``."""
        match = _PARAMETER.match(self.text, index)
        name = match.group(1) if match else ""
        index = match.end() if match else index
        if self._at(index, "["):
            if name in self.declared.associative:
                index = self._parameter_word(index + 1, quoting, depth, "]")
            else:
                index = self.arithmetic(index + 1, "]", depth)
        if self._at(index, ":") and self.text[index + 1 : index + 2] not in ("-", "=", "?", "+"):
            index = self.arithmetic(index + 1, "}", depth)
        return self._parameter_word(index, quoting, depth, "}")

    def _parameter_word(self, index: int, quoting: Quoting, depth: int, closer: str) -> int:
        """The word of ``${name:-word}``, read with the quoting around the braces."""
        while index < len(self.text):
            char = self.text[index]
            if index in self.spots.ends:
                index = self.spots.record(index, quoting, depth)
            elif char == "\\":
                index += 2
            elif char == '"':
                index = self.double(index + 1, depth)
            elif char in "$`":
                index = self.expansion(index, quoting, depth)
            elif char == closer:
                return index + 1
            else:
                index += 1
        return index

    def arithmetic(self, index: int, closer: str, depth: int) -> int:
        """``$(( … ))``, ``(( … ))``, ``$[ … ]``, a subscript or a substring's offset."""
        start, nesting = index, 0
        opening = {"))": "(", "]": "["}.get(closer, "")
        while index < len(self.text):
            char = self.text[index]
            if index in self.spots.ends:
                index = self.spots.record(index, Quoting.ARITHMETIC, depth)
            elif char in "$`":
                index = self.expansion(index, Quoting.ARITHMETIC, depth)
            elif nesting == 0 and self._at(index, closer):
                self.spots.note_names(start, index)
                return index if closer == "}" else index + len(closer)
            else:
                nesting += 1 if char == opening else -1 if char == closer[0] else 0
                index += 1
        self.spots.note_names(start, index)
        return index

    def comment(self, index: int, depth: int) -> int:
        while index < len(self.text) and self.text[index] != "\n":
            if index in self.spots.ends:
                index = self.spots.record(index, Quoting.COMMENT, depth)
            else:
                index += 1
        return index

    # Here-documents.

    def heredoc_operator(self, index: int) -> tuple[int, Heredoc | None]:
        """``<<WORD``, ``<<-WORD``, ``<<'WORD'`` (``index`` after ``<<``): its body is next."""
        operator_at = index - 2
        strips_tabs = self._at(index, "-")
        index += 1 if strips_tabs else 0
        while index < len(self.text) and self.text[index] in " \t":
            index += 1
        start = index
        while index < len(self.text) and self.text[index] not in _WORD_END:
            if self.text[index] in "'\"":
                closing = self.text.find(self.text[index], index + 1)
                index = len(self.text) if closing < 0 else closing + 1
            else:
                index += 2 if self.text[index] == "\\" else 1
        word = self.text[start:index]
        delimiter = re.sub(r"[\"'\\]", "", word)
        if not delimiter:
            return index, None
        is_quoted = any(mark in word for mark in "'\"\\")
        return index, Heredoc(delimiter, is_quoted, strips_tabs, operator_at)

    def heredoc_bodies(self, index: int, pending: list[Heredoc], depth: int) -> int:
        """The bodies of the here-documents opened on the line just ended, in order."""
        for heredoc in pending:
            body_end, after = self._body_end(index, heredoc)
            if heredoc.is_quoted:
                for start in [s for s in self.spots.starts if index <= s < body_end]:
                    self.spots.record(start, Quoting.QUOTED_HEREDOC, depth)
                self.spots.regions.append(Region(index, body_end, "", depth))
            else:
                self.double(index, depth, stop=body_end)
            for _ in range(heredoc.readings - 1):
                self.spots.mark_code(index, body_end)
            index = after
        return index

    def _body_end(self, index: int, heredoc: Heredoc) -> tuple[int, int]:
        """Where the body ends (its delimiter line starts) and where reading resumes."""
        position = index
        while position < len(self.text):
            newline = self.text.find("\n", position)
            line_end = len(self.text) if newline < 0 else newline
            line = self.text[position:line_end]
            if (line.lstrip("\t") if heredoc.strips_tabs else line) == heredoc.delimiter:
                return position, min(line_end + 1, len(self.text))
            position = line_end + 1
        return len(self.text), len(self.text)
