"""Jobs that react to something outside a run's own steps: an agent ended, a child run
ended, an approval timed out, the run's timeout passed, a concurrency group freed up,
a cancellation must reach an agent, a child run or a CI platform, a workspace must go.

Each handler does its work and completes its job in one transaction, so it takes effect
exactly once; each checks the stored state first, so a late or repeated job is a no-op.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

from orchestrate.agents import service as agents
from orchestrate.auth.service import Actor
from orchestrate.core.errors import InvalidTransition, NotFound, OrchestrateError
from orchestrate.core.jobs import JobContext, JobRegistry
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import approvals, kinds
from orchestrate.pipelines._store import find_step, load_run, pipeline_row, run_row
from orchestrate.pipelines.ci_cancel import cancel_ci_run
from orchestrate.pipelines.ci_steps import poll_ci_step
from orchestrate.pipelines.contexts import render, step_context
from orchestrate.pipelines.control import cancel_run_rows
from orchestrate.pipelines.engine import Outcome, finish_attempt
from orchestrate.pipelines.execution import run_step_job
from orchestrate.pipelines.inputs import resolve_inputs
from orchestrate.pipelines.kinds import (
    AgentRef,
    AttemptRef,
    CancelRun,
    ChildFinished,
    GroupRef,
    RunRef,
    StepRef,
)
from orchestrate.pipelines.launch import NewRun, create_run, start_next_in_group
from orchestrate.pipelines.models import RunStatus, StepStatus, TriggerKind
from orchestrate.pipelines.spec.models import PipelineSpec
from orchestrate.pipelines.workspace import remove_workspace


def register_pipeline_jobs(registry: JobRegistry, runtime: Runtime) -> None:
    """Every job handler of the pipelines capability."""
    del runtime  # handlers get the runtime from their job context
    registry.register(kinds.STEP, run_step_job)
    registry.register(kinds.CI_POLL, poll_ci_step)
    registry.register(kinds.CI_CANCEL, cancel_ci_run)
    registry.register(kinds.AGENT_FINISHED, agent_finished)
    registry.register(kinds.APPROVAL_TIMEOUT, approval_timed_out)
    registry.register(kinds.START_CHILD, start_child)
    registry.register(kinds.CHILD_FINISHED, child_finished)
    registry.register(kinds.START_QUEUED, start_queued)
    registry.register(kinds.CANCEL_AGENT, cancel_agent)
    registry.register(kinds.CANCEL_RUN, cancel_run)
    registry.register(kinds.RUN_TIMEOUT, run_timed_out)
    registry.register(kinds.CLEANUP, cleanup, timeout=timedelta(minutes=5))


async def agent_finished(job: JobContext[agents.AgentFinished[AttemptRef]]) -> None:
    """The agent of an agent step ended: the step succeeds only if it ``completed``."""
    attempt, agent = job.payload.context, job.payload.outcome
    async with job.uow() as uow:
        loaded = await load_run(uow, attempt.run)
        row = await find_step(uow, attempt.step)
        if (
            row is not None
            and StepStatus(row.status) is StepStatus.RUNNING
            and row.attempts == attempt.attempt
        ):
            row = loaded.steps[row.key]
            row.agent_id = agent.agent_id
            await finish_attempt(uow, loaded, row, _agent_outcome(agent, row.cancel_requested))
        await job.complete_in(uow)
        await uow.commit()


def _agent_outcome(agent: agents.AgentOutcome, cancel_requested: bool) -> Outcome:
    outputs = {
        "status": agent.state.value,
        "summary": agent.summary or "",
        "branch": agent.branch or "",
        "agent_id": agent.agent_id,
        "cost_usd": str(agent.cost_usd),
    }
    match agent.state:
        case agents.AgentState.COMPLETED:
            return Outcome(StepStatus.SUCCESS, outputs)
        case agents.AgentState.CANCELLED if cancel_requested:
            return Outcome(StepStatus.CANCELLED, outputs)
        case _:
            reason = agent.failure_reason or f"the agent ended {agent.state.value}"
            return Outcome(StepStatus.FAILURE, outputs, f"agent {agent.agent_id}: {reason}")


async def approval_timed_out(job: JobContext[StepRef]) -> None:
    async with job.uow() as uow:
        await approvals.expire(uow, job.payload.step)
        await job.complete_in(uow)
        await uow.commit()


async def start_child(job: JobContext[StepRef]) -> None:
    """Create the run of a ``pipeline:`` step in the same transaction that records it."""
    async with job.uow() as uow:
        row = await find_step(uow, job.payload.step)
        if row is not None and row.child_run_id is None and row.status == StepStatus.RUNNING:
            loaded = await load_run(uow, row.run_id)
            row = loaded.steps[row.key]
            step = loaded.spec.step(row.step_id)
            if row.cancel_requested:
                await finish_attempt(uow, loaded, row, Outcome(StepStatus.CANCELLED))
            else:
                try:
                    assert step.pipeline is not None
                    child_pipeline = await pipeline_row(uow, step.pipeline, for_update=True)
                    given = render(step.with_, step_context(loaded, step, row))
                    inputs = resolve_inputs(PipelineSpec.model_validate(child_pipeline.spec), given)
                    trigger = {
                        "pipeline": loaded.run.pipeline,
                        "run_id": loaded.run.id,
                        "step": row.key,
                        "inputs": loaded.run.inputs,
                    }
                    child = await create_run(
                        uow,
                        job.runtime.settings,
                        child_pipeline,
                        # The parent's starter starts the child: its agents act in that name.
                        NewRun(
                            inputs, trigger, TriggerKind.PIPELINE, loaded.run.created_by, row.id
                        ),
                    )
                    row.child_run_id = child.run.id
                except OrchestrateError as error:
                    outcome = Outcome(
                        StepStatus.FAILURE, error=f"pipeline '{step.pipeline}': {error}"
                    )
                    await finish_attempt(uow, loaded, row, outcome)
        await job.complete_in(uow)
        await uow.commit()


async def child_finished(job: JobContext[ChildFinished]) -> None:
    """A ``pipeline:`` step's run ended: the step succeeds only if the run did."""
    finished = job.payload
    async with job.uow() as uow:
        row = await find_step(uow, finished.step)
        if (
            row is not None
            and StepStatus(row.status) is StepStatus.RUNNING
            and row.child_run_id == finished.run
        ):
            loaded = await load_run(uow, row.run_id)
            row = loaded.steps[row.key]
            child = await run_row(uow, finished.run)
            status = finished.status
            outputs = {"run_id": child.id, "number": str(child.number), "status": status.value}
            match status:
                case RunStatus.SUCCESS:
                    outcome = Outcome(StepStatus.SUCCESS, outputs)
                case RunStatus.CANCELLED if row.cancel_requested:
                    outcome = Outcome(StepStatus.CANCELLED, outputs)
                case _:
                    reason = f"pipeline '{child.pipeline}' run #{child.number} ended {status.value}"
                    outcome = Outcome(StepStatus.FAILURE, outputs, reason)
            await finish_attempt(uow, loaded, row, outcome)
        await job.complete_in(uow)
        await uow.commit()


