"""The shepherd's fixers: agents that work on a pull request's branch, and what their end does.

A fixer starts from the pull request's head commit (fetched into the registered clone)
with a task that carries what the forge said — the review threads and change requests,
or the failed checks and the end of their logs, or the base it conflicts with — inside
one quoted block of untrusted data. Its task and everything needed to start it again
are written on the move before the agent starts, and the agent's origin key is the
move's id, so a start that is repeated (its worker died) returns the same run.

When the fixer ends (``delivery.shepherd_fixer_finished``, its ``on_finished`` job):

1. nothing is pushed unless it completed with commits; a conflict resolution must
   contain the base's head and leave no conflict marker in any file;
2. its head commit is pushed to the pull request's branch, as a fast-forward only
   (never a force push), unless the branch holds it already (a repeated job);
3. for review fixes, each thread it was given gets one reply (marked with the move, so a
   repeat finds it) and, when a commit was pushed, is resolved;
4. the move is finished with the fixer's cost, and the shepherd looks again.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

from orchestrate.agents import service as agents
from orchestrate.ci import service as ci
from orchestrate.core.errors import IntegrationError, OrchestrateError
from orchestrate.core.jobs import JobContext, JobKind, JobPayload
from orchestrate.core.masking import process_masker
from orchestrate.core.quoting import quote_untrusted
from orchestrate.core.runtime import Runtime
from orchestrate.delivery import _store as store
from orchestrate.delivery import push
from orchestrate.delivery.looks import ACTOR, finish_move_in, request_look
from orchestrate.delivery.models import MoveStatus, PullRequest, ShepherdMove, untrusted_block
from orchestrate.forges import service as forges
from orchestrate.forges.service import (
    REPLY_MARK,
    Check,
    ForgeNotFound,
    Move,
    MoveKind,
    ReviewThread,
)
from orchestrate.forges.service import ForgeReview as Review
from orchestrate.repositories import service as repositories

log = structlog.get_logger(__name__)

LOG_TAIL_CHARS = 6_000
"""How much of the end of each failed check's log goes to the fixer."""
MAX_CHECK_LOGS = 5
_FORGE_NAMES = {"github": "GitHub", "gitlab": "GitLab"}


class FixerContext(JobPayload):
    """Which move of which pull request a fixer works for."""

    pull_request_id: str
    move_id: str


FIXER_FINISHED = JobKind("delivery.shepherd_fixer_finished", agents.AgentFinished[FixerContext])


def move_mark(move_id: str) -> str:
    """Ends what the shepherd writes for one move: a repeat of the move finds it."""
    return f"<!-- orchestrate:move {move_id} -->"


# --- starting ------------------------------------------------------------------------------


async def start_fixer(
    runtime: Runtime, client: forges.ForgeClient, pull: PullRequest, move: Move, move_id: str
) -> None:
    """Fetch the branch, write the fixer's task on the move, and start it."""
    settings = runtime.settings
    repository = await repositories.get_repository(runtime.uow(), settings, pull.repository)
    fetched = await push.fetch_branch(repository.path, repository.remote, pull.branch)
    if fetched != move.head_sha:
        await _finish(runtime, pull.id, move_id, MoveStatus.INTERRUPTED,
                      f"the branch is at {fetched or 'nothing'} on the remote, not "
                      f"{move.head_sha[:12]}: looking again")  # fmt: skip
        return
    base_sha = None
    if move.kind is MoveKind.RESOLVE_CONFLICTS:
        base_sha = await push.fetch_branch(repository.path, repository.remote, pull.base)
    forge = _FORGE_NAMES.get(pull.forge, pull.forge)
    if move.kind is MoveKind.FIX_CHECKS:
        tree = await push.tree_of(repository.path, move.head_sha)
        task = await _checks_task(runtime, client, pull, move.checks, forge, tree)
        agent_type = settings.shepherd_fixer_type
    elif move.kind is MoveKind.FIX_REVIEW:
        task = _review_task(pull, move.threads, move.reviews, forge)
        agent_type = settings.shepherd_fixer_type
    else:
        task = _conflicts_task(pull, repository.remote, base_sha)
        agent_type = settings.shepherd_conflict_type
    detail: dict[str, Any] = {
        "type": agent_type,
        "task": task,
        "repo": str(repository.path),
        "remote": repository.remote,
        "threads": [thread.id for thread in move.threads],
        "reviews": [review.id for review in move.reviews],
        "base_sha": base_sha,
    }
    async with runtime.uow() as uow:
        row = await store.move_by_id(uow, move_id, for_update=True)
        if row is None:
            return
        row.detail = {**(row.detail or {}), **detail}
        await uow.commit()
        started = store.to_move(row)
    await ensure_started(runtime, pull, started)


