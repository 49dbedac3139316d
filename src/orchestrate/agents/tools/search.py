"""The ``grep`` tool: regular-expression search over the workspace's text files.

It uses ripgrep when ``rg`` is on ``PATH`` (fast, and it honours ``.gitignore``) and a
Python scan otherwise; both print ``path:line: text`` with paths relative to the
workspace root, skip ``.git`` and binary files, and stop after ``MAX_MATCHES`` lines.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
from collections.abc import Callable
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
from orchestrate.agents.tools.files import is_binary
from orchestrate.agents.tools.paths import (
    display_path,
    glob_matcher,
    resolve_in_workspace,
    walk_files,
    workspace_root,
)
from orchestrate.agents.tools.shell import ProcessScope, run_process
from orchestrate.llm.service import ToolSpec

MAX_MATCHES = 200
MAX_MATCH_CHARS = 300
_RG_TIME_LIMIT = 60.0
_SNIFF_BYTES = 8_192


class GrepInput(ToolArguments):
    pattern: str = Field(description="Regular expression to search for.")
    path: str = Field(".", description="File or directory to search, relative to the root.")
    glob: str | None = Field(
        None, description="Only search files whose name (or relative path) matches, e.g. *.py"
    )
    case_insensitive: bool = Field(False, description="Ignore letter case.")


class Grep:
    spec = ToolSpec(
        name="grep",
        description=(
            "Search file contents with a regular expression. Prints `path:line: text` for "
            "each matching line, paths relative to the workspace root. Narrow with path "
            "(a file or directory) and glob (a pattern without / matches file names at "
            f"any depth). At most {MAX_MATCHES} matching lines are shown."
        ),
        input_schema=input_schema(GrepInput),
    )

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        request = parse_arguments(GrepInput, arguments)
        flags = re.IGNORECASE if request.case_insensitive else 0
        try:
            regex = re.compile(request.pattern, flags)
        except re.error as error:
            raise ToolInputError(
                f"Invalid regular expression {request.pattern!r}: {error}"
            ) from None
        start = resolve_in_workspace(context.workspace, request.path)
        if not start.exists():
            raise ToolInputError(f"'{request.path}' does not exist; use list_files to find paths")
        rg = shutil.which("rg", path=context.env.get("PATH"))
        if rg is not None:
            lines = await _ripgrep(rg, context, request, start)
        else:
            lines = await _python_grep(context.workspace, start, regex, request.glob)
        return ToolOutput(_render(lines, request.pattern, context.output_limit))


def _render(lines: list[str], pattern: str, limit: int) -> str:
    if not lines:
        return f"No matches for {pattern!r}"
    text = "\n".join(lines[:MAX_MATCHES])
    if len(lines) > MAX_MATCHES:
        text += (
            f"\n[… stopped after {MAX_MATCHES} matching lines; narrow the pattern, path or glob …]"
        )
    return clip_middle(text, limit)


def _format_match(path: str, number: int, text: str) -> str:
    text = text.rstrip("\r\n")
    if len(text) > MAX_MATCH_CHARS:
        text = text[:MAX_MATCH_CHARS] + " […]"
    return f"{path}:{number}: {text}"


async def _python_grep(
    workspace: Path, start: Path, regex: re.Pattern[str], glob: str | None
) -> list[str]:
    stop = threading.Event()
    try:
        return await asyncio.to_thread(_scan, workspace, start, regex, glob, stop)
    except asyncio.CancelledError:
        stop.set()  # the thread cannot be cancelled; tell it to give up
        raise


def _scan(
    workspace: Path, start: Path, regex: re.Pattern[str], glob: str | None, stop: threading.Event
) -> list[str]:
    root = workspace_root(workspace)
    wanted = _glob_filter(glob)
    files = [start] if start.is_file() else list(walk_files(root, start))
    found: list[str] = []
    for path in files:
        relative = display_path(root, path)
        if stop.is_set() or len(found) > MAX_MATCHES:
            break  # one match past the cap is enough to say there are more
        if wanted(relative):
            found += _matches_in(path, relative, regex, MAX_MATCHES + 1 - len(found))
    return found


def _matches_in(path: Path, relative: str, regex: re.Pattern[str], at_most: int) -> list[str]:
    found: list[str] = []
    try:
        with path.open("rb") as handle:
            if is_binary(handle.read(_SNIFF_BYTES)):
                return found
            handle.seek(0)
            for number, raw in enumerate(handle, start=1):
                line = raw.decode("utf-8", errors="replace")
                if regex.search(line):
                    found.append(_format_match(relative, number, line))
                    if len(found) >= at_most:
                        break
    except OSError:
        pass  # vanished or unreadable: as ripgrep does, search the rest
    return found


def _glob_filter(glob: str | None) -> Callable[[str], bool]:
    """ripgrep's ``-g`` rule: a glob without ``/`` tests the file name only."""
    if not glob:
        return lambda _relative: True
    matches = glob_matcher(glob)
    if "/" in glob:
        return matches
    return lambda relative: matches(relative.rsplit("/", 1)[-1])


async def _ripgrep(rg: str, context: ToolContext, request: GrepInput, start: Path) -> list[str]:
    root = workspace_root(context.workspace)
    # --sort=path: the same search gives the same lines in the same order (a replayed
    # session compares tool results), at the cost of ripgrep's parallel walk.
    argv = [rg, "--line-number", "--with-filename", "--no-heading", "--null", "--color=never"]
    argv.append("--sort=path")
    argv += ["--hidden", "--glob=!.git", f"--max-columns={MAX_MATCH_CHARS * 2}"]
    if request.case_insensitive:
        argv.append("--ignore-case")
    if request.glob:
        argv.append(f"--glob={request.glob}")
    argv += ["--regexp", request.pattern, "--", display_path(root, start)]
    result = await run_process(
        argv,
        scope=ProcessScope.of(context, cwd=root, network=False),
        time_limit=_RG_TIME_LIMIT,
        output_limit=max(context.output_limit * 4, 200_000),
    )
    if result.timed_out:
        raise ToolInputError(
            f"The search took longer than {_RG_TIME_LIMIT:g} seconds; narrow the path or glob"
        )
    if result.exit_code == 2 and "\x00" not in result.output:
        raise ToolInputError(f"ripgrep refused the search: {result.output.strip()}")
    lines = []
    for entry in result.output.splitlines():
        path, _, rest = entry.partition("\x00")
        number, _, text = rest.partition(":")
        if number.isdigit():
            lines.append(_format_match(path.removeprefix("./"), int(number), text))
    return lines
