"""The rule that fits a conversation into the context window (agents/context.py)."""

from __future__ import annotations

import pytest

from orchestrate.agents.context import (
    KEEP_RECENT_TURNS,
    ContextDoesNotFit,
    ContextFitter,
    shorten_message,
)
from orchestrate.llm.estimate import estimator_for
from orchestrate.llm.models import (
    CompletionRequest,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
)
from tests.unit.agents.transcripts import assert_valid_request

TASK = "Generate the fixtures."
WRITE = ToolSpec(
    name="write_file",
    description="Write a file.",
    input_schema={
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
    },
)
BIG = 40_000
WINDOW = 20_000
RUN = 300
"""Turns of a growing run: enough for a 20k window to need turns left out."""


def turn(n: int, size: int = BIG) -> list[Message]:
    """One assistant turn writing a file of ``size`` characters, and its result."""
    use = ToolUseBlock(
        id=f"call_{n:03d}",
        name="write_file",
        input={"path": f"gen/f{n:03d}.txt", "content": f"{n:03d}" + "y" * (size - 3)},
    )
    result = ToolResultBlock(tool_use_id=use.id, content=f"Created 'gen/f{n:03d}.txt'")
    return [
        Message(role=Role.ASSISTANT, content=[TextBlock(text=f"Writing file {n}."), use]),
        Message(role=Role.USER, content=[result]),
    ]


def transcript(turns: int, size: int = BIG) -> list[Message]:
    messages = [Message(role=Role.USER, content=[TextBlock(text=TASK)])]
    for n in range(turns):
        messages.extend(turn(n, size))
    return messages


def request(messages: list[Message]) -> CompletionRequest:
    return CompletionRequest(
        model="m", system="You write files.", messages=messages, tools=[WRITE], max_tokens=4096
    )


def ids(request: CompletionRequest) -> list[str]:
    return [use.id for m in request.messages for use in m.tool_uses]


def fitter(provider: str = "openai") -> ContextFitter:
    return ContextFitter(estimator_for(provider))


class TestWithinTheWindow:
    def test_a_request_that_fits_is_sent_unchanged(self) -> None:
        original = request(transcript(3))
        assert fitter().fit(original, 128_000) is original


class TestShortening:
    def test_old_write_inputs_keep_their_path_and_size_and_a_head(self) -> None:
        fitted = fitter().fit(request(transcript(12)), 128_000)

        assert_valid_request(fitted, TASK)
        first = fitted.messages[1].tool_uses[0]
        assert first.input["path"] == "gen/f000.txt"
        assert first.input["content"].startswith(f"[{BIG} characters elided")
        assert '"000yyy' in first.input["content"]
        assert ids(fitted) == [f"call_{n:03d}" for n in range(12)]

    def test_the_task_and_the_recent_turns_are_sent_whole(self) -> None:
        messages = transcript(12)
        fitted = fitter().fit(request(messages), 128_000)

        assert fitted.messages[0] is messages[0]
        recent = 2 * KEEP_RECENT_TURNS
        assert fitted.messages[-recent:] == messages[-recent:]

    def test_old_tool_results_are_shortened_too(self) -> None:
        read = ToolUseBlock(id="call_r", name="read_file", input={"path": "big.txt"})
        messages = [
            *transcript(0),
            Message(role=Role.ASSISTANT, content=[read]),
            Message(
                role=Role.USER, content=[ToolResultBlock(tool_use_id="call_r", content="z" * BIG)]
            ),
        ]
        messages += transcript(12)[1:]
        fitted = fitter().fit(request(messages), 128_000)

        result = fitted.messages[2].content[0]
        assert isinstance(result, ToolResultBlock)
        assert result.content == f"[output elided to fit the context window: {BIG} characters]"
        assert_valid_request(fitted, TASK)

    def test_small_inputs_are_left_as_they_are(self) -> None:
        message = turn(0, size=100)[0]
        assert shorten_message(message) is message


class TestElidingTurns:
    def test_the_oldest_turns_go_first_with_a_note_and_pairs_stay_valid(self) -> None:
        fitted = fitter().fit(request(transcript(100, size=8_000)), WINDOW)

        assert_valid_request(fitted, TASK)
        kept = ids(fitted)
        everything = [f"call_{n:03d}" for n in range(100)]
        assert kept == everything[-len(kept) :]
        assert 0 < len(kept) < 100
        note = fitted.messages[0].content[-1]
        assert isinstance(note, TextBlock)
        left_out = 100 - len(kept)
        assert note.text.startswith(f"[Context note: {2 * left_out} earlier messages")
        assert f"Tool calls in them: write_file {left_out}." in note.text

    @pytest.mark.parametrize("provider", ["anthropic", "openai", "replay"])
    def test_every_request_of_a_growing_run_fits_by_the_providers_estimate(
        self, provider: str
    ) -> None:
        fit, measure = fitter(provider), estimator_for(provider)
        messages = transcript(0)
        for n in range(RUN):
            messages.extend(turn(n, size=8_000))
            fitted = fit.fit(request(messages), WINDOW)
            assert_valid_request(fitted, TASK)
            estimate = measure.request_tokens(fitted)
            measure.forget(fitted.messages[0])
            assert estimate <= (WINDOW - 4096) * 0.85
        note = fitted.messages[0].content[-1]
        assert isinstance(note, TextBlock)
        assert note.text.startswith("[Context note")

    def test_cut_points_move_in_chunks_so_the_prefix_is_stable_between_moves(self) -> None:
        fit = fitter()
        messages = transcript(0)
        previous: CompletionRequest | None = None
        changed = 0
        for n in range(RUN):
            messages.extend(turn(n, size=8_000))
            fitted = fit.fit(request(messages), WINDOW)
            if previous is not None:
                # What the previous request sent, except its last turns, is sent again.
                stable = len(previous.messages) - 2 * KEEP_RECENT_TURNS - 1
                if fitted.messages[:stable] != previous.messages[:stable]:
                    changed += 1
            previous = fitted
        assert 0 < changed <= RUN // 5

    def test_the_same_transcript_always_gives_the_same_request(self) -> None:
        messages = transcript(100, size=8_000)
        assert fitter().fit(request(messages), WINDOW) == fitter().fit(request(messages), WINDOW)

    def test_pressure_shrinks_the_request(self) -> None:
        messages = transcript(100, size=8_000)
        fit = fitter()
        normal = fit.fit(request(messages), WINDOW)
        squeezed = fit.fit(request(messages), WINDOW, pressure=0.5)
        assert len(ids(squeezed)) < len(ids(normal))
        assert_valid_request(squeezed, TASK)

    def test_a_huge_last_turn_drops_the_protection_of_the_turn_before(self) -> None:
        messages = [*transcript(3, size=100), *turn(3, size=60_000)[:1]]
        messages += [
            Message(role=Role.USER, content=[ToolResultBlock(tool_use_id="call_003", content="ok")])
        ]
        messages += turn(4, size=60_000)
        fitted = fitter().fit(request(messages), 40_000)
        assert_valid_request(fitted, TASK)
        assert fitted.messages[-2].tool_uses[0].input["content"].startswith("004")

    def test_a_task_larger_than_the_window_is_reported(self) -> None:
        huge = [Message(role=Role.USER, content=[TextBlock(text=TASK + "q" * 200_000)])]
        with pytest.raises(ContextDoesNotFit, match="context window of m"):
            fitter().fit(request(huge), 40_000)

    def test_the_stored_messages_are_not_changed(self) -> None:
        messages = transcript(100, size=8_000)
        before = [m.model_copy(deep=True) for m in messages]
        fitter().fit(request(messages), WINDOW)
        assert messages == before
