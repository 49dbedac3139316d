"""The tools that steer a run rather than touch files: ``finish`` and ``spawn_agent``.

``finish`` does nothing itself: the loop ends the run when it sees a successful call,
using ``parse_finish`` to read the status and summary the model gave. Validating here
means a malformed ``finish`` comes back to the model as an error to correct instead of
ending the run with nonsense.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from orchestrate.agents.models import FinishStatus
from orchestrate.agents.tools.base import (
    ToolArguments,
    ToolContext,
    ToolInputError,
    ToolOutput,
    input_schema,
    parse_arguments,
)
from orchestrate.core.errors import OrchestrateError
from orchestrate.llm.service import ToolSpec

FINISH = "finish"


class FinishInput(ToolArguments):
    status: FinishStatus = Field(
        description=(
            "completed: the task is done. blocked: it cannot be done (say why). "
            "needs_input: a person must answer a question first (ask it)."
        )
    )
    summary: str = Field(
        min_length=1, description="What was done and what is left, for the person who reads it."
    )


def parse_finish(arguments: dict[str, Any]) -> FinishInput:
    """The status and summary of a ``finish`` call; ``ToolInputError`` if malformed."""
    request = parse_arguments(FinishInput, arguments)
    if not request.summary.strip():
        raise ToolInputError("'summary' is blank; say what was done and what is left")
    return request


class Finish:
    spec = ToolSpec(
        name=FINISH,
        description=(
            "End your run. Call it exactly once, when the task is completed, when you are "
            "blocked, or when you need input from a person; the summary is your report."
        ),
        input_schema=input_schema(FinishInput),
    )

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        request = parse_finish(arguments)
        return ToolOutput(f"Finished ({request.status.value}): {request.summary}")


class SpawnAgentInput(ToolArguments):
    type: str = Field(description="The agent type to start, e.g. 'developer' or 'reviewer'.")
    task: str = Field(min_length=1, description="Everything the sub-agent needs to know.")
    max_cost_usd: float | None = Field(
        None, gt=0, description="Budget of the sub-agent in US dollars."
    )


class SpawnAgent:
    spec = ToolSpec(
        name="spawn_agent",
        description=(
            "Start a sub-agent of the given type on a self-contained task and wait for it. "
            "It does not see this conversation, so the task must say everything it needs. "
            "Returns the sub-agent's final summary."
        ),
        input_schema=input_schema(SpawnAgentInput),
    )

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        request = parse_arguments(SpawnAgentInput, arguments)
        if context.spawn is None:
            raise ToolInputError("spawning sub-agents is not available here; do the task yourself")
        try:
            summary = await context.spawn(request.type, request.task, dollars(request.max_cost_usd))
        except OrchestrateError as error:
            # An unknown type or an exhausted budget is something the model can act on.
            raise ToolInputError(f"The sub-agent could not run: {error.message}") from None
        return ToolOutput(summary)


def dollars(amount: float | None) -> Decimal | None:
    """A model's dollar amount as an exact Decimal."""
    # Through str, so 0.1 becomes Decimal("0.1") and not its binary approximation.
    return None if amount is None else Decimal(str(amount))