async def start_queued(job: JobContext[GroupRef]) -> None:
    async with job.uow() as uow:
        started = await start_next_in_group(uow, job.payload.group)
        await job.complete_in(uow, {"started": started})
        await uow.commit()


async def cancel_agent(job: JobContext[AgentRef]) -> None:
    """Reach the agent of a cancelled step; its finish notice then ends the step."""
    # An agent that already ended (its notice ends the step) or was deleted needs nothing.
    with contextlib.suppress(InvalidTransition, NotFound):
        await agents.cancel(job.runtime.uow(), job.payload.agent, Actor.system("pipelines"))


async def cancel_run(job: JobContext[CancelRun]) -> None:
    async with job.uow() as uow:
        await cancel_run_rows(uow, job.payload.run, reason=job.payload.reason)
        await job.complete_in(uow)
        await uow.commit()


async def run_timed_out(job: JobContext[RunRef]) -> None:
    async with job.uow() as uow:
        run = await run_row(uow, job.payload.run)
        if not RunStatus(run.status).is_terminal:
            spec = PipelineSpec.model_validate(run.spec)
            limit = spec.timeout.total_seconds() if spec.timeout else 0
            await cancel_run_rows(uow, run.id, reason=f"timed out after {limit:g}s", timed_out=True)
        await job.complete_in(uow)
        await uow.commit()


async def cleanup(job: JobContext[RunRef]) -> None:
    async with job.runtime.uow(read_only=True) as uow:
        run = await run_row(uow, job.payload.run)
        path = Path(run.workspace_path) if run.workspace_path else None
        repo = Path(run.repo_path) if run.repo_path else None
    if path is not None:
        await remove_workspace(path, repo)
