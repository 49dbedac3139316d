"""Recording a change set: who its members are, in which order they merge.

Each ``--agent`` names a completed agent run whose work tree is a registered
repository (its branch is the change there); each ``--pr`` an open pull request
Orchestrate opened already (``pr list``). The order comes from the repository graph
(declared and detected dependencies, ``repo graph``) when the set is created, and is
kept with it: a dependency declared later does not reorder a set half merged.

In one transaction: the set, its members, the audit record, ``changeset.created`` and
the job that opens the pull requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrate.agents import service as agents
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.changesets import _store as store
from orchestrate.changesets.events import ChangeSetCreated
from orchestrate.changesets.models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_MEMBERS,
    ChangeSet,
    ChangeSetState,
    MemberState,
    check_title,
    merge_order,
    parse_pull_request_ref,
)
from orchestrate.changesets.tables import ChangeSetMemberRow, ChangeSetRow
from orchestrate.core.errors import Conflict, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.jobs import JobKind, JobPayload, enqueue
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import service as delivery
from orchestrate.repositories import service as repositories


@dataclass(frozen=True)
class NewChangeSet:
    title: str
    description: str = ""
    agent_ids: tuple[str, ...] = ()
    pull_requests: tuple[str, ...] = ()
    """``owner/name#number`` of pull requests Orchestrate opened."""


class OpenChangeSet(JobPayload):
    """Open the pull requests of change set ``change_set_id``, in merge order."""

    change_set_id: str


OPEN_CHANGE_SET = JobKind("changesets.open_pull_requests", OpenChangeSet)


@dataclass(frozen=True)
class _Candidate:
    """A member before it has a place in the order."""

    repository: str
    agent_id: str | None
    given_as: str
    pull_request: delivery.PullRequest | None = None


async def create_change_set(
    uow: UnitOfWork, settings: Settings, new: NewChangeSet, actor: Actor
) -> ChangeSet:
    """Record a change set and enqueue the job that opens its pull requests in order."""
    auth.authorize(actor, Permission.WRITE)
    title = check_title(new.title)
    if len(new.description) > DESCRIPTION_MAX_LENGTH:
        raise ValidationFailed(
            f"A change set's description is at most {DESCRIPTION_MAX_LENGTH} characters"
        )
    _check_count(new)
    index = await repositories.repository_index(uow.sibling(read_only=True), settings)
    candidates = [await _of_agent(uow, index, agent_id) for agent_id in new.agent_ids]
    for text in new.pull_requests:
        candidates.append(await _of_pull_request(uow, index, text))
    _check_one_per_repository(candidates)
    await _check_not_in_another(uow, candidates)
    graph = await repositories.repository_graph(uow.sibling(read_only=True), settings)
    order = merge_order(
        [c.repository for c in candidates],
        [(edge.repository, edge.depends_on) for edge in graph.edges],
    )
    by_name = {c.repository: c for c in candidates}
    async with uow:
        now = uow.now()
        change_set_id = new_id("cs", now)
        members = [
            _member_row(change_set_id, position, by_name[name], order.depends_on[name])
            for position, name in enumerate(order.order)
        ]
        found = ChangeSetRow(
            id=change_set_id,
            title=title,
            description=new.description.strip(),
            state=ChangeSetState.OPEN.value,
            failure_reason=None,
            created_by=actor.name,
            poll_round=0,
            created_at=now,
            updated_at=now,
            finished_at=None,
        )
        await store.add(uow, found, members)
        await auth.record_audit(
            uow, actor, "changeset.create", change_set_id, {"repositories": list(order.order)}
        )
        record_event(
            uow,
            ChangeSetCreated(
                subject=change_set_id,
                change_set_id=change_set_id,
                title=title,
                repositories=list(order.order),
                actor=actor.name,
            ),
        )
        await enqueue(
            uow,
            OPEN_CHANGE_SET,
            OpenChangeSet(change_set_id=change_set_id),
            key=f"{OPEN_CHANGE_SET.name}:{change_set_id}",
        )
        await uow.commit()
        return store.to_change_set(found, members)


