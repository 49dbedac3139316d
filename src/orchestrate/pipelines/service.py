"""Use cases of the pipelines capability: the one entry the CLI, the API and other
capabilities use.

Definitions are registered from YAML (validated first; nothing is stored when any file
has a problem). Triggering creates a run and starts its first steps in one
transaction; everything after that happens in jobs (``reactions.py``,
``execution.py``), so these functions answer at once. Every change is audited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict, NotFound, ValidationFailed
from orchestrate.core.events import Event, EventFilter, read_events
from orchestrate.core.hooks import Hook
from orchestrate.core.ids import new_id
from orchestrate.core.pagination import Page, check_page_size, page_in_memory, page_of
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import _store as store
from orchestrate.pipelines import approvals
from orchestrate.pipelines.approvals import Decision, may_decide
from orchestrate.pipelines.catalog import Template, list_templates, template_text
from orchestrate.pipelines.checking import PipelineCheck, check_pipeline_source, pipeline_spec
from orchestrate.pipelines.control import cancel_run_rows, cancel_step_rows
from orchestrate.pipelines.events import of_run
from orchestrate.pipelines.inputs import parse_assignments, resolve_inputs
from orchestrate.pipelines.launch import NewRun, create_run
from orchestrate.pipelines.log_files import (
    LOG_WINDOW,
    LogText,
    read_log_from,
    read_log_since,
    read_log_tail,
)
from orchestrate.pipelines.log_follow import LogPiece, LogUpdate, follow_step_logs
from orchestrate.pipelines.models import (
    DeclaredSchedule,
    PendingApproval,
    Pipeline,
    PipelineChanged,
    PipelineRun,
    RunStatus,
    StepRun,
    StepStatus,
    TriggerKind,
)
from orchestrate.pipelines.reactions import register_pipeline_jobs
from orchestrate.pipelines.secret_use import check_secret_use
from orchestrate.pipelines.spec.loader import parse_pipeline
from orchestrate.pipelines.spec.models import PipelineSpec
from orchestrate.pipelines.spec.positions import SourceMap
from orchestrate.pipelines.spec.problems import PipelineInvalid, SpecProblem
from orchestrate.pipelines.tables import PipelineRow

__all__ = [
    "LOG_WINDOW",
    "DeclaredSchedule",
    "LogPiece",
    "LogText",
    "LogUpdate",
    "PendingApproval",
    "Pipeline",
    "PipelineChanged",
    "PipelineCheck",
    "PipelineInvalid",
    "PipelineRun",
    "PipelineSource",
    "RunDetail",
    "RunStatus",
    "SpecProblem",
    "StepRun",
    "StepStatus",
    "Template",
    "TriggerKind",
    "TriggerRequest",
    "apply_sources",
    "cancel_run",
    "cancel_step",
    "check_pipeline_source",
    "decide_approval",
    "delete_pipeline",
    "follow_step_logs",
    "get_pipeline",
    "get_run",
    "get_run_detail",
    "latest_runs",
    "list_pipelines",
    "list_runs",
    "list_templates",
    "live_runs_within",
    "may_decide",
    "parse_assignments",
    "pending_approvals",
    "pending_approvals_page",
    "pipeline_changed",
    "pipeline_spec",
    "pipelines_page",
    "read_log_from",
    "read_log_since",
    "read_log_tail",
    "register_pipeline",
    "register_pipeline_jobs",
    "rerun",
    "run_events",
    "template_text",
    "trigger_pipeline",
    "trigger_within",
]

pipeline_changed: Hook[PipelineChanged] = Hook("pipeline.changed")
"""Announced inside the transaction of every register, update and delete of a pipeline;
the schedules capability follows it to keep the schedules a pipeline declares in step."""


@dataclass(frozen=True)
class PipelineSource:
    """A pipeline file as given: its text, where it came from, and its repository if any."""

    text: str
    source: str = "<string>"
    repo_path: Path | None = None


@dataclass(frozen=True)
class TriggerRequest:
    """A request to run a pipeline; ``trigger`` becomes the run's ``trigger`` context."""

    pipeline: str
    inputs: dict[str, Any] = field(default_factory=dict)
    trigger: dict[str, Any] = field(default_factory=dict)
    kind: TriggerKind = TriggerKind.MANUAL


