"""The agents' spans: one per job of a run, one per model call, one per tool call.

Model calls and tool calls follow the OpenTelemetry GenAI semantic conventions
(``chat {model}``, ``execute_tool {name}``, ``gen_ai.*`` attributes). No prompt,
reply, tool argument or tool output is ever put on a span: only names, ids, counts
and states. Where each span sits in its run's trace is said in ``core.tracing``.
With tracing off every function here returns at its first line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from orchestrate.agents.models import AgentRun, AgentState, SpawnRequest
from orchestrate.core import tracing
from orchestrate.core.errors import OrchestrateError
from orchestrate.llm.service import CompletionRequest, CompletionResponse, ToolUseBlock

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from orchestrate.agents.tools.base import ToolOutput

AGENT_RUN = "agent.run"
SPAWN_AGENT = "spawn_agent"


def agent_job(
    run: AgentRun, root_id: str, *, is_first: bool
) -> contextlib.AbstractContextManager[Span | None]:
    """The span of one job of ``run`` (root of its tree: ``root_id``).

    The job that starts the run is the run's own span; later jobs are its children. The
    trace is the pipeline run's, when a pipeline step started the tree (the run's own
    span is then a child of the pipeline run's span), else the root agent's.
    """
    if not tracing.is_enabled():
        return tracing.OFF
    attributes: dict[str, tracing.AttributeValue] = {
        "orchestrate.agent.id": run.id,
        "orchestrate.agent.type": run.type,
        "orchestrate.agent.root_id": root_id,
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.id": run.id,
        "gen_ai.agent.name": run.type,
        "gen_ai.provider.name": run.provider,
        "gen_ai.request.model": run.model,
        "orchestrate.agent.first_job": is_first,
    }
    if run.parent_id is not None:
        attributes["orchestrate.agent.parent_id"] = run.parent_id
    if run.pipeline_run_id is not None:
        attributes["orchestrate.pipeline.run_id"] = run.pipeline_run_id
    trace_root = run.pipeline_run_id or root_id
    if is_first:
        return tracing.run_span(
            AGENT_RUN,
            root_id=trace_root,
            run_id=run.id,
            parent_id=run.parent_id or run.pipeline_run_id,
            attributes=attributes,
        )
    return tracing.span(
        AGENT_RUN, attributes=attributes, context=tracing.run_context(trace_root, run.id)
    )


def agent_job_ended(current: Span | None, run: AgentRun) -> None:
    """The state the job left the run in, its turns and what it spent so far."""
    if current is None:
        return
    current.set_attribute("orchestrate.agent.state", run.state.value)
    current.set_attribute("orchestrate.agent.turns", run.turns)
    current.set_attribute("gen_ai.usage.input_tokens", run.input_tokens)
    current.set_attribute("gen_ai.usage.output_tokens", run.output_tokens)
    if run.state is AgentState.FAILED:
        tracing.mark_failed(current, "agent_failed", run.failure_reason)


def model_call(
    provider: str, request: CompletionRequest
) -> contextlib.AbstractContextManager[Span | None]:
    """A model call's ``chat {model}`` span; an exception sets ``error.type``."""
    if not tracing.is_enabled():
        return tracing.OFF
    return _model_call(provider, request)


@contextlib.contextmanager
def _model_call(provider: str, request: CompletionRequest) -> Iterator[Span | None]:
    from opentelemetry.trace import SpanKind

    attributes: dict[str, tracing.AttributeValue] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,
        "gen_ai.request.model": request.model,
        "gen_ai.request.max_tokens": request.max_tokens,
    }
    with tracing.span(
        f"chat {request.model}", kind=SpanKind.CLIENT, attributes=attributes
    ) as current:
        try:
            yield current
        except BaseException as error:
            if current is not None:
                current.set_attribute("error.type", type(error).__name__)
            raise


def model_replied(current: Span | None, response: CompletionResponse) -> None:
    if current is None:
        return
    usage = response.usage
    current.set_attribute("gen_ai.response.model", response.model)
    current.set_attribute("gen_ai.response.finish_reasons", (response.stop_reason.value,))
    current.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
    current.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
    current.set_attribute("gen_ai.usage.cache_read.input_tokens", usage.cache_read_tokens)
    current.set_attribute("gen_ai.usage.cache_creation.input_tokens", usage.cache_write_tokens)


def spawned(
    requests: Sequence[SpawnRequest],
    children: Sequence[AgentRun | OrchestrateError],
    started: int,
) -> None:
    """An ``execute_tool spawn_agent`` span per call that started (or failed to start) a
    sub-agent, from ``started`` (``time.time_ns()``) to now, naming the child."""
    if not tracing.is_enabled():
        return
    for request, child in zip(requests, children, strict=True):
        current = tracing.open_span(
            f"execute_tool {SPAWN_AGENT}",
            attributes=_tool_attributes(SPAWN_AGENT, request.call_id),
            start_time=started,
        )
        if current is None:
            return
        if isinstance(child, OrchestrateError):
            tracing.mark_failed(current, type(child).__name__)
        else:
            current.set_attribute("orchestrate.agent.child_id", child.id)
        current.end()


def _tool_attributes(name: str, call_id: str) -> dict[str, tracing.AttributeValue]:
    return {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.call.id": call_id,
        "gen_ai.tool.type": "function",
    }


def tool_call(use: ToolUseBlock) -> contextlib.AbstractContextManager[Span | None]:
    """A tool call's ``execute_tool {name}`` span."""
    if not tracing.is_enabled():
        return tracing.OFF
    attributes = _tool_attributes(use.name, use.id)
    return tracing.span(f"execute_tool {use.name}", attributes=attributes)


def tool_returned(current: Span | None, output: ToolOutput) -> None:
    """A tool's error result (the model reads it) marks its span failed."""
    if current is not None and output.is_error:
        tracing.mark_failed(current, "tool_error")


def tool_refused(use: ToolUseBlock, output: ToolOutput) -> None:
    """A call that did not run (no such tool, or a human denied it): a span of its own,
    failed, so a trace shows every call the model made."""
    with tool_call(use) as current:
        tool_returned(current, output)
