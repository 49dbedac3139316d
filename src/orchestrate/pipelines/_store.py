"""Reading and writing pipelines, runs and steps; private to the pipelines capability.

Callers pass an entered unit of work and commit it themselves. A run and its steps are
loaded together (``load_run``) with the run row locked on PostgreSQL, so the engine
deciding what starts next never races another worker doing the same for that run.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, text
from sqlalchemy.orm import aliased

from orchestrate.core import tracing
from orchestrate.core.errors import NotFound
from orchestrate.core.events import record_event
from orchestrate.core.jobs import NewJob
from orchestrate.core.pagination import Page, by_key, newest_first, page_by_key
from orchestrate.core.retention import Key
from orchestrate.core.retention.sql import delete_where, keys_where
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import spans
from orchestrate.pipelines.events import RUN_STATUS_EVENTS, STEP_STATUS_EVENTS
from orchestrate.pipelines.kinds import AttemptRef
from orchestrate.pipelines.models import (
    Approval,
    Pipeline,
    PipelineRun,
    RunStatus,
    StepRun,
    StepStatus,
    TriggerKind,
    check_run_transition,
    check_step_transition,
)
from orchestrate.pipelines.spec.models import PipelineSpec
from orchestrate.pipelines.tables import PipelineRow, PipelineRunRow, PipelineStepRow

ACTIVE_RUN = (RunStatus.RUNNING.value, RunStatus.WAITING.value)

_SPECS: OrderedDict[str, PipelineSpec] = OrderedDict()
_SPEC_CACHE_SIZE = 512

StepTaker = Callable[[UnitOfWork, PipelineStepRow, NewJob[AttemptRef]], Awaitable[bool]]
"""Takes a step's new job in the transaction that queues it: runs it here, marked running."""


@dataclass
class LoadedRun:
    """A run row, its parsed spec and its step rows by key, inside one transaction."""

    run: PipelineRunRow
    spec: PipelineSpec
    steps: dict[str, PipelineStepRow]
    take_step: StepTaker | None = None
    """Set by a finishing step's job, so its worker runs the step it unblocks itself."""

    def base_rows(self) -> list[PipelineStepRow]:
        """One row per step of the spec (matrix instances excluded), in file order."""
        return [self.steps[step.id] for step in self.spec.steps if step.id in self.steps]

    def row_by_id(self, row_id: str) -> PipelineStepRow | None:
        """The step row (or matrix instance) with this id, if the run has it."""
        return next((row for row in self.steps.values() if row.id == row_id), None)

    def instances(self, step_id: str) -> list[PipelineStepRow]:
        rows = [row for row in self.steps.values() if row.parent_key == step_id]
        return sorted(rows, key=lambda row: row.position)


def spec_of(run: PipelineRunRow) -> PipelineSpec:
    """The run's spec, parsed once per process (a run's spec never changes)."""
    spec = _SPECS.get(run.id)
    if spec is None:
        spec = PipelineSpec.model_validate(run.spec)
        _SPECS[run.id] = spec
        if len(_SPECS) > _SPEC_CACHE_SIZE:
            _SPECS.popitem(last=False)
    return spec


def stage(uow: UnitOfWork, *rows: PipelineRow | PipelineRunRow | PipelineStepRow) -> None:
    """Add new rows to the unit of work; they are written at the next flush or commit."""
    uow.session.add_all(rows)


async def flush(uow: UnitOfWork) -> None:
    """Write the staged rows now (so ids and defaults exist before events refer to them)."""
    await uow.session.flush()


async def find_pipeline(uow: UnitOfWork, name: str) -> PipelineRow | None:
    return await uow.session.scalar(select(PipelineRow).where(PipelineRow.name == name))


async def all_pipelines(uow: UnitOfWork) -> list[PipelineRow]:
    """Every registered pipeline, by name."""
    return list(await uow.session.scalars(select(PipelineRow).order_by(PipelineRow.name)))


