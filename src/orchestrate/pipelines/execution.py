"""The ``pipelines.step`` job: one attempt of a ``run`` or ``agent`` step.

Two transactions bracket the work. The first claims the attempt (``queued →
running``, or the same job again after its worker died) and prepares everything from
stored state; the second records the outcome, advances the run and completes the job
in one commit, fenced by the job's lease, so each step's outputs come from exactly one
attempt however often a worker dies. A shell command runs between them; an agent
step only starts its agent there, and ends when the agent's finish notice arrives.

The second transaction also takes the first step it unblocks: that step's job is
enqueued leased to this worker and the step marked ``running`` there, and its attempt
is prepared from the same rows, so the next step needs no first transaction at all.
A crash in between leaves a running step with a leased job: the job's lease expires
and whichever worker reclaims it takes the step over, as after any crash.
"""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import structlog

from orchestrate.agents import service as agents
from orchestrate.auth.service import Actor, Role
from orchestrate.core.errors import OrchestrateError, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.jobs import Job, JobContext, NewJob, enqueue
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import kinds, spans
from orchestrate.pipelines._store import (
    LoadedRun,
    StepTaker,
    load_run,
    set_step_status,
)
from orchestrate.pipelines.attempt import Attempt
from orchestrate.pipelines.ci_steps import start_ci_step
from orchestrate.pipelines.contexts import render, step_context
from orchestrate.pipelines.engine import Outcome, finish_attempt
from orchestrate.pipelines.events import StepAgentStarted
from orchestrate.pipelines.expressions import ExpressionError
from orchestrate.pipelines.kinds import AttemptRef
from orchestrate.pipelines.models import StepStatus
from orchestrate.pipelines.scan_steps import run_scan_step
from orchestrate.pipelines.shell_steps import run_shell_step
from orchestrate.pipelines.spec.models import StepKind
from orchestrate.pipelines.steps.shell import end_orphan
from orchestrate.pipelines.tables import PipelineStepRow
from orchestrate.pipelines.workspace import logs_root

log = structlog.get_logger(__name__)

_PREPARED: dict[str, Attempt] = {}
"""Attempts of steps this process took in a finishing transaction, by job id, until run."""
_PREPARED_LIMIT = 1024


async def run_step_job(job: JobContext[AttemptRef]) -> None:
    attempt = await _claim(job)
    if attempt is None:
        return
    with spans.step_attempt(attempt) as span:
        outcome: Outcome | None
        agent_id = None
        try:
            if attempt.kind is StepKind.RUN:
                outcome = await run_shell_step(job, attempt)
            elif attempt.kind is StepKind.CI:
                outcome = await start_ci_step(job, attempt)
            elif attempt.kind is StepKind.SCAN:
                outcome = await run_scan_step(job, attempt)
            else:
                outcome, agent_id = None, await _start_agent_step(job, attempt)
        except OrchestrateError as error:
            outcome = Outcome(StepStatus.FAILURE, error=str(error))
        if outcome is not None:
            outcome = await _record(job, attempt, outcome)
        spans.step_ended(span, attempt, outcome.status if outcome else None, agent_id=agent_id)