async def register_pipeline(
    uow: UnitOfWork, source: PipelineSource, actor: Actor, *, name: str | None = None
) -> Pipeline:
    """Create or update one pipeline from YAML; ``name`` (from a URL) must match the file's."""
    pipelines = await apply_sources(uow, [source], actor, expected_name=name)
    return pipelines[0]


async def apply_sources(
    uow: UnitOfWork,
    sources: Sequence[PipelineSource],
    actor: Actor,
    *,
    expected_name: str | None = None,
) -> list[Pipeline]:
    """Validate every file, then register them all in one transaction (or none)."""
    auth.authorize(actor, Permission.WRITE)
    # Pure-Python YAML parses ~170 KB/s: a 1 MiB file would stall every request for 6 s.
    loaded = await asyncio.to_thread(_load_all, sources)
    await check_secret_use(uow.sibling(read_only=True), loaded, actor)
    specs = [spec for spec, _ in loaded]
    if expected_name is not None and specs[0].name != expected_name:
        raise ValidationFailed(
            f"The file names the pipeline '{specs[0].name}' but the request is for "
            f"'{expected_name}'",
            field="name",
        )
    async with uow:
        rows = [
            await _upsert(uow, spec, source, actor)
            for spec, source in zip(specs, sources, strict=True)
        ]
        for spec in specs:  # schedules follows, making `on: schedule:` schedules
            declared = tuple(DeclaredSchedule(s.cron, s.timezone) for s in spec.on.schedule)
            await pipeline_changed.announce(uow, PipelineChanged(spec.name, declared))
        await uow.commit()
        return [store.to_pipeline(row) for row in rows]