async def ensure_started(runtime: Runtime, pull: PullRequest, move: ShepherdMove) -> None:
    """Start the move's fixer unless it has been (the same run if it was, unrecorded)."""
    if move.agent_id is not None:
        return
    detail = move.detail
    if "task" not in detail:
        await _finish(runtime, pull.id, move.id, MoveStatus.INTERRUPTED,
                      "its worker died before the fixer's task was written")  # fmt: skip
        return
    settings = runtime.settings
    budget = None
    if settings.shepherd_budget_usd is not None:
        async with runtime.uow(read_only=True) as reader:
            spent = sum((m.cost_usd for m in await store.moves_of(reader, pull.id)), Decimal(0))
        budget = max(settings.shepherd_budget_usd - spent, Decimal("0.01"))
    request = agents.StartAgent(
        type=str(detail["type"]),
        task=str(detail["task"]),
        repo=Path(str(detail["repo"])),
        base_ref=move.head_sha,
        max_cost_usd=budget,
        origin_key=f"shepherd:{move.id}",
        on_finished=agents.OnFinished(
            FIXER_FINISHED, FixerContext(pull_request_id=pull.id, move_id=move.id)
        ),
    )
    try:
        run = await agents.start_agent(runtime.uow(), settings, request, ACTOR)
    except OrchestrateError as error:
        # No credentials, an unknown agent type, a clone gone: retrying will not help;
        # the move fails (and counts), and the bounds stop the shepherd if it persists.
        await _finish(runtime, pull.id, move.id, MoveStatus.FAILED,
                      f"the fixer could not start: {error}")  # fmt: skip
        return
    async with runtime.uow() as uow:
        row = await store.move_by_id(uow, move.id, for_update=True)
        if row is not None and row.agent_id is None:
            row.agent_id = run.id
            await uow.commit()
    log.info("shepherd_fixer_started", move=move.id, agent_id=run.id, kind=move.kind)


def _intro(pull: PullRequest) -> str:
    return (
        f"Pull request #{pull.number} of {pull.repository} (branch {pull.branch} into "
        f"{pull.base}): your working directory is its branch at its head commit. Commit "
        "your changes; do not push and do not open a pull request (Orchestrate pushes your "
        "commits to this pull request's branch). Run the tests before you finish."
    )


async def _checks_task(
    runtime: Runtime,
    client: forges.ForgeClient,
    pull: PullRequest,
    checks: Sequence[Check],
    forge: str,
    tree_sha: str | None,
) -> str:
    masker = process_masker()
    parts = []
    logs: list[str] = []
    for check in checks[:MAX_CHECK_LOGS]:
        text = f"check: {check.name}\nstate: {check.state.value}\n"
        if check.summary:
            text += f"summary: {check.summary}\n"
        if check.job_id is not None:
            try:
                found = await client.check_log(pull.repository, check.job_id)
                logs.append(found)
            except (IntegrationError, ForgeNotFound) as error:
                found = f"(its log could not be read: {error})"
            tail = found[-LOG_TAIL_CHARS:]
            text += f"end of its log:\n{masker.mask(tail)}\n"
        elif check.details_url:
            text += f"details: {check.details_url}\n"
        parts.append(text)
    analysis = await _failure_analysis(runtime, pull, tree_sha, logs)
    if analysis:
        parts.insert(0, masker.mask(analysis))
    data = quote_untrusted(
        "\n".join(parts), source=f"failed checks of #{pull.number}", origin=forge
    )
    parsed = (
        " The failed tests parsed from the logs come first, grouped by error signature with "
        "the likely cause of each (a flaky test or the infrastructure needs no change)."
        if analysis
        else ""
    )
    return (
        f"Checks failed on pull request #{pull.number} of {pull.repository}. Find the cause "
        f"of each failure and fix it with the smallest sound change. {_intro(pull)} "
        f"The failed checks, as {forge} reported them:{parsed}\n\n{data}"
    )


