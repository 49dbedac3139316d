"""Pull requests Orchestrate opened, and the rules for what it writes into them.

A pull request is known by its repository (``owner/name`` as registered) and its
``number`` on the forge (GitLab: the merge request's ``iid``); Orchestrate opens at most
one per (repository, branch), which is what makes opening idempotent.

What goes into a pull request: the title comes from the story (``1.2: Title``) or,
without one, from the first line of the agent's task — both written by people. The
agent's summary is model output, so it is hostile: it is masked (secrets the process
knows), stripped of control characters, bounded, and shown inside a fenced code block,
where Markdown renders no link, image, mention or HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

AUTOMATION_LABEL: Final = "orchestrate"
"""Every pull request Orchestrate opens carries it (the shepherd's and people's filter)."""

TITLE_MAX_LENGTH: Final = 250  # GitHub's limit is 256; GitLab's 255
SUMMARY_MAX_LENGTH: Final = 20_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BACKTICKS = re.compile(r"`{3,}")


class PullRequestState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class ShepherdState(StrEnum):
    """Where the shepherd stands on a pull request: at work, stopped at a bound (waiting
    for a person), or done (merged or closed)."""

    ACTIVE = "active"
    STOPPED = "stopped"
    DONE = "done"


class MoveStatus(StrEnum):
    STARTED = "started"
    DONE = "done"
    NO_CHANGE = "no_change"
    """A fixer ended without a commit: nothing was pushed."""
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    """Its worker died mid-move; whoever looked next judged the pull request afresh."""


@dataclass(frozen=True)
class ShepherdStatus:
    """The shepherd's state on one pull request and its last move, in words."""

    state: ShepherdState = ShepherdState.ACTIVE
    move: str | None = None
    reason: str | None = None
    moved_at: datetime | None = None


_CHECKS_CLAUSE = "checks "
_MOVES_JUDGING_CHECKS = frozenset({"wait", "merge", "fix_checks"})
"""The moves a look reaches only after judging the head's checks: conflicts come first,
then failed checks (``fix_checks``), then reviews; ``wait`` and ``merge`` saw them all."""


def checks_as_judged(status: ShepherdStatus) -> str | None:
    """What the shepherd's last look found of the head commit's checks, in words
    (``checks pending: test``), or None when that look does not tell (it stopped at
    conflicts or reviews first, or has not looked).

    Orchestrate records no checks of its own (asking the forge is ``pr show``'s); this
    reads the shepherd's recorded reason, whose check clauses the merge decision writes
    (``checks failed: …``, ``checks pending: …``), so a page can show checks without
    calling the forge.
    """
    if status.move not in _MOVES_JUDGING_CHECKS:
        return None
    clauses = [
        clause.strip()
        for clause in (status.reason or "").split("; ")
        if clause.strip().startswith(_CHECKS_CLAUSE)
    ]
    if clauses:
        return "; ".join(clauses)
    return None if status.move == "fix_checks" else "none failing or pending"


@dataclass(frozen=True)
class ShepherdMove:
    """One move that acted on a pull request (a fixer, an update, a merge, a stop)."""

    id: str
    kind: str
    head_sha: str
    status: MoveStatus
    reason: str
    agent_id: str | None
    cost_usd: Decimal
    started_at: datetime
    finished_at: datetime | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class PullRequest:
    """A pull request Orchestrate opened, as last recorded (``pr show`` refreshes it)."""

    id: str
    forge: str
    repository: str
    number: int
    url: str
    branch: str
    base: str
    head_sha: str
    state: PullRequestState
    draft: bool
    title: str
    story_id: str | None
    agent_id: str | None
    opened_at: datetime
    updated_at: datetime
    merged_at: datetime | None = None
    shepherd: ShepherdStatus = ShepherdStatus()


@dataclass(frozen=True)
class ChecksSummary:
    """How the checks of the head commit stand, counted by outcome."""

    total: int = 0
    pending: int = 0
    succeeded: int = 0
    failed: int = 0
    failing: tuple[str, ...] = ()
    """Names of the failed or cancelled checks."""


@dataclass(frozen=True)
class ReviewsSummary:
    """The latest verdict of each reviewer, counted."""

    approved: int = 0
    changes_requested: int = 0
    commented: int = 0
    approvers: tuple[str, ...] = ()


@dataclass(frozen=True)
class PullRequestView:
    """A pull request with what the forge says about it now.

    ``is_fresh`` is False when the forge could not be asked; ``stale_reason`` says why,
    and the checks and reviews are then empty.
    """

    pull_request: PullRequest
    is_fresh: bool
    checks: ChecksSummary
    reviews: ReviewsSummary
    mergeable: bool | None = None
    stale_reason: str | None = None


@dataclass(frozen=True)
class StoryRef:
    """The story an agent worked on, for the title and body."""

    id: str
    key: str | None
    title: str


def pull_request_title(story: StoryRef | None, task: str) -> str:
    """``<story key>: <story title>``, else the task's first line; one line, bounded."""
    if story is not None:
        text = f"{story.key}: {story.title}" if story.key else story.title
    else:
        text = next((line.strip() for line in task.splitlines() if line.strip()), "Agent work")
    text = " ".join(_CONTROL.sub(" ", text).split())
    if len(text) > TITLE_MAX_LENGTH:
        text = text[: TITLE_MAX_LENGTH - 1].rstrip() + "…"
    return text or "Agent work"


def pull_request_body(
    *,
    story: StoryRef | None,
    agent_id: str,
    agent_type: str,
    masked_summary: str | None,
    run_url: str | None = None,
) -> str:
    """The description: the story, the agent's summary fenced as untrusted text, and a
    link back to the run. ``masked_summary`` must already have passed the masker."""
    parts: list[str] = []
    if story is not None:
        name = f"{story.key}: {story.title}" if story.key else story.title
        parts.append(f"Story {' '.join(name.split())} (`{story.id}`)")
    summary = untrusted_block(masked_summary)
    if summary:
        parts.append(f"Summary written by the agent (unreviewed model output):\n\n{summary}")
    where = f"[agent run `{agent_id}`]({run_url})" if run_url else f"agent run `{agent_id}`"
    parts.append(
        f"---\nOpened by Orchestrate from {where} ({agent_type}); "
        f"see it with `orchestrate agent show {agent_id}`."
    )
    return "\n\n".join(parts)


def untrusted_block(text: str | None) -> str:
    """``text`` as a fenced code block no content can close early."""
    if not text or not text.strip():
        return ""
    cleaned = _CONTROL.sub("", text.strip())
    if len(cleaned) > SUMMARY_MAX_LENGTH:
        cleaned = cleaned[:SUMMARY_MAX_LENGTH] + "\n[… cut]"
    longest = max((len(run) for run in _BACKTICKS.findall(cleaned)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}text\n{cleaned}\n{fence}"


def pull_request_labels(configured: list[str]) -> tuple[str, ...]:
    """``orchestrate`` and the configured labels, once each, in order."""
    labels = [AUTOMATION_LABEL, *(label.strip() for label in configured)]
    return tuple(dict.fromkeys(label for label in labels if label))
