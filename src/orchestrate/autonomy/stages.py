"""One step of a story the run is working on, by phase (``runner.py`` calls ``drive``).

- ``developing``: the developer runs (stuck when nothing moved for too long: it is
  cancelled and the story blocked); it completes → ``awaiting_pull_request``; it
  fails, is cancelled or completes without a commit → a new developer while attempts
  remain, else blocked; it reported itself blocked → blocked with its reason.
- ``awaiting_pull_request``: the delivery capability's job opens the pull request; once
  recorded, a code reviewer starts (``reviewing``); the job ended without one → blocked.
- ``reviewing``: the reviewer completes → its review is posted through the forge
  (``reviewing.py``) → ``awaiting_merge``; it fails → another reviewer while attempts
  remain, else blocked.
- ``awaiting_merge``: the shepherd (or a person) merges the pull request → the story is
  done; closed without merging → blocked; open with no change for too long → blocked.

Every handler returns whether it moved the run, so the runner steps again at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from orchestrate.agents import service as agents
from orchestrate.autonomy import planning, progress, reviewing
from orchestrate.autonomy.context import (
    Snapshot,
    block_story,
    change_story,
    run_actor,
    set_waiting,
)
from orchestrate.autonomy.events import EpicRunReviewPosted
from orchestrate.autonomy.models import StoryPhase, StoryProgress
from orchestrate.autonomy.starting import start_developer, start_reviewer
from orchestrate.autonomy.tables import EpicRunRow, EpicRunStoryRow
from orchestrate.core.errors import Conflict, InvalidTransition, NotFound, OrchestrateError
from orchestrate.core.events import record_event
from orchestrate.core.jobs import JobStatus, find_job_by_key
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import service as delivery
from orchestrate.stories import Story, StoryStatus
from orchestrate.stories import service as stories

log = structlog.get_logger(__name__)

_JOB_ENDED = (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED)


async def drive(runtime: Runtime, snapshot: Snapshot, seen: StoryProgress) -> bool:
    match seen.phase:
        case StoryPhase.DEVELOPING:
            return await _developing(runtime, snapshot, seen)
        case StoryPhase.AWAITING_PULL_REQUEST:
            return await _awaiting_pull_request(runtime, snapshot, seen)
        case StoryPhase.REVIEWING:
            return await _reviewing(runtime, snapshot, seen)
        case StoryPhase.AWAITING_MERGE:
            return await _awaiting_merge(runtime, snapshot, seen)
        case _:
            return False


async def start_story(runtime: Runtime, snapshot: Snapshot, seen: StoryProgress) -> bool:
    """Start a pending story: adopt its open pull request if it has one, else develop it."""
    opened = await _pull_requests(runtime, seen.story_id, None)
    open_one = next((pr for pr in opened if pr.state is delivery.PullRequestState.OPEN), None)
    try:
        if open_one is not None:
            return await start_reviewer(runtime, snapshot, seen, open_one)
        return await start_developer(runtime, snapshot, seen)
    except InvalidTransition as error:
        await set_waiting(
            runtime, snapshot.run.id, seen, f"the story cannot start: {error.message}"
        )
        return False
    except Conflict as error:  # another agent works on the story
        await set_waiting(runtime, snapshot.run.id, seen, error.message)
        return False
    except OrchestrateError as error:
        return await block_story(
            runtime, snapshot, seen, f"could not start an agent: {error.message}"
        )


async def _developing(runtime: Runtime, snapshot: Snapshot, seen: StoryProgress) -> bool:
    if seen.developer_agent_id is None:
        return await _retry_developer(runtime, snapshot, seen, "no developer was recorded")
    agent = await agents.get_agent(runtime.uow(read_only=True), seen.developer_agent_id)
    if not agent.state.is_terminal:
        moved = planning.last_progress(seen.progress_at, agent.updated_at)
        what = f"developer {agent.id} is {agent.state.value}"
        return await _unless_stuck(runtime, snapshot, seen, moved, what, cancel=agent.id)
    # Read after the agent: its end moved the story in the same transaction.
    story = await _fresh_story(runtime, seen.story_id)
    if agent.state is agents.AgentState.COMPLETED:
        found = await _pull_requests(runtime, seen.story_id, agent.id)
        if (
            not found
            and story is not None
            and story.status
            in (
                StoryStatus.READY,
                StoryStatus.BACKLOG,
            )
        ):
            reason = f"developer {agent.id} completed without committing anything"
            return await _retry_developer(runtime, snapshot, seen, reason)
        return await _move(runtime, snapshot, seen, StoryPhase.AWAITING_PULL_REQUEST, agent.id)
    if story is not None and story.status is StoryStatus.BLOCKED and story.blocked_reason:
        reason = f"the developer reported it is blocked: {story.blocked_reason}"
        return await block_story(runtime, snapshot, seen, reason)
    reason = (
        f"developer {agent.id} {agent.state.value}: {agent.failure_reason or 'no reason given'}"
    )
    return await _retry_developer(runtime, snapshot, seen, reason)


async def _retry_developer(
    runtime: Runtime, snapshot: Snapshot, seen: StoryProgress, reason: str
) -> bool:
    if not planning.may_retry(seen.attempts, snapshot.run.max_attempts):
        return await block_story(
            runtime,
            snapshot,
            seen,
            f"the developer ended without a result {seen.attempts} times; last: {reason}",
        )
    if not snapshot.is_running:
        await set_waiting(runtime, snapshot.run.id, seen, f"the run to resume ({reason})")
        return False
    log.info("epic_run_developer_retried", run_id=snapshot.run.id, story_id=seen.story_id)
    try:
        return await start_developer(runtime, snapshot, seen)
    except OrchestrateError as error:
        return await block_story(
            runtime, snapshot, seen, f"could not start a developer: {error.message}"
        )


async def _awaiting_pull_request(runtime: Runtime, snapshot: Snapshot, seen: StoryProgress) -> bool:
    developer = seen.developer_agent_id
    assert developer is not None
    # The job first: a pull request recorded after this read is then seen below.
    async with runtime.uow(read_only=True) as uow:
        job = await find_job_by_key(uow, delivery.open_job_key(developer))
    found = await _pull_requests(runtime, seen.story_id, developer)
    if found:
        return await _with_pull_request(runtime, snapshot, seen, found[0])
    if job is None or job.status in _JOB_ENDED:
        why = f": {job.last_error}" if job is not None and job.last_error else ""
        reason = (
            f"no pull request was opened for developer {developer}'s work{why} (the "
            "repository must be registered with its forge and the developer must commit; "
            "see docs/pull-requests.md)"
        )
        return await block_story(runtime, snapshot, seen, reason)
    what = f"the job opening developer {developer}'s pull request is {job.status.value}"
    return await _unless_stuck(runtime, snapshot, seen, seen.progress_at, what)


async def _with_pull_request(
    runtime: Runtime, snapshot: Snapshot, seen: StoryProgress, pull_request: delivery.PullRequest
) -> bool:
    if pull_request.state is delivery.PullRequestState.MERGED:
        return await _complete(runtime, snapshot, seen, pull_request.url)
    if pull_request.state is delivery.PullRequestState.CLOSED:
        reason = f"pull request {pull_request.url} was closed without being merged"
        return await block_story(runtime, snapshot, seen, reason)
    if not snapshot.is_running:
        await set_waiting(runtime, snapshot.run.id, seen, "the run to resume (to start the review)")
        return False
    try:
        return await start_reviewer(runtime, snapshot, seen, pull_request)
    except OrchestrateError as error:
        reason = f"could not start the code reviewer: {error.message}"
        return await block_story(runtime, snapshot, seen, reason)


async def _reviewing(runtime: Runtime, snapshot: Snapshot, seen: StoryProgress) -> bool:
    assert seen.reviewer_agent_id is not None
    agent = await agents.get_agent(runtime.uow(read_only=True), seen.reviewer_agent_id)
    if not agent.state.is_terminal:
        moved = planning.last_progress(seen.progress_at, agent.updated_at)
        what = f"code reviewer {agent.id} is {agent.state.value}"
        return await _unless_stuck(runtime, snapshot, seen, moved, what, cancel=agent.id)
    pull_request = await _recorded_pull_request(runtime, seen)
    if agent.state is agents.AgentState.COMPLETED:
        return await _post_review(runtime, snapshot, seen, pull_request, agent)
    reason = f"code reviewer {agent.id} {agent.state.value}: {agent.failure_reason or 'no reason'}"
    if not planning.may_retry(seen.review_attempts, snapshot.run.max_attempts):
        return await block_story(
            runtime,
            snapshot,
            seen,
            f"the code reviewer ended without a review {seen.review_attempts} times; last: "
            f"{reason}",
        )
    return await _with_pull_request(runtime, snapshot, seen, pull_request)


async def _post_review(
    runtime: Runtime,
    snapshot: Snapshot,
    seen: StoryProgress,
    pull_request: delivery.PullRequest,
    agent: agents.AgentRun,
) -> bool:
    target = reviewing.ReviewTarget(
        forge=pull_request.forge,
        repository=pull_request.repository,
        number=pull_request.number,
        head_sha=pull_request.head_sha or None,
        agent_id=agent.id,
        story_name=snapshot.name(seen.story_id),
    )
    if not await _claim_posting(runtime, snapshot, seen):
        return False
    try:
        posted = await reviewing.post_review(runtime.uow(), runtime.settings, target, agent.summary)
    except OrchestrateError as error:
        await _release_posting(runtime, snapshot, seen)
        log.warning("epic_run_review_not_posted", run_id=snapshot.run.id, error=error.message)
        what = f"posting the review failed: {error.message}"
        return await _unless_stuck(runtime, snapshot, seen, seen.progress_at, what)
    run = snapshot.run

    async def record(uow: UnitOfWork, run_row: EpicRunRow, row: EpicRunStoryRow) -> None:
        row.review_verdict = posted.verdict.value
        row.review_url = posted.url or None
        record_event(
            uow,
            EpicRunReviewPosted(
                subject=run.id,
                epic_id=run.epic_id,
                story_id=seen.story_id,
                agent_id=agent.id,
                pull_request=f"{pull_request.repository}#{pull_request.number}",
                verdict=posted.verdict.value,
                posted_as=posted.posted_as.value,
                comments=posted.comments,
            ),
        )
        detail = f"review posted ({posted.verdict.value}) on {pull_request.url}"
        progress.set_phase(uow, run_row, row, StoryPhase.AWAITING_MERGE, detail=detail)

    return await change_story(runtime, seen, run.id, record)


_POSTING = "posting"
_POSTING_EXPIRES = timedelta(minutes=5)


async def _claim_posting(runtime: Runtime, snapshot: Snapshot, seen: StoryProgress) -> bool:
    """Of two workers stepping the run at once, only one posts the review (a claim that
    a worker which died while posting leaves expires; the review's marker then finds
    what it posted)."""
    now = runtime.clock.now()
    claimed = False

    async def apply(uow: UnitOfWork, run_row: EpicRunRow, row: EpicRunStoryRow) -> None:
        nonlocal claimed
        expired = row.progress_at + _POSTING_EXPIRES < now
        if row.review_verdict is None or (row.review_verdict == _POSTING and expired):
            row.review_verdict = _POSTING
            row.progress_at = now
            claimed = True

    await change_story(runtime, seen, snapshot.run.id, apply)
    return claimed


async def _release_posting(runtime: Runtime, snapshot: Snapshot, seen: StoryProgress) -> None:
    async def apply(uow: UnitOfWork, run_row: EpicRunRow, row: EpicRunStoryRow) -> None:
        if row.review_verdict == _POSTING:
            row.review_verdict = None

    await change_story(runtime, seen, snapshot.run.id, apply)


async def _awaiting_merge(runtime: Runtime, snapshot: Snapshot, seen: StoryProgress) -> bool:
    pull_request = await _recorded_pull_request(runtime, seen)
    if pull_request.state is not delivery.PullRequestState.OPEN:
        return await _with_pull_request(runtime, snapshot, seen, pull_request)
    await set_waiting(
        runtime,
        snapshot.run.id,
        seen,
        f"pull request #{pull_request.number} to be merged (the shepherd merges it when "
        "its repository's merge policy allows)",
    )
    moved = planning.last_progress(seen.progress_at, pull_request.updated_at)
    what = f"pull request {pull_request.url} is open"
    return await _unless_stuck(runtime, snapshot, seen, moved, what)


async def _complete(runtime: Runtime, snapshot: Snapshot, seen: StoryProgress, url: str) -> bool:
    actor = run_actor(snapshot.run)
    detail = f"pull request {url} merged"

    async def apply(uow: UnitOfWork, run_row: EpicRunRow, row: EpicRunStoryRow) -> None:
        try:
            await stories.complete_story(uow, row.story_id, actor, by="epic_run", detail=detail)
        except InvalidTransition:
            log.info("epic_run_story_not_completed", story_id=row.story_id)
        row.pull_request_url = row.pull_request_url or url
        progress.set_phase(uow, run_row, row, StoryPhase.DONE, detail=detail)

    return await change_story(runtime, seen, snapshot.run.id, apply)


async def _move(
    runtime: Runtime, snapshot: Snapshot, seen: StoryProgress, target: StoryPhase, agent_id: str
) -> bool:
    async def apply(uow: UnitOfWork, run_row: EpicRunRow, row: EpicRunStoryRow) -> None:
        progress.set_phase(uow, run_row, row, target, detail=f"agent {agent_id} completed")

    return await change_story(runtime, seen, snapshot.run.id, apply)


async def _unless_stuck(
    runtime: Runtime,
    snapshot: Snapshot,
    seen: StoryProgress,
    moved: datetime,
    what: str,
    *,
    cancel: str | None = None,
) -> bool:
    """Block the story when nothing ``moved`` for the run's stuck time (never while
    paused: a paused run waits on purpose), cancelling its agent first."""
    run = snapshot.run
    if not snapshot.is_running or not planning.is_stuck(
        moved, runtime.clock.now(), run.stuck_after
    ):
        return False
    if cancel is not None:
        try:
            await agents.cancel(runtime.uow(), cancel, run_actor(run))
        except OrchestrateError as error:
            log.info("epic_run_agent_not_cancelled", agent_id=cancel, error=error.message)
    reason = planning.stuck_reason(seen.phase, run.stuck_after, what)
    return await block_story(runtime, snapshot, seen, reason)


async def _fresh_story(runtime: Runtime, story_id: str) -> Story | None:
    try:
        return await stories.get_story(runtime.uow(read_only=True), story_id)
    except NotFound:
        return None


async def _pull_requests(
    runtime: Runtime, story_id: str, agent_id: str | None
) -> list[delivery.PullRequest]:
    page = await delivery.list_pull_requests(
        runtime.uow(read_only=True), story_id=story_id, agent_id=agent_id, limit=50
    )
    return list(page.items)


async def _recorded_pull_request(runtime: Runtime, seen: StoryProgress) -> delivery.PullRequest:
    assert seen.pull_request_repository is not None
    assert seen.pull_request_number is not None
    return await delivery.get_pull_request(
        runtime.uow(read_only=True), seen.pull_request_repository, seen.pull_request_number
    )
