"""The file tools: read, write, exact-string edit and glob listing inside the workspace.

Their outputs are written for a model: ``read_file`` numbers lines like ``cat -n`` so
the model can cite and range over them; ``edit_file`` insists on one exact match
because a fuzzy edit in the wrong place is worse than a refusal, and its errors say
what to do next. Blocking file I/O runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import Field

from orchestrate.agents.tools.base import (
    ToolArguments,
    ToolContext,
    ToolInputError,
    ToolOutput,
    clip_middle,
    input_schema,
    parse_arguments,
)
from orchestrate.agents.tools.paths import (
    display_path,
    glob_matcher,
    resolve_in_workspace,
    walk_files,
    workspace_root,
)
from orchestrate.llm.service import ToolSpec

MAX_LINE_CHARS = 2_000
MAX_LISTED_FILES = 1_000
_BINARY_SNIFF_BYTES = 8_192


def is_binary(head: bytes) -> bool:
    """The heuristic git and grep use: text files have no NUL bytes near the start."""
    return b"\x00" in head[:_BINARY_SNIFF_BYTES]


def _existing_file(context: ToolContext, raw: str, *, for_write: bool = False) -> Path:
    path = resolve_in_workspace(context.workspace, raw, for_write=for_write)
    if path.is_dir():
        raise ToolInputError(f"'{raw}' is a directory; use list_files to see what it holds")
    if not path.exists():
        raise ToolInputError(f"'{raw}' does not exist; use list_files to find the right path")
    return path


class ReadFileInput(ToolArguments):
    path: str = Field(description="File path, relative to the workspace root.")
    start_line: int | None = Field(None, ge=1, description="First line to show (1-based).")
    end_line: int | None = Field(None, ge=1, description="Last line to show, inclusive.")


class ReadFile:
    spec = ToolSpec(
        name="read_file",
        description=(
            "Read a text file of the workspace. Lines come numbered like `cat -n` "
            "(number, tab, text). Use start_line/end_line (1-based, inclusive) to read a "
            "part of a long file; long outputs are truncated with a note saying where to "
            "continue. Binary files are refused."
        ),
        input_schema=input_schema(ReadFileInput),
    )

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        request = parse_arguments(ReadFileInput, arguments)
        start, end = request.start_line or 1, request.end_line
        if end is not None and end < start:
            raise ToolInputError(f"end_line {end} is before start_line {start}")
        path = _existing_file(context, request.path)
        text = await asyncio.to_thread(
            _numbered_lines, path, request.path, start, end, context.output_limit
        )
        return ToolOutput(text)


def _numbered_lines(path: Path, raw: str, start: int, end: int | None, limit: int) -> str:
    shown: list[str] = []
    size = 0
    number = 0
    with path.open("rb") as handle:
        if is_binary(handle.read(_BINARY_SNIFF_BYTES)):
            raise ToolInputError(
                f"'{raw}' looks like a binary file; read_file shows text only "
                "(try `file` or `xxd | head` with bash)"
            )
        handle.seek(0)
        for number, line in enumerate(handle, start=1):
            if number < start:
                continue
            if end is not None and number > end:
                break
            rendered = _render_line(number, line)
            if size + len(rendered) > limit and shown:
                return "".join(shown) + (
                    f"[… output truncated after line {number - 1}; "
                    f"continue with start_line={number} …]\n"
                )
            shown.append(rendered)
            size += len(rendered)
    if number == 0:
        return f"('{raw}' is empty)"
    if not shown:
        raise ToolInputError(f"start_line {start} is past the end of '{raw}' ({number} lines)")
    return "".join(shown)


def _render_line(number: int, raw_line: bytes) -> str:
    text = raw_line.decode("utf-8", errors="replace").rstrip("\r\n")
    if len(text) > MAX_LINE_CHARS:
        cut = len(text) - MAX_LINE_CHARS
        text = text[:MAX_LINE_CHARS] + f" [… line truncated, {cut} more characters]"
    return f"{number:>6}\t{text}\n"


class WriteFileInput(ToolArguments):
    path: str = Field(description="File path, relative to the workspace root.")
    content: str = Field(description="The complete new content of the file.")


class WriteFile:
    spec = ToolSpec(
        name="write_file",
        description=(
            "Create a file or replace its whole content; missing parent directories are "
            "created. To change part of an existing file prefer edit_file."
        ),
        input_schema=input_schema(WriteFileInput),
    )

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        request = parse_arguments(WriteFileInput, arguments)
        path = resolve_in_workspace(context.workspace, request.path, for_write=True)
        if path.is_dir():
            raise ToolInputError(f"'{request.path}' is a directory; give a file path")
        existed = path.exists()
        data = request.content.encode("utf-8")
        try:
            await asyncio.to_thread(_write, path, data)
        except OSError as error:
            raise ToolInputError(f"Cannot write '{request.path}': {error.strerror}") from None
        lines = len(request.content.splitlines())
        verb = "Replaced" if existed else "Created"
        shown = display_path(workspace_root(context.workspace), path)
        return ToolOutput(f"{verb} '{shown}': {lines} lines, {len(data)} bytes")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


class EditFileInput(ToolArguments):
    path: str = Field(description="File path, relative to the workspace root.")
    old_string: str = Field(description="Exact text to replace, whitespace included.")
    new_string: str = Field(description="Text to put in its place.")
    replace_all: bool = Field(False, description="Replace every occurrence, not just one.")


class EditFile:
    spec = ToolSpec(
        name="edit_file",
        description=(
            "Replace an exact string in a file. old_string must match the file exactly "
            "(indentation and line breaks included; without the line numbers read_file "
            "shows) and must occur exactly once unless replace_all is true: include "
            "enough surrounding lines to make it unique."
        ),
        input_schema=input_schema(EditFileInput),
    )

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        request = parse_arguments(EditFileInput, arguments)
        if not request.old_string:
            raise ToolInputError(
                "old_string is empty; to create or overwrite a file use write_file"
            )
        if request.old_string == request.new_string:
            raise ToolInputError("old_string and new_string are the same; nothing would change")
        path = _existing_file(context, request.path, for_write=True)
        message = await asyncio.to_thread(_edit, path, request)
        return ToolOutput(message)


def _edit(path: Path, request: EditFileInput) -> str:
    data = path.read_bytes()
    if is_binary(data):
        raise ToolInputError(f"'{request.path}' looks like a binary file; edit_file edits text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolInputError(f"'{request.path}' is not UTF-8 text; edit it with bash") from None
    old, new = request.old_string, request.new_string
    if old not in text and "\r\n" in text and "\r\n" not in old:
        # read_file hides carriage returns, so a model copies CRLF files as LF.
        old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
    count = text.count(old)
    if count == 0:
        raise ToolInputError(
            f"old_string was not found in '{request.path}'. Read the file with read_file "
            "and copy the exact text, including indentation and line breaks"
        )
    if count > 1 and not request.replace_all:
        lines = ", ".join(str(n) for n in _match_lines(text, old)[:10])
        raise ToolInputError(
            f"old_string occurs {count} times in '{request.path}' (at lines {lines}). "
            "Add surrounding lines to old_string to make it unique, or set replace_all "
            "to true to replace every occurrence"
        )
    first_line = _match_lines(text, old)[0]
    path.write_bytes(text.replace(old, new).encode("utf-8"))
    replaced = f"{count} occurrences" if count > 1 else "1 occurrence"
    return f"Edited '{request.path}': replaced {replaced}, the first at line {first_line}"


def _match_lines(text: str, needle: str) -> list[int]:
    lines: list[int] = []
    index = text.find(needle)
    while index != -1:
        lines.append(text.count("\n", 0, index) + 1)
        index = text.find(needle, index + len(needle))
    return lines


class ListFilesInput(ToolArguments):
    pattern: str = Field(
        "**/*",
        description="Glob relative to `path`: * and ? within a name, ** across directories.",
    )
    path: str = Field(".", description="Directory to list, relative to the workspace root.")


class ListFiles:
    spec = ToolSpec(
        name="list_files",
        description=(
            "List files matching a glob pattern (default `**/*`, everything), sorted, "
            "paths relative to the workspace root. `*.py` matches only at the top of "
            f"`path`; `**/*.py` matches at any depth. .git is skipped. At most "
            f"{MAX_LISTED_FILES} paths are shown."
        ),
        input_schema=input_schema(ListFilesInput),
    )

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        request = parse_arguments(ListFilesInput, arguments)
        start = resolve_in_workspace(context.workspace, request.path)
        if not start.is_dir():
            raise ToolInputError(f"'{request.path}' is not a directory of the workspace")
        matches = await asyncio.to_thread(_list, context.workspace, start, request.pattern)
        if not matches:
            return ToolOutput(f"No files match '{request.pattern}' in '{request.path}'")
        listing = "\n".join(matches[:MAX_LISTED_FILES])
        if len(matches) > MAX_LISTED_FILES:
            listing += (
                f"\n[… {len(matches) - MAX_LISTED_FILES} more files not shown; "
                "narrow the pattern or the path …]"
            )
        return ToolOutput(clip_middle(listing, context.output_limit))


def _list(workspace: Path, start: Path, pattern: str) -> list[str]:
    root = workspace_root(workspace)
    matches = glob_matcher(pattern)
    found = [
        display_path(root, path)
        for path in walk_files(root, start)
        if matches(path.relative_to(start).as_posix())
    ]
    return sorted(found)
