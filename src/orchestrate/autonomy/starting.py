"""Starting a run's agents: the story's developer, and the code reviewer of its pull request.

Each start is keyed (``epic-run:<run>:<story>:<role>:<attempt>``), so a step repeated
by a retried job or by a second worker gets the agent the first one started. Both
agents end by enqueueing ``autonomy.agent_finished``, which steps the run at once.

The developer works from the repository's default branch as the remote has it: before
it starts, the branch is fetched into the clone's remote-tracking ref
(``git fetch REMOTE main:refs/remotes/REMOTE/main``, which never touches a checkout or a
local branch), and the developer starts from ``REMOTE/main``, so a story starts from the
merged work of the stories it depends on. When the fetch fails (no network, the remote
gone), it starts from the local branch as it is (the worker's log says why).
"""

from __future__ import annotations

import structlog

from orchestrate.agents import service as agents
from orchestrate.autonomy import progress
from orchestrate.autonomy.context import Snapshot, change_story, run_actor
from orchestrate.autonomy.events import EpicRunStoryStarted
from orchestrate.autonomy.kinds import AGENT_FINISHED, Role, StoryAgentRef
from orchestrate.autonomy.models import StoryPhase, StoryProgress
from orchestrate.autonomy.tables import EpicRunRow, EpicRunStoryRow
from orchestrate.core.events import record_event
from orchestrate.core.git import run_git
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery.service import PullRequest
from orchestrate.repositories import service as repositories
from orchestrate.stories import Story

log = structlog.get_logger(__name__)

_GIT_SECONDS = 120


def origin_key(run_id: str, story_id: str, role: Role, attempt: int) -> str:
    return f"epic-run:{run_id}:{story_id}:{role.value}:{attempt}"


async def start_developer(runtime: Runtime, snapshot: Snapshot, seen: StoryProgress) -> bool:
    """Start the story's next developer and record it; whether the run moved."""
    run, story = snapshot.run, snapshot.stories[seen.story_id]
    attempt = seen.attempts + 1
    repository = await repositories.get_repository(
        runtime.uow(read_only=True), runtime.settings, run.repository
    )
    fetched = await _fetch_default_branch(repository)
    request = agents.StartAgent(
        type="story-developer",
        task=developer_task(story),
        story=story.id,
        repo=repository.path,
        base_ref=fetched or repository.default_branch or "HEAD",
        origin_key=origin_key(run.id, story.id, Role.DEVELOPER, attempt),
        on_finished=agents.OnFinished(
            AGENT_FINISHED, StoryAgentRef(run_id=run.id, story_id=story.id, role=Role.DEVELOPER)
        ),
    )
    agent = await agents.start_agent(runtime.uow(), runtime.settings, request, run_actor(run))

    async def record(uow: UnitOfWork, run_row: EpicRunRow, row: EpicRunStoryRow) -> None:
        row.attempts = attempt
        row.developer_agent_id = agent.id
        row.reviewer_agent_id = None
        row.review_verdict = None
        row.review_url = None
        detail = f"developer {agent.id}, attempt {attempt}"
        if not progress.set_phase(uow, run_row, row, StoryPhase.DEVELOPING, detail=detail):
            row.waiting_for = None
        record_event(
            uow,
            EpicRunStoryStarted(
                subject=run.id,
                epic_id=run.epic_id,
                story_id=story.id,
                agent_id=agent.id,
                attempt=attempt,
            ),
        )

    return await change_story(runtime, seen, run.id, record)


async def start_reviewer(
    runtime: Runtime, snapshot: Snapshot, seen: StoryProgress, pull_request: PullRequest
) -> bool:
    """Start a code reviewer on the pull request's head and record it."""
    run = snapshot.run
    story = snapshot.stories.get(seen.story_id)
    attempt = seen.review_attempts + 1
    repository = await repositories.get_repository(
        runtime.uow(read_only=True), runtime.settings, run.repository
    )
    request = agents.StartAgent(
        type="code-reviewer",
        task=reviewer_task(story, pull_request),
        repo=repository.path,
        base_ref=pull_request.head_sha or pull_request.branch,
        origin_key=origin_key(run.id, seen.story_id, Role.REVIEWER, attempt),
        on_finished=agents.OnFinished(
            AGENT_FINISHED,
            StoryAgentRef(run_id=run.id, story_id=seen.story_id, role=Role.REVIEWER),
        ),
    )
    agent = await agents.start_agent(runtime.uow(), runtime.settings, request, run_actor(run))

    async def record(uow: UnitOfWork, run_row: EpicRunRow, row: EpicRunStoryRow) -> None:
        row.review_attempts = attempt
        row.reviewer_agent_id = agent.id
        row.pull_request_repository = pull_request.repository
        row.pull_request_number = pull_request.number
        row.pull_request_url = pull_request.url
        detail = f"code reviewer {agent.id} on {pull_request.url}"
        progress.set_phase(uow, run_row, row, StoryPhase.REVIEWING, detail=detail)

    return await change_story(runtime, seen, run.id, record)


def developer_task(story: Story) -> str:
    """The story as the developer's task: people wrote it (title, description, criteria)."""
    name = story.key or story.id
    lines = [f"Implement story {name}: {story.title}"]
    if story.description:
        lines += ["", story.description]
    if story.acceptance_criteria:
        lines += ["", "Acceptance criteria:"]
        lines += [f"- [{'x' if c.done else ' '}] {c.text}" for c in story.acceptance_criteria]
    lines += [
        "",
        "Commit your work on your branch; a pull request is opened from it when you "
        "finish, and a code reviewer reviews it.",
    ]
    return "\n".join(lines)


def reviewer_task(story: Story | None, pull_request: PullRequest) -> str:
    name = pull_request.story_id if story is None else f"{story.key or story.id}: {story.title}"
    lines = [
        f"Review pull request #{pull_request.number} of {pull_request.repository} "
        f"({pull_request.url}): branch {pull_request.branch} into {pull_request.base}, "
        f"checked out in your working directory. Review the commits on it that are not on "
        f"{pull_request.base}.",
        "",
        f"It implements story {name}.",
    ]
    if story is not None and story.acceptance_criteria:
        lines += ["", "Acceptance criteria:"]
        lines += [f"- {criterion.text}" for criterion in story.acceptance_criteria]
    lines += [
        "",
        "Your final summary is posted as the pull request's review. Its first line must be "
        "`Verdict: approve`, `Verdict: request changes` or `Verdict: comment`; put each "
        "finding about a line of the change on its own line as "
        "`Comment: path/to/file:LINE: what is wrong and what to do` (LINE in the new file).",
    ]
    return "\n".join(lines)


async def _fetch_default_branch(repository: repositories.Repository) -> str | None:
    """The remote's default branch fetched into its remote-tracking ref; that ref's name,
    or None when it could not be fetched."""
    branch = repository.default_branch
    if not branch:
        return None
    tracking = f"refs/remotes/{repository.remote}/{branch}"
    result = await run_git(
        "fetch",
        "--quiet",
        "--no-tags",
        repository.remote,
        f"+refs/heads/{branch}:{tracking}",
        cwd=repository.path,
        time_limit=_GIT_SECONDS,
    )
    if result.returncode != 0:
        log.info(
            "epic_run_default_branch_not_updated",
            repository=repository.name,
            branch=branch,
            said=result.stderr.strip()[:500],
        )
        return None
    return tracking
