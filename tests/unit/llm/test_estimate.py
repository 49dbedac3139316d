"""The per-provider request size estimate, kept incrementally (llm/estimate.py)."""

from __future__ import annotations

import json

from orchestrate.llm import anthropic, openai_compat
from orchestrate.llm.estimate import (
    CHARS_PER_TOKEN,
    REQUEST_OVERHEAD_TOKENS,
    TOOL_PROMPT_TOKENS,
    estimator_for,
)
from orchestrate.llm.models import (
    CompletionRequest,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from tests.unit.llm.builders import FINISH, READ_FILE


def conversation(turns: int) -> list[Message]:
    messages = [Message(role=Role.USER, content=[TextBlock(text="Read every file.")])]
    for n in range(turns):
        uses = [
            ToolUseBlock(id=f"call_{n}_{k}", name="read_file", input={"path": f"f{n}_{k}.py"})
            for k in range(3)
        ]
        results = [
            ToolResultBlock(tool_use_id=use.id, content="print('hello')\n" * 20) for use in uses
        ]
        messages.append(Message(role=Role.ASSISTANT, content=uses))
        messages.append(Message(role=Role.USER, content=list(results)))
    return messages


def request(messages: list[Message]) -> CompletionRequest:
    return CompletionRequest(
        model="m", system="Be brief.", messages=messages, tools=[READ_FILE, FINISH]
    )


class TestIncremental:
    def test_each_message_is_measured_once_however_many_turns_follow(self) -> None:
        estimator = estimator_for("anthropic")
        messages = conversation(0)
        for n in range(1, 30):
            messages = conversation(n)[: 2 * n + 1]
            # a new transcript object each turn, but the loop keeps its message objects:
            estimator.request_tokens(request(messages))
        assert estimator.measured == sum(1 + 2 * n for n in range(1, 30))

        kept = conversation(30)
        estimator = estimator_for("openai")
        for length in range(1, len(kept) + 1):
            estimator.request_tokens(request(kept[:length]))
        assert estimator.measured == len(kept)

    def test_the_estimate_is_the_sum_of_its_parts(self) -> None:
        estimator = estimator_for("openai")
        messages = conversation(5)
        whole = estimator.request_tokens(request(messages))
        parts = estimator.fixed_tokens("Be brief.", [READ_FILE, FINISH]) + sum(
            estimator.message_tokens(m) for m in messages
        )
        assert whole == parts


class TestPerProvider:
    def test_openai_counts_what_chat_completions_receives(self) -> None:
        messages = conversation(4)
        estimate = estimator_for("openai").request_tokens(request(messages))
        wire = json.dumps(openai_compat._messages("Be brief.", messages))
        tools = json.dumps([openai_compat._tool(t) for t in (READ_FILE, FINISH)])
        chars = len(wire) + len(tools)
        assert abs(estimate - REQUEST_OVERHEAD_TOKENS - chars / CHARS_PER_TOKEN) < len(messages) + 3

    def test_anthropic_counts_the_messages_api_and_its_tool_prompt(self) -> None:
        messages = conversation(4)
        estimate = estimator_for("anthropic").request_tokens(request(messages))
        wire = json.dumps(anthropic._messages(messages)) + json.dumps(
            anthropic._tools([READ_FILE, FINISH])
        )
        chars = len(wire) + len(json.dumps(anthropic._system("Be brief.")))
        expected = REQUEST_OVERHEAD_TOKENS + TOOL_PROMPT_TOKENS["anthropic"] + chars / 4
        assert abs(estimate - expected) < len(messages) + 10

    def test_the_two_formats_differ_for_many_tool_results(self) -> None:
        results = conversation(1)[2]
        assert estimator_for("openai").message_tokens(results) != estimator_for(
            "anthropic"
        ).message_tokens(results)

    def test_a_replay_takes_the_larger_of_both(self) -> None:
        messages = conversation(3)
        for message in messages:
            both = estimator_for("replay:/tmp/session.jsonl").message_tokens(message)
            assert both == max(
                estimator_for("openai").message_tokens(message),
                estimator_for("anthropic").message_tokens(message),
            )
