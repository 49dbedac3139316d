"""Checks that a request sent to a model is well formed for both providers' APIs."""

from __future__ import annotations

from orchestrate.llm.models import CompletionRequest, Role, TextBlock, ToolResultBlock


def assert_valid_request(request: CompletionRequest, task: str) -> None:
    """The task comes first, roles alternate, and every tool call has exactly its results.

    Anthropic rejects a ``tool_result`` whose ``tool_use`` is not in the message before,
    and a ``tool_use`` left without a result; Chat Completions rejects a ``tool``
    message that does not follow the assistant message that called it.
    """
    messages = request.messages
    first = messages[0]
    assert first.role is Role.USER
    assert isinstance(first.content[0], TextBlock)
    assert first.content[0].text.startswith(task)
    for index, message in enumerate(messages):
        assert message.role is (Role.USER if index % 2 == 0 else Role.ASSISTANT), index
        results = {b.tool_use_id for b in message.content if isinstance(b, ToolResultBlock)}
        asked = {use.id for use in messages[index - 1].tool_uses} if index else set()
        if message.role is Role.USER:
            assert results == asked, f"message {index} answers {results}, asked {asked}"
    last = messages[-1]
    assert last.role is Role.USER
