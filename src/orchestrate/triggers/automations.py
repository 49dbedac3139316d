"""Built-in automations: the agents and stories a GitHub delivery starts without a pipeline.

``plan_automations`` is pure (event and settings in, plans out) so ``webhook explain``
can show what would happen and tests can run it over every real payload. ``run_automations``
carries the plans out. Agents and stories open their own transactions, so they cannot
join the one that marks a delivery processed; instead each plan carries a key that makes
doing it twice a no-op, and a retried or redelivered job repeats nothing:

- agents: ``origin_key`` (starting with a known key returns the first run), per pull
  request and head commit, per review, or per repository and head commit of failed CI;
- stories: the story's unique ``origin_key`` ``github-issue:<issue id>`` (its ``source``
  and description carry the issue's link).

Work on a fork's branch is not automated: the branch lives in another repository, so
an agent could not push its fixes there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from orchestrate.agents import service as agents
from orchestrate.auth.service import Actor
from orchestrate.core.errors import ConfigurationError, NotFound, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryDraft
from orchestrate.triggers.routing import GithubEvent

CLONES_SETTING = "ORCHESTRATE_GITHUB_REPOSITORIES"
_CI_EVENTS = ("check_suite", "check_run", "workflow_run")
_FAILED_CONCLUSIONS = frozenset({"failure", "timed_out"})
_TITLE_LIMIT = 500  # a story title's limit
_SOURCE_LIMIT = 1000  # a story source's limit


class AutomationKind(StrEnum):
    PR_SHEPHERD = "pr-shepherd"
    REVIEW_FIXER = "review-fixer"
    CI_FIXER = "ci-fixer"
    ISSUE_STORY = "issue-story"


@dataclass(frozen=True)
class AgentPlan:
    """An agent to start in a worktree of the repository's local clone."""

    type: str
    task: str
    base_ref: str
    origin_key: str


@dataclass(frozen=True)
class StoryPlan:
    """A story to add to the backlog unless one was made from ``origin_key`` already."""

    title: str
    description: str
    source: str
    origin_key: str


@dataclass(frozen=True)
class Automation:
    """One built-in automation a delivery asks for, with the reason in words."""

    kind: AutomationKind
    reason: str
    repository: str
    agent: AgentPlan | None = None
    story: StoryPlan | None = None


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def plan_automations(event: GithubEvent, settings: Settings) -> list[Automation]:
    """The built-in automations the event asks for, given the switches in ``settings``."""
    repository = event.repository
    if repository is None:
        return []
    planners = (
        (settings.automation_pr_shepherd, _plan_pr_shepherd),
        (settings.automation_review_fixer, _plan_review_fixer),
        (settings.automation_ci_fixer, _plan_ci_fixer),
        (settings.automation_issue_stories, _plan_issue_story),
    )
    plans: list[Automation] = []
    for enabled, planner in planners:
        plan = planner(event, settings, repository) if enabled else None
        if plan is not None:
            plans.append(plan)
    return plans


def _pull_request_words(pull_request: Mapping[str, Any], repository: str) -> str:
    number = pull_request.get("number")
    title = _text(pull_request.get("title"))
    url = _text(pull_request.get("html_url"))
    head = _text(_dig(pull_request, "head", "ref"))
    base = _text(_dig(pull_request, "base", "ref"))
    return (
        f"pull request #{number} '{title}' of {repository} ({url}), branch '{head}' into '{base}'"
    )


def _plan_pr_shepherd(event: GithubEvent, settings: Settings, repository: str) -> Automation | None:
    pull_request = event.pull_request
    if event.name != "pull_request" or event.action not in ("opened", "reopened"):
        return None
    if pull_request is None or event.is_fork:
        return None
    head_sha = _text(_dig(pull_request, "head", "sha"))
    branch = event.head_branch or head_sha
    words = _pull_request_words(pull_request, repository)
    return Automation(
        AutomationKind.PR_SHEPHERD,
        f"pull request #{pull_request.get('number')} was {event.action} (not from a fork)",
        repository,
        agent=AgentPlan(
            type="pr-shepherd",
            task=f"Shepherd {words} to merge: watch its checks and reviews and keep it "
            f"mergeable. Head commit {head_sha}.",
            base_ref=branch,
            origin_key=f"github:pr-opened:{repository}:{pull_request.get('number')}:{head_sha}",
        ),
    )


def _plan_review_fixer(
    event: GithubEvent, settings: Settings, repository: str
) -> Automation | None:
    review = event.payload.get("review")
    pull_request = event.pull_request
    if event.name != "pull_request_review" or event.action != "submitted":
        return None
    if not isinstance(review, Mapping) or pull_request is None or event.is_fork:
        return None
    if _text(review.get("state")).lower() != "changes_requested":
        return None
    reviewer = _text(_dig(review, "user", "login"), "a reviewer")
    body = _text(review.get("body")).strip() or "(no summary; see the review's comments)"
    words = _pull_request_words(pull_request, repository)
    return Automation(
        AutomationKind.REVIEW_FIXER,
        f"{reviewer} requested changes on pull request #{pull_request.get('number')}",
        repository,
        agent=AgentPlan(
            type="issue-fixer",
            task=f"Address the changes {reviewer} requested on {words}. "
            f"Review: {_text(review.get('html_url'))}\n\n{body}",
            base_ref=event.head_branch or _text(_dig(pull_request, "head", "sha")),
            origin_key=f"github:review:{review.get('id')}",
        ),
    )