async def pipelines_page(uow: UnitOfWork, limit: int, cursor: str | None) -> Page[PipelineRow]:
    """One page of the registered pipelines, by name."""
    rows = list(
        await uow.session.scalars(by_key(select(PipelineRow), PipelineRow.name, limit, cursor))
    )
    return page_by_key(rows, lambda row: row.name, limit)


async def delete_pipeline(uow: UnitOfWork, row: PipelineRow) -> None:
    """Delete a definition; its runs stay (each keeps the spec it ran with)."""
    await uow.session.delete(row)


async def lock_pipelines(uow: UnitOfWork, names: Iterable[str]) -> None:
    """Lock these pipelines' rows in name order (``service.lock_pipelines`` says why)."""
    wanted = sorted(set(names))
    if wanted:
        await uow.session.execute(
            select(PipelineRow.name)
            .where(PipelineRow.name.in_(wanted))
            .order_by(PipelineRow.name)
            .with_for_update()
        )


async def run_page(
    uow: UnitOfWork,
    *,
    pipeline: str | None,
    status: RunStatus | None,
    limit: int,
    cursor: str | None,
) -> list[PipelineRunRow]:
    """Up to ``limit + 1`` runs newest first after ``cursor``, of one pipeline or status."""
    query = newest_first(select(PipelineRunRow), PipelineRunRow, limit, cursor)
    if pipeline is not None:
        query = query.where(PipelineRunRow.pipeline == pipeline)
    if status is not None:
        query = query.where(PipelineRunRow.status == status.value)
    return list(await uow.session.scalars(query))


async def latest_runs(uow: UnitOfWork, names: Sequence[str]) -> list[PipelineRunRow]:
    """The run with the highest number of each pipeline of ``names`` (the unique index
    on pipeline and number answers it without reading older runs)."""
    if not names:
        return []
    newest = (
        select(PipelineRunRow.pipeline, func.max(PipelineRunRow.number).label("number"))
        .where(PipelineRunRow.pipeline.in_(list(names)))
        .group_by(PipelineRunRow.pipeline)
        .subquery()
    )
    query = select(PipelineRunRow).join(
        newest,
        (PipelineRunRow.pipeline == newest.c.pipeline) & (PipelineRunRow.number == newest.c.number),
    )
    return list(await uow.session.scalars(query))


async def step_rows(uow: UnitOfWork, run_id: str) -> list[PipelineStepRow]:
    """Every step row of a run (matrix instances included), unordered."""
    rows = await uow.session.scalars(
        select(PipelineStepRow).where(PipelineStepRow.run_id == run_id)
    )
    return list(rows)


async def pipeline_row(uow: UnitOfWork, name: str, *, for_update: bool = False) -> PipelineRow:
    """The pipeline; ``for_update`` locks it, as numbering a new run must (PostgreSQL)."""
    query = select(PipelineRow).where(PipelineRow.name == name)
    if for_update:
        query = query.with_for_update()
    row = await uow.session.scalar(query)
    if row is None:
        raise NotFound(
            f"No pipeline named '{name}'; 'orchestrate pipeline list' shows them",
            pipeline=name,
        )
    if for_update and row.next_number == 1:
        # A deleted pipeline's runs stay; one re-created under its name starts counting
        # at 1 again and would collide with them (UNIQUE pipeline, number). Checked only
        # before the first run, under the lock, so numbering costs nothing after that.
        highest = await uow.session.scalar(
            select(func.max(PipelineRunRow.number)).where(PipelineRunRow.pipeline == name)
        )
        row.next_number = (highest or 0) + 1
    return row


async def run_row(uow: UnitOfWork, run_id: str, *, for_update: bool = False) -> PipelineRunRow:
    query = select(PipelineRunRow).where(PipelineRunRow.id == run_id)
    if for_update:
        query = query.with_for_update()
    row = await uow.session.scalar(query)
    if row is None:
        raise NotFound(f"No pipeline run {run_id}", run_id=run_id)
    return row


