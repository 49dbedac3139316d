"""Running an agent as a durable job: set up its workspace and drive the loop.

``agents.run`` jobs are capped at ``max_concurrent_agents`` per worker process; agents
beyond that wait as ``created`` and start in the order they were queued. A job picked
up again after a worker died resumes the run from its stored transcript. Sub-agents
started with ``spawn_agent`` are runs with jobs of their own (``tree.py``): the parent's
job ends while they run, so a parent never holds a slot its children need; each child
works in its own worktree on a branch made from the parent's branch. The story a run
works on follows it from ``start_agent`` (in progress) to its final transition
(``story_sync.py``: review, ready or blocked).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from orchestrate.agents import _store as store
from orchestrate.agents import spans, tree
from orchestrate.agents.definitions import get_definition
from orchestrate.agents.loop import (
    AgentLoop,
    LoopEnvironment,
    ProviderFactory,
    SavedLoop,
)
from orchestrate.agents.models import AgentRun, AgentState, SpawnRequest, TreeTotals
from orchestrate.agents.queueing import RunAgentJob
from orchestrate.agents.service import RUN_JOB, add_sub_agents, create_sub_agents
from orchestrate.agents.sessions import is_session, session_provider
from orchestrate.agents.starting import StartBatcher, begin
from orchestrate.agents.tools.git import DEFAULT_AUTHOR_EMAIL, DEFAULT_AUTHOR_NAME
from orchestrate.agents.tools.registry import tools_for
from orchestrate.agents.workspaces import create_workspace
from orchestrate.core.errors import OrchestrateError
from orchestrate.core.jobs import JobContext, JobRegistry
from orchestrate.core.runtime import Runtime
from orchestrate.core.sandbox import SandboxPolicy
from orchestrate.core.uow import UnitOfWork
from orchestrate.llm.service import CompletionRequest, CompletionResponse, Provider, create_provider

log = structlog.get_logger(__name__)


class _Shared:
    """A provider used by many runs of one worker; runs must not close it."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name = inner.name

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        return await self.inner.complete(request)

    async def aclose(self) -> None:
        return None


def default_provider_factory(runtime: Runtime) -> ProviderFactory:
    """Providers for runs of this worker. Live API clients are built once per provider
    and shared (building one costs ~20 ms, mostly loading TLS certificates); replayed
    and recorded sessions are per run, since they keep a position in a file."""
    shared: dict[str, Provider] = {}

    def make(run: AgentRun) -> Provider:
        if is_session(run):
            return session_provider(run, runtime.settings)
        if run.provider not in shared:
            shared[run.provider] = _Shared(create_provider(run.provider, runtime.settings))
        return shared[run.provider]

    return make


def register_agent_jobs(
    registry: JobRegistry,
    runtime: Runtime,
    provider_factory: Callable[[Runtime], ProviderFactory] = default_provider_factory,
) -> None:
    factory = provider_factory(runtime)
    starts = StartBatcher(runtime)

    async def run_agent(context: JobContext[RunAgentJob]) -> dict[str, str]:
        agent_id = context.payload.agent_id
        try:
            run = await execute_agent(
                context.runtime,
                agent_id,
                factory,
                resuming=context.payload.reason != "start",
                starts=starts,
            )
        except Exception as error:
            if context.job.is_last_attempt:
                await _fail_quietly(context.runtime, agent_id, f"internal error: {error}")
            raise
        return {"agent_id": agent_id, "state": run.state.value}

    registry.register(RUN_JOB, run_agent, max_concurrent=runtime.settings.max_concurrent_agents)
    registry.register(tree.CHILD_FINISHED, tree.child_finished)


async def execute_agent(
    runtime: Runtime,
    agent_id: str,
    factory: ProviderFactory,
    *,
    resuming: bool = False,
    starts: StartBatcher | None = None,
) -> AgentRun:
    """Drive one agent until it finishes, waits or fails; returns its state afterwards.

    ``resuming``: the run is expected to be ``running`` already (its job was queued to
    go on after its children, an answer or an approval), so it is first only read.
    ``starts``: the worker's batcher, which starts runs beginning together at once.
    """
    begun = await begin(runtime, agent_id, resuming=resuming, starts=starts)
    if begun.run.state is not AgentState.RUNNING:
        return begun.run
    with spans.agent_job(begun.run, begun.root_id, is_first=begun.is_new) as span:
        run = await _drive(runtime, begun.run, begun.saved, factory)
        spans.agent_job_ended(span, run)
    return run


async def _drive(
    runtime: Runtime, run: AgentRun, saved: SavedLoop | None, factory: ProviderFactory
) -> AgentRun:
    agent_id = run.id
    try:
        run, environment = await _environment(runtime, run)
        provider = factory(run)
    except OrchestrateError as error:
        await _fail_quietly(runtime, agent_id, f"could not start: {error}")
        return await _reload(runtime, agent_id)
    loop = AgentLoop(runtime, run, provider, environment, saved)
    try:
        await loop.drive()
    finally:
        await provider.aclose()
    return loop.run


