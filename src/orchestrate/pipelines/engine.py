"""The engine: given a run's stored state, start what is ready and settle the run.

``advance`` is called in the transaction of every change to a run (a step finished,
an approval arrived, a cancellation), with the run row locked. It is idempotent: it
decides only from stored rows, so calling it twice, or after a crash, does no harm.
Steps whose ``needs`` have all ended are considered in file order: their ``if:`` is
evaluated with GitHub Actions' status functions, and they are skipped (with a
reason), or queued as a job, or set waiting for approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.jobs import NewJob, enqueue, enqueue_many
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import _store as store
from orchestrate.pipelines import kinds
from orchestrate.pipelines._store import LoadedRun, set_run_status, set_step_status
from orchestrate.pipelines.contexts import render, step_context
from orchestrate.pipelines.events import StepRetryScheduled
from orchestrate.pipelines.expressions import (
    ExpressionError,
    StatusFunctions,
    condition_uses_status_function,
    evaluate_condition,
    is_truthy,
)
from orchestrate.pipelines.matrix import expand_matrix, max_parallel
from orchestrate.pipelines.models import RunStatus, StepStatus
from orchestrate.pipelines.spec.models import StepKind, StepSpec
from orchestrate.pipelines.tables import PipelineStepRow

_ACTIVE = frozenset({StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.WAITING})
_ENDED_WORDS = {
    StepStatus.FAILURE: "failed",
    StepStatus.SKIPPED: "was skipped",
    StepStatus.CANCELLED: "was cancelled",
}


@dataclass(frozen=True)
class Outcome:
    """How one attempt of a step ended."""

    status: StepStatus
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


async def advance(uow: UnitOfWork, loaded: LoadedRun) -> None:
    """Start every step that is ready, then settle the run's status."""
    run_status = RunStatus(loaded.run.status)
    if run_status is RunStatus.QUEUED or run_status.is_terminal:
        return
    changed = True
    while changed:
        changed = False
        for step in loaded.spec.steps:
            row = loaded.steps[step.id]
            status = StepStatus(row.status)
            if status is StepStatus.PENDING:
                changed = await _consider(uow, loaded, step, row) or changed
            elif step.matrix is not None and status is StepStatus.RUNNING:
                changed = await _drive_matrix(uow, loaded, step, row) or changed
    await _settle(uow, loaded)


async def finish_attempt(
    uow: UnitOfWork, loaded: LoadedRun, row: PipelineStepRow, outcome: Outcome
) -> None:
    """Record how an attempt ended: retry it, or end the step; then advance the run."""
    step = loaded.spec.step(row.step_id)
    if _should_retry(loaded, step, row, outcome):
        assert step.retry is not None
        delay = step.retry.delay_before(row.attempts + 1)
        set_step_status(uow, row, StepStatus.QUEUED, error=outcome.error)
        retrying = StepRetryScheduled(
            subject=row.run_id,
            step=row.key,
            attempt=row.attempts + 1,
            delay_seconds=delay.total_seconds(),
        )
        record_event(uow, retrying)
        await _enqueue_step_job(uow, row, delay)
    else:
        row.outputs = {key: str(value) for key, value in outcome.outputs.items()}
        set_step_status(uow, row, outcome.status, error=outcome.error)
        row.conclusion = _conclusion(loaded, step, row).value
    await advance(uow, loaded)


def _should_retry(
    loaded: LoadedRun, step: StepSpec, row: PipelineStepRow, outcome: Outcome
) -> bool:
    return (
        outcome.status is StepStatus.FAILURE
        and step.retry is not None
        and row.attempts < row.max_attempts
        and not row.cancel_requested
        and not loaded.run.cancel_requested
    )


def _conclusion(loaded: LoadedRun, step: StepSpec, row: PipelineStepRow) -> StepStatus:
    status = StepStatus(row.status)
    if status is not StepStatus.FAILURE or step.continue_on_error is False:
        return status
    if step.continue_on_error is True:
        return StepStatus.SUCCESS
    try:
        tolerated = is_truthy(render(step.continue_on_error, step_context(loaded, step, row)))
    except (ExpressionError, ValidationFailed):
        tolerated = False
    return StepStatus.SUCCESS if tolerated else status


