"""Replace secret values with ``***`` in text before it is stored or streamed.

GitHub Actions masks every registered secret in every log line; so does Orchestrate.
A ``Masker`` holds the values to hide. The process-wide one (``process_masker()``)
knows every value of the secret store (the secrets capability registers them as it
loads and changes them); a step or agent gets a ``child()`` that also hides the values
it registered for itself (``::add-mask::value`` on a step's output) without those
reaching other runs.

Values shorter than ``MIN_MASKED_LENGTH`` are not masked: hiding every ``a`` would
destroy the log while protecting nothing. A multi-line value is masked whole and line
by line, so a secret split across log batches still disappears. Text that streams in
is cut for storage only where ``safe_cut`` allows, so no value is split by a cut.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "***"
MIN_MASKED_LENGTH = 4
ADD_MASK_PREFIX = "::add-mask::"
"""A line a step prints to register a value of its own as secret (GitHub's command)."""


class Masker:
    """A set of secret values and the one compiled pattern that finds them."""

    def __init__(self, values: Iterable[str] = (), parent: Masker | None = None) -> None:
        self._parent = parent
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._longest = 0
        self._version: tuple[int, ...] = (-1,)
        self._lock = threading.Lock()
        self._own_version = 0
        self.add_all(values)

    def child(self) -> Masker:
        """A masker hiding everything this one hides, plus what is added to it alone."""
        return Masker(parent=self)

    def add(self, value: str) -> None:
        self.add_all([value])

    def add_all(self, values: Iterable[str]) -> None:
        pieces = {piece for value in values for piece in _pieces(value)}
        if not pieces - self._values:
            return
        with self._lock:
            self._values |= pieces
            self._own_version += 1

    def replace_all(self, values: Iterable[str]) -> None:
        """Hide exactly ``values`` from now on (the secret store was re-read)."""
        pieces = {piece for value in values for piece in _pieces(value)}
        with self._lock:
            if pieces != self._values:
                self._values = pieces
                self._own_version += 1

    def values(self) -> frozenset[str]:
        inherited = self._parent.values() if self._parent is not None else frozenset()
        return inherited | frozenset(self._values)

    def mask(self, text: str) -> str:
        """``text`` with every known value replaced by ``***``."""
        pattern = self._compiled()
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def safe_cut(self, text: str) -> int:
        """Where ``text``, the start of a stream still being written, may be cut.

        Masking ``text[:cut]`` now and the rest together with what follows hides the
        same as masking the whole stream at once: the cut leaves room behind it for
        the longest value to be completed, and never falls inside a value it finds.
        """
        pattern = self._compiled()
        if pattern is None:
            return len(text)
        cut = max(len(text) - self._longest + 1, 0)
        # A match starting before ``cut`` is decided by text already here (no value
        # is longer than what follows it), so the matches found now are final.
        for match in pattern.finditer(text):
            if match.start() >= cut:
                break
            if match.end() > cut:
                return match.start()
        return cut

    def mask_value(self, value: Any) -> Any:
        """Mask every string inside a JSON-like value (event payloads, tool arguments)."""
        if self._compiled() is None:
            return value
        return _mask_nested(self, value)

    def _version_key(self) -> tuple[int, ...]:
        parent = self._parent._version_key() if self._parent is not None else ()
        return (*parent, self._own_version)

    def _compiled(self) -> re.Pattern[str] | None:
        key = self._version_key()
        if key != self._version:
            values = sorted(self.values(), key=len, reverse=True)
            self._longest = len(values[0]) if values else 0
            self._pattern = re.compile("|".join(map(re.escape, values))) if values else None
            self._version = key
        return self._pattern


def _pieces(value: str) -> set[str]:
    pieces = {value} | {line.strip() for line in value.splitlines()}
    return {piece for piece in pieces if len(piece) >= MIN_MASKED_LENGTH}


def _mask_nested(masker: Masker, value: Any) -> Any:
    if isinstance(value, str):
        return masker.mask(value)
    if isinstance(value, dict):
        return {key: _mask_nested(masker, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_nested(masker, item) for item in value]
    return value


_PROCESS_MASKER = Masker()


def process_masker() -> Masker:
    """The masker every stored or streamed text of this process passes through."""
    return _PROCESS_MASKER
