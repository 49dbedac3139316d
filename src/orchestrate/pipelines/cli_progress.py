"""``--wait``: work the job queue in this process and print each step as it changes.

The CLI needs no server (see ARCHITECTURE.md, "Process model"), so waiting on a run
means running a job runner here, like ``orchestrate worker`` would, until the run ends;
its handlers are every capability's, as the composition root wires them (``job_registry``).
Any worker already running shares the work; the queue's leases keep each job to one.
Progress is read from the run each time the event feed says something committed (in
this process at once, from other processes within the feed's latency), and at least
every ``POLL_SECONDS``: a status seen is printed once, with the step's time once it has
ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from orchestrate.cli.output import stderr
from orchestrate.cli.runtime import job_registry
from orchestrate.core.jobs import JobRunner
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service
from orchestrate.pipelines.models import PipelineRun, RunStatus, StepRun, StepStatus

POLL_SECONDS = 0.3

_MARKS = {
    StepStatus.RUNNING: "▶",
    StepStatus.WAITING: "⏸",
    StepStatus.SUCCESS: "✓",
    StepStatus.FAILURE: "✗",
    StepStatus.CANCELLED: "⊘",
    StepStatus.SKIPPED: "-",
}


async def run_here_and_follow(runtime: Runtime, run_id: str) -> PipelineRun:
    """Run jobs in this process while printing the run's progress; returns the ended run."""
    stop = asyncio.Event()
    runner = asyncio.create_task(
        JobRunner(runtime, job_registry(runtime)).run(stop), name="pipeline-wait-runner"
    )
    try:
        return await follow_progress(runtime, run_id, runner)
    finally:
        stop.set()  # the runner lets jobs in flight finish, or hands them back on Ctrl+C
        with contextlib.suppress(asyncio.CancelledError):
            await runner


async def follow_progress(
    runtime: Runtime, run_id: str, runner: asyncio.Task[None] | None = None
) -> PipelineRun:
    """Print each step's status changes until the run has ended."""
    seen: dict[str, StepStatus] = {}
    while True:
        generation = runtime.events.generation
        run = await service.get_run(runtime.uow(read_only=True), run_id)
        width = max((len(step.key) for step in run.steps), default=0)
        for step in run.steps:
            if seen.get(step.key) is step.status:
                continue
            seen[step.key] = step.status
            line = progress_line(step, width)
            if line:
                stderr.print(line, markup=False, highlight=False)
            if step.status is StepStatus.WAITING:
                stderr.print(
                    f"  approve with: orchestrate pipeline approve {run.id} {step.key}",
                    markup=False,
                    highlight=False,
                )
        if run.status.is_terminal:
            return run
        if runner is not None and runner.done():
            await runner  # it only ends early when it failed: raise that
        await runtime.events.wait(generation, POLL_SECONDS)


def progress_line(step: StepRun, width: int = 0) -> str | None:
    """``✓ test     success  1.2s`` for a status worth showing; None for pending/queued."""
    mark = _MARKS.get(step.status)
    if mark is None:
        return None
    line = f"{mark} {step.key.ljust(width)}  {step.status.value:<9}"
    if step.status is StepStatus.RUNNING and step.attempts > 1:
        line += f"  attempt {step.attempts}/{step.max_attempts}"
    if step.status.is_terminal and step.status is not StepStatus.SKIPPED:
        line += f"  {duration(step.started_at, step.finished_at)}"
    detail = step.skip_reason or step.error
    if step.reused_from:
        detail = f"reused from {step.reused_from}"
    if detail and step.status.is_terminal:
        line += f"  {detail}"
    return line.rstrip()


def duration(started: datetime | None, finished: datetime | None) -> str:
    """``1.2s`` or ``3m05s``; ``-`` when the thing has not both started and ended."""
    if started is None or finished is None:
        return "-"
    seconds = max((finished - started).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def report_end(run: PipelineRun) -> None:
    took = duration(run.started_at, run.finished_at)
    line = f"Run {run.id} ({run.pipeline} #{run.number}): {run.status.value} in {took}"
    if run.reason and run.status is not RunStatus.SUCCESS:
        line += f": {run.reason}"
    stderr.print(line, markup=False, highlight=False)
