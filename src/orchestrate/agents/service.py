"""Use cases of the agents capability: start, inspect, steer and clean up agent runs.

Running an agent is a durable job (``agents.run``, see ``execution.py``); these
functions only change stored state and enqueue that job, so they answer at once from
the CLI or the API. Every change is audited and goes through the state machine.
Steering (``steering.py``) and the run job (``queueing.py``) are re-exported here,
the capability's one public entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestrate.agents import _store as store
from orchestrate.agents import tree
from orchestrate.agents.cleanup import cleanup_workspaces
from orchestrate.agents.continuation import (
    AgentEnded,
    AgentFinished,
    AgentOutcome,
    OnFinished,
    top_level_agent_ended,
)
from orchestrate.agents.definitions import get_definition, load_definitions
from orchestrate.agents.models import (
    MAX_DENIAL_REASON,
    AgentDefinition,
    AgentRun,
    AgentState,
    Limits,
    SpawnRequest,
    ToolCallRecord,
    ToolCallStatus,
    TreeTotals,
    limits_to_json,
)
from orchestrate.agents.queueing import (
    RUN_JOB,
    enqueue_run,
    enqueue_starts,
    run_job_key,
    run_job_of,
)
from orchestrate.agents.sessions import child_session
from orchestrate.agents.stats import (
    AgentStats,
    AgentStatsReport,
    StatsFilter,
    summarise,
)
from orchestrate.agents.steering import approve, cancel, deny, pause, resume
from orchestrate.agents.stuck import MIN_REPEATS
from orchestrate.agents.tables import AgentRow
from orchestrate.agents.workspaces import BRANCH_PREFIX
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.db import IntegrityError
from orchestrate.core.durations import parse_since
from orchestrate.core.errors import Conflict, InvalidTransition, OrchestrateError, ValidationFailed
from orchestrate.core.ids import new_id
from orchestrate.core.jobs import find_job_by_key
from orchestrate.core.pagination import Page, check_page_size, page_in_memory, page_of
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.costs import service as costs
from orchestrate.llm.service import Message, check_provider, provider_kind
from orchestrate.stories import service as stories

__all__ = [
    "BRANCH_PREFIX",
    "MAX_DENIAL_REASON",
    "RUN_JOB",
    "AgentEnded",
    "AgentFinished",
    "AgentOutcome",
    "AgentRun",
    "AgentState",
    "AgentStats",
    "AgentStatsReport",
    "OnFinished",
    "SpawnRequest",
    "StartAgent",
    "ToolCallRecord",
    "ToolCallStatus",
    "TranscriptWindow",
    "add_sub_agents",
    "agent_stats",
    "agent_types",
    "agent_types_page",
    "approve",
    "cancel",
    "cleanup_workspaces",
    "create_sub_agent",
    "create_sub_agents",
    "delete_agent",
    "deny",
    "descendants",
    "get_agent",
    "list_agents",
    "live_agents_within",
    "pause",
    "resume",
    "run_job_of",
    "start_agent",
    "start_created",
    "top_level_agent_ended",
    "transcript",
    "transcript_window",
    "unfinished_tool_calls",
]


@dataclass(frozen=True)
class StartAgent:
    """What a caller asks for; unset fields come from the type, then from settings."""

    type: str
    task: str
    story: str | None = None
    repo: Path | None = None
    base_ref: str = "HEAD"
    provider: str | None = None
    model: str | None = None
    max_turns: int | None = None
    max_cost_usd: Decimal | None = None
    stuck_repeats: int | None = None
    """How many repeats of a cycle of tool calls count as a loop (default: the type's, 4)."""
    record: Path | None = None
    enqueue: bool = True
    origin_key: str | None = None
    """Starting again with the same key returns the run started the first time."""
    on_finished: OnFinished[Any] | None = None
    """A job of the caller's kind enqueued when the run ends: the caller's context and
    the run's ``AgentOutcome`` (``continuation.py``)."""
    force: bool = False
    """Start on a story even though another agent is active on it (it takes the story over)."""
    pipeline: str | None = None
    """The pipeline starting the run (a step's agent): its costs and budgets count there."""
    pipeline_run_id: str | None = None


def agent_types(settings: Settings, repo: Path | None) -> list[AgentDefinition]:
    definitions = load_definitions(settings.home, repo)
    return [definitions[name] for name in sorted(definitions)]


def agent_types_page(
    settings: Settings, repo: Path | None, *, limit: int = 50, cursor: str | None = None
) -> Page[AgentDefinition]:
    """One page of the agent types by name (``GET /api/agents/types``)."""
    check_page_size(limit)
    definitions = load_definitions(settings.home, repo)
    return page_in_memory(list(definitions.values()), lambda d: d.name, limit, cursor)


async def start_agent(
    uow: UnitOfWork, settings: Settings, request: StartAgent, actor: Actor
) -> AgentRun:
    """Create a run and queue it; credentials and inputs are checked before anything is stored.

    A run on a story takes it in the same transaction (``_take_story``: one active
    agent per story, no done story) and moves it to ``in_progress``; its end moves it on
    (``story_sync.py``).
    """
    auth.authorize(actor, Permission.WRITE)
    if not request.task.strip():
        raise ValidationFailed("An agent needs a task: pass --task TEXT", field="task")
    repo = _checked_repo(request.repo)
    request = replace(request, repo=repo)
    definition = get_definition(request.type, settings.home, repo)
    provider = _absolute_replay(
        request.provider or definition.provider or settings.default_provider
    )
    model = request.model or definition.model or _default_model(settings, provider)
    await check_provider(provider, model)
    if request.origin_key is not None:
        existing = await _run_with_origin(uow.sibling(read_only=True), request.origin_key)
        if existing is not None:
            return existing
    limits = _limits(definition, request)
    try:
        async with uow:
            await costs.check_budgets(uow, costs.WorkScope(definition.name, request.pipeline))
            story_id: str | None = None
            if request.story:
                taken = await _take_story(uow, request)
                if isinstance(taken, AgentRun):
                    return taken
                story_id = taken
            row = await _add_run(
                uow,
                definition,
                request,
                provider=provider,
                model=model,
                story_id=story_id,
                limits=limits,
            )
            await auth.record_audit(
                uow, actor, "agent.start", row.id, {"type": row.type, "story_id": story_id}
            )
            if story_id is not None:
                await stories.start_work_on_story(uow, story_id, row.id, actor)
            if request.enqueue:
                await enqueue_run(uow, row.id, "start")
            await uow.commit()
            return store.to_run(row)
    except IntegrityError:
        # Another transaction started the same origin between the lookup and the commit.
        if request.origin_key is None:
            raise
        winner = await _run_with_origin(uow.sibling(read_only=True), request.origin_key)
        if winner is None:
            raise
        return winner


async def _take_story(uow: UnitOfWork, request: StartAgent) -> str | AgentRun:
    """The id of the story to start on, locked in the entered transaction; or the run
    this request's ``origin_key`` already started on it.

    One agent is active on a story at a time: a second start is refused with the
    active one's id unless forced. The story's row lock (PostgreSQL) or the single
    writer (SQLite) makes the check and the insert that follows one step, so of two
    concurrent starts exactly one gets the story.
    """
    assert request.story is not None
    story = await stories.story_for_agent(uow, request.story)
    active = await store.active_story_agent(uow, story.id)
    if active is None or request.force:
        return story.id
    if request.origin_key is not None and active.origin_key == request.origin_key:
        return store.to_run(active)
    raise Conflict(
        f"Agent {active.id} ({active.type}, {active.state}) is already working on story "
        f"{story.key or story.id}; wait for it, cancel it (orchestrate agent cancel "
        f"{active.id}), or start with --force to take the story over",
        agent_id=active.id,
        story_id=story.id,
    )


async def _run_with_origin(uow: UnitOfWork, origin_key: str) -> AgentRun | None:
    async with uow:
        row = await store.agent_with_origin(uow, origin_key)
        return None if row is None else store.to_run(row)


async def create_sub_agent(
    uow: UnitOfWork,
    settings: Settings,
    parent: AgentRun,
    agent_type: str,
    task: str,
    budget: Decimal | None,
    call_id: str,
) -> AgentRun:
    """The child of one ``spawn_agent`` call (``create_sub_agents`` for a single call);
    raises what the model would read as the call's error."""
    request = SpawnRequest(call_id=call_id, type=agent_type, task=task, budget=budget)
    (child,) = await create_sub_agents(uow, settings, parent, [request])
    if isinstance(child, OrchestrateError):
        raise child
    return child


async def create_sub_agents(
    uow: UnitOfWork, settings: Settings, parent: AgentRun, requests: Sequence[SpawnRequest]
) -> list[AgentRun | OrchestrateError]:
    """The children of ``parent``'s ``spawn_agent`` calls, each created and queued once;
    in the order of ``requests``, an error instead of a child for a call that cannot run.
    One transaction (``add_sub_agents``), after which each call with a child waits for
    it (``awaiting_child``) unless it has its result already.
    """
    try:
        return await _create_sub_agents_once(uow, settings, parent, requests)
    except IntegrityError:
        # Another transaction made one of these children between the lookup and the
        # commit (a duplicate job of the parent's turn): the next try finds them all.
        return await _create_sub_agents_once(uow, settings, parent, requests)


async def _create_sub_agents_once(
    uow: UnitOfWork, settings: Settings, parent: AgentRun, requests: Sequence[SpawnRequest]
) -> list[AgentRun | OrchestrateError]:
    async with uow:
        children = await add_sub_agents(uow, settings, parent, requests)
        started = [
            spawn.call_id
            for spawn, child in zip(requests, children, strict=True)
            if not isinstance(child, OrchestrateError)
        ]
        await store.mark_awaiting_children(uow, parent.id, started)
        await uow.commit()
    return children


async def add_sub_agents(
    uow: UnitOfWork,
    settings: Settings,
    parent: AgentRun,
    requests: Sequence[SpawnRequest],
    *,
    unrecorded: TreeTotals | None = None,
) -> list[AgentRun | OrchestrateError]:
    """``create_sub_agents`` in the caller's entered transaction, which commits them (and
    records the calls: a loop stores a reply that only spawns, its children and its
    wait in one transaction).

    The one place sub-agents are made. Calling it again for the same call (a retried or
    resumed turn) returns the child made the first time. Each child has its own
    ``agents.run`` job; the child's end records its result in its call
    (``tree.child_finished``). Same provider and story as the parent (it never moves
    the story); its own worktree, on a branch made from where the parent's branch is
    now; its type's limits with the call's budget as its dollar limit, each capped by
    what the parent and every further ancestor has left — ``unrecorded``: what this
    transaction adds to their tree totals but has not written yet (the reply's own
    model call). A recorded or replayed parent gives the child its own stream, keyed by
    the call's id (``sessions.child_session``).

    Errors a model can act on (an unknown type, an empty task, no budget left, too
    many or too deep sub-agents) are returned, not raised, so one bad call does not
    stop its siblings.
    """
    results: dict[str, AgentRun | OrchestrateError] = {}
    planned: list[tuple[SpawnRequest, AgentDefinition, StartAgent, str]] = []
    repo = Path(parent.repo_path) if parent.repo_path else None
    for spawn in requests:
        try:
            planned.append((spawn, *_plan_child(settings, parent, spawn, repo)))
        except OrchestrateError as error:
            results[spawn.call_id] = error
    if planned:
        results |= await _add_children(uow, settings, parent, planned, unrecorded)
    return [results[spawn.call_id] for spawn in requests]


def _plan_child(
    settings: Settings, parent: AgentRun, spawn: SpawnRequest, repo: Path | None
) -> tuple[AgentDefinition, StartAgent, str]:
    """The definition, the start request and the provider of one call's child."""
    session = child_session(parent, spawn.call_id)
    definition = get_definition(spawn.type, settings.home, repo)
    if not spawn.task.strip():
        raise ValidationFailed("A sub-agent needs a task", field="task")
    request = StartAgent(
        type=spawn.type,
        task=spawn.task,
        repo=repo,
        base_ref=parent.branch or parent.base_ref or "HEAD",
        max_cost_usd=spawn.budget,
        record=session.record_path,
        pipeline=parent.pipeline,
        pipeline_run_id=parent.pipeline_run_id,
        origin_key=tree.spawn_origin(parent.id, spawn.call_id),
        on_finished=OnFinished(
            tree.CHILD_FINISHED,
            tree.SpawnCall(
                parent_id=parent.id, tool_use_id=spawn.call_id, agent_type=definition.name
            ),
        ),
    )
    return definition, request, session.provider


async def _add_children(
    uow: UnitOfWork,
    settings: Settings,
    parent: AgentRun,
    planned: Sequence[tuple[SpawnRequest, AgentDefinition, StartAgent, str]],
    unrecorded: TreeTotals | None,
) -> dict[str, AgentRun | OrchestrateError]:
    """Create (or find) the planned children in the caller's transaction."""
    results: dict[str, AgentRun | OrchestrateError] = {}
    origins = [request.origin_key for _, _, request, _ in planned if request.origin_key]
    existing = await store.agents_with_origins(uow, origins)
    budgets = await store.lineage_budgets(uow, parent.id)
    if unrecorded is not None:
        budgets = tree.with_unrecorded(budgets, unrecorded)
    lineage = [budget.agent_id for budget in budgets] or [parent.id]
    started = len((await store.children_of(uow, [parent.id])).get(parent.id, []))
    spending: dict[str, list[costs.Budget]] = {}
    created: list[str] = []
    rows: list[AgentRow] = []
    for spawn, definition, request, provider in planned:
        found = existing.get(request.origin_key or "")
        if found is not None:
            results[spawn.call_id] = store.to_run(found)
            continue
        try:
            _check_room_for_child(settings, parent, depth=len(lineage), started=started)
            if definition.name not in spending:
                work = costs.WorkScope(definition.name, parent.pipeline)
                spending[definition.name] = await costs.covering_budgets(uow, work)
            spent = costs.exhausted_budget(spending[definition.name], uow.now())
            if spent is not None:
                raise costs.BudgetExhausted(spent, uow.now())
            limits = tree.bounded_by_ancestors(_limits(definition, request), budgets)
        except OrchestrateError as error:
            results[spawn.call_id] = error
            continue
        row = _new_run(
            uow,
            definition,
            request,
            provider=provider,
            model=definition.model or parent.model,
            story_id=parent.story_id,
            limits=limits,
            parent_id=parent.id,
        )
        started += 1
        created.append(spawn.call_id)
        rows.append(row)
    # One insert of the rows and one of their jobs, however many children a reply starts.
    await store.add_agents(uow, rows)  # the flush fills in the columns' defaults
    for call_id, row in zip(created, rows, strict=True):
        store.record_created(uow, row)
        results[call_id] = store.to_run(row)
    await enqueue_starts(uow, [row.id for row in rows])
    return results


def _check_room_for_child(
    settings: Settings, parent: AgentRun, *, depth: int, started: int
) -> None:
    """Refuse a child past the tree's shape limits, before anything is created.

    A model's replies decide how many children it starts; without a bound a looping or
    prompt-injected agent could fan out without end (each child a worktree and a job)
    while costing nothing until the children call their model.
    """
    if depth > settings.max_agent_depth:
        raise ValidationFailed(
            f"Sub-agents may nest {settings.max_agent_depth} levels deep "
            "(max_agent_depth); do this task yourself",
            field="depth",
        )
    if started >= settings.max_sub_agents:
        raise ValidationFailed(
            f"Agent {parent.id} has started {started} sub-agents, the most allowed "
            "(max_sub_agents); do the rest yourself",
            field="spawn_agent",
        )


async def _add_run(
    uow: UnitOfWork,
    definition: AgentDefinition,
    request: StartAgent,
    *,
    provider: str,
    model: str,
    story_id: str | None,
    limits: Limits,
    parent_id: str | None = None,
) -> AgentRow:
    row = _new_run(
        uow,
        definition,
        request,
        provider=provider,
        model=model,
        story_id=story_id,
        limits=limits,
        parent_id=parent_id,
    )
    await store.add_agent(uow, row)
    store.record_created(uow, row)
    return row


def _new_run(
    uow: UnitOfWork,
    definition: AgentDefinition,
    request: StartAgent,
    *,
    provider: str,
    model: str,
    story_id: str | None,
    limits: Limits,
    parent_id: str | None = None,
) -> AgentRow:
    """A new run's row, not yet stored."""
    now = uow.now()
    return AgentRow(
        id=new_id("agent", now),
        type=definition.name,
        state=AgentState.CREATED.value,
        task=request.task.strip(),
        story_id=story_id,
        parent_id=parent_id,
        provider=provider,
        model=model,
        repo_path=str(request.repo) if request.repo else None,
        base_ref=request.base_ref,
        limits=limits_to_json(limits),
        record_path=str(request.record.resolve()) if request.record else None,
        origin_key=request.origin_key,
        on_finished=request.on_finished.stored() if request.on_finished else None,
        pipeline=request.pipeline,
        pipeline_run_id=request.pipeline_run_id,
        created_at=now,
        updated_at=now,
    )


async def start_created(uow: UnitOfWork, agent_id: str, actor: Actor) -> AgentRun:
    """Queue an agent that was created without starting (idempotent)."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.agent_row(uow, agent_id)
        if AgentState(row.state) is not AgentState.CREATED:
            raise InvalidTransition(
                f"Agent {agent_id} is {row.state}; only a created agent can be started",
                agent_id=agent_id,
            )
        if await find_job_by_key(uow, run_job_key(agent_id, "start")) is not None:
            raise Conflict(f"Agent {agent_id} is already queued to start", agent_id=agent_id)
        await enqueue_run(uow, agent_id, "start")
        await auth.record_audit(uow, actor, "agent.start", agent_id, {})
        await uow.commit()
        return store.to_run(row)


async def get_agent(uow: UnitOfWork, agent_id: str) -> AgentRun:
    """One run, with its sub-agents listed."""
    async with uow:
        return await store.with_children(uow, store.to_run(await store.agent_row(uow, agent_id)))


async def list_agents(
    uow: UnitOfWork,
    *,
    state: AgentState | None = None,
    agent_type: str | None = None,
    story_id: str | None = None,
    repo_path: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AgentRun]:
    """Agent runs, newest first; ``repo_path`` keeps those working on that repository."""
    check_page_size(limit)
    async with uow:
        found = await store.agent_page(
            uow,
            state=state,
            agent_type=agent_type,
            story_id=story_id,
            repo_path=repo_path,
            limit=limit,
            cursor=cursor,
        )
        rows, next_cursor = page_of(found, limit)
        children = await store.children_of(uow, [row.id for row in rows])
    items = [replace(store.to_run(row), children=tuple(children.get(row.id, ()))) for row in rows]
    return Page(items=items, next_cursor=next_cursor)


@dataclass(frozen=True)
class Usage:
    """What agents spent over a period: how many runs, their tokens and dollars."""

    runs: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


async def usage_since(uow: UnitOfWork, since: datetime) -> Usage:
    """Every run created since ``since``, sub-agents included (the dashboard's "today")."""
    async with uow:
        runs, input_tokens, output_tokens, cost = await store.usage_since(uow, since)
    return Usage(runs=runs, input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost)


async def agent_stats(
    uow: UnitOfWork,
    *,
    since: str | None = None,
    agent_type: str | None = None,
    model: str | None = None,
) -> AgentStatsReport:
    """Runs, outcomes, turns, duration, tokens and cost per agent type and model
    (definitions in ``stats.py``); ``since`` as ``parse_since`` reads it, else all time.

    Raises ``ValidationFailed`` for a ``since`` that is no date, time or period.
    """
    stats_filter = StatsFilter(
        since=parse_since(since, uow.clock.now()), agent_type=agent_type, model=model
    )
    async with uow:
        totals = await store.stats_totals(uow, stats_filter)
        samples = await store.stats_samples(uow, stats_filter)
    return summarise(stats_filter, totals, samples)


async def descendants(uow: UnitOfWork, agent_ids: Sequence[str]) -> list[AgentRun]:
    """Every sub-agent below ``agent_ids``, level by level, each with its children listed."""
    found: list[AgentRun] = []
    async with uow:
        level = list(agent_ids)
        while level:
            rows = await store.agents_with_parents(uow, level)
            children = await store.children_of(uow, [row.id for row in rows])
            found.extend(
                replace(store.to_run(row), children=tuple(children.get(row.id, ()))) for row in rows
            )
            level = [row.id for row in rows]
    return found


async def transcript(
    uow: UnitOfWork, agent_id: str, *, after_seq: int = -1, limit: int = 500
) -> list[tuple[int, datetime, Message]]:
    """Messages of a run in order, after a sequence number (for following a live run)."""
    async with uow:
        await store.agent_row(uow, agent_id)
        return list(await store.transcript_page(uow, agent_id, after_seq=after_seq, limit=limit))


@dataclass(frozen=True)
class TranscriptWindow:
    """Consecutive messages of a transcript, oldest first, and whether older ones exist."""

    messages: list[tuple[int, datetime, Message]]
    has_earlier: bool

    @property
    def first_seq(self) -> int | None:
        return self.messages[0][0] if self.messages else None


async def transcript_window(
    uow: UnitOfWork, agent_id: str, *, before_seq: int | None = None, limit: int = 50
) -> TranscriptWindow:
    """The ``limit`` messages just before ``before_seq`` (the newest when None).

    A page showing a long run reads its end first and pages back from there; each
    window costs one index range however long the transcript is.
    """
    check_page_size(limit)
    async with uow:
        await store.agent_row(uow, agent_id)
        found = await store.transcript_before(uow, agent_id, before_seq=before_seq, limit=limit + 1)
    return TranscriptWindow(messages=found[:limit][::-1], has_earlier=len(found) > limit)


async def unfinished_tool_calls(
    uow: UnitOfWork, agent_ids: Sequence[str]
) -> dict[str, list[ToolCallRecord]]:
    """The tool calls of these runs that have no result yet (running, waiting for
    approval, decided but not yet run, or waiting on a sub-agent), by run."""
    async with uow:
        return await store.unfinished_tool_calls(uow, agent_ids)


async def delete_agent(uow: UnitOfWork, agent_id: str, actor: Actor) -> AgentRun:
    """Forget a finished run and its transcript (its branch and worktree stay)."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.agent_row(uow, agent_id)
        if not AgentState(row.state).is_terminal:
            raise Conflict(
                f"Agent {agent_id} is {row.state}; cancel it before deleting it",
                agent_id=agent_id,
            )
        run = store.to_run(row)
        await store.delete_agent(uow, row)
        await auth.record_audit(uow, actor, "agent.delete", agent_id, {"type": run.type})
        await uow.commit()
        return run


async def live_agents_within(uow: UnitOfWork, agent_ids: Sequence[str]) -> set[str]:
    """Of ``agent_ids``, the runs not ended yet, read in the caller's entered transaction
    (other capabilities' retention rules keep what refers to them)."""
    return await store.live_agent_ids(uow, agent_ids)


# --- helpers ------------------------------------------------------------------------------


def _default_model(settings: Settings, provider: str) -> str:
    """The configured default model, unless it belongs to another provider."""
    kind = provider_kind(provider)  # an unknown provider is reported as such, not as a model
    if kind in (settings.default_provider.partition(":")[0], "replay"):
        return settings.default_model
    raise ValidationFailed(
        f"Choose a model for provider {kind!r} with --model (the default "
        f"{settings.default_model!r} is for {settings.default_provider!r})",
        field="model",
    )


def _absolute_replay(provider: str) -> str:
    """``replay:PATH`` relative to the caller's directory, pinned before a worker reads it."""
    kind, _, path = provider.partition(":")
    if kind == "replay" and path:
        return f"replay:{Path(path).expanduser().resolve()}"
    return provider


def _checked_repo(repo: Path | None) -> Path | None:
    if repo is None:
        return None
    resolved = repo.expanduser().resolve()
    if not resolved.is_dir():
        raise ValidationFailed(f"Repository path {repo} is not a directory", field="repo")
    if not (resolved / ".git").exists():
        raise ValidationFailed(
            f"{resolved} is not the top of a git repository; pass --repo with the repository root",
            field="repo",
        )
    return resolved


def _limits(definition: AgentDefinition, request: StartAgent) -> Limits:
    defaults = Limits()
    wall = (
        timedelta(minutes=definition.max_wall_minutes)
        if definition.max_wall_minutes
        else defaults.max_wall_time
    )
    max_turns = request.max_turns or definition.max_turns or defaults.max_turns
    if max_turns < 1:
        raise ValidationFailed("max_turns must be at least 1", field="max_turns")
    cost = request.max_cost_usd if request.max_cost_usd is not None else definition.max_cost_usd
    if cost is not None and cost <= 0:
        raise ValidationFailed("max_cost_usd must be more than 0", field="max_cost_usd")
    repeats = next(
        (value for value in (request.stuck_repeats, definition.stuck_repeats) if value is not None),
        defaults.stuck_repeats,
    )
    if repeats < MIN_REPEATS:
        raise ValidationFailed(
            f"stuck_repeats must be at least {MIN_REPEATS} (how many times a repeated "
            f"call or cycle of calls counts as a loop), got {repeats}",
            field="stuck_repeats",
        )
    return Limits(
        max_turns=max_turns,
        max_tokens=definition.max_tokens,
        max_cost_usd=cost,
        max_wall_time=wall,
        stuck_repeats=repeats,
    )