async def _consider(
    uow: UnitOfWork, loaded: LoadedRun, step: StepSpec, row: PipelineStepRow
) -> bool:
    """Decide a pending step whose needs have all ended; False while they have not."""
    needs = [loaded.steps[need] for need in step.needs]
    if not all(StepStatus(need.status).is_terminal for need in needs):
        return False
    status = _status_functions(loaded, step)
    if loaded.run.cancel_requested and not condition_uses_status_function(step.if_):
        _end_untouched(uow, row, StepStatus.CANCELLED)
        return True
    try:
        should_run = evaluate_condition(step.if_, step_context(loaded, step), status)
    except ExpressionError as error:
        _end_untouched(uow, row, StepStatus.FAILURE, error=f"if: {error}")
        return True
    if not should_run:
        reason = _skip_reason(loaded, step, status)
        set_step_status(uow, row, StepStatus.SKIPPED, skip_reason=reason)
        row.conclusion = StepStatus.SKIPPED.value
        return True
    if step.matrix is not None:
        await _expand(uow, loaded, step, row)
    else:
        await _launch(uow, loaded, step, row)
    return True


def _end_untouched(
    uow: UnitOfWork, row: PipelineStepRow, status: StepStatus, *, error: str | None = None
) -> None:
    set_step_status(uow, row, status, error=error)
    row.conclusion = status.value


def _ancestors(loaded: LoadedRun, step: StepSpec) -> list[PipelineStepRow]:
    seen: dict[str, None] = {}
    stack = list(step.needs)
    while stack:
        step_id = stack.pop()
        if step_id in seen:
            continue
        seen[step_id] = None
        stack.extend(loaded.spec.step(step_id).needs)
    return [loaded.steps[step_id] for step_id in seen]


def _status_functions(loaded: LoadedRun, step: StepSpec) -> StatusFunctions:
    """GitHub's rules: success() when every ancestor succeeded, failure() when any failed."""
    conclusions = [StepStatus(row.conclusion or row.status) for row in _ancestors(loaded, step)]
    return StatusFunctions(
        success=all(c is StepStatus.SUCCESS for c in conclusions)
        and not loaded.run.cancel_requested,
        failure=any(c is StepStatus.FAILURE for c in conclusions),
        cancelled=loaded.run.cancel_requested,
    )


def _skip_reason(loaded: LoadedRun, step: StepSpec, status: StatusFunctions) -> str:
    if not status.success and not condition_uses_status_function(step.if_):
        for need in step.needs:
            row = loaded.steps[need]
            conclusion = StepStatus(row.conclusion or row.status)
            if conclusion is not StepStatus.SUCCESS:
                return f"needs '{need}', which {_ENDED_WORDS.get(conclusion, conclusion.value)}"
        return "an earlier step did not succeed"
    if step.if_ is None:
        return "the run was cancelled"
    return f"its condition was false: {step.if_}"


async def _expand(uow: UnitOfWork, loaded: LoadedRun, step: StepSpec, row: PipelineStepRow) -> None:
    assert step.matrix is not None
    try:
        combinations = expand_matrix(render(step.matrix, step_context(loaded, step)))
    except (ExpressionError, ValidationFailed) as error:
        _end_untouched(uow, row, StepStatus.FAILURE, error=f"matrix: {error}")
        return
    now = uow.now()
    for index, combination in enumerate(combinations, start=1):
        instance = PipelineStepRow(
            id=new_id("step", now),
            run_id=row.run_id,
            key=f"{step.id}[{index}]",
            step_id=step.id,
            position=index,
            parent_key=step.id,
            matrix=combination,
            status=StepStatus.PENDING.value,
            attempts=0,
            max_attempts=step.max_attempts,
            outputs={},
            approvals=[],
            cancel_requested=False,
            updated_at=now,
        )
        store.stage(uow, instance)
        loaded.steps[instance.key] = instance
    set_step_status(uow, row, StepStatus.RUNNING)
    await _drive_matrix(uow, loaded, step, row)


async def _drive_matrix(
    uow: UnitOfWork, loaded: LoadedRun, step: StepSpec, row: PipelineStepRow
) -> bool:
    """Start instances up to ``max_parallel``; end the step when every instance has ended."""
    assert step.matrix is not None
    instances = loaded.instances(step.id)
    changed = False
    limit = max_parallel(step.matrix) or len(instances)
    active = sum(1 for item in instances if StepStatus(item.status) in _ACTIVE)
    for instance in instances:
        if StepStatus(instance.status) is not StepStatus.PENDING:
            continue
        if loaded.run.cancel_requested or row.cancel_requested:
            _end_untouched(uow, instance, StepStatus.CANCELLED)
        elif active < limit:
            await _launch(uow, loaded, step, instance)
            active += 1
        else:
            continue
        changed = True
    if all(StepStatus(item.status).is_terminal for item in instances):
        _end_matrix(uow, row, instances)
        changed = True
    return changed


