"""Binding pipelines to repositories: which ``owner/name`` an ``on: github`` entry accepts.

A webhook (an organisation's, say) can deliver events of many repositories, and a
pipeline runs with its secrets on whatever the delivery names. So an entry is bound:

- with ``repositories:`` the delivery's repository must be selected by those patterns:
  the filter patterns of ``globs.py`` (``octo/*``, ``!octo/secret``, the last matching
  pattern decides), compared case-insensitively because GitHub treats ``owner/name`` so;
- without it only the repositories Orchestrate manages match: those of the repository
  registry on the delivery's forge (``orchestrate repo add``, with the seed setting
  ``ORCHESTRATE_GITHUB_REPOSITORIES`` merged in), and nothing at all when none is;
- a delivery that names no repository (organisation-level events) matches nothing.

An entry that is not ``owner/name`` (``repositories: [app]``) makes the filter not
match, with the reason; an empty list matches nothing. The pipeline spec rejects both
when a pipeline is loaded, so these reasons only show for pipelines stored earlier.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from orchestrate.forges.service import ForgeEvent
from orchestrate.pipelines.spec import GithubEventFilter
from orchestrate.triggers.globs import matches_any, only_negative

REGISTER_HINT = "orchestrate repo add PATH_OR_URL --name"

# GitHub owners and repository names use letters, digits, '-', '_' and '.'; the other
# characters are those of filter patterns.
_PART = r"[A-Za-z0-9._\-*?+\[\]\\]+"
_OWNER_AND_NAME = re.compile(rf"!?{_PART}/{_PART}")
# GitLab projects sit in groups that may nest: group/subgroup/project.
_GROUP_AND_PROJECT = re.compile(rf"!?{_PART}(?:/{_PART})+")


def malformed_repositories(patterns: Sequence[str], forge: str = "github") -> list[str]:
    """The entries that are not an ``owner/name`` pattern (optionally after ``!``); on
    GitLab, not a ``group/…/project`` one."""
    shape = _GROUP_AND_PROJECT if forge == "gitlab" else _OWNER_AND_NAME
    return [pattern for pattern in patterns if not shape.fullmatch(pattern)]


def is_managed(repository: str, managed: Collection[str]) -> bool:
    """Whether ``owner/name`` is one of the managed repositories, whatever the case."""
    wanted = repository.casefold()
    return any(name.casefold() == wanted for name in managed)


def check_repository(
    event: ForgeEvent, filter: GithubEventFilter, managed: Collection[str]
) -> list[str]:
    """Why the delivery's repository is not one the filter is bound to; empty when it is.

    Raises ``InvalidPattern`` for a pattern GitHub would reject, like the other keys.
    """
    repository = event.repository
    patterns = filter.repositories
    if repository is None:
        return [f"the {event.kind} delivery names no repository, so no pipeline is bound to it"]
    if patterns is None:
        return _check_managed(repository, managed)
    if not patterns:
        return ["repositories is empty, so it selects nothing (remove it to use the managed ones)"]
    malformed = malformed_repositories(patterns, event.forge)
    if malformed:
        return [
            f"repositories entry '{entry}' is not owner/name (globs allowed, e.g. octo/*)"
            for entry in malformed
        ]
    if matches_any(patterns, repository, ignore_case=True):
        return []
    reason = f"repository '{repository}' is not in repositories {_listing(patterns)}"
    if only_negative(patterns):
        reason += " (a list of only '!' patterns selects nothing; add '*/*' first)"
    return [reason]


def _check_managed(repository: str, managed: Collection[str]) -> list[str]:
    if not managed:
        return [
            "no repositories given and no repository is registered (orchestrate repo list), "
            f"so the filter matches nothing: add repositories: [{repository}] or register "
            f"it with '{REGISTER_HINT} {repository}'"
        ]
    if is_managed(repository, managed):
        return []
    return [
        f"no repositories given and {repository} is not registered (orchestrate repo list): "
        f"add repositories: [{repository}] to bind the pipeline to it, or register it with "
        f"'{REGISTER_HINT} {repository}'"
    ]


def describe_binding(filter: GithubEventFilter) -> str:
    """Which rule let the repository through, for the words of a match."""
    if filter.repositories is None:
        return "a repository Orchestrate manages"
    return f"selected by repositories {_listing(filter.repositories)}"


def _listing(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"
