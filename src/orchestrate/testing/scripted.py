"""A provider that plays a script, for tests of anything that talks to a model.

    provider = ScriptedProvider([
        tool_call("read_file", {"path": "README.md"}),
        lambda request: text_reply(f"{len(request.messages)} messages so far"),
        ProviderError("overloaded"),           # an exception is raised
        finish("completed", "Read the README"),
    ])
    ...
    assert provider.requests[1].messages[-1].content[0].type == "tool_result"

Use it where the test is about our logic; use the fake HTTP servers
(``FakeAnthropic``, ``FakeOpenAI``) where the vendor SDK should be exercised too.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from orchestrate.llm.errors import ProviderError
from orchestrate.llm.models import (
    CompletionRequest,
    CompletionResponse,
    ContentBlock,
    Message,
    Role,
    StopReason,
    TextBlock,
    ToolUseBlock,
    Usage,
)

SCRIPTED_MODEL = "scripted-model"
DEFAULT_USAGE = Usage(input_tokens=100, output_tokens=20)

Step = CompletionResponse | Callable[[CompletionRequest], CompletionResponse] | BaseException
"""A canned response, a function of the request that makes one, or an exception to raise."""


class ScriptExhausted(ProviderError):
    """The code under test asked for more model calls than the script has."""

    title = "Scripted provider ran out of steps"


class ScriptedProvider:
    """Answers each call with the next step of its script and remembers every request."""

    name = "scripted"

    def __init__(self, steps: Iterable[Step] = ()) -> None:
        self._steps: deque[Step] = deque(steps)
        self.requests: list[CompletionRequest] = []
        self.is_closed = False

    def add(self, *steps: Step) -> None:
        """Append steps, e.g. from inside a test once the first part has run."""
        self._steps.extend(steps)

    @property
    def remaining(self) -> int:
        return len(self._steps)

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.requests.append(request)
        if not self._steps:
            last = request.messages[-1] if request.messages else None
            raise ScriptExhausted(
                f"ScriptedProvider has no step for call {len(self.requests)} "
                f"(the script had {len(self.requests) - 1}); the request ended with a "
                f"{last.role.value if last else 'missing'} message "
                f"{_summary(last)}. Add steps to the script or find why the code calls again.",
                call=len(self.requests),
            )
        step = self._steps.popleft()
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, CompletionResponse):
            return step
        return step(request)

    async def aclose(self) -> None:
        self.is_closed = True


def _summary(message: Message | None) -> str:
    if message is None:
        return ""
    parts = [
        block.text[:80] if block.type == "text" else f"<{block.type}>" for block in message.content
    ]
    return repr(" ".join(parts))


def new_tool_use_id() -> str:
    """An id shaped like Anthropic's, unique per call."""
    return f"toolu_{uuid.uuid4().hex[:24]}"


def response(
    *blocks: ContentBlock,
    stop_reason: StopReason | None = None,
    usage: Usage = DEFAULT_USAGE,
    model: str = SCRIPTED_MODEL,
) -> CompletionResponse:
    """An assistant reply made of ``blocks``; stops for tools when it has a tool call."""
    if stop_reason is None:
        has_tool_use = any(isinstance(block, ToolUseBlock) for block in blocks)
        stop_reason = StopReason.TOOL_USE if has_tool_use else StopReason.END_TURN
    return CompletionResponse(
        message=Message(role=Role.ASSISTANT, content=list(blocks)),
        stop_reason=stop_reason,
        usage=usage,
        model=model,
    )


def text_reply(
    text: str, *, usage: Usage = DEFAULT_USAGE, model: str = SCRIPTED_MODEL
) -> CompletionResponse:
    """The model answers with text and ends its turn."""
    return response(TextBlock(text=text), usage=usage, model=model)


def tool_use(
    name: str, arguments: dict[str, Any] | None = None, *, id: str | None = None
) -> ToolUseBlock:
    """One tool call, to combine several in one reply with ``tool_calls``."""
    return ToolUseBlock(id=id or new_tool_use_id(), name=name, input=arguments or {})


def tool_calls(
    *uses: ToolUseBlock,
    text: str | None = None,
    usage: Usage = DEFAULT_USAGE,
    model: str = SCRIPTED_MODEL,
) -> CompletionResponse:
    """The model calls several tools at once, optionally saying something first."""
    blocks: list[ContentBlock] = [TextBlock(text=text)] if text else []
    blocks.extend(uses)
    return response(*blocks, usage=usage, model=model)


def tool_call(
    name: str,
    arguments: dict[str, Any] | None = None,
    *,
    id: str | None = None,
    text: str | None = None,
    usage: Usage = DEFAULT_USAGE,
    model: str = SCRIPTED_MODEL,
) -> CompletionResponse:
    """The model calls one tool."""
    return tool_calls(tool_use(name, arguments, id=id), text=text, usage=usage, model=model)


def finish(
    status: str = "completed",
    summary: str = "Done.",
    *,
    id: str | None = None,
    usage: Usage = DEFAULT_USAGE,
    model: str = SCRIPTED_MODEL,
) -> CompletionResponse:
    """The model calls the ``finish`` tool, ending an agent run with a status and summary."""
    return tool_call(
        "finish", {"status": status, "summary": summary}, id=id, usage=usage, model=model
    )
