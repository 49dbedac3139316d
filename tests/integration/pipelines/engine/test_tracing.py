"""Pipeline runs traced with the in-memory exporter, on SQLite and PostgreSQL: the run and
every attempt of its steps in one trace, whichever job ran them."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.core.tracing import configure_tracing, run_trace_id
from orchestrate.pipelines import service
from tests.integration.pipelines.engine.conftest import Pipelines
from tests.integration.pipelines.engine.test_agent_steps import _credentials, register, repo, work
from tests.spans import attribute, named, spans, trace_ids

__all__ = ["_credentials", "repo", "spans"]

TWO_STEPS = """
name: build
steps:
  - id: compile
    run: echo compiled
  - id: check
    needs: compile
    run: {check}
"""


GATED = """
name: gate
steps:
  - id: build
    run: echo built
  - id: approve
    needs: build
    approval: {approvers: [alice]}
  - id: ship
    needs: approve
    run: echo shipped
"""


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


async def test_a_run_and_its_steps_share_one_trace(
    pipelines: Pipelines, spans: InMemorySpanExporter
) -> None:
    await pipelines.register(TWO_STEPS.format(check="echo checked"))

    run = await pipelines.run("build")

    finished = spans.get_finished_spans()
    assert trace_ids(finished) == {run_trace_id(run.id)}
    (whole,) = named(finished, "pipeline.run")
    steps = named(finished, "pipeline.step")
    assert whole.parent is None
    assert {attribute(s, "orchestrate.pipeline.step.id") for s in steps} == {"compile", "check"}
    assert all(s.parent is not None and s.parent.span_id == span_id(whole) for s in steps)
    assert attribute(whole, "orchestrate.pipeline.name") == "build"
    assert attribute(whole, "orchestrate.pipeline.run_id") == run.id
    assert attribute(whole, "orchestrate.pipeline.status") == "success"
    check = next(s for s in steps if attribute(s, "orchestrate.pipeline.step.id") == "check")
    assert attribute(check, "orchestrate.pipeline.step.kind") == "run"
    assert attribute(check, "orchestrate.pipeline.step.attempt") == 1
    assert attribute(check, "orchestrate.pipeline.step.status") == "success"
    assert whole.start_time is not None
    assert check.end_time is not None
    assert whole.start_time <= check.end_time


async def test_a_run_resumed_by_another_process_stays_in_one_trace(
    pipelines: Pipelines, spans: InMemorySpanExporter
) -> None:
    await pipelines.register(GATED)
    run = await pipelines.run("gate")
    assert run.status.value == "waiting"
    before = spans.get_finished_spans()
    after = InMemorySpanExporter()
    configure_tracing({}, exporter=after)  # a new tracer, as in a worker started later
    alice = Actor(name="alice", role=Role.OPERATOR, source="test")

    await service.decide_approval(pipelines.runtime.uow(), run.id, "approve", alice, "approve")
    await pipelines.work()

    finished = [*before, *after.get_finished_spans()]
    assert trace_ids(finished) == {run_trace_id(run.id)}
    (whole,) = named(after.get_finished_spans(), "pipeline.run")
    steps = {
        str(attribute(s, "orchestrate.pipeline.step.id")): s
        for s in named(finished, "pipeline.step")
    }
    assert set(steps) == {"build", "ship"}
    assert {s.parent.span_id for s in steps.values() if s.parent} == {span_id(whole)}


async def test_a_failed_step_marks_its_span_and_the_runs_as_errors(
    pipelines: Pipelines, spans: InMemorySpanExporter
) -> None:
    await pipelines.register(TWO_STEPS.format(check="exit 3"))

    run = await pipelines.run("build")

    assert run.status.value == "failure"
    finished = spans.get_finished_spans()
    (whole,) = named(finished, "pipeline.run")
    failed = [
        s for s in named(finished, "pipeline.step") if s.status.status_code is StatusCode.ERROR
    ]
    assert [attribute(s, "orchestrate.pipeline.step.id") for s in failed] == ["check"]
    assert attribute(failed[0], "orchestrate.pipeline.step.status") == "failure"
    assert whole.status.status_code is StatusCode.ERROR
    assert attribute(whole, "orchestrate.pipeline.status") == "failure"


async def test_an_agent_steps_agent_and_its_model_calls_are_in_the_runs_trace(
    pipelines: Pipelines, repo: Path, spans: InMemorySpanExporter
) -> None:
    await register(pipelines, repo)

    run = await pipelines.trigger("docs", topic="tracing")
    await work(pipelines)

    run = await pipelines.get(run.id)
    agent_id = run.step("write").agent_id
    assert agent_id is not None
    finished = spans.get_finished_spans()
    assert trace_ids(finished) == {run_trace_id(run.id)}, "one trace for the whole run"
    (whole,) = named(finished, "pipeline.run")
    (agent_run,) = named(finished, "agent.run")
    assert agent_run.parent is not None
    assert agent_run.parent.span_id == span_id(whole), "the agent hangs under the run"
    assert attribute(agent_run, "gen_ai.agent.id") == agent_id
    write = next(
        s
        for s in named(finished, "pipeline.step")
        if attribute(s, "orchestrate.pipeline.step.id") == "write"
    )
    assert [link.context.span_id for link in write.links] == [span_id(agent_run)]
    chats = named(finished, "chat test-model")
    assert len(chats) == 4, "the agent's four model calls"
    assert {s.parent.span_id for s in chats if s.parent} == {span_id(agent_run)}
