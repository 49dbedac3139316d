"""A run's logs as people read them: the step log files in step order, and the run's
events followed live. ``GET /api/pipeline-runs/{id}/logs`` and ``pipeline logs`` show
the same thing, so both are built here on top of the service.

Following reads the run's events from the log as they commit, in any process
(``runtime.events``, the process's event feed), and ends once the run has.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from orchestrate.core.events import Event
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service
from orchestrate.pipelines.events import RUN_ENDINGS, StepLogged
from orchestrate.pipelines.models import PipelineRun, StepRun

LOG_EVENT = StepLogged.event_type
_CHUNK = 64 * 1024


def step_matches(selected: str | None, key: str) -> bool:
    """No selection matches every step; a matrix step's id matches its instances too."""
    return selected is None or key == selected or key.startswith(f"{selected}[")


def selected_steps(run: PipelineRun, selected: str | None) -> list[StepRun]:
    """The steps a ``step`` filter names, in step order; an unknown step is a 404."""
    steps = [step for step in run.steps if step_matches(selected, step.key)]
    if selected is not None and not steps:
        raise service.missing_step(run, selected)
    return steps


def log_text(steps: Sequence[StepRun]) -> Iterator[str]:
    """Each step's log file preceded by ``==> step KEY <==``; steps without a file are left out."""
    for step in steps:
        if not step.log_path:
            continue
        try:
            with Path(step.log_path).open(encoding="utf-8", errors="replace") as file:
                yield f"==> step {step.key} <==\n"
                while chunk := file.read(_CHUNK):
                    yield chunk
        except FileNotFoundError:
            continue  # a worker on another machine wrote it, or it was cleaned up


async def follow_run(
    runtime: Runtime, run_id: str, *, after_id: int = 0
) -> AsyncIterator[list[Event]]:
    """Batches of the run's new events as they commit (empty ones while nothing happens,
    for keep-alives), until the run is over."""
    run = await service.get_run(runtime.uow(read_only=True), run_id)
    if not run.status.is_terminal:
        async for batch in runtime.events.follow(after_id, service.run_filter(run_id)):
            if batch:
                after_id = batch[-1].id
            yield batch
            if any(event.type in RUN_ENDINGS for event in batch):
                break
            if (
                not batch
                and (await service.get_run(runtime.uow(read_only=True), run_id)).status.is_terminal
            ):
                break
    # The final status commits with its event, so this read sees the last ones.
    async for batch in _drain(runtime, run_id, after_id):
        yield batch


async def _has_ended(runtime: Runtime, run_id: str) -> bool:
    return (await service.get_run(runtime.uow(read_only=True), run_id)).status.is_terminal


async def _drain(runtime: Runtime, run_id: str, after_id: int) -> AsyncIterator[list[Event]]:
    while events := await service.run_events(
        runtime.uow(read_only=True), run_id, after_id=after_id
    ):
        after_id = events[-1].id
        yield list(events)


def log_lines(event: Event, selected: str | None) -> list[str]:
    """The log lines an event carries for the selected steps (none for other events)."""
    if event.type != LOG_EVENT or not step_matches(selected, str(event.payload.get("step"))):
        return []
    return [str(line) for line in event.payload.get("lines", [])]


def sse_frame(event: Event, selected: str | None) -> str | None:
    """One Server-Sent Event for a run event, or None when the step filter hides it."""
    step = event.payload.get("step")
    if step is not None and not step_matches(selected, str(step)):
        return None
    if event.type == LOG_EVENT:
        data: dict[str, Any] = {
            "step": step,
            "attempt": event.payload.get("attempt"),
            "lines": event.payload.get("lines", []),
        }
        return _frame("log", data, event.id)
    data = {"type": event.type, **event.payload, "at": event.created_at.isoformat()}
    return _frame("status", data, event.id)


def end_frame(run: PipelineRun) -> str:
    return _frame("end", {"run_id": run.id, "status": run.status.value, "reason": run.reason})


def _frame(name: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, default=str)}\n\n"