def _end_matrix(uow: UnitOfWork, row: PipelineStepRow, instances: list[PipelineStepRow]) -> None:
    statuses = {StepStatus(item.status) for item in instances}
    conclusions = {StepStatus(item.conclusion or item.status) for item in instances}
    outputs: dict[str, Any] = {}
    for item in instances:
        outputs.update(item.outputs)
    row.outputs = outputs
    row.attempts = max(item.attempts for item in instances)
    status = _worst(statuses)
    set_step_status(uow, row, status)
    row.conclusion = _worst(conclusions).value


def _worst(statuses: set[StepStatus]) -> StepStatus:
    for status in (StepStatus.FAILURE, StepStatus.CANCELLED):
        if status in statuses:
            return status
    return StepStatus.SUCCESS


async def _launch(uow: UnitOfWork, loaded: LoadedRun, step: StepSpec, row: PipelineStepRow) -> None:
    """Hand the step (or matrix instance) to whatever runs its kind."""
    if step.kind in (StepKind.RUN, StepKind.AGENT, StepKind.CI, StepKind.SCAN):
        set_step_status(uow, row, StepStatus.QUEUED)
        job = _step_job(row, None, uow)
        if loaded.take_step is None or not await loaded.take_step(uow, row, job):
            await enqueue_many(uow, [job])
    elif step.kind is StepKind.APPROVAL:
        assert step.approval is not None
        set_step_status(uow, row, StepStatus.WAITING)
        if step.approval.timeout is not None:
            await enqueue(
                uow,
                kinds.APPROVAL_TIMEOUT,
                kinds.StepRef(step=row.id),
                key=kinds.once_key(kinds.APPROVAL_TIMEOUT, row.id),
                run_at=uow.now() + step.approval.timeout,
            )
    else:
        set_step_status(uow, row, StepStatus.RUNNING)
        row.attempts = 1
        key = kinds.once_key(kinds.START_CHILD, row.id)
        await enqueue(uow, kinds.START_CHILD, kinds.StepRef(step=row.id), key=key)


async def _enqueue_step_job(uow: UnitOfWork, row: PipelineStepRow, delay: timedelta | None) -> None:
    await enqueue_many(uow, [_step_job(row, delay, uow)])


def _step_job(
    row: PipelineStepRow, delay: timedelta | None, uow: UnitOfWork
) -> NewJob[kinds.AttemptRef]:
    attempt = row.attempts + 1
    return NewJob(
        kinds.STEP,
        kinds.AttemptRef(step=row.id, run=row.run_id, attempt=attempt),
        key=kinds.step_job_key(row.id, attempt),
        run_at=uow.now() + delay if delay else None,
        max_attempts=50,
    )


async def _settle(uow: UnitOfWork, loaded: LoadedRun) -> None:
    rows = loaded.base_rows()
    if all(StepStatus(row.status).is_terminal for row in rows):
        await finish_run(uow, loaded)
        return
    working = [
        StepStatus(row.status)
        for row in loaded.steps.values()
        if row.parent_key is not None or loaded.spec.step(row.step_id).matrix is None
    ]
    busy = any(status in (StepStatus.QUEUED, StepStatus.RUNNING) for status in working)
    waiting = StepStatus.WAITING in working
    target = RunStatus.WAITING if waiting and not busy else RunStatus.RUNNING
    set_run_status(uow, loaded.run, target)


async def finish_run(uow: UnitOfWork, loaded: LoadedRun) -> None:
    run = loaded.run
    conclusions = {StepStatus(row.conclusion or row.status) for row in loaded.base_rows()}
    if run.timed_out:
        status = RunStatus.FAILURE
    elif run.cancel_requested:
        status = RunStatus.CANCELLED
    elif StepStatus.FAILURE in conclusions:
        status = RunStatus.FAILURE
    elif StepStatus.CANCELLED in conclusions:
        status = RunStatus.CANCELLED
    else:
        status = RunStatus.SUCCESS
    set_run_status(uow, run, status)
    if run.parent_step_id:
        await enqueue(
            uow,
            kinds.CHILD_FINISHED,
            kinds.ChildFinished(step=run.parent_step_id, run=run.id, status=status),
            key=kinds.once_key(kinds.CHILD_FINISHED, run.id),
        )
    if run.concurrency_group:
        await enqueue(
            uow,
            kinds.START_QUEUED,
            kinds.GroupRef(group=run.concurrency_group),
            key=kinds.once_key(kinds.START_QUEUED, run.id),
        )
    if run.workspace_path:
        key = kinds.once_key(kinds.CLEANUP, run.id)
        await enqueue(uow, kinds.CLEANUP, kinds.RunRef(run=run.id), key=key)