async def _claim(job: JobContext[AttemptRef]) -> Attempt | None:
    """Transaction one: ``queued → running`` for this attempt, or nothing if it is stale."""
    prepared = _PREPARED.pop(job.job.id, None)
    if prepared is not None and job.job.attempt == 1:
        return prepared  # taken in the transaction that ended the step before it
    number = job.payload.attempt
    async with job.uow() as uow:
        loaded = await load_run(uow, job.payload.run)
        row = _row_by_id(loaded, job.payload.step)
        status = StepStatus(row.status)
        fresh = status is StepStatus.QUEUED and row.attempts + 1 == number
        taken_over = status is StepStatus.RUNNING and _job_of(row) == job.job.id
        if not (fresh or taken_over):
            await job.complete_in(uow, {"stale": True})
            await uow.commit()
            return None
        if taken_over and row.log_path:
            end_orphan(Path(row.log_path))
        # Only the step's own flag: a run's cancellation flags the steps it found running;
        # steps started after it (``if: always()``) must still run.
        if row.cancel_requested:
            await finish_attempt(uow, loaded, row, Outcome(StepStatus.CANCELLED))
            await job.complete_in(uow)
            await uow.commit()
            return None
        attempt = _prepare(job.runtime.settings.home, loaded, row, number)
        if fresh:
            set_step_status(uow, row, StepStatus.RUNNING)
            row.attempts = number
        # A job taken over keeps what its earlier try recorded (a ci: step's trigger mark).
        kept = dict(row.process or {}) if taken_over else {}
        row.process = {**kept, "job": job.job.id, "worker": job.worker_id}
        row.log_path = str(attempt.log_path)
        await uow.commit()
    return attempt


def _prepare(home: Path, loaded: LoadedRun, row: PipelineStepRow, number: int) -> Attempt:
    step = loaded.spec.step(row.step_id)
    run = loaded.run
    log_path = logs_root(home) / run.id / f"{row.key}.log"
    return Attempt(
        run_id=run.id,
        step_row_id=row.id,
        key=row.key,
        number=number,
        kind=step.kind,
        workspace=Path(run.workspace_path or "."),
        repo=Path(run.repo_path) if run.repo_path else None,
        log_path=log_path,
        context=step_context(loaded, step, row),
        step=step,
        spec=loaded.spec,
        created_by=run.created_by,
    )


async def _start_agent_step(job: JobContext[AttemptRef], attempt: Attempt) -> str:
    """Start the agent (once per attempt, by origin key); the step ends when it reports
    back. Returns the agent's id."""
    request = _agent_request(attempt)
    agent = await agents.start_agent(
        job.runtime.uow(), job.runtime.settings, request, _starter(attempt)
    )
    async with job.uow() as uow:
        loaded = await load_run(uow, attempt.run_id)
        row = _row_by_id(loaded, attempt.step_row_id)
        if row.attempts == attempt.number and _job_of(row) == job.job.id:
            row.agent_id = agent.id
            record_event(uow, StepAgentStarted(subject=row.run_id, step=row.key, agent_id=agent.id))
            if row.cancel_requested:
                await enqueue(
                    uow,
                    kinds.CANCEL_AGENT,
                    kinds.AgentRef(agent=agent.id),
                    key=kinds.once_key(kinds.CANCEL_AGENT, row.id),
                )
        await job.complete_in(uow, {"agent_id": agent.id})
        await uow.commit()
    return agent.id


def _starter(attempt: Attempt) -> Actor:
    """The run's starter, so the agent's audit records name the token that started it.

    A run stores only its starter's name; operator is the least role that may trigger a
    run, so the agent can do nothing its starter could not do over the API.
    """
    return Actor(
        name=attempt.created_by, role=Role.OPERATOR, source=f"pipeline run {attempt.run_id}"
    )


def _agent_request(attempt: Attempt) -> agents.StartAgent:
    step = attempt.step
    assert step.agent is not None
    try:
        values = render(step.with_, attempt.context)
    except ExpressionError as error:
        raise ValidationFailed(f"with: {error}") from None
    task = str(values.get("task") or "").strip()
    repo = values.get("repo") or (str(attempt.repo) if attempt.repo else None)
    return agents.StartAgent(
        type=step.agent,
        task=task,
        story=_optional(values.get("story")),
        repo=Path(repo) if repo else None,
        base_ref=str(values.get("base_ref") or "HEAD"),
        provider=_optional(values.get("provider")),
        model=_optional(values.get("model")),
        max_turns=int(values["max_turns"]) if values.get("max_turns") not in (None, "") else None,
        max_cost_usd=_money(values.get("max_cost_usd")),
        origin_key=f"pipeline-step:{attempt.step_row_id}:{attempt.number}",
        force=_flag(values.get("force"), "force"),
        pipeline=attempt.spec.name,
        pipeline_run_id=attempt.run_id,
        on_finished=agents.OnFinished(
            kinds.AGENT_FINISHED,
            kinds.AttemptRef(step=attempt.step_row_id, run=attempt.run_id, attempt=attempt.number),
        ),
    )


