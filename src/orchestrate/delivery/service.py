"""Use cases of pull requests from agent runs; the delivery capability's public API.

When a top-level agent completes, the transaction that ends it enqueues a durable job
(``delivery.open_pull_request``, keyed by the agent) through the agents capability's
``top_level_agent_ended`` hook; the job pushes the branch and opens the pull request
(``opening.py``) if the agent worked in a registered repository and committed —
otherwise it ends quietly, saying why in the log. ``pr create`` does the same for one
agent on demand. Merging goes through ``merge_pull_request`` (``merging.py``), which
hands it to the forges' merge controller and the repository's merge policy.

Every pull request recorded is shepherded (``shepherd.py``, docs/shepherd.md): looks
queued when it opens, when a webhook concerns it (``on_forge_event``, called by webhook
processing in its own transaction) and on a timer while it waits; fixers on its branch
(``fixers.py``); the merge through the same controller when the policy allows
``auto_merge``.

Reads need no role; opening and merging need ``write`` (operators and admins), and
are audited.
"""

from __future__ import annotations

import structlog

from orchestrate.agents import service as agents
from orchestrate.auth.service import Actor
from orchestrate.core.jobs import JobContext, JobKind, JobPayload, JobRegistry, enqueue
from orchestrate.core.pagination import Page, TimeCursor, check_page_size
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import _store as store
from orchestrate.delivery import fixers, shepherd
from orchestrate.delivery.fixers import FIXER_FINISHED
from orchestrate.delivery.gates import MergeGate, add_merge_gate, remove_merge_gate
from orchestrate.delivery.looks import LOOK
from orchestrate.delivery.merging import NotReadyToMerge, merge_pull_request
from orchestrate.delivery.models import (
    MoveStatus,
    PullRequest,
    PullRequestState,
    PullRequestView,
    ShepherdMove,
    ShepherdState,
    ShepherdStatus,
    checks_as_judged,
)
from orchestrate.delivery.opening import NothingToDeliver, Opened, open_for_agent
from orchestrate.delivery.refreshing import recorded_row, show_pull_request
from orchestrate.delivery.security_fix import SecurityFix, fix_finding
from orchestrate.delivery.shepherd import (
    list_moves,
    on_forge_event,
    request_look_by_number,
    shepherded,
)
from orchestrate.forges.service import MergeMethod, MergeRefused

__all__ = [
    "FIXER_FINISHED",
    "LOOK",
    "OPEN_PULL_REQUEST",
    "MergeGate",
    "MergeMethod",
    "MergeRefused",
    "MoveStatus",
    "NotReadyToMerge",
    "NothingToDeliver",
    "OpenPullRequest",
    "Opened",
    "PullRequest",
    "PullRequestState",
    "PullRequestView",
    "SecurityFix",
    "ShepherdMove",
    "ShepherdState",
    "ShepherdStatus",
    "add_merge_gate",
    "checks_as_judged",
    "enqueue_on_completion",
    "fix_finding",
    "follow_agents",
    "follow_agents_on_open",
    "get_pull_request",
    "list_moves",
    "list_pull_requests",
    "merge_pull_request",
    "on_forge_event",
    "open_for_agent",
    "open_job_key",
    "register_delivery_jobs",
    "remove_merge_gate",
    "request_look_by_number",
    "shepherded",
    "show_pull_request",
]

log = structlog.get_logger(__name__)


class OpenPullRequest(JobPayload):
    """Push agent ``agent_id``'s branch and open its pull request."""

    agent_id: str


OPEN_PULL_REQUEST = JobKind("delivery.open_pull_request", OpenPullRequest)


def open_job_key(agent_id: str) -> str:
    return f"{OPEN_PULL_REQUEST.name}:{agent_id}"


async def list_pull_requests(
    uow: UnitOfWork,
    *,
    repository: str | None = None,
    state: PullRequestState | None = None,
    story_id: str | None = None,
    agent_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[PullRequest]:
    """The pull requests Orchestrate opened, newest first, filtered."""
    check_page_size(limit)
    async with uow:
        rows = await store.page(
            uow,
            repository=repository,
            state=state,
            story_id=story_id,
            agent_id=agent_id,
            limit=limit,
            cursor=cursor,
        )
    items = [store.to_pull_request(row) for row in rows[:limit]]
    more = len(rows) > limit and bool(items)
    next_cursor = TimeCursor(items[-1].opened_at, items[-1].id).encode() if more else None
    return Page(items, next_cursor)


async def get_pull_request(uow: UnitOfWork, repository: str, number: int) -> PullRequest:
    """One pull request as last recorded (no forge call)."""
    async with uow:
        return store.to_pull_request(await recorded_row(uow, repository, number))


# --- following agents ------------------------------------------------------------------


async def enqueue_on_completion(uow: UnitOfWork, ended: agents.AgentEnded) -> None:
    """The ``top_level_agent_ended`` subscriber: a completed run that worked on a branch
    gets the job that opens its pull request, in the transaction that ends it."""
    if ended.state is not agents.AgentState.COMPLETED:
        return
    if not (ended.repo_path and ended.branch and ended.base_commit):
        return
    payload = OpenPullRequest(agent_id=ended.agent_id)
    await enqueue(uow, OPEN_PULL_REQUEST, payload, key=open_job_key(ended.agent_id))


def follow_agents() -> None:
    """Open pull requests for completed agents from now on, in this process (idempotent)."""
    agents.top_level_agent_ended.subscribe(enqueue_on_completion)


async def follow_agents_on_open(runtime: Runtime) -> None:
    """The composition root's hook for every process: ``follow_agents``."""
    follow_agents()


async def _open_pull_request(context: JobContext[OpenPullRequest]) -> None:
    runtime = context.runtime
    try:
        await open_for_agent(
            runtime.uow(),
            runtime.settings,
            context.payload.agent_id,
            Actor.system("delivery"),
            finish=context.complete_in,
            only_from_default=True,
        )
    except NothingToDeliver as skipped:
        log.info("pull_request_not_opened", agent_id=context.payload.agent_id, reason=str(skipped))


def register_delivery_jobs(registry: JobRegistry, runtime: Runtime) -> None:
    """The job that opens pull requests, in a process that follows agents, and the
    shepherd's: its looks and its fixers' ends."""
    follow_agents()
    registry.register(OPEN_PULL_REQUEST, _open_pull_request)
    registry.register(LOOK, shepherd.look)
    registry.register(FIXER_FINISHED, fixers.fixer_finished)
