"""Merging a pull request Orchestrate opened, through its forge, never by force.

``merge_pull_request`` is the one entry: the CLI's ``pr merge`` and the API's merge
route call it, and a per-repository merge policy (required approvals and checks, the
allowed method) belongs at its start, before the forge is asked. The merge is
conditional on the head commit (``expected_head_sha``, by default the head the forge
reports just before), so a push that lands in between makes the forge refuse instead
of merging unseen code. A refusal is recorded (``pull_request.merge_refused``, with
the forge's reason) and raised as ``MergeRefused`` (HTTP 409, exit 1).
"""

from __future__ import annotations

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict
from orchestrate.core.events import record_event
from orchestrate.core.masking import process_masker
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import _store as store
from orchestrate.delivery.events import PullRequestMerged, PullRequestMergeRefused
from orchestrate.delivery.models import PullRequest, PullRequestState
from orchestrate.delivery.refreshing import recorded_row
from orchestrate.forges import service as forges
from orchestrate.forges.service import MergeMethod, MergeRefused

_REASON_MAX_LENGTH = 500


async def merge_pull_request(
    uow: UnitOfWork,
    settings: Settings,
    repository: str,
    number: int,
    actor: Actor,
    *,
    method: MergeMethod = MergeMethod.MERGE,
    expected_head_sha: str | None = None,
) -> PullRequest:
    """Merge pull request ``number`` of ``repository`` with ``method`` if its head is
    ``expected_head_sha`` (default: the head the forge reports now)."""
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
        head = expected_head_sha
        if head is None:
            head = (await client.get_pull_request(recorded.repository, recorded.number)).head_sha
        try:
            result = await client.merge(
                recorded.repository, recorded.number, method=method, expected_head_sha=head
            )
        except MergeRefused as refused:
            raise await _refused(uow, actor, recorded, method, refused.reason) from None
    if not result.merged:
        raise await _refused(uow, actor, recorded, method, result.message)
    return await _record_merge(uow, actor, recorded, method, head, result.sha)


async def _refused(
    uow: UnitOfWork, actor: Actor, recorded: PullRequest, method: MergeMethod, reason: str
) -> MergeRefused:
    """Record the refusal (its own transaction: it stays whatever the caller does)."""
    said = process_masker().mask(" ".join(reason.split()))[:_REASON_MAX_LENGTH] or "no reason given"
    name = f"{recorded.repository}#{recorded.number}"
    async with uow.sibling() as recording:
        await auth.record_audit(
            recording,
            actor,
            "pull_request.merge_refused",
            name,
            {"method": method.value, "reason": said},
        )
        record_event(
            recording,
            PullRequestMergeRefused(
                subject=name,
                repository=recorded.repository,
                number=recorded.number,
                method=method.value,
                reason=said,
            ),
        )
        await recording.commit()
    return MergeRefused(f"The forge refused to merge {name}: {said}", reason=said)


async def _record_merge(
    uow: UnitOfWork,
    actor: Actor,
    recorded: PullRequest,
    method: MergeMethod,
    head: str,
    merge_sha: str | None,
) -> PullRequest:
    async with uow:
        row = await recorded_row(uow, recorded.repository, recorded.number, for_update=True)
        now = uow.now()
        row.state = PullRequestState.MERGED.value
        row.head_sha = head
        row.merged_at = row.merged_at or now
        row.updated_at = now
        name = f"{row.repository}#{row.number}"
        await auth.record_audit(
            uow, actor, "pull_request.merge", name, {"method": method.value, "head_sha": head}
        )
        record_event(
            uow,
            PullRequestMerged(
                subject=name,
                repository=row.repository,
                number=row.number,
                method=method.value,
                head_sha=head,
                merge_sha=merge_sha,
            ),
        )
        await uow.commit()
        return store.to_pull_request(row)
