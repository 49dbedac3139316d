"""Merging a pull request Orchestrate opened: the repository's merge policy decides.

``merge_pull_request`` is the one entry (``pr merge`` and the API's merge route): it
hands the pull request to the forges' merge controller (``forges.merge_pull_request``,
docs/merging.md), which reads the repository's policy (approvals, checks, method),
judges the head, and merges that head only — never with an admin override. The
controller audits and records the merge or the forge's refusal
(``forge.pull_request_merged``, ``forge.pull_request_merge_refused``); here the record
of the pull request follows (``pull_request.state_changed``), and an outcome that is no
merge is raised: ``MergeRefused`` with the forge's reason, ``NotReadyToMerge`` with the
policy's reasons (both HTTP 409, exit 1).
"""

from __future__ import annotations

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict
from orchestrate.core.events import record_event
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import _store as store
from orchestrate.delivery.events import PullRequestStateChanged
from orchestrate.delivery.models import PullRequest, PullRequestState, ShepherdState
from orchestrate.delivery.refreshing import recorded_row, story_merged
from orchestrate.forges import service as forges
from orchestrate.forges.service import MergeMethod, MergeRefused, MergeStatus


class NotReadyToMerge(Conflict):
    """The merge policy says not now: waiting (approvals, checks to come) or blocked
    (changes requested, a failed check, conflicts, a draft); the message lists why."""

    title = "Not ready to merge"


async def merge_pull_request(
    uow: UnitOfWork,
    settings: Settings,
    repository: str,
    number: int,
    actor: Actor,
    *,
    method: MergeMethod | None = None,
) -> PullRequest:
    """Merge pull request ``number`` of ``repository`` if its merge policy says it is ready;
    ``method`` replaces the policy's method for this merge."""
    auth.authorize(actor, Permission.WRITE)
    async with uow.sibling(read_only=True) as reader:
        recorded = store.to_pull_request(await recorded_row(reader, repository, number))
    if recorded.state is not PullRequestState.OPEN:
        raise Conflict(
            f"Pull request {recorded.repository}#{recorded.number} is {recorded.state.value}; "
            "only an open one can be merged",
            state=recorded.state.value,
        )
    async with forges.forge_client(uow.sibling(), settings, recorded.forge) as client:
        outcome = await forges.merge_pull_request(
            uow.sibling(),
            settings,
            client,
            recorded.repository,
            recorded.number,
            actor=actor,
            method=method,
        )
    if outcome.status in (MergeStatus.MERGED, MergeStatus.ALREADY_MERGED):
        return await record_merge(uow, recorded, outcome.head_sha)
    if outcome.status is MergeStatus.REFUSED:
        raise MergeRefused(outcome.summary, reason=outcome.refused_reason or "")
    raise NotReadyToMerge(
        outcome.summary,
        status=outcome.status.value,
        reasons=[reason.kind.value for reason in outcome.reasons],
    )


async def record_merge(uow: UnitOfWork, recorded: PullRequest, head: str) -> PullRequest:
    """Record that the forge merged ``recorded`` (at ``head``); its story is done."""
    async with uow:
        row = await recorded_row(uow, recorded.repository, recorded.number, for_update=True)
        before = PullRequestState(row.state)
        now = uow.now()
        row.state = PullRequestState.MERGED.value
        row.head_sha = head or row.head_sha
        row.merged_at = row.merged_at or now
        row.updated_at = now
        if before is not PullRequestState.MERGED:
            record_event(
                uow,
                PullRequestStateChanged(
                    subject=f"{row.repository}#{row.number}",
                    repository=row.repository,
                    number=row.number,
                    from_state=before.value,
                    to_state=PullRequestState.MERGED.value,
                ),
            )
            await story_merged(uow, row)
        row.shepherd_state = ShepherdState.DONE.value
        await uow.commit()
        return store.to_pull_request(row)
