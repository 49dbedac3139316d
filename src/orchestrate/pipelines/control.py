"""Cancelling a run or one step, whatever state it is in.

Steps that have not started end ``cancelled`` at once. A running shell command is
asked to stop (its job notices within a second and ends the process group); a running
agent or child pipeline is cancelled by a job, and its step ends when that reports
back. A running ``ci:`` step ends at once and a job cancels the platform's run it
started. A run ends ``cancelled`` once nothing of it is running — except steps whose
``if:`` asks for ``always()`` or ``cancelled()``, which still run, as in GitHub Actions.
"""

from __future__ import annotations

from orchestrate.core.errors import Conflict, NotFound
from orchestrate.core.jobs import enqueue
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import kinds
from orchestrate.pipelines._store import LoadedRun, load_run, set_step_status
from orchestrate.pipelines.ci_cancel import cancel_order, request_cancel
from orchestrate.pipelines.engine import advance, finish_run
from orchestrate.pipelines.models import RunStatus, StepStatus
from orchestrate.pipelines.spec.models import StepKind
from orchestrate.pipelines.tables import PipelineStepRow


async def cancel_run_rows(
    uow: UnitOfWork, run_id: str, *, reason: str | None = None, timed_out: bool = False
) -> LoadedRun:
    """Cancel a run inside the caller's transaction; a finished run is left as it is."""
    loaded = await load_run(uow, run_id)
    run = loaded.run
    if RunStatus(run.status).is_terminal:
        return loaded
    run.cancel_requested = True
    run.timed_out = run.timed_out or timed_out
    if reason and not run.reason:
        run.reason = reason
    if RunStatus(run.status) is RunStatus.QUEUED:
        for row in loaded.steps.values():
            if not StepStatus(row.status).is_terminal:
                _end(uow, row, StepStatus.CANCELLED)
        await finish_run(uow, loaded)
        return loaded
    for row in list(loaded.steps.values()):
        if StepStatus(row.status) is not StepStatus.PENDING:
            await cancel_row(uow, loaded, row)
    await advance(uow, loaded)
    return loaded


async def cancel_step_rows(uow: UnitOfWork, run_id: str, key: str) -> LoadedRun:
    """Cancel one step (or matrix instance) of a run; its dependents then skip as usual."""
    loaded = await load_run(uow, run_id)
    row = loaded.steps.get(key)
    if row is None:
        raise NotFound(
            f"Run {run_id} has no step '{key}' (steps: {', '.join(loaded.steps)})",
            run_id=run_id,
            step=key,
        )
    if StepStatus(row.status).is_terminal:
        raise Conflict(f"Step '{key}' has already ended ({row.status})", run_id=run_id, step=key)
    await cancel_row(uow, loaded, row)
    await advance(uow, loaded)
    return loaded


async def cancel_row(uow: UnitOfWork, loaded: LoadedRun, row: PipelineStepRow) -> None:
    """Stop one step row in whatever way its state and kind need."""
    status = StepStatus(row.status)
    if status.is_terminal:
        return
    row.cancel_requested = True
    step = loaded.spec.step(row.step_id)
    if status in (StepStatus.PENDING, StepStatus.QUEUED, StepStatus.WAITING):
        _end(uow, row, StepStatus.CANCELLED)
    elif step.matrix is not None and row.parent_key is None:
        for instance in loaded.instances(step.id):
            await cancel_row(uow, loaded, instance)
    elif step.kind is StepKind.CI:
        # Nothing of ours runs: the poll job finds the step ended. The platform's run is
        # cancelled by a job; one still being triggered is cancelled by the trigger's
        # job when it finds the step ended (``ci_steps``).
        await _cancel_ci_step(uow, loaded, row)
    elif step.kind is StepKind.SCAN:
        # The scan runs to its end in its job, which then finds the step ended and
        # records nothing more than the scan itself.
        _end(uow, row, StepStatus.CANCELLED)
    elif step.kind is StepKind.AGENT and row.agent_id:
        await enqueue(
            uow,
            kinds.CANCEL_AGENT,
            kinds.AgentRef(agent=row.agent_id),
            key=kinds.once_key(kinds.CANCEL_AGENT, row.id),
        )
    elif step.kind is StepKind.PIPELINE and row.child_run_id:
        await enqueue(
            uow,
            kinds.CANCEL_RUN,
            kinds.CancelRun(
                run=row.child_run_id, reason=f"its parent step '{row.key}' was cancelled"
            ),
            key=kinds.once_key(kinds.CANCEL_RUN, row.child_run_id),
        )
    # A running shell command (or an agent or child run not yet started) sees
    # ``cancel_requested`` from its own job and ends the step itself.


async def _cancel_ci_step(uow: UnitOfWork, loaded: LoadedRun, row: PipelineStepRow) -> None:
    """End the step and ask for its platform run's cancel (the row's process, which
    names the run, is cleared when the step ends: it is read first)."""
    process = dict(row.process or {})
    order = cancel_order(row, process, starter=loaded.run.created_by, reason=_why(loaded))
    _end(uow, row, StepStatus.CANCELLED)
    if order is not None:
        await request_cancel(uow, order)


def _why(loaded: LoadedRun) -> str:
    if loaded.run.timed_out:
        return "the pipeline run timed out"
    if loaded.run.cancel_requested:
        return "the pipeline run was cancelled"
    return "the step was cancelled"


def _end(uow: UnitOfWork, row: PipelineStepRow, status: StepStatus) -> None:
    set_step_status(uow, row, status)
    row.conclusion = status.value
