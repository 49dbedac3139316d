"""Planning the built-in automations: which agent or story a delivery asks for, and why.

Pure (event and settings in, plans out), so ``webhook explain`` shows exactly what
processing would do and tests run it over every real payload. A plan the trust rules
of ``trust.py`` refuse is still returned, with ``skipped`` saying why, so the refusal
is visible; carrying plans out (``automations.py``) starts nothing for such a plan.

Everything GitHub wrote (titles, bodies, review text, branch and check names, links)
reaches the agent's task or the story's description only inside one block quoted by
``quoting.py``; the words around it are ours and name only numbers, commit ids and the
repository, which the trust and binding rules have already vetted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from orchestrate.agents.service import BRANCH_PREFIX as AGENT_BRANCH_PREFIX
from orchestrate.core.quoting import quote_untrusted
from orchestrate.core.settings import Settings
from orchestrate.forges.service import ForgeEvent, PullRequest
from orchestrate.triggers.trust import (
    Author,
    author_untrusted_reason,
    ci_untrusted_reason,
    issue_decider,
)

# GitLab's pipeline is its one run of CI per commit (its jobs are parts of it: a fixer
# per failed job would start several for one failure).
_CI_EVENTS = ("check_suite", "check_run", "workflow_run", "pipeline")
_ISSUE_EVENTS = ("issues", "issue")
_FORGE_NAMES = {"github": "GitHub", "gitlab": "GitLab"}
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
    """One built-in automation a delivery asks for, with the reason in words.

    ``skipped`` set means it must not be carried out: the author is not trusted.
    ``forge`` is where the repository is (its clone is looked up on that forge).
    """

    kind: AutomationKind
    reason: str
    repository: str
    agent: AgentPlan | None = None
    story: StoryPlan | None = None
    skipped: str | None = None
    forge: str = "github"


def plan_automations(event: ForgeEvent, settings: Settings) -> list[Automation]:
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
            plans.append(replace(plan, forge=event.forge))
    return plans


def _forge_name(event: ForgeEvent) -> str:
    return _FORGE_NAMES.get(event.forge, event.forge)


def _pull_request_data(pull_request: PullRequest) -> str:
    """The pull request's words from the forge, for inside a quoted block."""
    return (
        f"title: {pull_request.title}\n"
        f"author: @{pull_request.author.login or ''}\n"
        f"link: {pull_request.url}\n"
        f"head branch: {pull_request.head_branch or ''}\n"
        f"base branch: {pull_request.base_branch or ''}"
    )


def _plan_pr_shepherd(event: ForgeEvent, settings: Settings, repository: str) -> Automation | None:
    pull_request = event.pull_request
    if event.kind != "pull_request" or event.action not in ("opened", "reopened"):
        return None
    if pull_request is None or event.is_fork:
        return None
    number = pull_request.number
    head_sha = pull_request.head_sha
    author = Author.of("pull request author", pull_request.author)
    skipped = author_untrusted_reason(event, author, settings)
    if (event.head_branch or "").startswith(AGENT_BRANCH_PREFIX):
        # Orchestrate opened it from an agent's branch: its own shepherd moves it (the
        # webhook may come before the pull request is recorded, so the branch tells).
        skipped = "it comes from an Orchestrate agent's branch: the shepherd moves it"
    data = quote_untrusted(_pull_request_data(pull_request), source=f"pull request #{number}")
    return Automation(
        AutomationKind.PR_SHEPHERD,
        f"pull request #{number} was {event.action} (not from a fork)",
        repository,
        agent=AgentPlan(
            type="pr-shepherd",
            task=f"Shepherd pull request #{number} of {repository} to merge: watch its "
            f"checks and reviews and keep it mergeable. Head commit {head_sha}. Its title, "
            f"branches and link, as GitHub gave them:\n\n{data}",
            base_ref=event.head_branch or head_sha,
            origin_key=f"{event.forge}:pr-opened:{repository}:{number}:{head_sha}",
        ),
        skipped=skipped,
    )


