"""Whose word counts: the rule that only trusted people move a pull request.

On GitHub a person is trusted when the ``author_association`` GitHub gives them is one
of ``ORCHESTRATE_GITHUB_TRUSTED_ASSOCIATIONS`` (default ``OWNER``, ``MEMBER``,
``COLLABORATOR``); the built-in automations (``triggers``) and the merge controller
apply the same test. GitLab gives no association: a review counts there when GitLab
itself records its verdict (an approval, a reviewer's state), since GitLab lets only
members allowed to approve do that; a verdict carried by a note's marker is anyone's
say-so and does not count.

The built-in automations need more than that on GitLab: a webhook payload names who
acted (``user.username``) but not their role in the project, and asking GitLab for the
member list on every delivery would make trust depend on a call that can fail. So a
GitLab person is trusted only when their username is listed in
``ORCHESTRATE_GITLAB_TRUSTED_USERS`` (compared case-insensitively, as GitLab treats
usernames); nobody is, by default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from orchestrate.forges.client import Review
from orchestrate.forges.gitlab import is_recorded_by_gitlab

ReviewTrust = Callable[[Review], bool]
"""Whether a review's verdict may count towards (or against) a merge."""


def is_trusted_association(association: str | None, trusted: Sequence[str]) -> bool:
    """Whether GitHub's ``author_association`` is one of ``trusted`` (upper case)."""
    return bool(association) and (association or "").upper() in trusted


def is_trusted_username(login: str | None, trusted: Sequence[str]) -> bool:
    """Whether a GitLab ``login`` is one of the ``trusted`` usernames (any case)."""
    if not login:
        return False
    wanted = login.casefold()
    return any(name.casefold() == wanted for name in trusted)


def review_trust(forge: str, trusted_associations: Sequence[str]) -> ReviewTrust:
    """The trust rule for reviews read from ``forge`` (``github`` or ``gitlab``); a forge
    without a rule trusts no review."""
    if forge == "github":
        return lambda review: is_trusted_association(
            review.author.association, trusted_associations
        )
    if forge == "gitlab":
        return is_recorded_by_gitlab
    return lambda _review: False
