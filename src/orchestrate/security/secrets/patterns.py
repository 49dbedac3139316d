"""The regexes a repository supplies (custom rules, allowlist regexes), compiled by RE2.

``.orchestrate-secrets.toml`` is the scanned repository's: whoever can commit to it
writes these patterns, and Python's backtracking ``re`` can spend hours on one
(``(a+)+$`` against a long run of ``a``). RE2 matches in time linear in the text,
whatever the pattern, and its syntax is that of Go's ``regexp``, which gitleaks'
configurations are written in. What RE2 lacks (look-arounds, back-references) is
refused with a clear message when the file is read. The built-in rules are ours and
stay on ``re``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print each refused pattern to stderr as well


class PatternError(ValueError):
    """A pattern RE2 does not accept; the message says why."""


class BytesMatch(Protocol):
    """What the scanner uses of a match, ``re``'s or RE2's."""

    def start(self, index: int = 0) -> int: ...

    def end(self, index: int = 0) -> int: ...

    def span(self) -> tuple[int, int]: ...

    def group(self, index: int) -> bytes: ...


class BytesPattern(Protocol):
    """What the scanner uses of a compiled bytes pattern, ``re``'s or RE2's."""

    @property
    def groups(self) -> int: ...

    @property
    def groupindex(self) -> Mapping[str, int] | Mapping[bytes, int]: ...

    def finditer(self, string: bytes) -> Iterator[BytesMatch]: ...

    def match(self, string: bytes) -> BytesMatch | None: ...


class TextPattern(Protocol):
    def search(self, string: str) -> object | None: ...


def compile_bytes(text: str) -> BytesPattern:
    """A custom rule's regex, matching the file's bytes."""
    compiled: BytesPattern = _compiled(text.encode("utf-8"))
    return compiled


def compile_text(text: str) -> TextPattern:
    """An allowlist regex, searched in a secret's text."""
    compiled: TextPattern = _compiled(text)
    return compiled


def secret_group(pattern: BytesPattern) -> int:
    """The group holding the secret: the one named ``secret``, else the only group,
    else the whole match."""
    names = {(k.decode() if isinstance(k, bytes) else k): v for k, v in pattern.groupindex.items()}
    if "secret" in names:
        return names["secret"]
    return 1 if pattern.groups and not names else 0


def _compiled(pattern: str | bytes) -> Any:  # RE2's pattern object (no type information)
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"{reason} (patterns here use RE2 syntax, as gitleaks does)") from None