def _plan_review_fixer(event: ForgeEvent, settings: Settings, repository: str) -> Automation | None:
    review = event.review
    pull_request = event.pull_request
    if event.kind != "pull_request_review" or event.action != "submitted":
        return None
    if review is None or pull_request is None or event.is_fork:
        return None
    if review.state.lower() != "changes_requested":
        return None
    number = pull_request.number
    author = Author.of("review author", review.author)
    reviewer = f"@{author.login}" if author.login else "a reviewer"
    body = review.body.strip() or "(no summary; see the review's comments)"
    data = quote_untrusted(
        f"{_pull_request_data(pull_request)}\nreview: {review.url}\n\n{body}",
        source=f"review by {reviewer} of pull request #{number}",
    )
    return Automation(
        AutomationKind.REVIEW_FIXER,
        f"{reviewer} requested changes on pull request #{number}",
        repository,
        agent=AgentPlan(
            type="issue-fixer",
            task=f"A review of pull request #{number} of {repository} requested changes. "
            f"Make the changes the review asks for where they are sound, on the pull "
            f"request's branch. The pull request and the review, as GitHub gave them:"
            f"\n\n{data}",
            base_ref=event.head_branch or pull_request.head_sha,
            origin_key=f"{event.forge}:review:{review.id}",
        ),
        skipped=author_untrusted_reason(event, author, settings),
    )


def _plan_ci_fixer(event: ForgeEvent, settings: Settings, repository: str) -> Automation | None:
    run = event.check
    if event.kind not in _CI_EVENTS or event.action != "completed" or run is None:
        return None
    conclusion, head_sha = run.conclusion, run.head_sha
    if conclusion not in _FAILED_CONCLUSIONS or not head_sha:
        return None
    branch = event.head_branch
    data = quote_untrusted(
        f"name: {run.name}\nbranch: {branch or '(none)'}\nlink: {run.url}",
        source=f"{event.kind} on commit {head_sha}",
    )
    return Automation(
        AutomationKind.CI_FIXER,
        f"a {event.kind} concluded {conclusion} on commit {head_sha}",
        repository,
        agent=AgentPlan(
            type="issue-fixer",
            task=f"CI failed in {repository}: a {event.kind} concluded {conclusion} on "
            f"commit {head_sha}. Find the cause and fix it. What failed, as "
            f"{_forge_name(event)} named it:\n\n{data}",
            base_ref=branch or head_sha,
            origin_key=f"{event.forge}:check-failure:{repository}:{head_sha}",
        ),
        skipped=ci_untrusted_reason(event, settings),
    )


def _plan_issue_story(event: ForgeEvent, settings: Settings, repository: str) -> Automation | None:
    issue = event.issue
    if event.kind not in _ISSUE_EVENTS or issue is None or not issue.id:
        # Without an id the story's origin key would be shared by every such issue.
        return None
    label = settings.automation_issue_label
    number = issue.number
    if event.action == "opened":
        reason = f"issue #{number} was opened"
    elif event.action == "labeled" and (event.added_label or "").lower() == label.lower():
        reason = f"issue #{number} was labelled '{label}'"
    else:
        return None
    decider = issue_decider(event)
    url = issue.url
    title = " ".join(issue.title.split()) or f"{_forge_name(event)} issue #{number}"
    body = issue.body.strip() or "(no description)"
    data = quote_untrusted(
        f"title: {title}\nauthor: @{issue.author.login or ''}\n\n{body}",
        source=f"issue #{number} of {repository}",
    )
    return Automation(
        AutomationKind.ISSUE_STORY,
        reason,
        repository,
        story=StoryPlan(
            title=title[:_TITLE_LIMIT],
            description=f"From {_forge_name(event)} issue {url}; its title and text:\n\n{data}",
            source=url[:_SOURCE_LIMIT],
            origin_key=f"{event.forge}-issue:{issue.id}",
        ),
        skipped=author_untrusted_reason(event, decider, settings),
    )