async def _failure_analysis(
    runtime: Runtime, pull: PullRequest, tree_sha: str | None, logs: Sequence[str]
) -> str | None:
    """The checks' logs parsed as test output and analysed against the CI test history
    (``ci.service``); None when no log holds test results or the analysis fails."""
    results: list[ci.TestResult] = []
    for text in logs:
        try:
            results += ci.parse_report(text).results
        except ci.ReportError:
            continue  # not test output (a linter, a build): its tail says enough
    if not any(result.status.is_failure for result in results):
        return None
    try:
        analysis = await ci.analyze_failures(
            runtime.uow(read_only=True),
            runtime.settings,
            repository=pull.repository,
            tree_sha=tree_sha or pull.head_sha,
            results=results,
            log_text="\n".join(logs)[-ci.MAX_LOG_CHARS :],
        )
    except OrchestrateError as error:
        log.warning("shepherd_failure_analysis_failed", pull_request=pull.id, error=str(error))
        return None
    return ci.render_brief(analysis)


def _review_task(
    pull: PullRequest, threads: Sequence[ReviewThread], reviews: Sequence[Review], forge: str
) -> str:
    parts = []
    for thread in threads:
        where = f"{thread.path}:{thread.line}" if thread.path else "the pull request"
        said = "\n".join(f"@{c.author.login or '?'}: {c.body}" for c in thread.comments)
        parts.append(f"thread {thread.id} on {where}:\n{said}")
    for review in reviews:
        parts.append(f"review by @{review.author.login or '?'} requesting changes:\n{review.body}")
    data = quote_untrusted(
        "\n\n".join(parts), source=f"review comments on #{pull.number}", origin=forge
    )
    return (
        f"Reviewers asked for changes on pull request #{pull.number} of {pull.repository}. "
        "Make each change where it is sound; where one is not, leave the code and say why in "
        f"your summary, naming the thread. {_intro(pull)} The review comments, as {forge} "
        f"gave them:\n\n{data}"
    )


def _conflicts_task(pull: PullRequest, remote: str, base_sha: str | None) -> str:
    base = f"{remote}/{pull.base}"
    at = f" (commit {base_sha})" if base_sha else ""
    return (
        f"Pull request #{pull.number} of {pull.repository} conflicts with its base branch "
        f"{pull.base}. Merge {base}{at} into your branch with `git merge {base}`, resolve "
        "every conflict so that both sides' intent survives, make the tests pass, and commit "
        "the merge. Never resolve with a blanket strategy (`-X ours`, `-X theirs`, "
        "`--strategy`) and do not rebase: the pull request's history is published. "
        f"{_intro(pull)}"
    )


# --- ending --------------------------------------------------------------------------------


async def fixer_finished(context: JobContext[agents.AgentFinished[FixerContext]]) -> None:
    """The ``on_finished`` job of a fixer: push, reply, finish the move, look again."""
    runtime = context.runtime
    ids = context.payload.context
    outcome = context.payload.outcome
    async with runtime.uow(read_only=True) as reader:
        move_row = await store.move_by_id(reader, ids.move_id)
        pull_row = await store.by_id(reader, ids.pull_request_id)
        move = None if move_row is None else store.to_move(move_row)
        pull = None if pull_row is None else store.to_pull_request(pull_row)
    status, reason = MoveStatus.FAILED, "the pull request's record is gone"
    detail: dict[str, Any] = {}
    if move is not None and pull is not None and move.status is MoveStatus.STARTED:
        try:
            status, reason, detail = await _deliver(runtime, pull, move, outcome)
        except IntegrationError as error:
            status, reason = MoveStatus.FAILED, f"delivering the fix failed: {error}"
    async with runtime.uow() as uow:
        await finish_move_in(uow, ids.move_id, status, reason, detail, cost_usd=outcome.cost_usd)
        row = await store.by_id(uow, ids.pull_request_id, for_update=True)
        if row is not None:
            await request_look(uow, row)
        await context.complete_in(uow)
        await uow.commit()
    log.info("shepherd_fixer_finished", move=ids.move_id, status=status.value, reason=reason)