def _load_all(sources: Sequence[PipelineSource]) -> list[tuple[PipelineSpec, SourceMap]]:
    problems: list[SpecProblem] = []
    specs: list[tuple[PipelineSpec, SourceMap]] = []
    for source in sources:
        spec, found, where = parse_pipeline(source.text, source.source)
        problems.extend(found)
        if spec is not None and not found:
            specs.append((spec, where))
    if problems:
        raise PipelineInvalid(problems)
    names = [spec.name for spec, _ in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValidationFailed(
            f"Two files define the pipeline '{duplicates[0]}'; names must be unique",
            pipeline=duplicates[0],
        )
    return specs


async def _upsert(
    uow: UnitOfWork, spec: PipelineSpec, source: PipelineSource, actor: Actor
) -> PipelineRow:
    now = uow.now()
    row = await store.find_pipeline(uow, spec.name)
    document = spec.model_dump(mode="json", by_alias=True)
    repo_path = str(source.repo_path.resolve()) if source.repo_path else None
    if row is None:
        row = PipelineRow(
            id=new_id("pipe", now), name=spec.name, version=1, next_number=1, created_at=now
        )
        store.stage(uow, row)
        action = "pipeline.create"
    else:
        row.version += 1
        action = "pipeline.update"
    row.description = spec.description
    row.source = source.text
    row.spec = document
    row.repo_path = repo_path
    row.source_path = source.source if source.source != "<string>" else None
    row.updated_at = now
    await store.flush(uow)
    await auth.record_audit(uow, actor, action, row.id, {"name": spec.name, "version": row.version})
    return row


async def list_pipelines(uow: UnitOfWork) -> list[Pipeline]:
    async with uow:
        return [store.to_pipeline(row) for row in await store.all_pipelines(uow)]


async def pipelines_page(
    uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None
) -> Page[Pipeline]:
    """One page of the registered pipelines, by name (``GET /api/pipelines``)."""
    check_page_size(limit)
    async with uow:
        page = await store.pipelines_page(uow, limit, cursor)
        return Page([store.to_pipeline(row) for row in page.items], page.next_cursor)


async def latest_runs(uow: UnitOfWork, names: Sequence[str]) -> dict[str, PipelineRun]:
    """The newest run of each pipeline of ``names`` (one never run has none), without
    steps: a list of pipelines shows how each last went."""
    async with uow:
        return {row.pipeline: store.to_run(row) for row in await store.latest_runs(uow, names)}


async def get_pipeline(uow: UnitOfWork, name: str) -> Pipeline:
    async with uow:
        return store.to_pipeline(await store.pipeline_row(uow, name))


async def delete_pipeline(uow: UnitOfWork, name: str, actor: Actor) -> Pipeline:
    """Forget a definition; its runs stay (each keeps the spec it ran with)."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.pipeline_row(uow, name)
        pipeline = store.to_pipeline(row)
        await store.delete_pipeline(uow, row)
        await pipeline_changed.announce(uow, PipelineChanged(name, is_deleted=True))
        await auth.record_audit(uow, actor, "pipeline.delete", row.id, {"name": name})
        await uow.commit()
        return pipeline


async def trigger_pipeline(
    uow: UnitOfWork, settings: Settings, request: TriggerRequest, actor: Actor
) -> PipelineRun:
    """Start a run: inputs are checked against the pipeline before anything is stored."""
    async with uow:
        run = await trigger_within(uow, settings, request, actor)
        await uow.commit()
        return run


async def lock_pipelines(uow: UnitOfWork, names: Iterable[str]) -> None:
    """Lock these pipelines' rows in name order, in the caller's open unit of work.

    Starting a run locks its pipeline (to number the run). A transaction about to start
    runs of several pipelines in an order of its own calls this first, so that two such
    transactions take their locks in the same order and cannot deadlock (PostgreSQL).
    """
    await store.lock_pipelines(uow, names)


async def trigger_within(
    uow: UnitOfWork, settings: Settings, request: TriggerRequest, actor: Actor
) -> PipelineRun:
    """Start a run inside the caller's open unit of work, which commits it.

    For a change that must commit together with the runs it starts, such as a webhook
    delivery being marked processed: then a retried job can never start them twice.
    Inputs are checked before anything is written, so a refusal leaves the
    transaction usable.
    """
    auth.authorize(actor, Permission.WRITE)
    pipeline = await store.pipeline_row(uow, request.pipeline, for_update=True)
    spec = PipelineSpec.model_validate(pipeline.spec)
    inputs = resolve_inputs(spec, request.inputs)
    new = NewRun(inputs, request.trigger, request.kind, actor.name)
    loaded = await create_run(uow, settings, pipeline, new)
    await auth.record_audit(
        uow, actor, "pipeline.trigger", loaded.run.id, {"pipeline": pipeline.name}
    )
    return store.to_run(loaded.run, list(loaded.steps.values()))


async def rerun(
    uow: UnitOfWork, settings: Settings, run_id: str, actor: Actor, *, failed_only: bool = False
) -> PipelineRun:
    """A new run with the same inputs and trigger; ``failed_only`` reuses the successes."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        earlier = await store.load_run(uow, run_id)
        if not RunStatus(earlier.run.status).is_terminal:
            raise Conflict(
                f"Run {run_id} is still {earlier.run.status}; cancel it or wait for it to end",
                run_id=run_id,
            )
        pipeline = await store.pipeline_row(uow, earlier.run.pipeline, for_update=True)
        reused = (
            {row.step_id: row for row in earlier.base_rows() if row.status == StepStatus.SUCCESS}
            if failed_only
            else {}
        )
        new = NewRun(
            dict(earlier.run.inputs),
            dict(earlier.run.trigger),
            TriggerKind.RERUN,
            actor.name,
            rerun_of=run_id,
            reused=reused,
            spec=earlier.run.spec,  # a re-run runs what ran, not a later edit
        )
        loaded = await create_run(uow, settings, pipeline, new)
        await auth.record_audit(
            uow, actor, "pipeline.rerun", loaded.run.id, {"of": run_id, "failed_only": failed_only}
        )
        await uow.commit()
        return store.to_run(loaded.run, list(loaded.steps.values()))


async def list_runs(
    uow: UnitOfWork,
    *,
    pipeline: str | None = None,
    status: RunStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[PipelineRun]:
    """Runs, newest first, without their steps."""
    check_page_size(limit)
    async with uow:
        found = await store.run_page(
            uow, pipeline=pipeline, status=status, limit=limit, cursor=cursor
        )
        rows, next_cursor = page_of(found, limit)
        return Page(items=[store.to_run(row) for row in rows], next_cursor=next_cursor)


async def get_run(uow: UnitOfWork, run_id: str) -> PipelineRun:
    async with uow:
        run = await store.run_row(uow, run_id)
        return store.to_run(run, await store.step_rows(uow, run_id))


@dataclass(frozen=True)
class RunDetail:
    """A run with every step, and the definition it runs (kept with the run: a later
    edit of its pipeline, or its deletion, changes neither)."""

    run: PipelineRun
    spec: PipelineSpec


async def get_run_detail(uow: UnitOfWork, run_id: str) -> RunDetail:
    async with uow:
        row = await store.run_row(uow, run_id)
        run = store.to_run(row, await store.step_rows(uow, run_id))
        return RunDetail(run, store.spec_of(row))


async def cancel_run(uow: UnitOfWork, run_id: str, actor: Actor) -> PipelineRun:
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        loaded = await cancel_run_rows(uow, run_id, reason=f"cancelled by {actor.name}")
        await auth.record_audit(uow, actor, "pipeline.cancel", run_id, {})
        await uow.commit()
        return store.to_run(loaded.run, list(loaded.steps.values()))


async def cancel_step(uow: UnitOfWork, run_id: str, key: str, actor: Actor) -> PipelineRun:
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        loaded = await cancel_step_rows(uow, run_id, key)
        await auth.record_audit(uow, actor, "pipeline.step.cancel", run_id, {"step": key})
        await uow.commit()
        return store.to_run(loaded.run, list(loaded.steps.values()))


async def decide_approval(
    uow: UnitOfWork,
    run_id: str,
    key: str,
    actor: Actor,
    decision: Decision,
    comment: str | None = None,
) -> PipelineRun:
    """Approve or reject a waiting approval step; only its named approvers may, once each."""
    async with uow:
        loaded = await approvals.decide(uow, run_id, key, actor, decision, comment)
        await auth.record_audit(
            uow, actor, f"pipeline.step.{decision}", run_id, {"step": key, "comment": comment}
        )
        await uow.commit()
        return store.to_run(loaded.run, list(loaded.steps.values()))


async def pending_approvals(uow: UnitOfWork, actor: Actor) -> list[PendingApproval]:
    async with uow:
        return await approvals.pending_for(uow, actor)


async def pending_approvals_page(
    uow: UnitOfWork, actor: Actor, *, limit: int = 50, cursor: str | None = None
) -> Page[PendingApproval]:
    """One page of the approvals waiting on ``actor``, oldest run first.

    Which steps wait on whom is decided in Python (approvers live in each run's spec),
    so the page is cut from that list; run ids sort by time.
    """
    check_page_size(limit)
    waiting = await pending_approvals(uow, actor)
    return page_in_memory(waiting, _approval_key, limit, cursor)


def _approval_key(pending: PendingApproval) -> str:
    return f"{pending.run_id}\n{pending.step}"


async def run_events(
    uow: UnitOfWork, run_id: str, *, after_id: int = 0, limit: int = 500
) -> Sequence[Event]:
    """The run's events after a cursor (status changes and log lines), oldest first."""
    async with uow:
        await store.run_row(uow, run_id)
        return await read_events(uow.session, after=after_id, limit=limit, only=run_filter(run_id))


def run_filter(run_id: str) -> EventFilter:
    """The events of one run: its status changes, its steps' and their log lines."""
    return of_run(run_id)


async def live_runs_within(uow: UnitOfWork, run_ids: Sequence[str]) -> set[str]:
    """Of ``run_ids``, the runs queued, running or waiting, read in the caller's entered
    transaction (other capabilities' retention rules keep what refers to them)."""
    return await store.live_run_ids(uow, run_ids)


def missing_step(run: PipelineRun, key: str) -> NotFound:
    keys = ", ".join(step.key for step in run.steps)
    return NotFound(f"Run {run.id} has no step '{key}' (steps: {keys})", run_id=run.id, step=key)
