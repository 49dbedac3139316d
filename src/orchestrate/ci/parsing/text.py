"""Cleaning raw test output before any parser reads it, and the caps on what a result keeps.

Logs come from terminals and CI runners: colour codes, carriage-return progress lines,
GitLab's collapsible-section markers and GitHub Actions' per-line timestamps would
otherwise break every line-oriented pattern. ``clean_text`` removes them once, so the
parsers see the lines a person would read.
"""

from __future__ import annotations

import codecs
import re

from orchestrate.ci.models import MAX_MESSAGE_CHARS, MAX_OUTPUT_CHARS

# CSI sequences (colours, cursor moves, erase-line), OSC sequences (titles, hyperlinks)
# and the two-byte escapes; ECMA-48's grammar, so nothing printable is eaten.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC, ended by BEL or ST
    r"|\x1b[@-Z\\-_]"  # Fe escapes
)
# GitHub Actions prefixes every log line with an ISO timestamp.
_ACTIONS_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ", re.MULTILINE)


def decode(data: bytes | str) -> str:
    """Bytes as text: UTF-16/32 when a byte-order mark says so, else UTF-8 with
    undecodable bytes replaced (a log is never refused for one bad byte)."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return data.decode("utf-32", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def clean_text(text: str, *, is_xml: bool = False) -> str:
    """The text without ANSI escapes, runner timestamps and overwritten line parts;
    line endings normalised to ``\\n``. In XML a lone carriage return is a line end
    (as XML itself reads it), not an overwrite."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        text = text.replace("\r", "\n") if is_xml else _without_overwrites(text)
    if "Z " in text[:64]:
        text = _ACTIONS_TIMESTAMP.sub("", text)
    return text


def _without_overwrites(text: str) -> str:
    """A carriage return inside a line overwrites it (progress bars, GitLab's
    ``section_start:…\\r``): only what follows the last one is seen. Line by line,
    with string operations: a pattern here was quadratic on a long line."""
    return "\n".join(
        line.rstrip("\r").rsplit("\r", 1)[-1] if "\r" in line else line for line in text.split("\n")
    )


def first_line(text: str) -> str:
    """The first non-blank line, stripped and capped: what a result shows as its reason."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped:
            return cap(stripped, MAX_MESSAGE_CHARS)
    return ""


def excerpt(text: str) -> str:
    """The start of a test's output, capped, without surrounding blank lines."""
    return cap(text.strip("\n").rstrip(), MAX_OUTPUT_CHARS)


def cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f"… [{len(text) - limit + 40} more characters]"
    kept = max(0, limit - 40)  # the marker is never longer than 40 characters
    return text[:kept] + marker
