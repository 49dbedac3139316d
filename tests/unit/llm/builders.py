"""Conversation builders shared by the llm tests."""

from __future__ import annotations

from orchestrate.llm.models import (
    CompletionRequest,
    CompletionResponse,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolSpec,
)

READ_FILE = ToolSpec(
    name="read_file",
    description="Read a file of the workspace.",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}},
)
FINISH = ToolSpec(
    name="finish",
    description="End the run with a status and a summary.",
    input_schema={
        "type": "object",
        "properties": {"status": {"type": "string"}, "summary": {"type": "string"}},
    },
)


def make_request(
    text: str = "Fix the failing test.",
    *,
    model: str = "claude-sonnet-4-6",
    system: str = "You are a careful software engineer.",
    tools: list[ToolSpec] | None = None,
) -> CompletionRequest:
    return CompletionRequest(
        model=model,
        system=system,
        messages=[Message(role=Role.USER, content=[TextBlock(text=text)])],
        tools=[READ_FILE, FINISH] if tools is None else tools,
    )


def continue_with_results(
    request: CompletionRequest, response: CompletionResponse, output: str = "file contents"
) -> CompletionRequest:
    """The next request of an agent loop: the reply, then one result per tool call."""
    results = [
        ToolResultBlock(tool_use_id=use.id, content=output) for use in response.message.tool_uses
    ]
    answer = Message(role=Role.USER, content=list(results) or [TextBlock(text="Go on.")])
    return request.model_copy(update={"messages": [*request.messages, response.message, answer]})
