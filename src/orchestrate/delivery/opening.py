"""From a completed agent run to a pushed branch and an open pull request, idempotently.

The steps, each safe to repeat, so a worker killed anywhere resumes without a second
push or pull request:

1. look the pull request up by (repository, branch): recorded already → done;
2. push the branch's head commit (pushing a commit the remote has is a no-op);
3. ask the forge to open the pull request — ``ForgeClient.open_pull_request`` returns
   the open one for the same head and base instead of opening a second;
4. in one transaction: the row (unique per repository and branch), the story's
   ``pr_url``, the audit record, the ``pull_request.opened`` event, and — in a job —
   the job's completion.

Nothing here holds a transaction open across git or the forge.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from orchestrate.agents import service as agents
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor
from orchestrate.core.db import IntegrityError
from orchestrate.core.errors import Conflict, NotFound
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.masking import process_masker
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import _store as store
from orchestrate.delivery import push
from orchestrate.delivery.events import PullRequestOpened
from orchestrate.delivery.looks import request_look
from orchestrate.delivery.models import (
    PullRequest,
    PullRequestState,
    ShepherdState,
    StoryRef,
    pull_request_body,
    pull_request_labels,
    pull_request_title,
)
from orchestrate.delivery.tables import PullRequestRow
from orchestrate.forges import service as forges
from orchestrate.forges.service import NewPullRequest, PullRequestInfo
from orchestrate.repositories import service as repositories
from orchestrate.stories import service as stories

log = structlog.get_logger(__name__)

Finisher = Callable[[UnitOfWork], Awaitable[None]]
"""Work to add to the recording transaction (a job's ``complete_in``)."""


class NothingToDeliver(Conflict):
    """The agent's work cannot become a pull request (not completed, no commits, its
    repository not registered); the message says which and what to do."""

    title = "Nothing to deliver"


@dataclass(frozen=True)
class Delivery:
    """What to push and open for one agent run."""

    agent: agents.AgentRun
    repository: repositories.Repository
    base: str
    push_from: Path
    head: push.BranchHead
    story: StoryRef | None


@dataclass(frozen=True)
class Opened:
    pull_request: PullRequest
    is_new: bool
    """False: it had been recorded before (a repeated request or a resumed job)."""


async def open_for_agent(
    uow: UnitOfWork,
    settings: Settings,
    agent_id: str,
    actor: Actor,
    *,
    draft: bool | None = None,
    finish: Finisher | None = None,
    only_from_default: bool = False,
) -> Opened:
    """Push a completed agent's branch and open its pull request (once).

    ``only_from_default``: open it only when the agent's work started from the
    repository's default branch — what opening on completion asks. An agent that
    started from another branch (a fixer on a pull request's branch) did work that
    belongs to that branch, not to a new pull request against the default branch;
    asked explicitly (``pr create``), it is opened all the same.

    Raises ``NothingToDeliver`` when there is nothing to open, ``ConfigurationError``
    without forge credentials, ``IntegrationError`` when git or the forge fails.
    """
    auth.authorize(actor, auth.Permission.WRITE)
    delivery = await _plan(uow, settings, agent_id)
    if only_from_default:
        await _check_from_default(delivery)
    branch = delivery.agent.branch
    assert branch is not None
    async with uow.sibling(read_only=True) as reader:
        existing = await store.by_branch(reader, delivery.repository.name, branch)
    if existing is not None and existing.agent_id is not None:
        await _finish_only(uow, finish)
        return Opened(store.to_pull_request(existing), is_new=False)
    new = _new_pull_request(settings, delivery, settings.pr_draft if draft is None else draft)
    # The client first: without forge credentials nothing is pushed.
    async with forges.forge_client(uow.sibling(), settings, delivery.repository.forge) as client:
        await push.push_commit(
            delivery.push_from, delivery.repository.remote, delivery.head.sha, branch
        )
        info = await client.open_pull_request(new)
    return await _record(uow, settings, delivery, info, actor, finish)


async def _plan(uow: UnitOfWork, settings: Settings, agent_id: str) -> Delivery:
    agent = await agents.get_agent(uow.sibling(read_only=True), agent_id)
    if agent.state is not agents.AgentState.COMPLETED:
        raise NothingToDeliver(
            f"Agent {agent.id} is {agent.state.value}: only a completed agent's work "
            "becomes a pull request",
            agent_id=agent.id,
        )
    if not (agent.repo_path and agent.branch and agent.base_commit):
        raise NothingToDeliver(
            f"Agent {agent.id} worked in no repository, so there is no branch to push",
            agent_id=agent.id,
        )
    repository = await _registered(uow, settings, Path(agent.repo_path), agent.id)
    if not repository.default_branch:
        raise NothingToDeliver(
            f"Repository {repository.name} has no default branch to open the pull request "
            f"against; register it again with --default-branch",
            agent_id=agent.id,
        )
    head = await push.branch_head(Path(agent.repo_path), agent.branch, agent.base_commit)
    if head is None or head.commits == 0:
        raise NothingToDeliver(
            f"Agent {agent.id} made no commit on {agent.branch}: there is nothing to push",
            agent_id=agent.id,
        )
    workspace = Path(agent.workspace_path) if agent.workspace_path else None
    return Delivery(
        agent=agent,
        repository=repository,
        base=repository.default_branch,
        push_from=workspace
        if workspace is not None and workspace.is_dir()
        else Path(agent.repo_path),
        head=head,
        story=await _story(uow, agent.story_id),
    )


async def _check_from_default(delivery: Delivery) -> None:
    agent, repository = delivery.agent, delivery.repository
    assert agent.repo_path is not None
    assert agent.base_commit is not None
    started_there = await push.branches_from(
        Path(agent.repo_path), agent.base_commit, delivery.base, repository.remote
    )
    if not started_there:
        raise NothingToDeliver(
            f"Agent {agent.id} started from {agent.base_ref or agent.base_commit}, not from "
            f"{repository.name}'s default branch {delivery.base}: its work belongs to that "
            f"branch; open a pull request for it with 'orchestrate pr create {agent.id}'",
            agent_id=agent.id,
        )


async def _registered(
    uow: UnitOfWork, settings: Settings, path: Path, agent_id: str
) -> repositories.Repository:
    index = await repositories.repository_index(uow.sibling(read_only=True), settings)
    found = index.at_path(path)
    if found is None:
        raise NothingToDeliver(
            f"Agent {agent_id} worked in {path}, which is no registered repository; "
            f"register it (orchestrate repo add {path} --name OWNER/NAME) and run "
            f"orchestrate pr create {agent_id}",
            agent_id=agent_id,
            path=str(path),
        )
    return await repositories.get_repository(uow.sibling(read_only=True), settings, found.name)


async def _story(uow: UnitOfWork, story_id: str | None) -> StoryRef | None:
    if story_id is None:
        return None
    try:
        story = await stories.get_story(uow.sibling(read_only=True), story_id)
    except NotFound:
        return None
    return StoryRef(id=story.id, key=story.key, title=story.title)


def _new_pull_request(settings: Settings, delivery: Delivery, draft: bool) -> NewPullRequest:
    agent = delivery.agent
    assert agent.branch is not None
    summary = process_masker().mask(agent.summary) if agent.summary else None
    return NewPullRequest(
        repository=delivery.repository.name,
        head_branch=agent.branch,
        base_branch=delivery.base,
        title=pull_request_title(delivery.story, agent.task),
        body=pull_request_body(
            story=delivery.story,
            agent_id=agent.id,
            agent_type=agent.type,
            masked_summary=summary,
        ),
        draft=draft,
        labels=pull_request_labels(settings.pr_labels),
    )


async def _record(
    uow: UnitOfWork,
    settings: Settings,
    delivery: Delivery,
    info: PullRequestInfo,
    actor: Actor,
    finish: Finisher | None,
) -> Opened:
    """Record the pull request (once), or claim the row the shepherd recorded when the
    forge's ``labeled`` webhook was processed before this (``adopted``: no agent yet)."""
    agent = delivery.agent
    assert agent.branch is not None
    for attempt in (1, 2):
        try:
            async with uow:
                row = await store.by_branch(
                    uow, delivery.repository.name, agent.branch, for_update=True
                )
                if row is not None and row.agent_id is not None:
                    if finish is not None:
                        await finish(uow)
                    await uow.commit()
                    return Opened(store.to_pull_request(row), is_new=False)
                row = _claim(row, uow, delivery, info) if row else _new_row(uow, delivery, info)
                if settings.shepherd_enabled:
                    await request_look(uow, row)
                if agent.story_id is not None:
                    await stories.record_pull_request(
                        uow, agent.story_id, info.url, agent.id, actor
                    )
                await auth.record_audit(
                    uow,
                    actor,
                    "pull_request.open",
                    f"{row.repository}#{row.number}",
                    {"agent_id": agent.id},
                )
                record_event(uow, _opened_event(row))
                if finish is not None:
                    await finish(uow)
                await uow.commit()
        except IntegrityError:
            if attempt == 2:
                raise
            continue  # another process recorded this branch meanwhile: look again
        log.info(
            "pull_request_opened",
            repository=row.repository,
            number=row.number,
            branch=row.branch,
            agent_id=agent.id,
        )
        return Opened(store.to_pull_request(row), is_new=True)
    raise AssertionError("unreachable")  # pragma: no cover


def _new_row(uow: UnitOfWork, delivery: Delivery, info: PullRequestInfo) -> PullRequestRow:
    agent = delivery.agent
    assert agent.branch is not None
    now = uow.now()
    row = PullRequestRow(
        id=new_id("pr", now),
        forge=delivery.repository.forge.value,
        repository=delivery.repository.name,
        repository_key=store.name_key(delivery.repository.name),
        number=info.number,
        url=info.url,
        branch=agent.branch,
        base=info.base_branch or delivery.base,
        head_sha=info.head_sha or delivery.head.sha,
        state=PullRequestState(info.state.value).value,
        draft=info.draft,
        title=info.title[:300],
        story_id=agent.story_id,
        agent_id=agent.id,
        opened_at=now,
        updated_at=now,
        merged_at=None,
        shepherd_state=ShepherdState.ACTIVE.value,
        shepherd_ticks=0,
    )
    store.add(uow, row)
    return row


def _claim(
    row: PullRequestRow, uow: UnitOfWork, delivery: Delivery, info: PullRequestInfo
) -> PullRequestRow:
    """The adopted row of this branch becomes the agent's pull request."""
    row.agent_id = delivery.agent.id
    row.story_id = delivery.agent.story_id
    row.title = info.title[:300]
    row.updated_at = uow.now()
    return row


async def _finish_only(uow: UnitOfWork, finish: Finisher | None) -> None:
    if finish is None:
        return
    async with uow.sibling() as finishing:
        await finish(finishing)
        await finishing.commit()


def _opened_event(row: PullRequestRow) -> PullRequestOpened:
    return PullRequestOpened(
        subject=f"{row.repository}#{row.number}",
        forge=row.forge,
        repository=row.repository,
        number=row.number,
        url=row.url,
        branch=row.branch,
        base=row.base,
        head_sha=row.head_sha,
        draft=row.draft,
        agent_id=row.agent_id,
        story_id=row.story_id,
    )
