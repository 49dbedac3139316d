"""Home: what is happening now, what waits on a person, what failed, what it cost today,
and whether the workers keep up."""

from __future__ import annotations

from datetime import UTC, datetime, time

from fastapi import Request
from starlette.responses import Response

from orchestrate.agents import service as agents
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep
from orchestrate.monitoring import service as monitoring
from orchestrate.pipelines import service as pipelines
from orchestrate.web.deps import RuntimeDep

router = page_router()

SHOWN = 10


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@router.get("/ui/")
async def home(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    today = datetime.combine(runtime.clock.now().astimezone(UTC).date(), time(), tzinfo=UTC)
    running_agents = await agents.list_agents(
        _read(runtime), state=agents.AgentState.RUNNING, limit=SHOWN
    )
    active_runs = [
        run
        for status in (
            pipelines.RunStatus.RUNNING,
            pipelines.RunStatus.WAITING,
            pipelines.RunStatus.QUEUED,
        )
        for run in (await pipelines.list_runs(_read(runtime), status=status, limit=SHOWN)).items
    ][:SHOWN]
    approvals = await pipelines.pending_approvals_page(_read(runtime), session.actor, limit=SHOWN)
    waiting_agents = [
        agent
        for state in (agents.AgentState.WAITING_FOR_APPROVAL, agents.AgentState.WAITING_FOR_INPUT)
        for agent in (await agents.list_agents(_read(runtime), state=state, limit=SHOWN)).items
    ]
    failed_runs = await pipelines.list_runs(
        _read(runtime), status=pipelines.RunStatus.FAILURE, limit=5
    )
    failed_agents = await agents.list_agents(
        _read(runtime), state=agents.AgentState.FAILED, limit=5
    )
    usage = await agents.usage_since(_read(runtime), today)
    queue = await monitoring.queue_statistics(_read(runtime))
    workers = await monitoring.busy_workers(_read(runtime))
    return render(
        request,
        "home.html",
        session,
        running_agents=running_agents.items,
        active_runs=active_runs,
        approvals=approvals.items,
        waiting_agents=waiting_agents,
        failed_runs=failed_runs.items,
        failed_agents=failed_agents.items,
        usage=usage,
        queue=queue,
        dead_jobs=sum(n for (_, status), n in queue.counts.items() if status.value == "dead"),
        workers=workers,
    )
