"""What a simple command does with its words, for ``shell_lexer``.

Given the words of one simple command (``declare -i n=3``, ``bash -c '…'``, ``read x``),
these functions tell which words bash reads as something other than data: as an
arithmetic expression (``let``, ``[[ a -eq b ]]``, ``declare -i``, an array subscript),
as a variable name (``read``, ``printf -v``, ``[[ -v ]]``), or as script text (``eval``,
``trap``, ``sh -c``, a shell reading its script from standard input). In the first two
a value like ``a[$(id)]`` runs ``id``; in the last any value can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

_SHELL_NAMES = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash"})
# Commands that run their arguments as a command: ``timeout 60 bash``, ``sudo sh``.
_WRAPPERS = frozenset(
    {"sudo", "doas", "env", "timeout", "nice", "nohup", "exec", "command", "stdbuf"}
    | {"setsid", "busybox"}
)
_DECLARERS = frozenset({"declare", "typeset", "local", "readonly", "export"})
_ARITHMETIC_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
_STDIN_FILES = frozenset({"/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})
# Shell options that take the next word as their argument (``bash -o pipefail``).
_SHELL_OPTIONS_WITH_ARGUMENT = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})
_READ_OPTIONS_WITH_ARGUMENT = "dinNptu"
_C_FLAG = re.compile(r"-[a-zA-Z]*c[a-zA-Z]*")
_S_FLAG = re.compile(r"-[a-zA-Z]*s[a-zA-Z]*")
_OPTION = re.compile(r"-[a-zA-Z]+")
_REPLACE_FLAG = re.compile(r"-I.*|-i.*|--replace.*")
_PREFIX_WORDS = frozenset(
    {"if", "then", "else", "elif", "while", "until", "do", "!", "time", "{", "exec", "command"}
    | {"builtin"}
)
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[.*\])?\+?=", re.DOTALL)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNQUOTE = re.compile(r"\\.|[\"']", re.DOTALL)


class Reading(Enum):
    """How bash reads a word, where that is not as data."""

    ARITHMETIC = "arithmetic"
    NAME = "variable name"


@dataclass(frozen=True)
class Word:
    """One word of a command, as written: ``source`` is ``[start, end)`` of the script."""

    source: str
    start: int
    end: int

    @property
    def text(self) -> str:
        """Roughly what bash makes of it: without quotes and backslashes."""
        return _UNQUOTE.sub(lambda match: match.group()[1:], self.source)

    @property
    def is_assignment(self) -> bool:
        """``X=1``, ``a[i]+=2``: the name and ``=`` are not quoted."""
        return _ASSIGNMENT.match(self.source) is not None


@dataclass(frozen=True)
class Marking:
    """Source text ``[start, end)`` that bash reads as ``reading``."""

    start: int
    end: int
    reading: Reading


@dataclass
class Declared:
    """What the script declared so far: it changes how later words are read."""

    integers: set[str] = field(default_factory=set)
    """``declare -i n``: ``n=value`` evaluates the value as arithmetic."""
    associative: set[str] = field(default_factory=set)
    """``declare -A h``: ``h[key]`` is a string key, not arithmetic."""
    arrays: set[str] = field(default_factory=set)
    """``declare name="(…)"`` re-reads the value as code when ``name`` is an array."""
    references: set[str] = field(default_factory=set)
    """``declare -n r``: ``r=value`` makes the value a variable name."""


@dataclass(frozen=True)
class Assignment:
    """``name[subscript]=value`` in a word: where each part lies in the source."""

    name: str
    subscript: tuple[int, int] | None
    value: tuple[int, int]
    is_compound: bool
    """The value starts with ``(``: an array's element list, read by the lexer itself."""


def significant(words: list[Word]) -> list[Word]:
    """The words from the command name on: without ``if``, ``!``, ``X=1`` before it."""
    index = 0
    while index < len(words) and (words[index].text in _PREFIX_WORDS or words[index].is_assignment):
        index += 1
    return words[index:]


def _leading_assignments(words: list[Word]) -> list[Word]:
    """``A=1 B[2]=3 cmd``: the assignment words before the command name."""
    command = significant(words)
    before = words[: len(words) - len(command)]
    return [word for word in before if word.is_assignment]


def parse_assignment(word: Word) -> Assignment | None:
    """The parts of ``name=value``/``name[i]+=value`` (also quoted, as ``declare`` takes it)."""
    equals = _first_equals(word.source)
    if equals is None:
        return None
    name_match = NAME.match(word.source.lstrip("\"'"))
    bracket = word.source.find("[", 0, equals)
    subscript = None if bracket < 0 else (word.start + bracket + 1, word.start + equals)
    return Assignment(
        name=name_match.group() if name_match else "",
        subscript=subscript,
        value=(word.start + equals + 1, word.end),
        is_compound=word.source[equals + 1 : equals + 2] == "(",
    )


def _first_equals(text: str) -> int | None:
    """The ``=`` ending a name or subscript, skipping ``${{ }}`` and brackets."""
    depth = 0
    index = 0
    while index < len(text):
        if text.startswith("${{", index):
            close = text.find("}}", index)
            index = len(text) if close < 0 else close + 2
            continue
        depth += {"[": 1, "]": -1}.get(text[index], 0)
        if text[index] == "=" and depth == 0:
            return index
        index += 1
    return None


def readings(words: list[Word], declared: Declared) -> list[Marking]:
    """The words of one simple command that bash reads as arithmetic or as a name."""
    marked = _assignment_readings(_leading_assignments(words), declared, "")
    command = significant(words)
    if not command:
        return marked
    name, arguments = command[0].text, command[1:]
    if name == "let":
        marked += [Marking(w.start, w.end, Reading.ARITHMETIC) for w in arguments]
    elif name in _DECLARERS:
        marked += _declaration_readings(name, arguments, declared)
    elif name == "read":
        marked += _read_readings(arguments)
    elif name == "printf" and arguments and arguments[0].text == "-v" and len(arguments) > 1:
        marked.append(Marking(arguments[1].start, arguments[1].end, Reading.NAME))
    elif name in ("test", "[", "[["):
        marked += _condition_readings(arguments, arithmetic=name == "[[")
    return marked


def _condition_readings(words: list[Word], *, arithmetic: bool) -> list[Marking]:
    """``[[ a -eq b ]]``: both operands are arithmetic (not in ``[``); ``-v x``: a name."""
    marked = []
    for index, word in enumerate(words):
        if word.text in _ARITHMETIC_TESTS and arithmetic:
            operands = words[max(index - 1, 0) : index] + words[index + 1 : index + 2]
            marked += [Marking(w.start, w.end, Reading.ARITHMETIC) for w in operands]
        elif word.text == "-v" and index + 1 < len(words):
            following = words[index + 1]
            marked.append(Marking(following.start, following.end, Reading.NAME))
    return marked


def _read_readings(arguments: list[Word]) -> list[Marking]:
    """``read -r -p "prompt" a b``: every name (``-a`` names one too), not option values."""
    marked = []
    index = 0
    while index < len(arguments):
        word = arguments[index]
        if _OPTION.fullmatch(word.source):
            letter = word.source[-1]
            if letter == "a" and index + 1 < len(arguments):
                following = arguments[index + 1]
                marked.append(Marking(following.start, following.end, Reading.NAME))
            index += 2 if letter in _READ_OPTIONS_WITH_ARGUMENT + "a" else 1
        elif word.source.startswith("-"):
            index += 1  # an option with its value attached: ``-p"Name: "``
        else:
            marked.append(Marking(word.start, word.end, Reading.NAME))
            index += 1
    return marked


def _declaration_readings(
    declarer: str, arguments: list[Word], declared: Declared
) -> list[Marking]:
    """``declare -i n=…`` (arithmetic), ``declare -n r=…`` (a name), ``declare x[…]=…``."""
    flags = _declaration_flags(declarer, arguments)
    names = [word for word in arguments if not word.text.startswith(("-", "+"))]
    return _assignment_readings(names, declared, flags)


def _declaration_flags(declarer: str, arguments: list[Word]) -> str:
    """The letters of the ``-x`` options of ``declare``/``local``…: ``-ix -g`` → ``ixg``."""
    flags = ""
    for word in arguments:
        if word.text == "--":
            break
        if word.text.startswith("-") and len(word.text) > 1:
            flags += word.text[1:]
    # ``export -n`` un-exports: it declares no reference.
    return flags.replace("n", "") if declarer == "export" else flags


def _assignment_readings(words: list[Word], declared: Declared, flags: str) -> list[Marking]:
    """The subscript of ``a[i]=v`` is arithmetic; so is ``v`` when ``a`` is an integer."""
    marked = []
    for word in words:
        assignment = parse_assignment(word)
        if assignment is None:
            continue
        name_end = (assignment.subscript or assignment.value)[0] - 1
        written_name = word.source[: name_end - word.start].strip("\"'+")
        if written_name != assignment.name:  # ``declare "${{ x }}=1"``: the value names it
            marked.append(Marking(word.start, name_end, Reading.NAME))
        if assignment.subscript and assignment.name not in declared.associative:
            marked.append(Marking(*assignment.subscript, Reading.ARITHMETIC))
        if assignment.is_compound:
            continue
        if "i" in flags or assignment.name in declared.integers:
            marked.append(Marking(*assignment.value, Reading.ARITHMETIC))
        elif "n" in flags or assignment.name in declared.references:
            marked.append(Marking(*assignment.value, Reading.NAME))
    return marked


def declaration_flags(words: list[Word]) -> str:
    """The option letters of a ``declare``/``local``/… command; empty for other commands."""
    command = significant(words)
    if not command or command[0].text not in _DECLARERS:
        return ""
    return _declaration_flags(command[0].text, command[1:])


def assignments(words: list[Word]) -> list[Word]:
    """``X=1 cmd``, ``local x=1``: the words that set a variable."""
    command = significant(words)
    if command and command[0].text in _DECLARERS:
        return [word for word in command[1:] if not word.text.startswith(("-", "+"))]
    return _leading_assignments(words)


def is_assignment_prefix(text: str) -> bool:
    """``a=`` or ``a+=`` just before ``(``: an array's element list follows."""
    return _ASSIGNMENT.fullmatch(text) is not None


def remember(words: list[Word], declared: Declared) -> None:
    """Note the integers, arrays and references a command declares, for later commands."""
    flags = declaration_flags(words)
    for word in assignments(words):
        assignment = parse_assignment(word)
        name = assignment.name if assignment else word.text
        if not NAME.fullmatch(name):
            continue
        if assignment is not None and assignment.is_compound:
            declared.arrays.add(name)
        for flag, kind in (
            ("i", declared.integers),
            ("A", declared.associative),
            ("a", declared.arrays),
            ("A", declared.arrays),
            ("n", declared.references),
        ):
            if flag in flags:
                kind.add(name)


def array_values(words: list[Word], declared: Declared) -> list[tuple[int, int]]:
    """``declare -a a="(…)"``, or ``declare a=…`` of an array: bash re-reads the value as code."""
    command = significant(words)
    if not command or command[0].text not in _DECLARERS:
        return []
    flags = _declaration_flags(command[0].text, command[1:])
    found = []
    for word in command[1:]:
        assignment = parse_assignment(word)
        if assignment is None or assignment.is_compound:
            continue
        if "a" in flags or "A" in flags or assignment.name in declared.arrays:
            found.append(assignment.value)
    return found


def code_words(words: list[Word]) -> list[Word]:
    """Words bash parses again as a script: after ``eval``, ``trap``, ``sh -c``."""
    command = significant(words)
    if not command:
        return []
    names = [_basename(word.text) for word in command]
    if names[0] in ("eval", "trap"):  # builtins: no wrapper can run them
        return command[1:]
    # Any word, not just the first: wrappers (``timeout 60 bash -c``, ``sudo sh -c``,
    # ``find -exec sh -c``, ``xargs sh -c``) hand the text to a shell all the same.
    # Mistaking an argument for a shell only makes the value reach it by reference.
    for index, name in enumerate(names):
        if name in _SHELL_NAMES:
            for offset, word in enumerate(command[index + 1 :], start=index + 1):
                if _C_FLAG.fullmatch(word.text):
                    return command[offset + 1 :]
    return []


class Script(Enum):
    """Where a command that runs a script reads it from, when that is not a plain file."""

    STDIN = "standard input"


def script_input(words: list[Word]) -> Script | Word | None:
    """``bash``, ``sh -s``, ``source /dev/stdin``: the script is standard input.

    ``bash <(…)``, ``source <(…)``: the script is that word. Otherwise None.
    """
    command = significant(words)
    if not command:
        return None
    names = [_basename(word.text) for word in command]
    if names[0] in ("source", "."):
        return _script_operand(command[1:2])
    if names[0] == "xargs" and _xargs_replaces_into_code(command):
        return Script.STDIN  # ``… | xargs -I{} sh -c 'echo {}'`` pastes its input into code
    for index, name in enumerate(names):
        if name in _SHELL_NAMES and (index == 0 or names[0] in _WRAPPERS):
            return _shell_script_input(command[index + 1 :])
    return None


def _shell_script_input(arguments: list[Word]) -> Script | Word | None:
    """A shell's arguments: ``-c`` runs a word, ``-s`` or no file reads standard input."""
    index = 0
    while index < len(arguments):
        text = arguments[index].text
        if _C_FLAG.fullmatch(text):
            return None
        if _S_FLAG.fullmatch(text):
            return Script.STDIN
        if text in _SHELL_OPTIONS_WITH_ARGUMENT:
            index += 2
            continue
        if text in ("-", "--"):
            return _script_operand(arguments[index + 1 : index + 2])
        if not text.startswith(("-", "+")):
            return _script_operand(arguments[index : index + 1])
        index += 1
    return Script.STDIN


def _script_operand(operand: list[Word]) -> Script | Word | None:
    if not operand or operand[0].text in _STDIN_FILES:
        return Script.STDIN
    if operand[0].text.startswith("<("):
        return operand[0]
    return None


def _xargs_replaces_into_code(command: list[Word]) -> bool:
    replaces = any(_REPLACE_FLAG.fullmatch(word.text) for word in command[1:])
    return replaces and bool(code_words(command))


def _basename(text: str) -> str:
    return text.rsplit("/", 1)[-1]