async def _reload(runtime: Runtime, agent_id: str) -> AgentRun:
    async with runtime.uow(read_only=True) as uow:
        return store.to_run(await store.agent_row(uow, agent_id))


async def _environment(runtime: Runtime, run: AgentRun) -> tuple[AgentRun, LoopEnvironment]:
    """The run (with its workspace, made now if it has none) and what its loop needs."""
    settings = runtime.settings
    repo = Path(run.repo_path) if run.repo_path else None
    definition = get_definition(run.type, settings.home, repo)
    if run.workspace_path is None:
        run = await _prepare_workspace(runtime, run)
    assert run.workspace_path is not None
    tools = {tool.spec.name: tool for tool in tools_for(definition.tools)}

    async def spawn_children(
        parent: AgentRun, requests: Sequence[SpawnRequest]
    ) -> list[AgentRun | OrchestrateError]:
        return await create_sub_agents(runtime.uow(), settings, parent, requests)

    async def add_children(
        uow: UnitOfWork, parent: AgentRun, requests: Sequence[SpawnRequest], pending: TreeTotals
    ) -> list[AgentRun | OrchestrateError]:
        return await add_sub_agents(uow, settings, parent, requests, unrecorded=pending)

    return run, LoopEnvironment(
        definition=definition,
        tools=tools,
        workspace=Path(run.workspace_path),
        env=_agent_environment(),
        approval_tools=frozenset(settings.approval_tools),
        spawn_child=spawn_children,
        add_children=add_children,
        sandbox=SandboxPolicy.from_settings(settings),
    )


def _agent_environment() -> dict[str, str]:
    """What an agent's programs get beyond the sandbox's minimal environment.

    Only a git identity, so that commits made from ``bash`` work as the ``git`` tool's
    do; nothing of the worker's own environment is passed on.
    """
    return {
        "GIT_AUTHOR_NAME": DEFAULT_AUTHOR_NAME,
        "GIT_AUTHOR_EMAIL": DEFAULT_AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": DEFAULT_AUTHOR_NAME,
        "GIT_COMMITTER_EMAIL": DEFAULT_AUTHOR_EMAIL,
    }


async def _prepare_workspace(runtime: Runtime, run: AgentRun) -> AgentRun:
    """A git worktree for a run on a repository (a run without one got its scratch
    folder when it started, ``starting``); returns the run with it."""
    assert run.repo_path is not None
    workspace = await create_workspace(
        Path(run.repo_path), run.id, _slug(run), run.base_ref or "HEAD"
    )
    values = {
        "workspace_path": str(workspace.path),
        "branch": workspace.branch,
        "base_ref": workspace.base_ref,
        "base_commit": workspace.base_commit,
    }
    async with runtime.uow() as uow:
        row = await store.agent_row(uow, run.id, for_update=True)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = uow.now()
        await uow.commit()
        return store.to_run(row)


async def _fail_quietly(runtime: Runtime, agent_id: str, reason: str) -> None:
    try:
        async with runtime.uow() as uow:
            row = await store.agent_row(uow, agent_id, for_update=True)
            if not AgentState(row.state).is_terminal:
                store.transition(uow, row, AgentState.FAILED, reason=reason)
                await uow.commit()
    except Exception:
        log.exception("agent_fail_not_recorded", agent_id=agent_id)


def _slug(run: AgentRun) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", run.task.lower()).strip("-")
    return f"{run.type}-{words[:40].rstrip('-')}" if words else run.type


async def run_agent_here(
    runtime: Runtime, agent_id: str, factory: ProviderFactory | None = None
) -> None:
    """Run this agent's jobs in this process (``agent start --wait``), its sub-agents' too.

    Claims only the jobs of this agent's tree (its start, its children's starts, their
    continuations and the parent's runs after them), with a lease and heartbeats like
    any worker; a job a worker already took is left to it, and the caller just follows.
    """
    from orchestrate.core.jobs import JobRunner

    registry = JobRegistry()
    register_agent_jobs(
        registry, runtime, (lambda _rt: factory) if factory else default_provider_factory
    )
    while True:
        job_ids = await _tree_jobs_queued(runtime, agent_id)
        if not job_ids:
            return
        await JobRunner(runtime, registry, only_jobs=job_ids).run(until_idle=True)


async def _tree_jobs_queued(runtime: Runtime, agent_id: str) -> list[str]:
    """Queued jobs of an agent's tree that this process may run (see ``run_agent_here``)."""
    from orchestrate.agents.queueing import children_job_key, run_job_key
    from orchestrate.agents.service import descendants
    from orchestrate.core.jobs import JobStatus, find_job_by_key

    root = await _reload(runtime, agent_id)
    runs = [root, *await descendants(runtime.uow(read_only=True), [agent_id])]
    keys: list[str] = []
    for run in runs:
        keys.append(run_job_key(run.id, "start"))
        keys.append(children_job_key(run.id, run.turns))
        if run.parent_id is not None:
            keys.append(tree.continuation_key(run.id))
    found: list[str] = []
    async with runtime.uow(read_only=True) as uow:
        for key in keys:
            job = await find_job_by_key(uow, key)
            if job is not None and job.status is JobStatus.QUEUED:
                found.append(job.id)
    return found
