"""Builders for tool tests: a context around a workspace, and a one-line tool call."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestrate.agents.tools.base import Tool, ToolContext, ToolInputError, ToolOutput
from orchestrate.agents.tools.shell import scrubbed_environment


def make_context(workspace: Path, **changes: Any) -> ToolContext:
    context = ToolContext(
        agent_id="agent-1", workspace=workspace, env=scrubbed_environment(os.environ)
    )
    return replace(context, **changes)


async def call(tool: Tool, context: ToolContext, **arguments: Any) -> ToolOutput:
    """Run a tool as the loop does: a ``ToolInputError`` becomes an error output."""
    try:
        return await tool.run(context, arguments)
    except ToolInputError as error:
        return ToolOutput(str(error), is_error=True)
