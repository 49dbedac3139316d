"""Reading a pull request: as recorded, and refreshed from its forge when reachable.

A refresh asks the forge for the pull request, the checks of its head commit and its
reviews, and writes back what changed (state, head, draft, title); a state the forge
changed on its own (closed or merged by a person) is a ``pull_request.state_changed``
event. A forge that cannot be asked (no credentials, down, the pull request gone)
leaves the record as it was: the view says it is stale and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from orchestrate.auth.service import Actor
from orchestrate.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    IntegrationError,
    NotFound,
)
from orchestrate.core.events import record_event
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import _store as store
from orchestrate.delivery.events import PullRequestStateChanged
from orchestrate.delivery.models import (
    ChecksSummary,
    PullRequest,
    PullRequestState,
    PullRequestView,
    ReviewsSummary,
    ShepherdState,
)
from orchestrate.delivery.tables import PullRequestRow
from orchestrate.forges import service as forges
from orchestrate.forges.service import Check, CheckState, PullRequestInfo, ReviewVerdict
from orchestrate.forges.service import ForgeReview as Review
from orchestrate.stories import service as stories

log = structlog.get_logger(__name__)

_UNREACHABLE = (IntegrationError, ConfigurationError, AuthenticationFailed, NotFound)


async def recorded_row(
    uow: UnitOfWork, repository: str, number: int, *, for_update: bool = False
) -> PullRequestRow:
    """The row of pull request ``number`` in ``repository`` (``uow`` entered), or NotFound."""
    row = await store.by_number(uow, repository, number, for_update=for_update)
    if row is None:
        raise NotFound(
            f"Orchestrate opened no pull request #{number} in {repository}; "
            "see 'orchestrate pr list'",
            repository=repository,
            number=number,
        )
    return row


async def show_pull_request(
    uow: UnitOfWork, settings: Settings, repository: str, number: int
) -> PullRequestView:
    """The pull request with its checks and reviews as the forge reports them now."""
    async with uow.sibling(read_only=True) as reader:
        recorded = store.to_pull_request(await recorded_row(reader, repository, number))
    try:
        async with forges.forge_client(uow.sibling(), settings, recorded.forge) as client:
            info = await client.get_pull_request(recorded.repository, recorded.number)
            checks = await client.list_checks(recorded.repository, info.head_sha)
            reviews = await client.list_reviews(recorded.repository, recorded.number)
    except _UNREACHABLE as error:
        log.info(
            "pull_request_not_refreshed", repository=repository, number=number, reason=str(error)
        )
        return PullRequestView(
            recorded, False, ChecksSummary(), ReviewsSummary(), stale_reason=str(error)
        )
    refreshed = await apply_forge_view(uow, repository, number, info)
    return PullRequestView(
        refreshed, True, summarize_checks(checks), summarize_reviews(reviews), info.mergeable
    )


async def apply_forge_view(
    uow: UnitOfWork, repository: str, number: int, info: PullRequestInfo
) -> PullRequest:
    """Write what the forge reports into the record; an event when the state moved."""
    async with uow:
        row = await recorded_row(uow, repository, number, for_update=True)
        before = PullRequestState(row.state)
        after = PullRequestState(info.state.value)
        changed = (row.state, row.head_sha, row.draft, row.title) != (
            after.value,
            info.head_sha or row.head_sha,
            info.draft,
            info.title[:300],
        )
        if changed:
            now = uow.now()
            row.state = after.value
            row.head_sha = info.head_sha or row.head_sha
            row.draft = info.draft
            row.title = info.title[:300]
            row.updated_at = now
            if after is PullRequestState.MERGED and row.merged_at is None:
                row.merged_at = now
            if after is not PullRequestState.OPEN:
                row.shepherd_state = ShepherdState.DONE.value
            if after is PullRequestState.MERGED and before is not after:
                await story_merged(uow, row)
            if after is not before:
                record_event(
                    uow,
                    PullRequestStateChanged(
                        subject=f"{row.repository}#{row.number}",
                        repository=row.repository,
                        number=row.number,
                        from_state=before.value,
                        to_state=after.value,
                    ),
                )
            await uow.commit()
        return store.to_pull_request(row)


async def story_merged(uow: UnitOfWork, row: PullRequestRow) -> None:
    """The pull request's story, if any, is done now that it merged (``uow`` entered)."""
    if row.story_id is not None:
        await stories.record_pull_request_merged(
            uow, row.story_id, row.url, Actor.system("delivery")
        )


def summarize_checks(checks: Sequence[Check]) -> ChecksSummary:
    pending = [c for c in checks if c.state is CheckState.PENDING]
    succeeded = [c for c in checks if c.state in (CheckState.SUCCESS, CheckState.NEUTRAL)]
    failing = [c for c in checks if c.state in (CheckState.FAILURE, CheckState.CANCELLED)]
    return ChecksSummary(
        total=len(checks),
        pending=len(pending),
        succeeded=len(succeeded),
        failed=len(failing),
        failing=tuple(c.name for c in failing),
    )


def summarize_reviews(reviews: Sequence[Review]) -> ReviewsSummary:
    """Each reviewer's latest approving or blocking verdict counts; comments only when
    they gave nothing else (as GitHub counts a review's decision)."""
    latest: dict[str, ReviewVerdict] = {}
    for review in reviews:
        who = review.author.login or f"review {review.id}"
        if review.verdict is ReviewVerdict.COMMENTED and who in latest:
            continue
        latest[who] = review.verdict
    approvers = tuple(sorted(w for w, v in latest.items() if v is ReviewVerdict.APPROVED))
    return ReviewsSummary(
        approved=len(approvers),
        changes_requested=sum(v is ReviewVerdict.CHANGES_REQUESTED for v in latest.values()),
        commented=sum(v is ReviewVerdict.COMMENTED for v in latest.values()),
        approvers=approvers,
    )
