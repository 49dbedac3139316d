"""Windows of a step's log file, by byte offset: the tail, a page before or after a place,
and what was written since a place.

A step's log can grow to hundreds of megabytes; a page shows a window of it, never the
whole file. Offsets are bytes of the file, so a reader that holds the text up to offset
N asks for what comes after N and gets each line exactly once, however the writer
batched it. Windows start and end on line boundaries where they can (a line longer
than the window is cut); the writer appends whole lines only (``steps/shell.py``), so a
window that must hold whole lines only (``whole_lines``, while the step still runs)
ends at the last newline and leaves a line still being written for the next read.

Offsets come from browsers: every one is clamped to the file, none is trusted. A file
that is missing (a worker on another machine wrote it, or retention removed it) is
``None``, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LOG_WINDOW = 32 * 1024
"""Bytes of log a page shows at once (about 400 lines of a typical build)."""


@dataclass(frozen=True)
class LogText:
    """Bytes ``start`` to ``end`` of a log file of ``size`` bytes, as text."""

    text: str
    start: int
    end: int
    size: int

    @property
    def has_earlier(self) -> bool:
        return self.start > 0

    @property
    def has_later(self) -> bool:
        return self.end < self.size


def log_size(path: str | None) -> int | None:
    """The file's size in bytes, or None when there is no such file here."""
    if not path:
        return None
    try:
        return Path(path).stat().st_size
    except OSError:
        return None


def read_log_tail(
    path: str | None,
    *,
    before: int | None = None,
    size: int = LOG_WINDOW,
    whole_lines: bool = False,
) -> LogText | None:
    """The last ``size`` bytes before offset ``before`` (the end of the file by default),
    starting at a line; ``whole_lines`` leaves out an unfinished last line."""
    total = log_size(path)
    if path is None or total is None:
        return None
    end = total if before is None else min(max(before, 0), total)
    start, data = _lines_before(path, end, size)
    if data is None:
        return None
    if whole_lines and before is None:
        data = _to_last_line(data)
    return LogText(_text(data), start, start + len(data), total)


def read_log_from(path: str | None, offset: int, *, size: int = LOG_WINDOW) -> LogText | None:
    """Up to ``size`` bytes from ``offset`` on, ending at a line (the next page of a log)."""
    total = log_size(path)
    if path is None or total is None:
        return None
    start = min(max(offset, 0), total)
    end = min(start + size, total)
    data = _read(path, start, end)
    if data is None:
        return None
    if end < total:
        cut = _to_last_line(data)
        data = cut or data  # a single line longer than the window is cut, not dropped
    return LogText(_text(data), start, start + len(data), total)


def read_log_since(
    path: str | None, offset: int, *, limit: int = 2 * LOG_WINDOW, whole_lines: bool = True
) -> LogText | None:
    """What was written after ``offset``; when that is more than ``limit`` bytes, only
    the newest ``limit`` of it (the reader sees ``start`` > ``offset``: lines skipped)."""
    total = log_size(path)
    if path is None or total is None:
        return None
    start = min(max(offset, 0), total)
    if total - start > limit:
        return read_log_tail(path, size=limit, whole_lines=whole_lines)
    data = _read(path, start, total)
    if data is None:
        return None
    if whole_lines:
        data = _to_last_line(data)
    return LogText(_text(data), start, start + len(data), total)


def _read(path: str, start: int, end: int) -> bytes | None:
    try:
        with Path(path).open("rb") as file:
            file.seek(start)
            return file.read(max(end - start, 0))
    except OSError:
        return None


def _lines_before(path: str, end: int, size: int) -> tuple[int, bytes | None]:
    """Up to ``size`` bytes ending at ``end``, from the first line that starts in them.

    One byte more is read in front: when it is a newline, the window already starts a
    line and nothing is dropped.
    """
    start = max(end - size, 0)
    if start == 0:
        return 0, _read(path, 0, end)
    data = _read(path, start - 1, end)
    if data is None:
        return start, None
    newline = data.find(b"\n", 0, len(data) - 1)  # a newline ending the window starts nothing
    if newline < 0:  # one line longer than the window: it is cut
        return start, data[1:]
    return start - 1 + newline + 1, data[newline + 1 :]


def _to_last_line(data: bytes) -> bytes:
    newline = data.rfind(b"\n")
    return data[: newline + 1] if newline >= 0 else b""


def _text(data: bytes) -> str:
    # The writer masks and writes whole UTF-8 lines; a cut inside a character (a line
    # longer than the window) shows one replacement character, never an error.
    return data.decode("utf-8", errors="replace")