async def _deliver(
    runtime: Runtime, pull: PullRequest, move: ShepherdMove, outcome: agents.AgentOutcome
) -> tuple[MoveStatus, str, dict[str, Any]]:
    if outcome.state is not agents.AgentState.COMPLETED:
        why = outcome.failure_reason or outcome.state.value
        return MoveStatus.FAILED, f"the fixer ended {outcome.state.value}: {why}", {}
    agent = await agents.get_agent(runtime.uow(read_only=True), outcome.agent_id)
    repo = Path(str(move.detail.get("repo") or agent.repo_path or ""))
    remote = str(move.detail.get("remote") or "origin")
    head = None
    if agent.branch and agent.base_commit:
        head = await push.branch_head(repo, agent.branch, agent.base_commit)
    if head is None or head.commits == 0:
        if move.kind == MoveKind.FIX_REVIEW.value:
            await _reply(runtime, pull, move, agent.summary, pushed=None)
        return MoveStatus.NO_CHANGE, "the fixer made no commit", {}
    if move.kind == MoveKind.RESOLVE_CONFLICTS.value:
        refused = await _check_resolution(repo, move, head.sha)
        if refused is not None:
            return MoveStatus.FAILED, refused, {"head": head.sha}
    remote_head = await push.fetch_branch(repo, remote, pull.branch)
    holds = remote_head is not None and await push.contains(repo, head.sha, remote_head)
    if not holds:
        if remote_head is not None and not await push.contains(repo, remote_head, head.sha):
            return (
                MoveStatus.FAILED,
                (
                    f"{pull.branch} moved on the remote to {remote_head[:12]} while the fixer "
                    "worked: its commit is not pushed over it"
                ),
                {"head": head.sha},
            )
        workspace = Path(agent.workspace_path) if agent.workspace_path else None
        push_from = workspace if workspace is not None and workspace.is_dir() else repo
        await push.push_commit(push_from, remote, head.sha, pull.branch)
    if move.kind == MoveKind.FIX_REVIEW.value:
        await _reply(runtime, pull, move, agent.summary, pushed=head.sha)
    return MoveStatus.DONE, f"pushed {head.sha[:12]} to {pull.branch}", {"pushed": head.sha}


async def _check_resolution(repo: Path, move: ShepherdMove, head: str) -> str | None:
    """Why a conflict resolution is not one, or None."""
    base_sha = move.detail.get("base_sha")
    if isinstance(base_sha, str) and base_sha and not await push.contains(repo, base_sha, head):
        return f"the resolver's commit {head[:12]} does not contain the base {base_sha[:12]}"
    markers = await push.conflict_markers(repo, head)
    if markers:
        return "the resolver left conflict markers in " + ", ".join(sorted(markers)[:10])
    return None


async def _reply(
    runtime: Runtime,
    pull: PullRequest,
    move: ShepherdMove,
    summary: str | None,
    *,
    pushed: str | None,
) -> None:
    """One reply per thread the fixer was given (resolved when a commit was pushed), and
    one comment for change requests made outside threads."""
    mark = move_mark(move.id)
    masked = process_masker().mask(summary) if summary else None
    report = untrusted_block(masked)
    if pushed is not None:
        said = f"Orchestrate's fixer (agent `{move.agent_id}`) addressed this in {pushed[:12]}."
    else:
        said = f"Orchestrate's fixer (agent `{move.agent_id}`) made no change for this."
    if report:
        said += f"\n\nWhat the fixer reported (model output, unreviewed):\n\n{report}"
    body = f"{said}\n\n{REPLY_MARK}\n{mark}"
    wanted = set(move.detail.get("threads") or [])
    async with forges.forge_client(runtime.uow(), runtime.settings, pull.forge) as client:
        if wanted:
            for thread in await client.list_review_threads(pull.repository, pull.number):
                if thread.id not in wanted:
                    continue
                if not any(mark in comment.body for comment in thread.comments):
                    await client.reply_to_thread(pull.repository, pull.number, thread.id, body)
                if pushed is not None and not thread.resolved:
                    await client.resolve_thread(pull.repository, pull.number, thread.id)
        if move.detail.get("reviews"):
            comments = await client.list_comments(pull.repository, pull.number)
            if not any(mark in comment.body for comment in comments):
                await client.comment(pull.repository, pull.number, body)


async def _finish(
    runtime: Runtime, pull_request_id: str, move_id: str, status: MoveStatus, reason: str
) -> None:
    async with runtime.uow() as uow:
        await finish_move_in(uow, move_id, status, reason)
        row = await store.by_id(uow, pull_request_id, for_update=True)
        if row is not None:
            await request_look(uow, row)
        await uow.commit()
