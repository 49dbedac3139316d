"""What the model is told: the system prompt of its type plus the run's situation, and
the first user message with the task (and the story, when the run is linked to one)."""

from __future__ import annotations

from orchestrate.agents.context import ContextFitter
from orchestrate.agents.models import AgentDefinition, AgentRun
from orchestrate.core.quoting import quote_untrusted
from orchestrate.core.uow import UnitOfWork
from orchestrate.llm.service import CompletionRequest, Message, Role, TextBlock, ToolSpec
from orchestrate.stories import service as stories

MAX_OUTPUT_TOKENS = 8192
GITHUB_LABEL = "github"
"""The label the triggers capability gives stories it makes from GitHub issues."""


def system_prompt(run: AgentRun, definition: AgentDefinition) -> str:
    situation = [
        "",
        "## Your situation",
        f"- You are agent {run.id}, of type '{definition.name}'.",
    ]
    if run.workspace_path:
        situation.append(
            f"- Your tools work in {run.workspace_path}; paths are relative to it and "
            "cannot leave it."
        )
    if run.branch:
        situation.append(
            f"- It is a git worktree on branch '{run.branch}', created from "
            f"'{run.base_ref}' ({(run.base_commit or '')[:12]}). Commit your work there."
        )
    situation.append(
        "- End every run by calling the `finish` tool with a status (completed, blocked "
        "or needs_input) and a summary; a run that stops without it is not done."
    )
    return definition.system_prompt.rstrip() + "\n" + "\n".join(situation) + "\n"


async def first_message(uow: UnitOfWork, run: AgentRun) -> Message:
    """The task (and the story it is for), as the user message a run starts with.

    ``uow`` is an unentered unit of work the story is read with.
    """
    parts = [run.task.strip()]
    if run.story_id:
        story = await stories.get_story(uow, run.story_id)
        criteria = "\n".join(
            f"- [{'x' if c.done else ' '}] {c.text}" for c in story.acceptance_criteria
        )
        title = _story_title(story.title, story.labels, story.id)
        parts.append(
            f"## Story {story.key or story.id}: {title}\n\n{story.description}".rstrip()
            + (f"\n\nAcceptance criteria:\n{criteria}" if criteria else "")
        )
    return Message(role=Role.USER, content=[TextBlock(text="\n\n".join(parts))])


def _story_title(title: str, labels: tuple[str, ...], story_id: str) -> str:
    """The title as a heading, unless a stranger wrote it: then as quoted data.

    Stories made from GitHub issues (label ``github``) carry the issue's title, which
    anyone who can open an issue chose; their description quotes it already.
    """
    if GITHUB_LABEL not in labels:
        return title
    return "\n\n" + quote_untrusted(title, source=f"title of story {story_id}")


def build_request(
    run: AgentRun,
    definition: AgentDefinition,
    messages: list[Message],
    tools: list[ToolSpec],
    window_tokens: int,
    fitter: ContextFitter,
    pressure: float = 1.0,
) -> CompletionRequest:
    """The next request: everything the model should see, fitted to its context window.

    ``messages`` is the whole stored transcript; the fitter decides what of it is sent.
    """
    request = CompletionRequest(
        model=run.model,
        system=system_prompt(run, definition),
        messages=messages,
        tools=tools,
        max_tokens=min(MAX_OUTPUT_TOKENS, max(1024, window_tokens // 8)),
    )
    return fitter.fit(request, window_tokens, pressure=pressure)
