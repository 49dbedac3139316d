"""Running an agent as a durable job: set up its workspace and drive the loop.

``agents.run`` jobs are capped at ``max_concurrent_agents`` per worker process; agents
beyond that wait as ``created`` and start in the order they were queued. A job picked
up again after a worker died resumes the run from its stored transcript. Sub-agents
started with ``spawn_agent`` run inside their parent's job (so a parent never waits for
a slot its own children would need), each in its own worktree on a branch made from the
parent's branch. The story a run works on follows it from ``start_agent`` (in progress)
to its final transition (``story_sync.py``: review, ready or blocked).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import structlog

from orchestrate.agents import _store as store
from orchestrate.agents.definitions import get_definition
from orchestrate.agents.loop import AgentLoop, LoopEnvironment, ProviderFactory
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.agents.queueing import RunAgentJob
from orchestrate.agents.service import RUN_JOB, create_sub_agent
from orchestrate.agents.sessions import is_session, session_provider
from orchestrate.agents.tools.git import DEFAULT_AUTHOR_EMAIL, DEFAULT_AUTHOR_NAME
from orchestrate.agents.tools.registry import tools_for
from orchestrate.agents.workspaces import create_workspace
from orchestrate.core.errors import OrchestrateError
from orchestrate.core.jobs import JobContext, JobRegistry
from orchestrate.core.runtime import Runtime
from orchestrate.core.sandbox import SandboxPolicy
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

    async def run_agent(context: JobContext[RunAgentJob]) -> dict[str, str]:
        agent_id = context.payload.agent_id
        try:
            run = await execute_agent(context.runtime, agent_id, factory)
        except Exception as error:
            if context.job.is_last_attempt:
                await _fail_quietly(context.runtime, agent_id, f"internal error: {error}")
            raise
        return {"agent_id": agent_id, "state": run.state.value}

    registry.register(RUN_JOB, run_agent, max_concurrent=runtime.settings.max_concurrent_agents)


async def execute_agent(runtime: Runtime, agent_id: str, factory: ProviderFactory) -> AgentRun:
    """Drive one agent until it finishes, waits or fails; returns its state afterwards."""
    run = await _begin(runtime, agent_id)
    if run.state is not AgentState.RUNNING:
        return run
    try:
        environment = await _environment(runtime, run, factory)
        run = await _reload(runtime, agent_id)
        provider = factory(run)
    except OrchestrateError as error:
        await _fail_quietly(runtime, agent_id, f"could not start: {error}")
        return await _reload(runtime, agent_id)
    try:
        await AgentLoop(runtime, run, provider, environment).drive()
    finally:
        await provider.aclose()
    return await _reload(runtime, agent_id)


async def _begin(runtime: Runtime, agent_id: str) -> AgentRun:
    async with runtime.uow() as uow:
        row = await store.agent_row(uow, agent_id, for_update=True)
        if AgentState(row.state) is AgentState.CREATED:
            store.transition(uow, row, AgentState.RUNNING)
            await uow.commit()
        return store.to_run(row)


async def _reload(runtime: Runtime, agent_id: str) -> AgentRun:
    async with runtime.uow(read_only=True) as uow:
        return store.to_run(await store.agent_row(uow, agent_id))


async def _environment(
    runtime: Runtime, run: AgentRun, factory: ProviderFactory
) -> LoopEnvironment:
    settings = runtime.settings
    repo = Path(run.repo_path) if run.repo_path else None
    definition = get_definition(run.type, settings.home, repo)
    if run.workspace_path is None:
        await _prepare_workspace(runtime, run)
        run = await _reload(runtime, run.id)
    assert run.workspace_path is not None
    tools = {tool.spec.name: tool for tool in tools_for(definition.tools)}

    async def spawn_child(
        parent: AgentRun, agent_type: str, task: str, budget: Decimal | None, call_id: str
    ) -> str:
        return await _run_child(runtime, parent, agent_type, task, budget, factory, call_id)

    return LoopEnvironment(
        definition=definition,
        tools=tools,
        workspace=Path(run.workspace_path),
        env=_agent_environment(),
        approval_tools=frozenset(settings.approval_tools),
        spawn_child=spawn_child,
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


async def _prepare_workspace(runtime: Runtime, run: AgentRun) -> None:
    """A git worktree for runs on a repository, a scratch folder otherwise."""
    values: dict[str, str] = {}
    if run.repo_path:
        workspace = await create_workspace(
            Path(run.repo_path), run.id, _slug(run), run.base_ref or "HEAD"
        )
        values = {
            "workspace_path": str(workspace.path),
            "branch": workspace.branch,
            "base_ref": workspace.base_ref,
            "base_commit": workspace.base_commit,
        }
    else:
        scratch = runtime.settings.home / "workspaces" / run.id
        scratch.mkdir(parents=True, exist_ok=True)
        values = {"workspace_path": str(scratch)}
    async with runtime.uow() as uow:
        row = await store.agent_row(uow, run.id, for_update=True)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = uow.now()
        await uow.commit()


async def _run_child(
    runtime: Runtime,
    parent: AgentRun,
    agent_type: str,
    task: str,
    budget: Decimal | None,
    factory: ProviderFactory,
    call_id: str,
) -> str:
    child_run = await create_sub_agent(
        runtime.uow(), runtime.settings, parent, agent_type, task, budget, call_id=call_id
    )
    child_id = child_run.id
    child = await execute_agent(runtime, child_id, factory)
    if child.state is AgentState.COMPLETED:
        return f"Sub-agent {child_id} ({agent_type}) completed:\n\n{child.summary or ''}"
    detail = child.failure_reason or child.summary or ""
    return f"Sub-agent {child_id} ({agent_type}) ended {child.state.value}: {detail}"


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
    """Run the queued start job of this agent in this process (``agent start --wait``).

    Claims only that job, with a lease and heartbeats like any worker; if a worker
    already took it, this returns at once and the caller just follows the agent.
    """
    from orchestrate.agents.service import run_job_of
    from orchestrate.core.jobs import JobRunner

    job_id = await run_job_of(runtime.uow(read_only=True), await _reload(runtime, agent_id))
    if job_id is None:
        return
    registry = JobRegistry()
    register_agent_jobs(
        registry, runtime, (lambda _rt: factory) if factory else default_provider_factory
    )
    await JobRunner(runtime, registry, only_jobs=[job_id]).run(until_idle=True)
