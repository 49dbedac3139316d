"""The pipelines' spans: ``pipeline.run`` for a whole run, ``pipeline.step`` per attempt.

A run's steps run in jobs of their own, on any worker; each attempt's span is a child of
the run's span, whose ids are derived from the run id (``core.tracing``), so the whole
run is one trace. The ``pipeline.run`` span itself is recorded once the run reaches a
final status, after the transaction that put it there commits, with the run's stored
start and end times. The agent a step starts works in the run's trace too, its span a
child of the run's (``agents/spans.py``); the step's span links to it and ends when the
agent is started (the step itself ends when the agent reports back).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from orchestrate.core import tracing
from orchestrate.pipelines.attempt import Attempt
from orchestrate.pipelines.models import RunStatus, StepStatus

if TYPE_CHECKING:
    from opentelemetry.trace import Span

PIPELINE_RUN = "pipeline.run"
PIPELINE_STEP = "pipeline.step"


def step_attempt(attempt: Attempt) -> contextlib.AbstractContextManager[Span | None]:
    """The span of one attempt of a step, in its run's trace."""
    if not tracing.is_enabled():
        return tracing.OFF
    attributes: dict[str, tracing.AttributeValue] = {
        "orchestrate.pipeline.name": attempt.spec.name,
        "orchestrate.pipeline.run_id": attempt.run_id,
        "orchestrate.pipeline.step.id": attempt.key,
        "orchestrate.pipeline.step.kind": attempt.kind.value,
        "orchestrate.pipeline.step.attempt": attempt.number,
    }
    return tracing.span(
        PIPELINE_STEP,
        attributes=attributes,
        context=tracing.run_context(attempt.run_id, attempt.run_id),
    )


def step_ended(
    current: Span | None, attempt: Attempt, status: StepStatus | None, *, agent_id: str | None
) -> None:
    """How the attempt ended (None: it goes on elsewhere) and the agent it started."""
    if current is None:
        return
    if status is not None:
        current.set_attribute("orchestrate.pipeline.step.status", status.value)
        if status is StepStatus.FAILURE:
            tracing.mark_failed(current, "step_failed")
    if agent_id is not None:
        current.set_attribute("orchestrate.agent.id", agent_id)
        current.add_link(tracing.run_link(attempt.run_id, agent_id).context)


@dataclass(frozen=True)
class EndedRun:
    """What the ``pipeline.run`` span of a run that just ended says, read from its row."""

    run_id: str
    pipeline: str
    number: int
    trigger_kind: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime


def run_ended(run: EndedRun) -> None:
    """Record the ``pipeline.run`` span of a run that reached a final status."""
    tracing.record_run_span(
        PIPELINE_RUN,
        run_id=run.run_id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        attributes={
            "orchestrate.pipeline.name": run.pipeline,
            "orchestrate.pipeline.run_id": run.run_id,
            "orchestrate.pipeline.run_number": run.number,
            "orchestrate.pipeline.trigger": run.trigger_kind,
            "orchestrate.pipeline.status": run.status.value,
        },
        failed=run.status is RunStatus.FAILURE,
    )