def _plan_ci_fixer(event: GithubEvent, settings: Settings, repository: str) -> Automation | None:
    if event.name not in _CI_EVENTS or event.action != "completed" or event.is_fork:
        return None
    run = event.payload.get(event.name)
    conclusion = _text(_dig(run, "conclusion"))
    head_sha = _text(_dig(run, "head_sha"))
    if conclusion not in _FAILED_CONCLUSIONS or not head_sha:
        return None
    what = _text(_dig(run, "name")) or _text(_dig(run, "app", "name")) or event.name
    url = _text(_dig(run, "html_url")) or _text(_dig(run, "url"))
    branch = event.head_branch
    where = f"branch '{branch}'" if branch else f"commit {head_sha}"
    return Automation(
        AutomationKind.CI_FIXER,
        f"{event.name} '{what}' concluded {conclusion} on {where}",
        repository,
        agent=AgentPlan(
            type="issue-fixer",
            task=f"CI failed in {repository}: {event.name} '{what}' concluded {conclusion} "
            f"on {where} (commit {head_sha}). Find the cause and fix it. {url}".strip(),
            base_ref=branch or head_sha,
            origin_key=f"github:check-failure:{repository}:{head_sha}",
        ),
    )


def _plan_issue_story(event: GithubEvent, settings: Settings, repository: str) -> Automation | None:
    issue = event.payload.get("issue")
    if event.name != "issues" or not isinstance(issue, Mapping):
        return None
    label = settings.automation_issue_label
    if event.action == "opened":
        reason = f"issue #{issue.get('number')} was opened"
    elif event.action == "labeled" and (event.added_label or "").lower() == label.lower():
        reason = f"issue #{issue.get('number')} was labelled '{label}'"
    else:
        return None
    url = _text(issue.get("html_url"))
    body = _text(issue.get("body")).strip()
    title = " ".join(_text(issue.get("title")).split()) or f"GitHub issue #{issue.get('number')}"
    return Automation(
        AutomationKind.ISSUE_STORY,
        reason,
        repository,
        story=StoryPlan(
            title=title[:_TITLE_LIMIT],
            description=f"{body}\n\nFrom GitHub issue {url}".strip(),
            source=url[:_SOURCE_LIMIT],
            origin_key=f"github-issue:{issue.get('id')}",
        ),
    )


def local_clone(settings: Settings, repository: str) -> Path | None:
    """The configured clone of ``owner/name``; GitHub names compare case-insensitively."""
    wanted = repository.lower()
    for name, path in settings.github_repositories.items():
        if name.lower() == wanted:
            return path
    return None


def describe(plan: Automation, settings: Settings) -> dict[str, Any]:
    """What a plan would do, as recorded on a delivery and shown by ``webhook explain``."""
    described: dict[str, Any] = {
        "automation": plan.kind.value,
        "repository": plan.repository,
        "reason": plan.reason,
    }
    if plan.agent is not None:
        described |= {"agent_type": plan.agent.type, "base_ref": plan.agent.base_ref}
        if local_clone(settings, plan.repository) is None:
            described["skipped"] = _no_clone(plan.repository)
    if plan.story is not None:
        described |= {"title": plan.story.title, "source": plan.story.source}
    return described


def _no_clone(repository: str) -> str:
    return f"no local clone of {repository}; set {CLONES_SETTING}"


async def run_automations(runtime: Runtime, event: GithubEvent) -> list[dict[str, Any]]:
    """Carry out every planned automation; what each did is returned for the delivery.

    Safe to repeat: each agent and each story has a unique origin key. A
    problem a retry cannot cure (no clone, no credentials, an unknown agent type) is
    recorded on the result; anything else raises so the job is retried.
    """
    results: list[dict[str, Any]] = []
    for plan in plan_automations(event, runtime.settings):
        described = describe(plan, runtime.settings)
        if "skipped" in described:
            results.append(described)
            continue
        try:
            if plan.agent is not None:
                described |= await _start_agent(runtime, plan, plan.agent)
            elif plan.story is not None:
                described |= await _create_story(runtime, plan.story)
        except (ValidationFailed, NotFound, ConfigurationError) as error:
            described["error"] = str(error)
        results.append(described)
    return results


async def _start_agent(runtime: Runtime, plan: Automation, agent: AgentPlan) -> dict[str, Any]:
    request = agents.StartAgent(
        type=agent.type,
        task=agent.task,
        repo=local_clone(runtime.settings, plan.repository),
        base_ref=agent.base_ref,
        origin_key=agent.origin_key,
    )
    run = await agents.start_agent(
        runtime.uow(), runtime.settings, request, Actor.system("webhooks")
    )
    return {"agent_id": run.id, "origin_key": agent.origin_key}


async def _create_story(runtime: Runtime, story: StoryPlan) -> dict[str, Any]:
    """Create the story unless a delivery of the same issue already did."""
    draft = StoryDraft(
        title=story.title,
        description=story.description,
        labels=("github",),
        source=story.source,
        origin_key=story.origin_key,
    )
    created, is_new = await stories.create_story_once(
        runtime.uow(), draft, Actor.system("webhooks")
    )
    return {"story_id": created.id, "existing": not is_new}