def _check_count(new: NewChangeSet) -> None:
    count = len(new.agent_ids) + len(new.pull_requests)
    if count < 2:
        raise ValidationFailed(
            "A change set spans at least two repositories: name a member of each with "
            "--agent AGENT_ID (a completed agent run) or --pr OWNER/NAME#NUMBER",
            members=count,
        )
    if count > MAX_MEMBERS:
        raise ValidationFailed(f"A change set has at most {MAX_MEMBERS} members", members=count)
    repeated = sorted({a for a in new.agent_ids if new.agent_ids.count(a) > 1})
    if repeated:
        raise ValidationFailed(
            f"Agent {repeated[0]} is named twice; each member is named once", agent_id=repeated[0]
        )


async def _of_agent(
    uow: UnitOfWork, index: repositories.RepositoryIndex, agent_id: str
) -> _Candidate:
    agent = await agents.get_agent(uow.sibling(read_only=True), agent_id.strip())
    if agent.state is not agents.AgentState.COMPLETED:
        raise Conflict(
            f"Agent {agent.id} is {agent.state.value}: only a completed agent's work can be "
            "part of a change set",
            agent_id=agent.id,
            state=agent.state.value,
        )
    if not (agent.repo_path and agent.branch):
        raise Conflict(
            f"Agent {agent.id} worked in no repository, so it has no branch to deliver",
            agent_id=agent.id,
        )
    repository = index.at_path(Path(agent.repo_path))
    if repository is None:
        raise Conflict(
            f"Agent {agent.id} worked in {agent.repo_path}, which is no registered repository; "
            f"register it first (orchestrate repo add {agent.repo_path} --name OWNER/NAME)",
            agent_id=agent.id,
            path=agent.repo_path,
        )
    return _Candidate(repository.name, agent.id, f"agent {agent.id}")


async def _of_pull_request(
    uow: UnitOfWork, index: repositories.RepositoryIndex, text: str
) -> _Candidate:
    name, number = parse_pull_request_ref(text)
    pull_request = await delivery.get_pull_request(uow.sibling(read_only=True), name, number)
    ref = f"{pull_request.repository}#{pull_request.number}"
    if pull_request.state is not delivery.PullRequestState.OPEN:
        raise Conflict(
            f"Pull request {ref} is {pull_request.state.value}: only an open one can join "
            "a change set",
            pull_request=ref,
            state=pull_request.state.value,
        )
    repository = index.find(pull_request.repository)
    if repository is None:
        raise Conflict(
            f"Repository {pull_request.repository} of {ref} is no longer registered; "
            "register it again (orchestrate repo add)",
            pull_request=ref,
        )
    return _Candidate(repository.name, pull_request.agent_id, f"pull request {ref}", pull_request)


def _check_one_per_repository(candidates: list[_Candidate]) -> None:
    seen: dict[str, _Candidate] = {}
    for candidate in candidates:
        key = store.name_key(candidate.repository)
        if key in seen:
            raise ValidationFailed(
                f"{seen[key].given_as} and {candidate.given_as} both change "
                f"{candidate.repository}: a change set has one member per repository "
                "(put the work on one branch)",
                repository=candidate.repository,
            )
        seen[key] = candidate


async def _check_not_in_another(uow: UnitOfWork, candidates: list[_Candidate]) -> None:
    async with uow.sibling(read_only=True) as reader:
        clashes = await store.unfinished_with(
            reader,
            agent_ids=[c.agent_id for c in candidates if c.agent_id is not None],
            pull_requests=[
                (c.pull_request.repository, c.pull_request.number)
                for c in candidates
                if c.pull_request is not None
            ],
        )
    if clashes:
        change_set_id, repository, number, agent_id = clashes[0]
        what = f"{repository}#{number}" if number is not None else f"agent {agent_id}"
        raise Conflict(
            f"The work of {what} is already part of change set {change_set_id}, which is not "
            f"finished; cancel it first (orchestrate changeset cancel {change_set_id})",
            change_set_id=change_set_id,
        )


def _member_row(
    change_set_id: str, position: int, candidate: _Candidate, depends_on: tuple[str, ...]
) -> ChangeSetMemberRow:
    pull_request = candidate.pull_request
    return ChangeSetMemberRow(
        change_set_id=change_set_id,
        position=position,
        repository=candidate.repository,
        repository_key=store.name_key(candidate.repository),
        agent_id=candidate.agent_id,
        depends_on=list(depends_on),
        state=(MemberState.PENDING if pull_request is None else MemberState.OPEN).value,
        pr_number=None if pull_request is None else pull_request.number,
        pr_url=None if pull_request is None else pull_request.url,
        note=None,
        merged_at=None,
    )
