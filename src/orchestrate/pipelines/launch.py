"""Creating runs and starting them, within their concurrency group.

A run is created with one pending row per step (or, for a re-run, with the reused
successes already ended). It starts at once unless another run of its concurrency
group is active: then it waits, ``queued``, and any older waiting run of the group is
cancelled (GitHub Actions: one running, one pending). With ``cancel_in_progress`` the
active run is cancelled instead; the waiting one starts when it has ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.jobs import enqueue
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import _store as store
from orchestrate.pipelines import kinds
from orchestrate.pipelines._store import (
    ACTIVE_RUN,
    LoadedRun,
    group_runs,
    load_run,
    lock_group,
    set_run_status,
    spec_of,
)
from orchestrate.pipelines.control import cancel_run_rows
from orchestrate.pipelines.engine import advance
from orchestrate.pipelines.events import RunHeldForGroup, RunQueued
from orchestrate.pipelines.expressions import interpolate
from orchestrate.pipelines.models import RunStatus, StepStatus, TriggerKind
from orchestrate.pipelines.spec.models import PipelineSpec
from orchestrate.pipelines.tables import PipelineRow, PipelineRunRow, PipelineStepRow
from orchestrate.pipelines.workspace import workspace_root


@dataclass(frozen=True)
class NewRun:
    """Everything a run is created from; ``inputs`` are already resolved."""

    inputs: dict[str, Any]
    trigger: dict[str, Any]
    kind: TriggerKind
    created_by: str
    parent_step_id: str | None = None
    rerun_of: str | None = None
    reused: dict[str, PipelineStepRow] = field(default_factory=dict)
    """Steps of an earlier run that succeeded, by step id, to end as reused successes."""
    spec: dict[str, Any] | None = None
    """The spec to run when not the pipeline's current one (a re-run runs what ran)."""


async def create_run(
    uow: UnitOfWork, settings: Settings, pipeline: PipelineRow, new: NewRun
) -> LoadedRun:
    """Store a run of ``pipeline`` and start it unless its concurrency group is busy."""
    document = new.spec if new.spec is not None else pipeline.spec
    spec = PipelineSpec.model_validate(document)
    now = uow.now()
    run_id = new_id("prun", now)
    number = pipeline.next_number
    pipeline.next_number = number + 1
    run = PipelineRunRow(
        id=run_id,
        pipeline=pipeline.name,
        number=number,
        status=RunStatus.QUEUED.value,
        spec=document,
        inputs=new.inputs,
        trigger=new.trigger,
        trigger_kind=new.kind.value,
        cancel_requested=False,
        timed_out=False,
        parent_step_id=new.parent_step_id,
        rerun_of=new.rerun_of,
        repo_path=pipeline.repo_path,
        workspace_path=str(workspace_root(settings.home) / run_id),
        created_by=new.created_by,
        created_at=now,
        updated_at=now,
    )
    run.concurrency_group = _group(spec, run)
    store.stage(uow, run)
    loaded = LoadedRun(run, spec_of(run), {})
    for position, step in enumerate(spec.steps):
        row = _step_row(uow, run_id, step.id, position, step.max_attempts)
        reused = new.reused.get(step.id)
        if reused is not None:
            _reuse(row, reused)
        store.stage(uow, row)
        loaded.steps[row.key] = row
    await store.flush(uow)
    record_event(uow, RunQueued(subject=run_id, pipeline=run.pipeline, number=number))
    await _start_or_wait(uow, loaded)
    return loaded


def _step_row(
    uow: UnitOfWork, run_id: str, step_id: str, position: int, max_attempts: int
) -> PipelineStepRow:
    return PipelineStepRow(
        id=new_id("step", uow.now()),
        run_id=run_id,
        key=step_id,
        step_id=step_id,
        position=position,
        status=StepStatus.PENDING.value,
        attempts=0,
        max_attempts=max_attempts,
        outputs={},
        approvals=[],
        cancel_requested=False,
        updated_at=uow.now(),
    )


def _reuse(row: PipelineStepRow, earlier: PipelineStepRow) -> None:
    row.status = row.conclusion = StepStatus.SUCCESS.value
    row.outputs = dict(earlier.outputs)
    row.attempts = earlier.attempts
    row.reused_from = earlier.run_id
    row.agent_id = earlier.agent_id
    row.child_run_id = earlier.child_run_id
    row.approvals = list(earlier.approvals)
    row.started_at, row.finished_at = earlier.started_at, earlier.finished_at


def _group(spec: PipelineSpec, run: PipelineRunRow) -> str | None:
    if spec.concurrency is None:
        return None
    context = {
        "inputs": run.inputs,
        "trigger": run.trigger,
        "pipeline": {"name": run.pipeline, "description": spec.description},
        "run": {"id": run.id, "number": run.number},
        "env": {},
    }
    return interpolate(spec.concurrency.group, context)[:300] or None


async def _start_or_wait(uow: UnitOfWork, loaded: LoadedRun) -> None:
    run = loaded.run
    group = run.concurrency_group
    if group is None:
        await start_run(uow, loaded)
        return
    await lock_group(uow, group)
    others = await group_runs(uow, group, exclude=run.id)
    for other in others:
        if other.status == RunStatus.QUEUED.value:
            await cancel_run_rows(
                uow, other.id, reason=f"superseded by run #{run.number} of '{run.pipeline}'"
            )
    active = [other for other in others if other.status in ACTIVE_RUN]
    if not active:
        await start_run(uow, loaded)
        return
    assert loaded.spec.concurrency is not None
    if loaded.spec.concurrency.cancel_in_progress:
        for other in active:
            await cancel_run_rows(
                uow,
                other.id,
                reason=f"cancelled in favour of run #{run.number} (cancel_in_progress)",
            )
    record_event(uow, RunHeldForGroup(subject=run.id, group=group, behind=active[0].id))


async def start_run(uow: UnitOfWork, loaded: LoadedRun) -> None:
    """Queued → running: arm the run's timeout and start its first steps."""
    run = loaded.run
    set_run_status(uow, run, RunStatus.RUNNING)
    if loaded.spec.timeout is not None:
        await enqueue(
            uow,
            kinds.RUN_TIMEOUT,
            kinds.RunRef(run=run.id),
            key=kinds.once_key(kinds.RUN_TIMEOUT, run.id),
            run_at=uow.now() + loaded.spec.timeout,
        )
    await advance(uow, loaded)


async def start_next_in_group(uow: UnitOfWork, group: str) -> str | None:
    """Start the group's waiting run if no run of the group is active; returns its id."""
    await lock_group(uow, group)
    runs = await group_runs(uow, group, exclude=None)
    if any(run.status in ACTIVE_RUN for run in runs):
        return None
    waiting = [run for run in runs if run.status == RunStatus.QUEUED.value]
    if not waiting:
        return None
    loaded = await load_run(uow, waiting[0].id)
    await start_run(uow, loaded)
    return loaded.run.id


def repo_of(run: PipelineRunRow) -> Path | None:
    return Path(run.repo_path) if run.repo_path else None
