"""Agent runs traced with the in-memory exporter, on SQLite and PostgreSQL: one trace per
run, its sub-agents included, with a GenAI span per model call and a span per tool call."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from orchestrate.agents.models import AgentState
from orchestrate.core.runtime import Runtime
from orchestrate.core.tracing import run_trace_id
from orchestrate.llm.errors import ProviderError
from orchestrate.llm.models import Usage
from orchestrate.testing.scripted import finish, tool_call
from tests.integration.agents.tree_support import (
    TreeWorker,
    add_tree_types,
    agent,
    start_root,
    tree_of,
)
from tests.spans import attribute, named, spans, trace_ids

__all__ = ["spans"]

SECRET_COMMAND = "echo the-command-text-stays-out-of-traces"
SCRIPTS = {
    "lead": [
        tool_call("spawn_agent", {"type": "worker", "task": "help"}, id="call_spawn"),
        finish("completed", "the helper is done", id="call_lead_finish"),
    ],
    "help": [
        tool_call(
            "bash",
            {"command": SECRET_COMMAND},
            id="call_bash",
            usage=Usage(input_tokens=1200, output_tokens=34, cache_read_tokens=5),
        ),
        tool_call("read_file", {"path": "no-such-file"}, id="call_missing"),
        finish("completed", "echoed", id="call_help_finish"),
    ],
}


def parent_span_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


class TestAnAgentRunIsOneTrace:
    async def test_traces_in_the_in_memory_exporter_are_one_per_run_with_genai_attributes(
        self, runtime: Runtime, repo: Path, spans: InMemorySpanExporter
    ) -> None:
        add_tree_types(repo)
        root = await start_root(runtime, repo, "lead")

        await TreeWorker(runtime, SCRIPTS).run_until_idle()

        assert (await agent(runtime, root.id)).state is AgentState.COMPLETED
        (child,) = await tree_of(runtime, root.id)
        finished = spans.get_finished_spans()
        assert trace_ids(finished) == {run_trace_id(root.id)}, "the whole tree, one trace"

        runs = named(finished, "agent.run")
        by_agent = {
            (attribute(s, "gen_ai.agent.id"), attribute(s, "orchestrate.agent.first_job")): s
            for s in runs
        }
        lead_first = by_agent[(root.id, True)]
        lead_again = by_agent[(root.id, False)]  # after its child ended
        helper = by_agent[(child.id, True)]
        assert len(runs) == 3
        assert lead_first.parent is None, "the root run's first job is the trace's root span"
        assert parent_span_id(lead_again) == span_id(lead_first)
        assert parent_span_id(helper) == span_id(lead_first), "a sub-agent hangs under its parent"
        assert attribute(lead_first, "orchestrate.agent.state") == "waiting_for_children"
        assert attribute(lead_again, "orchestrate.agent.state") == "completed"
        assert attribute(helper, "gen_ai.agent.name") == "worker"
        assert attribute(helper, "gen_ai.request.model") == "scripted-model"
        chats = named(finished, "chat scripted-model")
        tokens = sorted(int(str(attribute(s, "gen_ai.usage.output_tokens"))) for s in chats)
        assert tokens == [20, 20, 20, 20, 34], "each call, its own usage"
        assert {attribute(s, "gen_ai.request.model") for s in chats} == {"scripted-model"}
        assert {attribute(s, "gen_ai.operation.name") for s in chats} == {"chat"}

    async def test_each_model_call_is_a_chat_span_with_genai_attributes(
        self, runtime: Runtime, repo: Path, spans: InMemorySpanExporter
    ) -> None:
        add_tree_types(repo)
        await start_root(runtime, repo, "lead")

        await TreeWorker(runtime, SCRIPTS).run_until_idle()

        finished = spans.get_finished_spans()
        chats = named(finished, "chat scripted-model")
        assert len(chats) == 5, "two calls of the lead, three of its helper"
        first_of_helper = next(
            s for s in chats if attribute(s, "gen_ai.usage.input_tokens") == 1200
        )
        expected = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "scripted",
            "gen_ai.request.model": "scripted-model",
            "gen_ai.response.model": "scripted-model",
            "gen_ai.usage.input_tokens": 1200,
            "gen_ai.usage.output_tokens": 34,
            "gen_ai.usage.cache_read.input_tokens": 5,
        }
        assert {key: attribute(first_of_helper, key) for key in expected} == expected
        assert attribute(first_of_helper, "gen_ai.response.finish_reasons") == ("tool_use",)
        assert isinstance(attribute(first_of_helper, "gen_ai.request.max_tokens"), int)
        runs = {span_id(s) for s in named(finished, "agent.run")}
        assert all(parent_span_id(s) in runs for s in chats), "inside their job's span"

    async def test_each_tool_call_is_a_span_and_no_prompt_or_argument_is_recorded(
        self, runtime: Runtime, repo: Path, spans: InMemorySpanExporter
    ) -> None:
        add_tree_types(repo)
        root = await start_root(runtime, repo, "lead")

        await TreeWorker(runtime, SCRIPTS).run_until_idle()

        finished = spans.get_finished_spans()
        (bash,) = named(finished, "execute_tool bash")
        assert attribute(bash, "gen_ai.tool.name") == "bash"
        assert attribute(bash, "gen_ai.tool.call.id") == "call_bash"
        assert bash.status.status_code is not StatusCode.ERROR
        (missing,) = named(finished, "execute_tool read_file")
        assert missing.status.status_code is StatusCode.ERROR, "the model got an error result"
        assert len(named(finished, "execute_tool finish")) == 2
        (spawn,) = named(finished, "execute_tool spawn_agent")
        assert attribute(spawn, "gen_ai.tool.call.id") == "call_spawn"
        (child,) = await tree_of(runtime, root.id)
        assert attribute(spawn, "orchestrate.agent.child_id") == child.id
        texts = [str(value) for span in finished for value in (span.attributes or {}).values()]
        assert not any("the-command-text" in text for text in texts)

    async def test_a_failed_model_call_is_an_error_span_and_fails_the_jobs_span(
        self, runtime: Runtime, repo: Path, spans: InMemorySpanExporter
    ) -> None:
        add_tree_types(repo)
        root = await start_root(runtime, repo, "overloaded")

        await TreeWorker(runtime, {"overloaded": [ProviderError("overloaded")]}).run_until_idle()

        assert (await agent(runtime, root.id)).state is AgentState.FAILED
        finished = spans.get_finished_spans()
        (chat,) = named(finished, "chat scripted-model")
        assert chat.status.status_code is StatusCode.ERROR
        assert attribute(chat, "error.type") == "ProviderError"
        assert [event.name for event in chat.events] == ["exception"]
        (job,) = named(finished, "agent.run")
        assert job.status.status_code is StatusCode.ERROR
        assert attribute(job, "orchestrate.agent.state") == "failed"