async def load_run(uow: UnitOfWork, run_id: str) -> LoadedRun:
    run = await run_row(uow, run_id, for_update=True)
    rows = await uow.session.scalars(
        select(PipelineStepRow).where(PipelineStepRow.run_id == run_id)
    )
    return LoadedRun(run, spec_of(run), {row.key: row for row in rows})


async def find_step(uow: UnitOfWork, step_row_id: str) -> PipelineStepRow | None:
    return await uow.session.get(PipelineStepRow, step_row_id)


async def group_runs(uow: UnitOfWork, group: str, *, exclude: str | None) -> list[PipelineRunRow]:
    query = (
        select(PipelineRunRow)
        .where(PipelineRunRow.concurrency_group == group)
        .where(PipelineRunRow.status.in_([RunStatus.QUEUED.value, *ACTIVE_RUN]))
        .order_by(PipelineRunRow.created_at, PipelineRunRow.id)
    )
    if exclude is not None:
        query = query.where(PipelineRunRow.id != exclude)
    return list(await uow.session.scalars(query))


async def lock_group(uow: UnitOfWork, group: str) -> None:
    """Serialise decisions about one group across workers (SQLite's writer lock already does)."""
    if uow.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(group.encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    await uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def waiting_steps(uow: UnitOfWork) -> list[tuple[PipelineStepRow, PipelineRunRow]]:
    """Every step waiting for people, with its run, oldest first."""
    rows = await uow.session.execute(
        select(PipelineStepRow, PipelineRunRow)
        .join(PipelineRunRow, PipelineRunRow.id == PipelineStepRow.run_id)
        .where(PipelineStepRow.status == StepStatus.WAITING.value)
        .order_by(PipelineStepRow.started_at)
    )
    return [(step, run) for step, run in rows.all()]


def set_run_status(
    uow: UnitOfWork, run: PipelineRunRow, target: RunStatus, *, reason: str | None = None
) -> None:
    """The one place a run changes status; it also writes the event."""
    current = RunStatus(run.status)
    if current == target:
        return
    check_run_transition(run.id, current, target)
    now = uow.now()
    run.status = target.value
    run.updated_at = now
    if target is RunStatus.RUNNING and run.started_at is None:
        run.started_at = now
    if target.is_terminal:
        run.finished_at = now
        if run.started_at is None:
            run.started_at = now
        if tracing.is_enabled():
            ended = spans.EndedRun(
                run.id, run.pipeline, run.number, run.trigger_kind, target, run.started_at, now
            )
            uow.after_commit(functools.partial(spans.run_ended, ended))
    if reason:
        run.reason = reason
    changed = RUN_STATUS_EVENTS[target](
        subject=run.id,
        pipeline=run.pipeline,
        from_=current.value,
        reason=reason or None,
        duration_seconds=_seconds(run.started_at, now) if target.is_terminal else None,
    )
    record_event(uow, changed)


def set_step_status(
    uow: UnitOfWork,
    step: PipelineStepRow,
    target: StepStatus,
    *,
    skip_reason: str | None = None,
    error: str | None = None,
) -> None:
    """The one place a step changes status; it also writes the event."""
    current = StepStatus(step.status)
    if current == target:
        return
    check_step_transition(step.key, current, target)
    now = uow.now()
    step.status = target.value
    step.updated_at = now
    if target is StepStatus.QUEUED:
        step.queued_at = now
    if target in (StepStatus.RUNNING, StepStatus.WAITING) and step.started_at is None:
        step.started_at = now
    started_at = step.started_at
    if target.is_terminal:
        step.finished_at = now
        step.process = None
    if target is StepStatus.SKIPPED:
        step.skip_reason = skip_reason or "skipped"
    if error is not None:
        step.error = error
    moved = STEP_STATUS_EVENTS[target](
        subject=step.run_id,
        step=step.key,
        from_=current.value,
        to=target.value,
        skip_reason=skip_reason or None,
        error=error[:2000] if error else None,
        duration_seconds=_seconds(started_at, now) if target.is_terminal else None,
    )
    record_event(uow, moved)


def _seconds(started_at: datetime | None, now: datetime) -> float | None:
    """How long from ``started_at`` to ``now`` (the metrics' durations); None: never started."""
    return max((now - started_at).total_seconds(), 0.0) if started_at is not None else None


def to_pipeline(row: PipelineRow) -> Pipeline:
    return Pipeline(
        id=row.id,
        name=row.name,
        description=row.description,
        source=row.source,
        spec=row.spec,
        repo_path=row.repo_path,
        source_path=row.source_path,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def to_run(run: PipelineRunRow, steps: list[PipelineStepRow] | None = None) -> PipelineRun:
    spec = spec_of(run)
    ordered = _in_display_order(spec, steps or [])
    return PipelineRun(
        id=run.id,
        pipeline=run.pipeline,
        number=run.number,
        status=RunStatus(run.status),
        trigger_kind=TriggerKind(run.trigger_kind),
        inputs=run.inputs,
        trigger=run.trigger,
        concurrency_group=run.concurrency_group,
        parent_step_id=run.parent_step_id,
        rerun_of=run.rerun_of,
        workspace_path=run.workspace_path,
        reason=run.reason,
        created_by=run.created_by,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        steps=[to_step(row, spec) for row in ordered],
    )


def _in_display_order(spec: PipelineSpec, rows: list[PipelineStepRow]) -> list[PipelineStepRow]:
    order = {step_id: index for index, step_id in enumerate(spec.step_ids)}
    return sorted(
        rows,
        key=lambda row: (
            order.get(row.step_id, len(order)),
            row.parent_key is not None,
            row.position,
        ),
    )


def to_step(row: PipelineStepRow, spec: PipelineSpec) -> StepRun:
    step = spec.step(row.step_id)
    name = step.display_name
    if row.matrix:
        name = f"{name} ({', '.join(str(value) for value in row.matrix.values())})"
    return StepRun(
        id=row.id,
        run_id=row.run_id,
        key=row.key,
        step_id=row.step_id,
        name=name,
        kind=step.kind.value,
        status=StepStatus(row.status),
        conclusion=StepStatus(row.conclusion) if row.conclusion else None,
        matrix=row.matrix,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        outputs={key: str(value) for key, value in row.outputs.items()},
        skip_reason=row.skip_reason,
        error=row.error,
        agent_id=row.agent_id,
        child_run_id=row.child_run_id,
        approvals=[to_approval(item) for item in row.approvals],
        reused_from=row.reused_from,
        log_path=row.log_path,
        queued_at=row.queued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def to_approval(item: dict[str, Any]) -> Approval:
    return Approval(
        by=str(item["by"]),
        decision=str(item["decision"]),
        comment=item.get("comment"),
        at=datetime.fromisoformat(str(item["at"])),
    )


# Retention (``retention.py``): finished runs, what still refers to them, their files

LIVE_RUN = tuple(status.value for status in RunStatus if not status.is_terminal)
_FINISHED_RUN = tuple(status.value for status in RunStatus if status.is_terminal)


@dataclass(frozen=True)
class RunLeftovers:
    """What a deleted run leaves on disk: its step logs and, rarely, its workspace."""

    run_id: str
    log_paths: tuple[str, ...]
    workspace_path: str | None
    repo_path: str | None


def _finished_before(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [PipelineRunRow.status.in_(_FINISHED_RUN), PipelineRunRow.finished_at < cutoff]


async def finished_run_ids(
    uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
) -> list[Key]:
    conditions = _finished_before(cutoff)
    return await keys_where(uow, PipelineRunRow.id, conditions, after=after, limit=limit)


async def live_run_ids(uow: UnitOfWork, run_ids: Sequence[str]) -> set[str]:
    """Of ``run_ids``, the runs that are queued, running or waiting."""
    if not run_ids:
        return set()
    rows = await uow.session.scalars(
        select(PipelineRunRow.id).where(
            PipelineRunRow.id.in_(run_ids), PipelineRunRow.status.in_(LIVE_RUN)
        )
    )
    return set(rows)


async def runs_referred_to_by_live_runs(uow: UnitOfWork, run_ids: Sequence[Key]) -> set[Key]:
    """Of finished ``run_ids``: children of a live parent, parents of a live child, and
    runs a live re-run reuses steps of."""
    parent_step, parent_run = aliased(PipelineStepRow), aliased(PipelineRunRow)
    with_live_parent = (
        select(PipelineRunRow.id)
        .join(parent_step, parent_step.id == PipelineRunRow.parent_step_id)
        .join(parent_run, parent_run.id == parent_step.run_id)
        .where(PipelineRunRow.id.in_(run_ids), parent_run.status.in_(LIVE_RUN))
    )
    child_run = aliased(PipelineRunRow)
    with_live_child = (
        select(PipelineStepRow.run_id)
        .join(child_run, child_run.parent_step_id == PipelineStepRow.id)
        .where(PipelineStepRow.run_id.in_(run_ids), child_run.status.in_(LIVE_RUN))
    )
    rerun_live = select(PipelineRunRow.rerun_of).where(
        PipelineRunRow.rerun_of.in_(run_ids), PipelineRunRow.status.in_(LIVE_RUN)
    )
    needed: set[Key] = set()
    for query in (with_live_parent, with_live_child, rerun_live):
        needed.update(key for key in await uow.session.scalars(query) if key is not None)
    return needed


async def agents_of_runs(uow: UnitOfWork, run_ids: Sequence[Key]) -> dict[str, set[Key]]:
    """The agents the steps of ``run_ids`` started, each with the runs that started it."""
    rows = await uow.session.execute(
        select(PipelineStepRow.agent_id, PipelineStepRow.run_id).where(
            PipelineStepRow.run_id.in_(run_ids), PipelineStepRow.agent_id.is_not(None)
        )
    )
    runs_by_agent: dict[str, set[Key]] = {}
    for agent_id, run_id in rows.all():
        runs_by_agent.setdefault(str(agent_id), set()).add(run_id)
    return runs_by_agent


async def agents_of_live_runs(uow: UnitOfWork, agent_ids: Sequence[Key]) -> set[Key]:
    """Of ``agent_ids``, the agents started by a step of a run still queued, running or
    waiting (the step may yet read or cancel its agent)."""
    rows = await uow.session.scalars(
        select(PipelineStepRow.agent_id)
        .join(PipelineRunRow, PipelineRunRow.id == PipelineStepRow.run_id)
        .where(PipelineRunRow.status.in_(LIVE_RUN), PipelineStepRow.agent_id.in_(agent_ids))
    )
    return {agent_id for agent_id in rows if agent_id is not None}


async def delete_finished_runs(
    uow: UnitOfWork, run_ids: Sequence[Key], cutoff: datetime
) -> list[RunLeftovers]:
    """Delete the runs among ``run_ids`` still finished before ``cutoff``, steps first."""
    qualifying = select(PipelineRunRow.id).where(
        PipelineRunRow.id.in_(run_ids), *_finished_before(cutoff)
    )
    logs: dict[str, list[str]] = {}
    for run_id, log_path in (
        await uow.session.execute(
            select(PipelineStepRow.run_id, PipelineStepRow.log_path).where(
                PipelineStepRow.run_id.in_(qualifying), PipelineStepRow.log_path.is_not(None)
            )
        )
    ).all():
        if log_path is not None:
            logs.setdefault(run_id, []).append(log_path)
    await delete_where(uow, PipelineStepRow, [PipelineStepRow.run_id.in_(qualifying)])
    deleted = await uow.session.execute(
        delete(PipelineRunRow)
        .where(PipelineRunRow.id.in_(run_ids), *_finished_before(cutoff))
        .returning(PipelineRunRow.id, PipelineRunRow.workspace_path, PipelineRunRow.repo_path)
        .execution_options(synchronize_session=False)
    )
    return [
        RunLeftovers(run_id, tuple(logs.get(run_id, ())), workspace, repo)
        for run_id, workspace, repo in deleted.all()
    ]
