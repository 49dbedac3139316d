"""The built-in tools by name, and the selection an agent type's allowlist makes.

Allowlists come from agent files, ours or ``.claude/agents/*.md``, so the names Claude
Code uses (``Read``, ``Edit``, ``Bash``, …) are accepted as aliases of ours. An unknown
name is a configuration error, not something to skip: an agent silently missing its
``edit`` tool fails in confusing ways much later.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from orchestrate.agents.tools.base import Tool
from orchestrate.agents.tools.control import FINISH, Finish, SpawnAgent
from orchestrate.agents.tools.files import EditFile, ListFiles, ReadFile, WriteFile
from orchestrate.agents.tools.git import Git
from orchestrate.agents.tools.search import Grep
from orchestrate.agents.tools.shell import Bash
from orchestrate.core.errors import ConfigurationError

BUILTIN_TOOLS: dict[str, Tool] = {
    tool.spec.name: tool
    for tool in (
        ReadFile(),
        WriteFile(),
        EditFile(),
        ListFiles(),
        Grep(),
        Bash(),
        Git(),
        SpawnAgent(),
        Finish(),
    )
}

ALIASES: dict[str, str] = {
    "read": "read_file",
    "write": "write_file",
    "edit": "edit_file",
    "multiedit": "edit_file",
    "list": "list_files",
    "ls": "list_files",
    "glob": "list_files",
    "task": "spawn_agent",
    "agent": "spawn_agent",
    "spawn": "spawn_agent",
}
"""Other spellings, compared case-insensitively: ``Read`` and ``read`` both give read_file."""


def canonical_tool_name(name: str) -> str | None:
    """Our name for a tool name or alias, or ``None`` when nothing matches."""
    key = name.strip().lower()
    if key in BUILTIN_TOOLS:
        return key
    return ALIASES.get(key)


def tools_for(allowlist: Iterable[str]) -> list[Tool]:
    """The tools an allowlist grants, in its order, each once, ``finish`` always last.

    Raises ``ConfigurationError`` naming every unknown entry.
    """
    chosen: list[str] = []
    unknown: list[str] = []
    for entry in allowlist:
        name = canonical_tool_name(entry)
        if name is None:
            unknown.append(entry)
        elif name not in chosen:
            chosen.append(name)
    if unknown:
        raise ConfigurationError(_unknown_message(unknown), unknown=unknown)
    if FINISH not in chosen:
        chosen.append(FINISH)
    return [BUILTIN_TOOLS[name] for name in chosen]


def _unknown_message(unknown: list[str]) -> str:
    known = sorted(BUILTIN_TOOLS) + sorted(ALIASES)
    parts = []
    for entry in unknown:
        close = difflib.get_close_matches(entry.lower(), known, n=1)
        parts.append(f"'{entry}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    return (
        f"Unknown tool name{'s' if len(unknown) > 1 else ''} in the allowlist: "
        f"{', '.join(parts)}. Known tools: {', '.join(sorted(BUILTIN_TOOLS))}"
    )
