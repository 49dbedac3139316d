"""Recording a session to JSON Lines and replaying it: format, order, divergence, failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrate.core.clock import FrozenClock
from orchestrate.core.errors import ConfigurationError
from orchestrate.llm.errors import ContextWindowExceeded, ProviderError
from orchestrate.llm.models import CompletionRequest, CompletionResponse
from orchestrate.llm.provider import Provider
from orchestrate.llm.replay import RecordingProvider, ReplayProvider, child_stream_path
from orchestrate.llm.replay_match import RunIdentity
from orchestrate.testing import ScriptedProvider, finish, text_reply, tool_call
from tests.unit.llm.builders import continue_with_results, make_request

CLOCK = FrozenClock(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))


async def run_agent(provider: Provider, steps: int) -> list[CompletionResponse]:
    """Drive ``provider`` like the agent loop: reply, answer every tool call, repeat."""
    request: CompletionRequest = make_request()
    responses = []
    for _ in range(steps):
        response = await provider.complete(request)
        responses.append(response)
        request = continue_with_results(request, response)
    return responses


async def record(path: Path, *steps: CompletionResponse) -> list[CompletionResponse]:
    recorder = RecordingProvider(ScriptedProvider(steps), path, clock=CLOCK)
    responses = await run_agent(recorder, len(steps))
    await recorder.aclose()
    return responses


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class TestFormat:
    async def test_the_file_starts_with_a_session_header(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"

        await record(path, text_reply("hi"))

        assert lines(path)[0] == {
            "type": "session",
            "version": 2,
            "provider": "scripted",
            "model": "claude-sonnet-4-6",
            "created_at": "2026-03-01T09:30:00Z",
            "identity": None,
        }

    async def test_each_call_is_one_line_with_request_and_response(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"

        responses = await record(path, tool_call("read_file", {"path": "a"}), finish())

        calls = lines(path)[1:]
        assert [call["type"] for call in calls] == ["call", "call"]
        assert CompletionResponse.model_validate(calls[1]["response"]) == responses[1]
        assert CompletionRequest.model_validate(calls[0]["request"]).messages[0].text == (
            "Fix the failing test."
        )

    async def test_each_line_is_on_disk_before_the_next_call(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        recorder = RecordingProvider(
            ScriptedProvider([text_reply("one"), text_reply("two")]), path, clock=CLOCK
        )

        await recorder.complete(make_request())

        assert len(lines(path)) == 2  # header and the first call, without closing
        await recorder.aclose()

    async def test_recording_into_an_existing_session_appends(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, text_reply("one"))

        await record(path, text_reply("two"))

        assert [line["type"] for line in lines(path)] == ["session", "call", "call"]

    async def test_a_failed_call_is_recorded_and_still_raised(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        recorder = RecordingProvider(
            ScriptedProvider([ContextWindowExceeded("prompt is too long")]), path, clock=CLOCK
        )

        with pytest.raises(ContextWindowExceeded):
            await recorder.complete(make_request())
        await recorder.aclose()

        assert lines(path)[1]["error"] == {
            "kind": "context_window_exceeded",
            "message": "prompt is too long",
        }


class TestReplay:
    async def test_replaying_gives_the_recorded_responses_in_order(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        recorded = await record(
            path, tool_call("read_file", {"path": "a"}), text_reply("Looked."), finish()
        )

        replayed = await run_agent(ReplayProvider(path), 3)

        assert replayed == recorded

    async def test_a_recorded_failure_fails_again_on_replay(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        recorder = RecordingProvider(
            ScriptedProvider([ContextWindowExceeded("prompt is too long"), text_reply("ok")]),
            path,
            clock=CLOCK,
        )
        with pytest.raises(ContextWindowExceeded):
            await recorder.complete(make_request())
        await recorder.complete(make_request())
        await recorder.aclose()
        replay = ReplayProvider(path)

        with pytest.raises(ContextWindowExceeded, match="prompt is too long"):
            await replay.complete(make_request())
        assert (await replay.complete(make_request())).message.text == "ok"

    async def test_asking_beyond_the_recording_says_how_far_it_goes(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, text_reply("only"))
        replay = ReplayProvider(path)
        await replay.complete(make_request())

        with pytest.raises(ProviderError, match=r"only 1 recorded calls.*call 2"):
            await replay.complete(make_request())

    async def test_a_different_tool_call_history_is_a_divergence(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, tool_call("read_file", {"path": "a"}), finish())
        replay = ReplayProvider(path)
        first = await replay.complete(make_request())
        other = make_request().model_copy(
            update={"messages": [*make_request().messages, first.message]}
        )  # the agent did not answer the tool call this time

        with pytest.raises(ProviderError, match="diverged at call 2"):
            await replay.complete(other)

    async def test_a_different_tool_result_is_a_divergence_saying_what_differed(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, tool_call("read_file", {"path": "a"}), finish())
        replay = ReplayProvider(path, identity=RunIdentity(agent_id="agent_x"))
        first = await replay.complete(make_request())

        with pytest.raises(ProviderError) as raised:
            await replay.complete(continue_with_results(make_request(), first, "other contents"))

        message = str(raised.value)
        assert "diverged at call 2 of agent agent_x" in message
        assert "(read_file) differs" in message
        assert "'file contents'" in message
        assert "'other contents'" in message

    async def test_different_wording_of_the_task_is_a_divergence(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, text_reply("hi"))

        with pytest.raises(ProviderError, match="diverged at call 1: the text sent"):
            await ReplayProvider(path).complete(make_request("Other words, same shape."))

    async def test_the_runs_paths_ids_commits_and_times_do_not_count_as_divergence(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "session.jsonl"
        recorded = RunIdentity(
            agent_id=RECORDED_ID, workspace="/rec/ws", repo="/rec", branch="orchestrate/fix"
        )
        replaying = RunIdentity(
            agent_id=REPLAY_ID, workspace="/new/ws", repo="/new", branch="orchestrate/fix-2"
        )
        recorder = RecordingProvider(
            ScriptedProvider([text_reply("hi")]), path, clock=CLOCK, identity=recorded
        )
        await recorder.complete(
            make_request(situation(recorded, "3881220", "2026-03-01T09:30:00Z"))
        )

        reply = await ReplayProvider(path, identity=replaying).complete(
            make_request(situation(replaying, "9f8e7d6c5b4a", "2026-12-06 05:00:01+00:00"))
        )

        assert reply.message.text == "hi"

    async def test_a_version_1_session_is_still_replayed_on_shape_only(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, text_reply("hi"))
        as_version_1(path)

        reply = await ReplayProvider(path).complete(make_request("Other words, same shape."))

        assert reply.message.text == "hi"


class TestBadFiles:
    def test_a_missing_file_is_a_configuration_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="does not exist"):
            ReplayProvider(tmp_path / "nope.jsonl")

    def test_a_malformed_line_is_reported_with_its_number(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        header = '{"type":"session","version":1,"provider":"x","model":"m","created_at":"t"}'
        path.write_text(header + "\n{not json\n")

        with pytest.raises(ConfigurationError, match="line 2"):
            ReplayProvider(path)

    def test_a_newer_format_version_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        path.write_text(
            '{"type":"session","version":3,"provider":"x","model":"m","created_at":"t"}\n'
        )

        with pytest.raises(ConfigurationError, match="version 3"):
            ReplayProvider(path)

    async def test_a_version_1_session_with_sub_agents_is_refused_saying_why(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, tool_call("spawn_agent", {"type": "developer", "task": "t"}), finish())
        as_version_1(path)

        with pytest.raises(ConfigurationError, match="spawn_agent calls have no recording"):
            ReplayProvider(path)

    async def test_a_missing_sub_agent_stream_fails_only_when_called(self, tmp_path: Path) -> None:
        replay = ReplayProvider(tmp_path / "nope.jsonl", allow_missing=True)

        with pytest.raises(ProviderError, match="only 0 recorded calls"):
            await replay.complete(make_request())


class TestChildStreams:
    def test_a_sub_agents_stream_sits_next_to_its_parents_named_by_the_call(self) -> None:
        root = Path("/s/session.jsonl")

        child = child_stream_path(root, "toolu_01")

        assert child == Path("/s/session.toolu_01.jsonl")
        assert child_stream_path(child, "toolu_07") == Path("/s/session.toolu_01.toolu_07.jsonl")

    def test_a_deep_trees_stream_names_stay_short_and_distinct(self) -> None:
        path = Path("/s/a-long-session-name-chosen-by-someone.jsonl")
        seen = {path}
        for level in range(12):  # deeper than any tree may grow
            for sibling in ("toolu_01A09q90qw90lq917835lq9", "toolu_01A09q90qw90lq917835lq8"):
                name = child_stream_path(path, sibling)
                assert len(name.name.encode()) <= 255
                assert name.parent == path.parent
                assert name.name.startswith("a-long-session-name")
                assert name.suffix == ".jsonl"
                assert name not in seen, f"level {level}"
                seen.add(name)
            path = child_stream_path(path, "toolu_01A09q90qw90lq917835lq9")
        again = Path("/s/a-long-session-name-chosen-by-someone.jsonl")
        for _ in range(12):
            again = child_stream_path(again, "toolu_01A09q90qw90lq917835lq9")
        assert again == path, "recording and replaying name the same file"

    def test_a_hostile_call_id_cannot_leave_the_folder_or_collide(self) -> None:
        root = Path("/s/session.jsonl")

        first = child_stream_path(root, "../../etc/passwd")
        second = child_stream_path(root, "../../etc/passwe")

        assert first.parent == second.parent == Path("/s")
        assert first != second
        assert "/" not in first.name.removeprefix("session.")


RECORDED_ID = "agent_01jabcdefghjkmnpqrstvwxyz0"
REPLAY_ID = "agent_01jzzzzzzzzzzzzzzzzzzzzzz1"


def situation(identity: RunIdentity, commit: str, at: str) -> str:
    return (
        f"You are {identity.agent_id} in {identity.workspace}. Repository: {identity.repo}, "
        f"on branch {identity.branch} from {commit}, at {at}. Sub-agent {identity.agent_id} "
        f"is done; 3 passed in {len(commit) / 7:.2f}s."
    )


def as_version_1(path: Path) -> None:
    """Rewrite a session's header as an older Orchestrate wrote it."""
    header, *rest = path.read_text().splitlines()
    fields = json.loads(header)
    fields["version"] = 1
    del fields["identity"]
    path.write_text("\n".join([json.dumps(fields), *rest]) + "\n")


def test_a_commit_id_without_a_digit_is_masked_where_git_names_the_commit_it_made() -> None:
    from orchestrate.llm.replay_match import normalise

    recorded = normalise("[orchestrate/fix dfcebfe] Add notes\n 1 file changed", None)
    replayed = normalise("[orchestrate/fix 4c0b2a9] Add notes\n 1 file changed", None)
    root = normalise("[main (root-commit) abcdefa] init", None)

    assert recorded == replayed == "[orchestrate/fix <commit>] Add notes\n 1 file changed"
    assert root == "[main (root-commit) <commit>] init"
    assert normalise("the facade decayed", None) == "the facade decayed"
