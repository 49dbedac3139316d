"""What a tool is to the agent loop: a spec the model sees and an async ``run``.

A tool never raises for a mistake the model made (missing file, text not found, path
outside the workspace): it returns ``ToolOutput(is_error=True)`` with a message the
model can act on, by raising ``ToolInputError`` which the loop converts. Anything else
it raises is a bug and fails the tool call with the exception text.

Cancellation: when an agent is paused or cancelled the loop cancels the running tool's
task; a tool that started a process must kill it (its whole process group) before the
``CancelledError`` propagates, so control requests take effect within seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from orchestrate.llm.models import ToolSpec

SpawnAgent = Callable[[str, str, Decimal | None], Awaitable[str]]
"""Run a child agent of a type with a task and an optional USD budget; returns its summary."""


@dataclass(frozen=True)
class ToolContext:
    """Everything a tool may use; it gets nothing else from the agent."""

    agent_id: str
    workspace: Path
    env: Mapping[str, str]
    bash_timeout: float = 600.0
    output_limit: int = 30_000
    spawn: SpawnAgent | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolOutput:
    content: str
    is_error: bool = False


class ToolInputError(Exception):
    """The model's request cannot be carried out; the message goes back to the model."""


class Tool(Protocol):
    @property
    def spec(self) -> ToolSpec: ...

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput: ...
