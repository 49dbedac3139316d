"""Whose GitHub and GitLab input the built-in automations act on.

Anyone can open an issue, open a pull request or review one on a public repository,
and the built-in automations turn those into bash-capable agents and backlog stories.
So each acts only when the person behind the delivery has an ``author_association``
listed in ``ORCHESTRATE_GITHUB_TRUSTED_ASSOCIATIONS`` (default ``OWNER``, ``MEMBER``,
``COLLABORATOR``). Whose association counts, by event (checked against the real
payloads: GitHub puts it on the pull request, the review, the issue and the comment,
never on ``sender``):

- ``pull_request``: the pull request's author (``pull_request.author_association``);
- ``pull_request_review``: the review's author (``review.author_association``), whose
  text becomes the fixer's task; the pull request's author does not matter here;
- ``issues`` opened: the issue's author;
- ``issues`` labelled: only people with triage access can label an issue, so a label
  added by someone else is a maintainer taking the issue in, whoever wrote it. When
  the labeller is the issue's author (an issue form that applies labels), the
  author's association decides as for ``opened``;
- failed checks and workflow runs carry no association. A fixer starts only for a
  failure on a branch of the repository itself: pushing a branch there needs write
  access. GitHub names no branch (``head_branch`` null) for a check suite of a fork's
  pull request, and a workflow run of a fork has another head repository; neither
  starts a fixer. The repository must be managed too (an agent needs its clone).

The association test itself is the forges' (``is_trusted_association``), shared with
the merge controller, which counts only trusted reviewers' approvals.

GitLab's payloads carry no association, nor anything else about a person's role in
the project; only who acted (``user.username``). So on GitLab one rule covers every
automation: it acts only when the GitLab user who caused the delivery (opened or
labelled the issue, started the failed pipeline) is listed in
``ORCHESTRATE_GITLAB_TRUSTED_USERS``; nobody is by default. A failed pipeline must in
addition be on a branch of the project itself, not of a fork, as on GitHub.

Text from trusted authors is still quoted as data (``quoting.py``): trust decides
whether to act, not whether to obey.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrate.core.settings import Settings
from orchestrate.forges.service import (
    GITLAB,
    ForgeEvent,
    Person,
    is_trusted_association,
    is_trusted_username,
)

TRUSTED_SETTING = "ORCHESTRATE_GITHUB_TRUSTED_ASSOCIATIONS"
GITLAB_TRUSTED_SETTING = "ORCHESTRATE_GITLAB_TRUSTED_USERS"


@dataclass(frozen=True)
class Author:
    """The person whose association decides, with the role they play in the delivery."""

    role: str
    login: str | None
    association: str | None

    @classmethod
    def of(cls, role: str, person: Person) -> Author:
        """The author of a pull request, review, issue or comment."""
        return cls(role, person.login, person.association)


def untrusted_reason(author: Author, trusted: Sequence[str]) -> str | None:
    """Why the automation must not act for ``author``, or None when it may."""
    if is_trusted_association(author.association, trusted):
        return None
    association = (author.association or "").upper()
    who = f"{author.role} @{author.login}" if author.login else author.role
    shown = association or "(none given)"
    setting = f"{TRUSTED_SETTING}={','.join(trusted)}" if trusted else f"{TRUSTED_SETTING} empty"
    return f"{who}'s association {shown} is not trusted ({setting})"


def gitlab_untrusted_reason(event: ForgeEvent, trusted: Sequence[str]) -> str | None:
    """Why an automation must not act on a GitLab delivery, or None: the user who acted
    must be listed in ``ORCHESTRATE_GITLAB_TRUSTED_USERS``."""
    if is_trusted_username(event.sender, trusted):
        return None
    who = f"GitLab user @{event.sender}" if event.sender else "the GitLab user (none given)"
    listed = (
        f"{GITLAB_TRUSTED_SETTING}={','.join(trusted)}"
        if trusted
        else (f"{GITLAB_TRUSTED_SETTING} is empty")
    )
    return f"{who} who caused the {event.kind} event is not trusted ({listed})"


def author_untrusted_reason(
    event: ForgeEvent, author: Author | None, settings: Settings
) -> str | None:
    """The trust rule of the event's forge: GitHub's association of ``author`` (None: a
    maintainer acted), GitLab's list of trusted users."""
    if event.forge == GITLAB:
        return gitlab_untrusted_reason(event, settings.gitlab_trusted_users)
    if author is None:
        return None
    return untrusted_reason(author, settings.github_trusted_associations)


def issue_decider(event: ForgeEvent) -> Author | None:
    """Whose association decides for an issue: None when a maintainer labelled it."""
    author = Author.of("issue author", event.issue.author if event.issue else Person())
    if event.action != "labeled":
        return author
    labeller = event.sender
    if labeller is not None and labeller != author.login:
        return None  # labelling someone else's issue needs triage access
    return author


def ci_untrusted_reason(event: ForgeEvent, settings: Settings) -> str | None:
    """Why a failed check, workflow run or pipeline may be a stranger's code, or None."""
    fork = event.fork_repository
    if fork is not None:
        return f"the failure is of code from the fork {fork}"
    if event.head_branch is None:
        return (
            f"the {event.kind} names no branch of {event.repository}, as the forge does for "
            "a fork's pull request, so the failing code may be a stranger's"
        )
    if event.forge == GITLAB:
        return gitlab_untrusted_reason(event, settings.gitlab_trusted_users)
    return None