def _optional(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _flag(value: Any, key: str) -> bool:
    """A ``with:`` switch: true or false (as YAML or an expression renders it)."""
    if value in (None, "", False, "false", "False"):
        return False
    if value in (True, "true", "True"):
        return True
    raise ValidationFailed(f"with: {key} must be true or false, got {value!r}")


def _money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed(f"with: max_cost_usd must be a number, got {value!r}") from None


async def _record(job: JobContext[AttemptRef], attempt: Attempt, outcome: Outcome) -> Outcome:
    """Transaction two: the outcome, the run's next steps and the job's completion, at once.
    Returns the outcome as recorded (a failure of a step being cancelled is a cancel)."""
    taken: list[tuple[PipelineStepRow, Job]] = []
    async with job.uow() as uow:
        loaded = await load_run(uow, attempt.run_id)
        row = _row_by_id(loaded, attempt.step_row_id)
        if StepStatus(row.status) is StepStatus.RUNNING and row.attempts == attempt.number:
            if outcome.status is StepStatus.FAILURE and row.cancel_requested:
                outcome = Outcome(StepStatus.CANCELLED, outcome.outputs, outcome.error)
            loaded.take_step = _step_taker(job, taken)
            await finish_attempt(uow, loaded, row, outcome)
            _prepare_taken(job, uow, loaded, taken)
        await job.complete_in(uow, {"status": outcome.status.value})
        await uow.commit()
    log.info(
        "pipeline_step_attempt_ended",
        run_id=attempt.run_id,
        step=attempt.key,
        attempt=attempt.number,
        status=outcome.status.value,
    )
    return outcome


def _step_taker(job: JobContext[AttemptRef], taken: list[tuple[PipelineStepRow, Job]]) -> StepTaker:
    """Run the step's new job on this worker: enqueued leased here, the step ``running``."""

    async def take(uow: UnitOfWork, row: PipelineStepRow, new_job: NewJob[AttemptRef]) -> bool:
        adopted = await job.adopt_in(uow, new_job)
        if adopted is None:
            return False
        set_step_status(uow, row, StepStatus.RUNNING)
        row.attempts = new_job.payload.attempt
        row.process = {"job": adopted.id, "worker": job.worker_id}
        taken.append((row, adopted))
        return True

    return take


def _prepare_taken(
    job: JobContext[AttemptRef],
    uow: UnitOfWork,
    loaded: LoadedRun,
    taken: list[tuple[PipelineStepRow, Job]],
) -> None:
    """Prepare taken steps from the rows as this transaction leaves them; cache on commit.

    Preparing after the whole advance sees exactly what the step's own load would. If
    preparing fails, nothing is cached and the step's job meets the error in its claim.
    """
    for row, adopted in taken:
        try:
            attempt = _prepare(job.runtime.settings.home, loaded, row, row.attempts)
        except (OrchestrateError, ExpressionError):
            continue
        row.log_path = str(attempt.log_path)
        uow.after_commit(functools.partial(_cache, adopted.id, attempt))


def _cache(job_id: str, attempt: Attempt) -> None:
    while len(_PREPARED) >= _PREPARED_LIMIT:
        del _PREPARED[next(iter(_PREPARED))]
    _PREPARED[job_id] = attempt


def _row_by_id(loaded: LoadedRun, step_row_id: str) -> PipelineStepRow:
    for row in loaded.steps.values():
        if row.id == step_row_id:
            return row
    raise ValidationFailed(f"Run {loaded.run.id} has no step row {step_row_id}")


def _job_of(row: PipelineStepRow) -> str | None:
    return str(row.process["job"]) if row.process and "job" in row.process else None
