"""Built-in automations: the agents and stories a forge's delivery starts without a pipeline.

On GitLab two of them apply, those that map cleanly: an issue opened or labelled becomes
a story, and a failed pipeline on a branch of the project starts a CI fixer. The
pull request shepherd and the review fixer are GitHub's only: their agents work through
GitHub's pull requests and reviews (GitLab's notes carry no "changes requested").

``automation_plans.py`` decides, purely, what a delivery asks for and whether its author
is trusted; this module carries the plans out. Agents and stories open their own
transactions, so they cannot join the one that marks a delivery processed; instead
each plan carries a key that makes doing it twice a no-op, and a retried or
redelivered job repeats nothing:

- agents: ``origin_key`` (starting with a known key returns the first run), per pull
  request and head commit, per review, or per repository and head commit of failed CI;
- stories: the story's unique ``origin_key`` ``github-issue:<issue id>`` (its ``source``
  and description carry the issue's link).

A plan with ``skipped`` set (an untrusted author, a failure from a fork) and an agent
plan for a repository the registry does not know (``orchestrate repo add``, or the seed
``ORCHESTRATE_GITHUB_REPOSITORIES``) start nothing; both are recorded. Agents start
from the registered work tree of the repository.
Work on a fork's branch is not automated: the branch lives in another repository, so
an agent could not push its fixes there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrate.agents import service as agents
from orchestrate.auth.service import Actor
from orchestrate.core.errors import ConfigurationError, NotFound, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.delivery import service as delivery
from orchestrate.forges.service import ForgeEvent
from orchestrate.repositories.service import RepositoryIndex
from orchestrate.stories import service as stories
from orchestrate.triggers.automation_plans import (
    AgentPlan,
    Automation,
    AutomationKind,
    StoryPlan,
    plan_automations,
)

__all__ = [
    "AgentPlan",
    "Automation",
    "AutomationKind",
    "StoryPlan",
    "describe",
    "plan_automations",
    "run_automations",
]


_SHEPHERDS_WORK = frozenset(
    {AutomationKind.PR_SHEPHERD, AutomationKind.REVIEW_FIXER, AutomationKind.CI_FIXER}
)
"""Automations that would start an agent for what the shepherd does on its pull requests."""


def describe(plan: Automation, registry: RepositoryIndex) -> dict[str, Any]:
    """What a plan would do, as recorded on a delivery and shown by ``webhook explain``."""
    described: dict[str, Any] = {
        "automation": plan.kind.value,
        "repository": plan.repository,
        "reason": plan.reason,
    }
    if plan.agent is not None:
        described |= {"agent_type": plan.agent.type, "base_ref": plan.agent.base_ref}
        if plan.skipped is None and _local_clone(registry, plan) is None:
            described["skipped"] = _no_clone(plan.repository)
    if plan.skipped is not None:
        described["skipped"] = plan.skipped
    if plan.story is not None:
        described |= {"title": plan.story.title, "source": plan.story.source}
    return described


def _local_clone(registry: RepositoryIndex, plan: Automation) -> Path | None:
    return registry.local_clone(plan.repository, plan.forge)


def _no_clone(repository: str) -> str:
    return (
        f"no local clone of {repository}: register one with "
        f"'orchestrate repo add PATH_OR_URL --name {repository}'"
    )


async def run_automations(
    runtime: Runtime, event: ForgeEvent, registry: RepositoryIndex
) -> list[dict[str, Any]]:
    """Carry out every planned automation; what each did is returned for the delivery.

    Safe to repeat: each agent and each story has a unique origin key. A
    problem a retry cannot cure (no clone, no credentials, an unknown agent type) is
    recorded on the result; anything else raises so the job is retried.
    """
    results: list[dict[str, Any]] = []
    plans = plan_automations(event, runtime.settings)
    moved_by_shepherd: list[str] = []
    if any(plan.kind in _SHEPHERDS_WORK for plan in plans):
        moved_by_shepherd = await delivery.shepherded(runtime.uow(), runtime.settings, event)
    for plan in plans:
        described = describe(plan, registry)
        if plan.kind in _SHEPHERDS_WORK and moved_by_shepherd:
            described["skipped"] = (
                f"the shepherd moves {', '.join(moved_by_shepherd)}: its fixers do this work"
            )
        if plan.skipped is not None or "skipped" in described:
            results.append(described)
            continue
        try:
            if plan.agent is not None:
                repo = _local_clone(registry, plan)
                described |= await _start_agent(runtime, plan.agent, repo)
            elif plan.story is not None:
                described |= await _create_story(runtime, plan.story, plan.forge)
                if runtime.settings.automation_issue_develop:
                    repo = _local_clone(registry, plan)
                    described |= await _develop(runtime, plan.story, described["story_id"], repo)
        except (ValidationFailed, NotFound, ConfigurationError) as error:
            described["error"] = str(error)
        results.append(described)
    return results


async def _start_agent(runtime: Runtime, agent: AgentPlan, repo: Path | None) -> dict[str, Any]:
    request = agents.StartAgent(
        type=agent.type,
        task=agent.task,
        repo=repo,
        base_ref=agent.base_ref,
        origin_key=agent.origin_key,
    )
    run = await agents.start_agent(
        runtime.uow(), runtime.settings, request, Actor.system("webhooks")
    )
    return {"agent_id": run.id, "origin_key": agent.origin_key}


async def _develop(
    runtime: Runtime, story: StoryPlan, story_id: str, repo: Path | None
) -> dict[str, Any]:
    """Start the story developer on an issue's story (once: keyed by the issue)."""
    if repo is None:
        return {"developer_skipped": "no local clone of the repository to work in"}
    request = agents.StartAgent(
        type=runtime.settings.automation_issue_developer_type,
        task="Implement the story: make the change its description asks for, with tests.",
        story=story_id,
        repo=repo,
        origin_key=f"develop:{story.origin_key}",
    )
    run = await agents.start_agent(
        runtime.uow(), runtime.settings, request, Actor.system("webhooks")
    )
    return {"developer_agent_id": run.id}


async def _create_story(runtime: Runtime, story: StoryPlan, forge: str) -> dict[str, Any]:
    """Create the story unless a delivery of the same issue already did."""
    draft = stories.StoryDraft(
        title=story.title,
        description=story.description,
        labels=(forge,),
        source=story.source,
        origin_key=story.origin_key,
    )
    created, is_new = await stories.create_story_once(
        runtime.uow(), draft, Actor.system("webhooks")
    )
    return {"story_id": created.id, "existing": not is_new}
