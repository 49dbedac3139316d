"""The ``git`` tool: the few repository actions an agent needs, and nothing destructive.

Only ``status``, ``diff``, ``log``, ``add``, ``commit``, ``merge`` (a ref into the
current branch; conflicts are left for the agent to resolve and commit, never settled
by a strategy option) and ``merge_abort`` exist; pushing, resetting or switching
branches is not something a model can ask for here. git runs without a shell
(``git -C <workspace> …``) inside the sandbox, with a pager and colours off, hooks
off (``core.hooksPath=/dev/null``), a time limit, capped output, and git's location
variables removed from the environment so it cannot be pointed at another repository.
The sandbox binds the repository's shared git directory read-only except for what a
commit on the agent's own branch writes, so neither a hook nor ``.git/config`` can be
planted from here. Commits carry the author from the environment
(``GIT_AUTHOR_NAME``/``GIT_AUTHOR_EMAIL``) or ``DEFAULT_AUTHOR``, so they work in a
repository without ``user.name`` configured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from orchestrate.agents.tools.base import (
    ToolArguments,
    ToolContext,
    ToolInputError,
    ToolOutput,
    input_schema,
    parse_arguments,
)
from orchestrate.agents.tools.paths import display_path, resolve_in_workspace, workspace_root
from orchestrate.agents.tools.shell import (
    ProcessResult,
    ProcessScope,
    run_process,
    scrubbed_environment,
)
from orchestrate.llm.service import ToolSpec

DEFAULT_AUTHOR_NAME = "Orchestrate Agent"
DEFAULT_AUTHOR_EMAIL = "agent@orchestrate.local"
GIT_TIME_LIMIT = 120.0

_SETTINGS = (
    "core.pager=cat",
    "color.ui=never",
    "commit.gpgsign=false",
    "core.quotepath=false",
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "gc.auto=0",
    "maintenance.auto=false",
)


class GitInput(ToolArguments):
    action: Literal["status", "diff", "log", "add", "commit", "merge", "merge_abort"] = Field(
        description="What to do."
    )
    staged: bool = Field(False, description="diff: show staged changes instead of unstaged.")
    paths: list[str] | None = Field(
        None, description="diff: limit to these paths. add: the paths to stage ('.' for all)."
    )
    limit: int = Field(10, ge=1, le=200, description="log: how many commits to show.")
    message: str | None = Field(None, description="commit: the commit message.")
    ref: str | None = Field(
        None,
        max_length=250,
        description="merge: the branch or commit to merge in (e.g. origin/main).",
    )


class Git:
    spec = ToolSpec(
        name="git",
        description=(
            "Work with the workspace's git repository. Actions: status (short form with "
            "the branch); diff (unstaged changes, or staged with staged=true, optionally "
            "for some paths); log (recent commits, `limit`); add (stage `paths`); commit "
            "(commit what is staged with `message`); merge (merge `ref` into the current "
            "branch; on conflicts, edit the files, add them and commit); merge_abort (give "
            "up a conflicted merge). Stage with add before commit."
        ),
        input_schema=input_schema(GitInput),
    )

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        request = parse_arguments(GitInput, arguments)
        paths = [_relative(context, raw) for raw in request.paths or []]
        if request.action == "status":
            return await _status(context)
        if request.action == "diff":
            return await _diff(context, paths, staged=request.staged)
        if request.action == "log":
            return _output(await _git(context, "log", f"-n{request.limit}", *_LOG_FORMAT))
        if request.action == "add":
            return await _add(context, paths)
        if request.action == "merge":
            return await _merge(context, request.ref or "")
        if request.action == "merge_abort":
            return _output(await _git(context, "merge", "--abort"))
        return await _commit(context, request.message or "")


_LOG_FORMAT = ("--date=short", "--format=%h %ad %an: %s")


def _relative(context: ToolContext, raw: str) -> str:
    resolved = resolve_in_workspace(context.workspace, raw)
    return display_path(workspace_root(context.workspace), resolved)


async def _status(context: ToolContext) -> ToolOutput:
    result = await _git(context, "status", "--short", "--branch")
    if result.exit_code == 0 and len(result.output.strip().splitlines()) <= 1:
        return ToolOutput(result.output.rstrip("\n") + "\nnothing to commit, working tree clean")
    return _output(result)


async def _diff(context: ToolContext, paths: list[str], *, staged: bool) -> ToolOutput:
    args = ["diff", "--no-ext-diff", *(["--cached"] if staged else []), "--", *paths]
    result = await _git(context, *args)
    if result.exit_code == 0 and not result.output.strip():
        if staged:
            return ToolOutput("No staged changes. Stage files with action 'add'")
        return ToolOutput("No unstaged changes (staged ones show with staged=true)")
    return _output(result)


async def _add(context: ToolContext, paths: list[str]) -> ToolOutput:
    if not paths:
        raise ToolInputError("add needs 'paths': the files to stage, or ['.'] for everything")
    result = await _git(context, "add", "--", *paths)
    if result.exit_code != 0:
        return _output(result)
    return await _status(context)


async def _commit(context: ToolContext, message: str) -> ToolOutput:
    if not message.strip():
        raise ToolInputError("commit needs a non-empty 'message' saying what changed and why")
    staged = await _git(context, "diff", "--cached", "--quiet")
    merging = await _git(context, "rev-parse", "--quiet", "--verify", "MERGE_HEAD")
    if staged.exit_code == 0 and merging.exit_code != 0:
        raise ToolInputError(
            "Nothing is staged, so there is nothing to commit. Stage files with action "
            "'add' first; action 'status' shows what changed"
        )
    return _output(await _git(context, "commit", "--message", message))


_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@^~-]*")


async def _merge(context: ToolContext, ref: str) -> ToolOutput:
    """Merge ``ref`` (a ref or commit, never an option) with git's default strategy."""
    if not _REF.fullmatch(ref) or ".." in ref:
        raise ToolInputError(
            "merge needs 'ref': a branch, tag or commit to merge in, such as origin/main"
        )
    result = await _git(context, "merge", "--no-edit", "--no-stat", ref, "--")
    if result.exit_code != 0 and not result.timed_out:
        conflicted = await _git(context, "diff", "--name-only", "--diff-filter=U")
        names = conflicted.output.strip()
        if names:
            return ToolOutput(
                f"{result.output.rstrip()}\nConflicted files:\n{names}\nResolve each (no "
                "conflict markers may remain), add them, then commit; or merge_abort.",
                is_error=True,
            )
    return _output(result)


def _output(result: ProcessResult) -> ToolOutput:
    text = result.output.rstrip("\n") or "(no output)"
    if result.timed_out:
        return ToolOutput(
            f"{text}\n[git timed out after {GIT_TIME_LIMIT:g} seconds]", is_error=True
        )
    if result.exit_code != 0:
        return ToolOutput(f"{text}\n[git exited with code {result.exit_code}]", is_error=True)
    return ToolOutput(text)


async def _git(context: ToolContext, *args: str) -> ProcessResult:
    settings = [part for setting in _SETTINGS for part in ("-c", setting)]
    root = workspace_root(context.workspace)
    scope = ProcessScope.of(context, cwd=root, env=git_environment(context.env), network=False)
    return await run_process(
        ["git", "-C", str(root), *settings, *args],
        scope=scope,
        time_limit=GIT_TIME_LIMIT,
        output_limit=context.output_limit,
    )


def git_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The environment git runs with: no secrets, no redirection, a known identity."""
    env = scrubbed_environment(base)
    author = base.get("GIT_AUTHOR_NAME") or DEFAULT_AUTHOR_NAME
    email = base.get("GIT_AUTHOR_EMAIL") or DEFAULT_AUTHOR_EMAIL
    env.update(
        GIT_AUTHOR_NAME=author,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=base.get("GIT_COMMITTER_NAME") or author,
        GIT_COMMITTER_EMAIL=base.get("GIT_COMMITTER_EMAIL") or email,
        GIT_TERMINAL_PROMPT="0",
        GIT_EDITOR="true",
    )
    return env
